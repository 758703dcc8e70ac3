"""`shipcard upgrade`: migrate every card to the current format and re-render every service, as one change.

The rewritten cards (and shipcard.yaml's blueprintVersion) go into the same transaction as the
re-rendered trees (`shipcard.transaction`), so an upgrade killed at any point leaves cards and trees as
they were, or (once committed) as they should be after the next shipcard run completes it;
never new cards with old trees. With --commit the change is committed on a new branch.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from shipcard import __version__, git
from shipcard.card.migrate import FORMATS, keep_open_ports, migrate_text
from shipcard.card.network import CARD_SUFFIX
from shipcard.card.schema import API_VERSION
from shipcard.errors import ShipcardError
from shipcard.lifecycle.blueprints import blueprint_version
from shipcard.lifecycle.rendering import CardInput, Options, Outcome, ServiceResult, plan_repository, read_cards
from shipcard.lifecycle.report import progress_bar, report_outcome
from shipcard.lifecycle.state import State, read_states
from shipcard.render import find_cards
from shipcard.settings import REPO_FILE, RepoSettings, find_repo_root, load_repo, parse_repo
from shipcard.transaction import STATE_DIR, begin
from shipcard.writers.tree import Plan, is_generated
from shipcard.yamlio.edit import replace_scalars
from shipcard.yamlio.read import read_text, real_path
from shipcard.yamlio.roundtrip import load_roundtrip


@dataclass
class Upgrade:
    """What an upgrade changes: cards migrated (path → changes), settings, and the re-render."""

    root: Path
    target: str
    migrations: dict[str, list[str]] = field(default_factory=dict)
    settings_change: str | None = None
    outcome: Outcome | None = None
    plan: Plan | None = None

    def service_lines(self) -> list[str]:
        """One line per service that changes: its card's migrations and its generated files."""
        lines = []
        services = self.outcome.services if self.outcome else []
        by_source = {s.source: s for s in services}
        for source in sorted(set(self.migrations) | {s.source for s in services if s.changed_files}):
            service = by_source.get(source)
            parts = []
            if source in self.migrations:
                parts.append("card migrated (" + "; ".join(self.migrations[source]) + ")")
            if service is not None and service.changed_files:
                parts.append(_files_changed(service))
            name = service.name if service else source
            lines.append(f"- {name}: {', '.join(parts)}")
        return lines


@click.command("upgrade")
@click.option("--to", "target", default=API_VERSION, show_default=True, type=click.Choice(FORMATS),
              help="Card format to migrate to.")
@click.option("--branch", help="Branch to commit on (with --commit; default shipcard-upgrade-<version>).")
@click.option("--commit", is_flag=True, help="Commit the upgrade on a new branch (git).")
@click.option("--allow-dirty", is_flag=True, help="Upgrade even when the git working tree has changes.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Services rendered in parallel (default: the number of cores).")
def upgrade_command(target: str, branch: str | None, commit: bool, allow_dirty: bool, jobs: int | None) -> None:
    """Migrate every card to the current card format and re-render every service.

    Cards keep their comments, order and layout: only renamed keys and apiVersion change.
    """
    root = find_repo_root(Path.cwd()) or Path.cwd()
    if branch and not commit:
        raise ShipcardError("--branch names the branch --commit creates: add --commit")
    if git.inside_git_dir(root):
        raise ShipcardError(f"{root}: inside a git directory, not a work tree")
    top = git.work_tree_top(root)
    branch_name = branch or f"shipcard-upgrade-{__version__}"
    if commit:
        _require_ready_to_commit(root, top, branch_name)
    if not find_cards(root):
        raise ShipcardError(f"no cards under {root / 'services'}")
    with begin(root, "upgrade") as txn:  # the tree, the cards and git are read and written under the lock
        if top is not None and not allow_dirty:
            dirty = _dirty_paths(top, root)
            if dirty:
                raise ShipcardError(f"the working tree has uncommitted changes ({', '.join(dirty[:5])}"
                                    f"{' …' if len(dirty) > 5 else ''}); commit or stash them, or pass --allow-dirty")
        paths = find_cards(root)
        upgrade = plan_upgrade(root, paths, target, jobs or os.cpu_count() or 1)
        assert upgrade.plan is not None
        if not upgrade.plan.changed:
            click.echo(f"already up to date: {len(paths)} card(s) in {target}, every tree as they render")
            return
        txn.stage(upgrade.plan.writes)  # every path is checked before the branch changes
        if commit:
            assert top is not None
            _switch_to_new_branch(top, branch_name)
        txn.commit(upgrade.plan.writes, upgrade.plan.deletes)
        _report(upgrade)
        if commit:
            # a linked card changed the file it leads to: that file is what the commit must hold
            written = {txn.relative(root / rel) for rel in upgrade.plan.writes}
            click.echo(_commit(root, upgrade, branch_name, written))
    if upgrade.plan.conflicts:
        sys.exit(1)  # hand-edited generated files were left as they are (reported above)


