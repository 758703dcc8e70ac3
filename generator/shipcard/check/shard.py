"""`shipcard check --shard K/N`: a deterministic 1/N of the targets, for a CI matrix of N runners.

Targets are grouped by the service they belong to: a card `services/<name>.service.yaml` of the
repository (checked or not), every target under its rendered tree (`apps/<name>/` or its
`gitops.path`) and its Argo CD Applications (`argocd/<env>/<name>.yaml`) are the group
`service:<name>`. A target of no service (a hand-written tree, a plain manifest) is grouped by its
top-level directory under the repository root (a file at the root by its name; a path outside the
root by itself). Targets that share a file or directory (a Kustomize base two overlays include, the
vendored chart every helmfile release renders, one helmfile) are one group, since a finding at a
shared line is reported once, listing every render.
Each group goes to shard `sha256(key) mod N + 1` (the smallest key of a merged group): the same
assignment on every machine and run.

Every shard reads and renders every target: the cross-object rules (duplicate-object,
cronjob-on-several-clusters, the argocd-* rules comparing Applications, references between
objects) and the suppressions run on that whole index, in each shard. The per-object layers
(schemas, deprecations, the per-object policy rules) run on the shard's own objects only. A
finding is reported only by the shard that owns it, the owner of the object it is about (of its
first render) or else of its file, so the union of the N shards' findings is one unsharded run's,
each finding once.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shipcard.check.inputs.paths import CARD_SUFFIX, STDIN_NAME, display
from shipcard.check.inputs.targets import Plan, Target
from shipcard.check.inputs.tools import helm_command, kustomize_command
from shipcard.check.model import Finding, K8sObject
from shipcard.errors import ShipcardError, one_line

_SPEC = re.compile(r"([1-9][0-9]{0,5})/([1-9][0-9]{0,5})")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `total`."""

    index: int
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` with 1 <= K <= N; ShipcardError (one line, exit 2) otherwise."""
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ShipcardError(f"--shard {one_line(text)}: expected K/N, two whole numbers from 1 (for example 2/4)")
        index, total = int(match.group(1)), int(match.group(2))
        if index > total:
            raise ShipcardError(f"--shard {one_line(text)}: K is at most N (shards are numbered 1 to {total})")
        return cls(index, total)

    @property
    def category(self) -> str:
        """The SARIF run's `automationDetails.id`: GitHub code scanning's category (before the last `/`)."""
        return f"shipcard/shard-{self.index}-of-{self.total}/"


def shard_of(key: str, total: int) -> int:
    """The shard (1-based) of a group key: a stable hash, never Python's salted `hash`."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


class Ownership:
    """The group of every target of a plan, and so the shard owning each object, finding and file."""

    def __init__(self, plan: Plan, root: Path) -> None:
        self._root = Path(os.path.realpath(root))
        services = self._services(plan)
        keys = {id(t): self._key(t, services) for t in plan.targets}
        merged = self._merge_shared(plan.targets, keys)
        self._by_path: dict[Path, str] = {}
        self._by_render: dict[str, str] = {}
        for target in plan.targets:
            key = keys[id(target)]
            for path in (target.path, *target.inputs):
                self._by_path.setdefault(path, key)
            self._by_render[self._render(target)] = key
            self._by_render[target.describe()] = key
        for place, key in services.items():
            self._by_path.setdefault(place, merged.get(key, key))

    def _services(self, plan: Plan) -> dict[Path, str]:
        """Each card's file, rendered tree and Application files, by the group key of its service."""
        from shipcard.writers.argocd import application_path  # ruamel: only for a sharded check

        places: dict[Path, str] = {}
        # The repository's cards too, so that `check apps/ --shard K/N` groups by service as well.
        cards = [t.path for t in plan.targets if t.kind == "card" and t.path.parent.name == "services"]
        for path in dict.fromkeys([*cards, *sorted(self._root.glob("services/*" + CARD_SUFFIX))]):
            key = "service:" + path.name.removesuffix(CARD_SUFFIX)
            places[path] = key
            tree = plan.cards.tree(path)
            if tree is not None:
                places[tree] = key
            card = plan.cards.card(path)
            if card is not None:
                out = Path(os.path.realpath(path.parent.parent))
                for env in card.environments:
                    places[out / application_path(card, env)] = key
        return places

    def _key(self, target: Target, services: dict[Path, str]) -> str:
        if target.kind == "stdin":
            return STDIN_NAME
        for place in (target.path, *target.path.parents):
            if place in services:
                return services[place]
        return self._top(target.path)

    def _top(self, path: Path) -> str:
        """A path of no service: its first component under the root, else the path itself."""
        try:
            parts = Path(os.path.realpath(path)).relative_to(self._root).parts
        except ValueError:
            return display(path)
        return parts[0] if parts else "."

    @staticmethod
    def _merge_shared(targets: list[Target], keys: dict[int, str]) -> dict[str, str]:
        """Targets sharing an input take one key, the smallest of theirs (a union-find over inputs);
        returns what each key became."""
        parent = {key: key for key in keys.values()}

        def find(key: str) -> str:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        holder: dict[Path, str] = {}
        for target in targets:
            for path in (target.path, *target.inputs) if target.kind != "stdin" else ():
                other = holder.setdefault(path, keys[id(target)])
                first, second = find(other), find(keys[id(target)])
                if first != second:
                    parent[max(first, second)] = min(first, second)
        for target_id, key in keys.items():
            keys[target_id] = find(key)
        return {key: find(key) for key in parent}

    @staticmethod
    def _render(target: Target) -> str:
        if target.kind == "kustomize":
            return kustomize_command(target)
        if target.kind == "helm":
            return helm_command(target)
        return display(target.path)

    def key_of_file(self, file: str) -> str:
        """The group of a file as findings show it: the target it belongs to, else its top-level directory."""
        if file == STDIN_NAME:
            return STDIN_NAME
        path = Path(os.path.abspath(file))
        for place in (path, *path.parents):
            key = self._by_path.get(place)
            if key is not None:
                return key
        real = Path(os.path.realpath(path))
        for place in (real, *real.parents):
            key = self._by_path.get(place)
            if key is not None:
                return key
        return self._top(path)

    def key_of_object(self, obj: K8sObject) -> str:
        """The group of the target that read or rendered `obj`."""
        return self._by_render.get(obj.origin or "") or self.key_of_file(obj.file)

    def key_of_finding(self, finding: Finding) -> str:
        """The group of the object a finding is about (its first render), else of its file."""
        return self._by_render.get(finding.origin or "") or self.key_of_file(finding.file)

    def key_of_input(self, shown: str) -> str:
        """The group of an entry of the checked inputs (a file, or a target as `describe` names it)."""
        return self._by_render.get(shown) or self.key_of_file(shown)


def own_objects(objects: Iterable[K8sObject], ownership: Ownership, shard: Shard) -> list[K8sObject]:
    return [o for o in objects if shard_of(ownership.key_of_object(o), shard.total) == shard.index]


def own_findings(findings: Iterable[Finding], ownership: Ownership, shard: Shard) -> list[Finding]:
    return [f for f in findings if shard_of(ownership.key_of_finding(f), shard.total) == shard.index]


def own_inputs(shown: Iterable[str], ownership: Ownership, shard: Shard) -> list[str]:
    return [s for s in shown if shard_of(ownership.key_of_input(s), shard.total) == shard.index]
