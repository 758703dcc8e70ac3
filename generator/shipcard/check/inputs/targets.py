"""The plan of a check: its targets (a manifest, a card, a Kustomize root, a chart release, stdin)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.check.inputs.cards import Cards
from shipcard.check.inputs.kustomize import KustomizeTree
from shipcard.check.inputs.paths import display
from shipcard.check.model import Finding
from shipcard.check.rules.cross.helm_remote_dependency import ID as HELM_RULE
from shipcard.check.rules.cross.helm_remote_dependency import chart_dependencies
from shipcard.errors import InputError
from shipcard.yamlio.read import load_documents, read_text


@dataclass
class Target:
    """One thing to check: a manifest file, a card, a Kustomize root, a chart release, or stdin."""

    kind: str  # "manifest" | "card" | "kustomize" | "helm" | "stdin"
    path: Path  # absolute file or directory; Path("-") for stdin
    reasons: list[str] = field(default_factory=list)
    values: tuple[Path, ...] = ()  # helm: values files
    inline_values: str = ""  # helm: values given inline by an Argo CD Application
    release: str = ""  # helm: release name
    namespace: str = ""  # helm: release namespace
    explicit: bool = False  # named on the command line (checked even if it holds no Kubernetes object)
    inputs: frozenset[Path] = frozenset()  # files and directories it is built from (for --base)
    remote: tuple[Finding, ...] = ()  # what it would fetch: not rendered, unless `check --allow-remote`
    broken: tuple[Finding, ...] = ()  # why it cannot be rendered at all (a kustomization loop, a FIFO)
    offline: bool = True  # its renderer runs with the network closed to it (see tools.offline_environment)
    tree: KustomizeTree | None = field(default=None, repr=False, compare=False)  # kustomize: as planning read it

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.path, self.values, self.inline_values, self.release, self.namespace)

    def describe(self) -> str:
        if self.kind == "kustomize":
            return f"{display(self.path)} (kustomize)"
        if self.kind == "helm":
            return f"{display(self.path)} (helm release {self.release})"
        return display(self.path)


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    notes: list[str] = field(default_factory=list)
    found_charts: list[tuple[Path, tuple[Path, ...], str]] = field(default_factory=list)  # walked, not yet placed
    cards: Cards = field(default_factory=Cards)  # the cards this run reads, each once
    unchanged: list[Path] = field(default_factory=list)  # `--base`: manifests found, no target (Applications?)
    # Files found that are no target of their own (read by a Kustomize tree, or left out by `--base`): their
    # CustomResourceDefinitions still give the checked objects of their kinds a schema (check.engine).
    unchecked: list[Path] = field(default_factory=list)
    _by_key: dict[tuple[Any, ...], Target] = field(default_factory=dict, repr=False)
    _charts: dict[Path, tuple[frozenset[Path], tuple[Finding, ...]]] = field(default_factory=dict, repr=False)

    def tree(self, directory: Path) -> KustomizeTree | None:
        """The tree of a Kustomize target already planned for `directory` (read once, whoever names it)."""
        target = self._by_key.get(("kustomize", directory, (), "", "", ""))
        return target.tree if target is not None else None

    def chart(self, chart: Path) -> tuple[frozenset[Path], tuple[Finding, ...]]:
        """Where a chart's symbolic links lead and what it would fetch, found once per chart."""
        if chart not in self._charts:
            self._charts[chart] = (frozenset(_links_out_of(chart)), _remote_dependencies(chart))
        return self._charts[chart]

    def add(self, target: Target) -> Target:
        existing = self._by_key.get(target.key)
        if existing is not None:
            existing.reasons += [r for r in target.reasons if r not in existing.reasons]
            existing.explicit = existing.explicit or target.explicit
            existing.inputs = existing.inputs | target.inputs
            return existing
        self._by_key[target.key] = target
        self.targets.append(target)
        return target

    def skip(self, path: Path | str, why: str) -> None:
        self.skipped.append((display(path), why))

    def allow_remote(self) -> None:
        """`check --allow-remote`: render what names remote locations, and let the renderers fetch them."""
        for target in self.targets:
            target.remote = ()
            target.offline = False


def add_kustomize(plan: Plan, directory: Path, reason: str, *, explicit: bool = False,
                  tree: KustomizeTree | None = None) -> Target:
    tree = tree or plan.tree(directory) or KustomizeTree.read(directory)
    return plan.add(Target("kustomize", directory, [reason], explicit=explicit,
                           inputs=frozenset(tree.files | tree.included_dirs | tree.named | {directory}),
                           remote=tuple(tree.remote), broken=tuple(tree.broken), tree=tree))


def add_chart(plan: Plan, chart: Path, values: tuple[Path, ...], reason: str, *, explicit: bool = False,
              release: str = "", namespace: str = "", inline_values: str = "",
              extra_inputs: Iterable[Path] = ()) -> Target:
    links, remote = plan.chart(chart)
    return plan.add(Target("helm", chart, [reason], values=values, inline_values=inline_values,
                           release=release or _release_name(chart.name), namespace=namespace, explicit=explicit,
                           inputs=frozenset({chart, *values, *extra_inputs, *links}), remote=remote))


def _remote_dependencies(chart: Path) -> tuple[Finding, ...]:
    """helm-remote-dependency for each dependency of `Chart.yaml` that helm would have to download."""
    file = chart / "Chart.yaml"
    try:
        documents = list(load_documents(read_text(file), str(file)))
    except InputError:
        return ()  # helm reports it
    document = documents[0] if documents else None
    if document is None or not isinstance(document.data, dict):
        return ()
    shown = display(file)
    return tuple(Finding(HELM_RULE, "error", message, shown, *document.line_of(path))
                 for path, message in chart_dependencies(document.data, chart))


def _links_out_of(chart: Path) -> set[Path]:
    """Where the symbolic links inside a chart lead (a subchart linked in from elsewhere is part of it)."""
    found: set[Path] = set()
    for directory, dirs, names in os.walk(chart):
        for name in dirs + names:
            path = Path(directory, name)
            if path.is_symlink():
                found.add(Path(os.path.realpath(path)))
    return found


def _release_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:53] or "release"
