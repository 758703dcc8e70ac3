"""Pull-request mode: `shipcard check --base REF` checks only what the change affects.

The changed files are those differing between the merge base of REF and HEAD and the
working tree (committed, staged, unstaged and untracked). Each target of the full plan is
kept when one of its inputs changed:

* a manifest or card: the file itself;
* a Kustomize root: any file of its tree, including the bases and components it includes,
  so a changed base selects every overlay built on it;
* a chart release: anything under the chart directory, its values files, or the Argo CD
  Application / helmfile that declares it, so a changed chart selects every release of it;
* a changed card `services/<name>.service.yaml`: the card (schema and drift against its
  rendered tree) and every target under its rendered tree (`apps/<name>/` or the card's
  `gitops.path`).
"""

from __future__ import annotations

from pathlib import Path

from shipcard.check.inputs.paths import CARD_SUFFIX, display
from shipcard.check.inputs.targets import Plan, Target
from shipcard.errors import ShipcardError, ToolError
from shipcard.git import changed_since_merge_base, work_tree_top


def changed_files(repo_root: Path, ref: str) -> list[Path]:
    """Absolute paths changed since the merge base of `ref` and HEAD, plus uncommitted work."""
    try:
        top = work_tree_top(repo_root)
        if top is None:
            raise ToolError(f"{display(repo_root)} is not inside a git repository")
        return changed_since_merge_base(top, ref)
    except ToolError as exc:
        raise ShipcardError(f"--base {ref}: {exc}") from None


def _depends_on(target: Target, changed: Path) -> bool:
    if target.kind in ("manifest", "card"):
        return target.path == changed
    if target.kind == "stdin":
        return False
    return changed in target.inputs or any(parent in target.inputs for parent in changed.parents)


def select_changed(plan: Plan, ref: str, repo_root: Path) -> tuple[Plan, list[str]]:
    """The targets affected by the change, and one line per target saying why."""
    changed = changed_files(repo_root, ref)
    trees = {c: plan.cards.tree(c) for c in changed if c.name.endswith(CARD_SUFFIX)}
    selected = Plan(skipped=[], notes=list(plan.notes), cards=plan.cards)
    lines = [f"--base {ref}: {len(changed)} changed file(s)"]
    used: set[Path] = set()
    for target in plan.targets:
        reasons = []
        if target.kind == "stdin":
            reasons.append("standard input")
        for path in changed:
            if _depends_on(target, path):
                reasons.append(f"{display(path)} changed")
                used.add(path)
        for card, tree in trees.items():
            if tree is not None and (target.path == tree or tree in target.path.parents):
                reasons.append(f"rendered from changed card {display(card)}")
                used.add(card)
        if reasons:
            selected.add(target)
            lines.append(f"selected {target.describe()}: {'; '.join(dict.fromkeys(reasons))}")
    for path in changed:
        if path not in used:
            lines.append(f"not checked: {display(path)} (no checked target uses it)")
    if len(selected.targets) == 0:
        lines.append("nothing to check: no changed file affects the checked paths")
    return selected, lines