def plan_upgrade(root: Path, paths: list[Path], target: str, jobs: int) -> Upgrade:
    """Migrate in memory, render with the migrated cards, and gather everything into one plan."""
    upgrade = Upgrade(root, target)
    inputs = []
    writes: dict[str, str] = {}
    states = {state.card: state for state in read_states(root)}
    for card in read_cards(root, paths):
        text, changes = migrate_text(card.text, str(card.path), target)
        if _rendered_before_callers(root, card.path, states.get(card.source), changes):
            text, kept = keep_open_ports(text, str(card.path))
            changes += kept
        if changes:
            upgrade.migrations[card.source] = changes
            writes[card.path.relative_to(root).as_posix()] = text
        inputs.append(CardInput(card.path, card.source, text))
    settings = _upgraded_settings(root, upgrade, writes)
    if target == API_VERSION:
        with progress_bar(len(inputs)) as advance:
            upgrade.outcome = plan_repository(root, inputs, settings, Options(everything=True, jobs=jobs), advance)
        plan = upgrade.outcome.plan
    else:
        plan = Plan(root)  # cards in an older format do not render: migrate only
    plan.writes.update(writes)
    upgrade.plan = plan
    return upgrade


def _rendered_before_callers(root: Path, path: Path, state: State | None, migrated: list[str]) -> bool:
    """Whether an older shipcard rendered the card, admitting every source to its ports: the card was in an
    older format, its render state predates allowFrom, or its Applications predate render states."""
    if migrated or (state is not None and not state.declared_callers):
        return True
    if state is not None:
        return False
    name = path.name.removesuffix(CARD_SUFFIX)
    return any(is_generated(read_text(app)) for app in root.glob(f"argocd/*/{name}.yaml")
               if app.is_file() and not app.is_symlink())


def _upgraded_settings(root: Path, upgrade: Upgrade, writes: dict[str, str]) -> RepoSettings:
    """shipcard.yaml with blueprintVersion brought to this shipcard's, its only rewrite (when present)."""
    path = root / REPO_FILE
    if not path.is_file():
        return load_repo(root)
    text = read_text(path)
    doc = load_roundtrip(text, str(path))
    current = doc.get("blueprintVersion") if isinstance(doc, dict) else None
    version = blueprint_version()
    if current is None or str(current) == version:
        return load_repo(root)
    new_text = replace_scalars(text, doc, str(path), {("blueprintVersion",): version})
    writes[REPO_FILE] = new_text
    upgrade.settings_change = f"{REPO_FILE}: blueprintVersion {current} → {version}"
    return parse_repo(new_text, path)


def _files_changed(service: ServiceResult) -> str:
    plan, tree_files = service.plan, set(service.changed_files)  # render states aside
    counts = [(len(tree_files.intersection(plan.added)), "added"),
              (len(tree_files.intersection(plan.modified)), "modified"),
              (len(tree_files.intersection(plan.deletes)), "removed")]
    return "files " + ", ".join(f"{n} {what}" for n, what in counts if n)


def _report(upgrade: Upgrade) -> None:
    migrated = len(upgrade.migrations)
    click.echo(f"migrated {migrated} card(s) to {upgrade.target}")
    if upgrade.settings_change:
        click.echo(upgrade.settings_change)
    for line in upgrade.service_lines():
        click.echo(line)
    if upgrade.outcome is not None:
        report_outcome(upgrade.outcome, prune=False)
    else:
        click.echo(f"not rendered: this shipcard renders {API_VERSION} cards")


# --------------------------------------------------------------------------- git


def _dirty_paths(top: Path, root: Path) -> list[str]:
    """Changed, staged and untracked paths as messages show them, shipcard's own `.shipcard/` aside."""
    local = (real_path(root) / STATE_DIR).relative_to(top).as_posix() + "/"
    return [git.shown(p) for p in git.uncommitted_paths(top) if not p.startswith(local)]


def _require_ready_to_commit(root: Path, top: Path | None, branch: str) -> None:
    """Refuse, before anything changes, every git state in which `--commit` would not make one new
    branch holding exactly this upgrade: a clean start on a branch of the repository `root` is the top of."""
    if top is None:
        raise ShipcardError(f"{root}: not in a git repository; --commit needs one")
    if real_path(top) != real_path(root):
        raise ShipcardError(f"{root}: not the top of its git repository ({top}); --commit commits only "
                            "in a repository of its own")
    if not git.has_commit(top):
        raise ShipcardError(f"{top}: the repository has no commit yet; --commit branches from one")
    operation = git.unfinished_operation(top)
    if operation:
        raise ShipcardError(f"{top}: {operation} is in progress; finish or abort it before --commit")
    if git.current_branch(top) is None:
        raise ShipcardError(f"{top}: HEAD is detached; check out the branch to upgrade before --commit")
    staged = [git.shown(p) for p in git.staged_paths(top)]
    if staged:
        raise ShipcardError(f"{top}: the index has staged changes ({', '.join(staged[:5])}"
                            f"{' …' if len(staged) > 5 else ''}); --commit would commit them too: commit "
                            "or unstage them first")
    if not git.valid_branch_name(top, branch):
        raise ShipcardError(f"--branch {branch!r}: not a name git accepts for a branch")


def _switch_to_new_branch(top: Path, name: str) -> None:
    if git.current_branch(top) == name:
        return  # an interrupted upgrade is being completed on its own branch
    if git.branch_exists(top, name):
        raise ShipcardError(f"branch {name!r} exists already; pass --branch NAME")
    git.create_branch(top, name)


def _commit(root: Path, upgrade: Upgrade, branch: str, written: set[str]) -> str:
    assert upgrade.plan is not None
    paths = sorted({*written, *upgrade.plan.deletes})
    lines = upgrade.service_lines()
    message = [f"shipcard upgrade: cards to {upgrade.target}, rendered by shipcard {__version__}", ""]
    if upgrade.settings_change:
        message.append(upgrade.settings_change)
    message += [f"Services ({len(lines)} changed):", *lines]
    name = git.commit(root, paths, "\n".join(message) + "\n")
    return f"committed {name} on branch {branch}"
