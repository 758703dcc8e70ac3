"""Pull-request mode: `shipcard check --base REF` checks only what the change affects.

The changed files are those differing between the merge base of REF and HEAD and the
working tree (committed, staged, unstaged and untracked; both sides of a rename, deleted files,
symbolic links and submodules as the paths git names). Each target of the full plan is kept when
one of its inputs changed:

* a manifest or card: the file itself, or the file its symbolic link leads to;
* a Kustomize root: any file of its tree, including the bases and components it includes and the
  files it names that no longer exist, so a changed base selects every overlay built on it;
* a chart release: anything under the chart directory (and where its symbolic links lead), its
  values files, or the Argo CD Application / helmfile that declares it;
* a changed card `services/<name>.service.yaml`: the card (schema and drift against its
  rendered tree) and every target under its rendered tree (`apps/<name>/` or the card's
  `gitops.path`); when that tree is stale or missing, also the objects the card renders now
  (`Cards.check_current_output`), placed at the card's first content line with an origin naming
  the card and environment (the card changed; what `render` would write does not exist yet), and
  never when the tree is intact (it is checked through the tree then);
* a changed symbolic link or submodule: every target reading anything below it.

The CustomResourceDefinitions of the files left unchecked still register (`Plan.unchecked`), so a
changed custom resource is validated against its kind's schema as a full check validates it.

Everything is checked instead when the change can affect every target or when what changed cannot be
known exactly: a changed `shipcard.yaml`, a file under a policy or CRD directory, a changed file
holding a CustomResourceDefinition, or git failing (an unknown REF, a shallow clone without the merge
base, no commit yet, no repository). One line on standard error says why.

`plan_changed` plans only what the change reaches (`check.inputs.reach.Reach`), then filters it the
same way, so it selects what planning everything would; git is asked once (`Changes`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shipcard.check.inputs.cards import Cards
from shipcard.check.inputs.paths import CARD_SUFFIX, display
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.inputs.reach import Reach
from shipcard.check.inputs.targets import Plan, Target
from shipcard.errors import InputError, ToolError, one_line
from shipcard.git import changed_since, merge_base_with_head, regular_file_at, work_tree_top
from shipcard.settings import REPO_FILE
from shipcard.yamlio.read import MAX_FILE_BYTES, read_text

# `kind: CustomResourceDefinition` however written: block or flow YAML, JSON, a List's item.
_CRD = re.compile(r"['\"]?\bkind['\"]?[ \t]*:[ \t]*['\"]?CustomResourceDefinition\b")


@dataclass(frozen=True)
class Changes:
    """What `--base REF` compares with, asked of git once per run: the work tree's top, the merge base
    of REF and HEAD, and the paths changed since (absolute); or why git cannot tell (`unknown`)."""

    ref: str
    top: Path = Path()
    revision: str = ""
    paths: tuple[Path, ...] = ()
    unknown: str = ""

    @classmethod
    def find(cls, repo_root: Path, ref: str) -> Changes:
        try:
            top = work_tree_top(repo_root)
            if top is None:
                raise ToolError(f"{display(repo_root)} is not inside a git repository")
            revision = merge_base_with_head(top, ref)
            return cls(ref, top, revision, tuple(changed_since(top, revision)))
        except ToolError as exc:
            return cls(ref, unknown=str(exc))

    def base_contents(self, paths: Iterable[Path]) -> dict[Path, bytes]:
        """The content of each of `paths` (absolute, inside the work tree) at the merge base, for those that
        were regular files there; ToolError when git cannot tell."""
        contents = {}
        for path in paths:
            try:
                name = path.relative_to(self.top).as_posix()
            except ValueError:  # not inside the work tree: nothing of the base revision to read
                continue
            content = regular_file_at(self.top, self.revision, name, MAX_FILE_BYTES)
            if content is not None:
                contents[path] = content
        return contents


def changed_files(repo_root: Path, ref: str) -> list[Path]:
    """Absolute paths changed since the merge base of `ref` and HEAD, plus uncommitted work;
    ToolError when git cannot tell."""
    changes = Changes.find(repo_root, ref)
    if changes.unknown:
        raise ToolError(changes.unknown)
    return list(changes.paths)


def base_contents(repo_root: Path, ref: str, paths: Iterable[Path]) -> dict[Path, bytes]:
    """`Changes.base_contents` of the merge base of `ref` and HEAD; ToolError when git cannot tell."""
    changes = Changes.find(repo_root, ref)
    if changes.unknown:
        raise ToolError(changes.unknown)
    return changes.base_contents(paths)


def plan_changed(paths: list[str], values: Iterable[Path], changes: Changes,
                 decisive: Iterable[Path] = ()) -> tuple[Plan, list[str]]:
    """The plan of `check --base`: only the targets the change reaches (`Reach`), planned without reading
    the rest of the repository, and the lines saying why each is checked; every target, and the line
    saying why, when the change may affect them all or cannot be known. A plan found not exact (a
    symbolic link on the way) is made again in full, then filtered."""
    decisive = list(decisive)
    if changes.unknown or _affects_everything(list(changes.paths), decisive):
        return select_changed(plan_inputs(paths, values=values), changes.ref, Path(), decisive, changes)
    cards = Cards()
    trees = [tree for path in changes.paths if path.name.endswith(CARD_SUFFIX) and (tree := cards.tree(path))]
    reach = Reach(changes.paths, trees)
    plan = plan_inputs(paths, values=values, reach=reach, cards=cards)
    if not reach.exact:
        plan = plan_inputs(paths, values=values, cards=cards)
        plan.notes.append(f"--base: every target planned, then filtered: {display(reach.links[0])} is a symbolic "
                          "link, so paths are not what they say")
    return select_changed(plan, changes.ref, Path(), decisive, changes)


def _affects_everything(changed: list[Path], decisive: Iterable[Path]) -> str:
    """Why the change can affect every target ("" when it cannot)."""
    decisive = [Path(os.path.realpath(p)) for p in decisive]
    for path in changed:
        real = Path(os.path.realpath(path))
        if path.name == REPO_FILE:
            return f"{_shown(path)} changed"
        holder = next((d for d in decisive if real == d or d in real.parents), None)
        if holder is not None:
            return f"{_shown(path)} changed, under {_shown(holder)}"
        if path.name.endswith((".yaml", ".yml", ".json")) and not path.name.endswith(CARD_SUFFIX) \
                and _holds_crd(path):  # a card is no CRD, and is read once, as a card
            return f"{_shown(path)} changed, a CustomResourceDefinition"
    return ""


def _holds_crd(path: Path) -> bool:
    try:
        return _CRD.search(read_text(path)) is not None
    except (InputError, OSError):
        return False


def _inputs(target: Target) -> set[Path]:
    """What a target reads, as named and as resolved (a symbolic link's change and its target's count)."""
    if target.kind == "stdin":
        return set()
    inputs = set(target.inputs) | {target.path}
    return inputs | {Path(os.path.realpath(p)) for p in inputs}


def _depends_on(inputs: set[Path], above: set[Path], changed: Path) -> bool:
    """Whether `changed` is an input, lies under one (a chart, an overlay directory), or holds one
    (a symbolic link to a directory, a submodule)."""
    return changed in inputs or changed in above or any(parent in inputs for parent in changed.parents)


def select_changed(plan: Plan, ref: str, repo_root: Path, decisive: Iterable[Path] = (),
                   changes: Changes | None = None) -> tuple[Plan, list[str]]:
    """The targets affected by the change, and one line per target saying why.

    `decisive` are the files and directories (the config file, policy and CRD directories) whose change
    affects every target. When everything is checked, the one line says why. `changes` are those of
    `ref` when known already (else git is asked, from `repo_root`)."""
    changes = changes or Changes.find(repo_root, ref)
    if changes.unknown:
        return plan, [f"--base {one_line(ref)}: checking everything: cannot tell what changed ({changes.unknown})"]
    changed = list(changes.paths)
    everything = _affects_everything(changed, decisive)
    if everything:
        return plan, [f"--base {one_line(ref)}: checking everything: {everything}"]
    trees = {c: plan.cards.tree(c) for c in changed if c.name.endswith(CARD_SUFFIX)}
    selected = Plan(skipped=[], notes=list(plan.notes), cards=plan.cards, unchecked=list(plan.unchecked))
    lines = [f"--base {one_line(ref)}: {len(changed)} changed file(s)"]
    used: set[Path] = set()
    for target in plan.targets:
        reasons = []
        if target.kind == "stdin":
            reasons.append("standard input")
        inputs = _inputs(target)
        above = {parent for path in inputs for parent in path.parents}
        for path in changed:
            if _depends_on(inputs, above, path):
                reasons.append(f"{_shown(path)} changed")
                used.add(path)
        for card, tree in trees.items():
            if tree is not None and (target.path == tree or tree in target.path.parents):
                reasons.append(f"rendered from changed card {_shown(card)}")
                used.add(card)
        if not reasons:
            selected.unchecked += _files_of(target)
        else:
            selected.add(target)
            if target.kind == "card" and target.path in trees:
                selected.cards.check_current_output(target.path)
            lines.append(f"selected {one_line(target.describe())}: {'; '.join(dict.fromkeys(reasons))}")
    for path in changed:
        if path not in used:
            lines.append(f"not checked: {_shown(path)} (no checked target uses it)")
    if len(selected.targets) == 0:
        lines.append("nothing to check: no changed file affects the checked paths")
    return selected, lines


def _files_of(target: Target) -> list[Path]:
    """The manifest files a target not selected reads, for their CustomResourceDefinitions (a chart's are
    left out: `helm template` renders none of them, so a full check has none either)."""
    if target.kind == "helm":
        return []
    return sorted(p for p in target.inputs if p.name.endswith((".yaml", ".yml", ".json")) and p.is_file())


def _shown(path: Path) -> str:
    """A path as one line of standard error shows it (a newline in a name written as `\\n`)."""
    return one_line(display(path))
