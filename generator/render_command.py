"""`shipcard render`: write (or, with --check, compare) the GitOps tree of some cards."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.errors import ShipcardError
from generator.pin.lock import load_lock
from generator.render import FORMATS, find_cards, plan_render
from generator.writers.tree import apply, drift, locked


@click.command("render")
@click.argument("cards", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Root of the GitOps repository to write.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing every file that differs from its card.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Render every card in this format for this run, whatever its gitops.format says.")
@click.option("--lock", "lock", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="A lock file from `shipcard pin --lock`: tag-only images render pinned to its digests.")
def render_command(cards: tuple[Path, ...], out: Path, check: bool, fmt: str | None, lock: Path | None) -> None:
    """Render service cards into Kustomize or helmfile trees and Argo CD Applications.

    With no CARD, renders every services/*.service.yaml under --out.
    """
    paths = list(cards) or find_cards(out)
    if not paths:
        raise ShipcardError(f"no cards given and none found under {out / 'services'}")
    pins = load_lock(lock) if lock else None
    if check:
        _, plan = plan_render(paths, out, fmt=fmt, pins=pins)
        problems = drift(plan)
        for line in problems:
            click.echo(line)
        if problems:
            click.echo(f"{len(problems)} file(s) out of date: run `shipcard render`", err=True)
            sys.exit(1)
        click.echo(f"up to date: {plan.unchanged} file(s) match their cards")
        return
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        rendered, plan = plan_render(paths, out, fmt=fmt, pins=pins)
        apply(plan)
    for card in rendered.cards:
        click.echo(f"rendered {card.name}: {', '.join(e.name for e in card.environments)}")
    click.echo(f"{len(plan.added)} added, {len(plan.modified)} modified, {len(plan.deletes)} removed, "
               f"{plan.unchanged} unchanged")
