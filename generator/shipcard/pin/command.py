"""`shipcard pin`: replace mutable image tags in cards with immutable digests (docs/pin.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from shipcard.lifecycle.report import report_outcome
from shipcard.pin.cards import Card, ImageSite, discover, load_card
from shipcard.pin.credentials import CredentialStore
from shipcard.pin.lock import load_lock, read_entries
from shipcard.pin.pinning import (
    Incomplete,
    Outcome,
    PinFailed,
    SiteFailure,
    apply_to_cards,
    apply_to_lock,
    commit_cards,
    select,
    unpinned_sites,
)
from shipcard.pin.registry import RegistryClient, RegistryError, resolution_key, resolve_many
from shipcard.pin.rerender import plan_rerender
from shipcard.settings import find_repo_root
from shipcard.transaction import begin, require_settled


@click.command("pin")
@click.argument("cards", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))
@click.option("--check", is_flag=True, help="No network: exit 1 listing every image not pinned to a digest.")
@click.option("--update", is_flag=True, help="Re-resolve tags that are already pinned and report changed digests.")
@click.option("--allow-latest", is_flag=True, help="Resolve `latest` and untagged images instead of refusing them.")
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write digests to this lock file instead of the cards (with --check: count its entries as pins).")
@click.option("--keep-going", is_flag=True, help="Pin what resolves, report the rest, exit 1.")
@click.option("--insecure-registry", "insecure", multiple=True, metavar="HOST",
              help="Speak plain HTTP to this registry (host or host:port). Loopback registries always are.")
@click.option("--jobs", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Registry requests in parallel.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
              help="Seconds to wait for each registry connection or answer.")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries after 429, 5xx, timeouts and dropped connections, with backoff.")
def pin_command(cards: tuple[str, ...], check: bool, update: bool, allow_latest: bool, lock_file: Path | None,
                keep_going: bool, insecure: tuple[str, ...], jobs: int, timeout: float, retries: int) -> None:
    """Replace mutable image tags in CARDS with `name:tag@sha256:…` digests.

    CARDS default to services/*.service.yaml under the current directory. Credentials come from
    $SHIPCARD_REGISTRY_AUTH or the docker config file; see docs/pin.md.
    """
    paths = discover(cards, Path.cwd())
    root = _repository_of(paths)
    if check:
        require_settled(root)
        _check([load_card(path) for path in paths], lock_file)
        return
    # The cards and the lock file are read under the repository's lock, after a killed run's
    # transaction is completed, and written before it is released: no other run writes between.
    with begin(root, "pin") as txn:
        loaded = [load_card(path) for path in paths]
        existing = read_entries(lock_file) if lock_file is not None and lock_file.exists() else {}
        locked = {reference: entry.digest for reference, entry in existing.items()} if lock_file else None
        selection = select(loaded, update=update, allow_latest=allow_latest, locked=locked)
        digests, resolve_failures = _resolve(selection.resolve, insecure, jobs, timeout, retries)
        failures = sorted(selection.refused + resolve_failures, key=_failure_order)
        if failures and not keep_going:
            raise PinFailed(failures)
        rendered = None
        if lock_file is not None:
            outcome = apply_to_lock(lock_file, existing, digests)
        else:
            outcome = apply_to_cards(loaded, digests)
            rendered = plan_rerender(root, outcome.cards) if outcome.cards else None
            writes = {txn.relative(path): text for path, text in outcome.cards.items()}
            if rendered is not None:
                writes = {**rendered.plan.writes, **writes}
            commit_cards(txn, writes, rendered.plan.deletes if rendered is not None else ())
    _report(outcome, selection.untouched, update)
    if rendered is not None:
        report_outcome(rendered, prune=False)
    elif lock_file is not None and outcome.files:
        click.echo(f"the lock file changed: run `shipcard render --lock {lock_file}` to render its digests")
    if failures:
        for failure in failures:
            click.echo(str(failure), err=True)
        raise Incomplete(f"{len(failures)} image reference(s) could not be pinned; the others were")
    if rendered is not None and rendered.plan.conflicts:
        raise Incomplete(f"{len(rendered.plan.conflicts)} generated file(s) edited by hand were left as they are")


def _repository_of(cards: list[Path]) -> Path:
    """The repository of these cards, whose lock and transaction `pin` uses: the nearest directory
    above them with shipcard.yaml, else the directory holding `services/` (or the cards' own)."""
    common = Path(os.path.commonpath([os.path.abspath(card.parent) for card in cards]))
    return find_repo_root(common) or (common.parent if common.name == "services" else common)


def _check(cards: list[Card], lock_file: Path | None) -> None:
    locked = load_lock(lock_file) if lock_file is not None else None
    unpinned = unpinned_sites(cards, locked)
    total = sum(len(card.sites) for card in cards)
    for site in unpinned:
        click.echo(f"{site.location}: image: {site.text} is not pinned to a digest")
    if unpinned:
        raise Incomplete(f"{len(unpinned)} of {total} image reference(s) are not pinned; run `shipcard pin`")
    click.echo(f"all {total} image reference(s) in {len(cards)} card(s) are pinned")


def _resolve(sites: list[ImageSite], insecure: tuple[str, ...], jobs: int, timeout: float,
             retries: int) -> tuple[dict[ImageSite, str], list[SiteFailure]]:
    if not sites:
        return {}, []
    client = RegistryClient(CredentialStore(), insecure=frozenset(h.lower() for h in insecure),
                            timeout=timeout, retries=retries)
    results = resolve_many(client, [site.reference for site in sites], jobs)
    digests: dict[ImageSite, str] = {}
    failures: list[SiteFailure] = []
    for site in sites:
        result = results[resolution_key(site.reference)]
        if isinstance(result, RegistryError):
            failures.append(SiteFailure(site, str(result)))
        else:
            digests[site] = result
    return digests, failures


def _failure_order(failure: SiteFailure) -> tuple[str, int, int]:
    return (failure.site.card, failure.site.line, failure.site.column)


def _report(outcome: Outcome, untouched: int, update: bool) -> None:
    for line in outcome.lines:
        click.echo(line)
    parts = [f"pinned {outcome.pinned}"]
    if update:
        parts.append(f"digest changed {outcome.changed}")
    parts.append(f"unchanged {outcome.unchanged + untouched}")
    click.echo(f"{', '.join(parts)} image reference(s); wrote {len(outcome.files)} file(s)")
