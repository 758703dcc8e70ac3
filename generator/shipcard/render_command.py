"""`shipcard render`: write (or, with --check, compare) the GitOps tree of some cards, or of all of them.

The rendering machinery (worker pool, writers, ruamel) is imported when the command runs, not for `--help`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shipcard.card.schema import FORMATS
from shipcard.errors import ShipcardError

if TYPE_CHECKING:
    from shipcard.lifecycle.rendering import CardInput, Options, Outcome
    from shipcard.settings import RepoSettings


@click.command("render")
@click.argument("cards", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Root of the GitOps repository to write (default: the nearest directory with "
                   "shipcard.yaml, else the current one).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing every file that differs from its card.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Render every card in this format for this run, whatever its gitops.format says.")
@click.option("--lock", "lock", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="A lock file from `shipcard pin --lock`: tag-only images render pinned to its digests.")
@click.option("--all", "everything", is_flag=True,
              help="Render every service, also those whose card, settings and shipcard version did not change.")
@click.option("--force", is_flag=True,
              help="Overwrite generated files that were edited by hand, keeping each as <file>.orig.")
@click.option("--prune", is_flag=True, help="Delete the trees and Applications of cards that were removed.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Services rendered in parallel (default: the number of cores).")
def render_command(cards: tuple[Path, ...], out: Path | None, check: bool, fmt: str | None, lock: Path | None,
                   everything: bool, force: bool, prune: bool, jobs: int | None) -> None:
    """Render service cards into Kustomize or helmfile trees and Argo CD Applications.

    With no CARD, renders every services/*.service.yaml of the repository, skipping services
    whose inputs did not change since their last render, and reports removed cards' files.
    """
    from shipcard.lifecycle.rendering import Options, plan_repository
    from shipcard.lifecycle.report import progress_bar, report_outcome
    from shipcard.lifecycle.state import Receipts, VerifiedFiles
    from shipcard.settings import find_repo_root
    from shipcard.transaction import begin, require_settled

    out = out if out is not None else (find_repo_root(Path.cwd()) or Path("."))
    _check_out(out)
    options = Options(fmt=fmt, pins=None, everything=everything or check, force=force, prune=prune,
                      jobs=jobs or os.cpu_count() or 1, whole_repository=not cards)
    if check:
        require_settled(out)
        outcome = plan_repository(out, *_read_inputs(out, cards, lock, options))
        _report_drift(outcome)
        return
    with begin(out, "render") as txn:  # completes a killed run's transaction first; inputs are read after
        inputs, repo, options = _read_inputs(out, cards, lock, options)
        with progress_bar(len(inputs)) as advance:
            # Each service's files are staged where it is rendered (a worker), while the others still render.
            verified, receipts = VerifiedFiles(out), Receipts(out)
            outcome = plan_repository(out, inputs, repo, options, advance, txn, verified, receipts)
            txn.commit(outcome.plan.writes, outcome.plan.deletes)
            verified.save(options.whole_repository)
            receipts.save({s.name: s.content for s in outcome.rendered if s.content},
                          {s.name for s in outcome.services} if options.whole_repository else set(receipts.entries))
    report_outcome(outcome, prune=prune)
    if outcome.plan.conflicts:
        sys.exit(1)


def _check_out(out: Path) -> None:
    """The output directory exists, or nothing is there yet (a dangling link or a file is refused)."""
    if out.is_dir():
        return
    if out.is_symlink() and not out.exists():
        raise ShipcardError(f"{out}: a symbolic link to {os.readlink(out)!r}, which does not exist; "
                            "render writes into a directory, or creates one where nothing is")
    if os.path.lexists(out):
        raise ShipcardError(f"{out}: not a directory; render writes into a directory, or creates one where nothing is")


def _read_inputs(out: Path, cards: tuple[Path, ...], lock: Path | None,
                 options: Options) -> tuple[list[CardInput], RepoSettings, Options]:
    """The cards, shipcard.yaml and the pin lock file, as this run renders them."""
    from shipcard.lifecycle.rendering import read_cards
    from shipcard.pin.lock import load_lock
    from shipcard.render import find_cards
    from shipcard.settings import load_repo

    paths = list(cards) or find_cards(out)
    if not paths:
        raise ShipcardError(f"no cards given and none found under {out / 'services'}")
    pins = load_lock(lock) if lock else None
    return read_cards(out, paths), load_repo(out), replace(options, pins=pins)


def _report_drift(outcome: Outcome) -> None:
    from shipcard.writers.tree import drift

    problems = drift(outcome.plan)
    for orphan in outcome.orphans:
        cause = outcome.why_orphaned(orphan)
        if orphan.reason:
            left_by = f"the old side of a cut-over ({cause})"
        elif cause.endswith(" was removed"):
            left_by = f"removed card {orphan.card}"
        else:
            left_by = f"service {orphan.service}, which no card renders ({cause})"
        problems += [f"{rel}: left by {left_by} (render --prune deletes it)" for rel in orphan.files]
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"{len(problems)} file(s) out of date: run `shipcard render`", err=True)
        sys.exit(1)
    click.echo(f"up to date: {outcome.plan.unchanged} file(s) match their cards")
