"""What render and upgrade print: a progress bar on a terminal, then one summary."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from shipcard.lifecycle.rendering import Outcome
from shipcard.writers.tree import BACKUP_SUFFIX, EDITED

SHOWN_NAMES = 10


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on a terminal (stderr), nothing otherwise; yields `advance(n)`."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # No refresh thread: render forks worker processes, and a thread would be mid-write at the fork.
    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), auto_refresh=False, transient=True) as progress:
        task = progress.add_task("render", total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)
            progress.refresh()

        yield advance


def report_outcome(outcome: Outcome, *, prune: bool) -> None:
    """Services rendered and changed, files added/modified/removed, hand edits kept, orphans."""
    plan = outcome.plan
    rendered = outcome.rendered
    changed = [s for s in rendered if s.changed_files]
    skipped = len(outcome.services) - len(rendered)
    line = f"rendered {len(rendered)} service(s)"
    if skipped:
        line += f", skipped {skipped} unchanged since their last render"
    names = ", ".join(f"{s.name} ({len(s.changed_files)} file(s))" for s in changed[:SHOWN_NAMES])
    more = f" and {len(changed) - SHOWN_NAMES} more" if len(changed) > SHOWN_NAMES else ""
    click.echo(f"{line}; {len(changed)} changed" + (f": {names}{more}" if changed else ""))
    click.echo(f"{len(plan.added)} added, {len(plan.modified)} modified, {len(plan.deletes)} removed, "
               f"{plan.unchanged} unchanged")
    for rel, backup in plan.backups.items():
        click.echo(f"{rel}: {EDITED}: overwritten (--force); "
                   f"the edited text is kept in {backup}")
    for rel in plan.conflicts:
        click.echo(f"{rel}: {EDITED}: edited by hand since shipcard wrote it; left as it is "
                   f"(`shipcard render --force` overwrites it and keeps {rel}{BACKUP_SUFFIX})", err=True)
    for orphan in outcome.orphans:
        if prune:
            for rel in orphan.files:
                if rel in plan.deletes:
                    click.echo(f"pruned {rel} (card {outcome.why_orphaned(orphan)})")
            continue
        apps = orphan.applications
        click.echo(f"orphaned: {outcome.why_orphaned(orphan)} but its {len(apps)} Argo CD Application(s) "
                   f"and {len(orphan.files) - len(apps)} other file(s) remain: {', '.join(apps) or 'none'} "
                   "(`shipcard render --prune` deletes them)", err=True)
