"""Which paths become which targets, without reading manifests.

`plan_inputs` turns the PATH arguments into targets:

* a directory with a kustomization file is a Kustomize target (`kubectl kustomize`);
* a directory with `Chart.yaml` is a Helm chart (`helm template`, with `--values`);
* other directories are walked (hidden directories, `.venv`, `node_modules` skipped);
* `*.yaml`, `*.yml` and `*.json` files are manifests; `*.service.yaml` files are cards;
* Argo CD Applications found among the manifests add their in-repository source path
  (Kustomize, chart or plain directory) as targets;
* `-` reads manifests from standard input.

When a walk finds Kustomize trees it renders only the *roots*: kustomizations that no other
kustomization found includes. A base used by overlays is checked through each overlay (what
is deployed), not on its own, and files belonging to a Kustomize tree (resources, patches,
generator inputs, or anything in or below a kustomization's directory) are never checked as raw
manifests. Naming a base explicitly on the command line renders it too. Charts work the
same way: rendered once per release that uses them (an Argo CD Application or a helmfile
release), or standalone when nothing in the input uses them; shipcard's vendored chart
(`charts/service/`, its `Chart.yaml` generated) that no release uses is skipped instead: without
a card's values it does not render, and nothing deploys it (`render --prune` deletes it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from shipcard.check.inputs.kustomize import KustomizeTree
from shipcard.check.inputs.paths import (
    CARD_SUFFIX,
    HELMFILE_NAMES,
    KUSTOMIZATION_NAMES,
    MANIFEST_SUFFIXES,
    NOT_MANIFESTS,
    SKIPPED_DIRS,
    STDIN,
    display,
    kustomization_file,
)
from shipcard.check.inputs.sources import add_argocd_sources, helmfile_releases
from shipcard.check.inputs.targets import Plan, Target, add_chart, add_kustomize
from shipcard.errors import InputError, ShipcardError
from shipcard.writers.tree import is_generated
from shipcard.yamlio.read import read_text


def plan_inputs(paths: Iterable[str], *, values: Iterable[Path] = ()) -> Plan:
    """Targets for the PATH arguments (see the module docstring); ShipcardError for a missing path."""
    plan = Plan()
    values = tuple(Path(v).resolve() for v in values)
    for value in values:
        if not value.is_file():
            raise ShipcardError(f"--values {display(value)}: no such file")
    walked: list[Path] = []
    for raw in paths:
        if raw == STDIN:
            plan.add(Target("stdin", Path(STDIN), ["standard input"], explicit=True))
            continue
        path = Path(raw)
        if not path.exists():
            raise ShipcardError(f"{raw}: no such file or directory")
        path = path.resolve()
        if path.is_dir():
            if kustomization_file(path):
                add_kustomize(plan, path, "named on the command line", explicit=True)
            elif (path / "Chart.yaml").is_file():
                add_chart(plan, path, values, "named on the command line", explicit=True)
            else:
                walked.append(path)
        elif path.name in KUSTOMIZATION_NAMES:
            add_kustomize(plan, path.parent, "named on the command line", explicit=True)
        elif path.name == "Chart.yaml":
            add_chart(plan, path.parent, values, "named on the command line", explicit=True)
        else:
            kind = "card" if path.name.endswith(CARD_SUFFIX) else "manifest"
            plan.add(Target(kind, path, ["named on the command line"], explicit=True, inputs=frozenset({path})))
    for directory in walked:
        _walk(plan, directory, values)
    add_argocd_sources(plan)
    _place_found_charts(plan)
    plan.targets.sort(key=lambda t: (str(t.path), t.kind, t.release))
    return plan


def _walk(plan: Plan, top: Path, values: tuple[Path, ...]) -> None:
    kustomize_dirs: list[Path] = []
    chart_dirs: list[Path] = []
    helmfiles: list[Path] = []
    files: list[Path] = []
    for root, dirs, names in os.walk(top):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if "Chart.yaml" in names:
            chart_dirs.append(here)
            dirs[:] = []  # templates, subcharts and values belong to the chart
            continue
        if any(n in names for n in KUSTOMIZATION_NAMES):
            kustomize_dirs.append(here)
        for name in sorted(names):
            if name.startswith("."):
                continue
            if name in HELMFILE_NAMES:
                helmfiles.append(here / name)
                plan.skip(here / name, "helmfile: its releases of local charts are rendered")
            elif name in NOT_MANIFESTS:
                plan.skip(here / name, "configuration, not a manifest")
            elif name.endswith(MANIFEST_SUFFIXES):
                files.append(here / name)
            else:
                plan.skip(here / name, "not a manifest file")

    trees = {d: KustomizeTree.read(d) for d in kustomize_dirs}
    included: set[Path] = set()
    consumed: set[Path] = set()
    for tree in trees.values():
        included |= tree.included_dirs
        consumed |= tree.files
    for directory, tree in trees.items():
        if tree.is_component:
            plan.skip(directory, "Kustomize component: checked through the kustomizations that use it")
        elif directory in included:
            users = sorted(display(d) for d, t in trees.items() if directory in t.included_dirs)
            plan.notes.append(f"{display(directory)}: Kustomize base, checked through {', '.join(users)}")
        else:
            add_kustomize(plan, directory, "Kustomize root found under " + display(top), tree=tree)
    kustomize_homes = set(trees) | included
    for path in files:
        if path in consumed:
            continue
        if any(parent in kustomize_homes for parent in path.parents):
            plan.skip(path, "inside a Kustomize tree but not referenced by its kustomization")
            continue
        kind = "card" if path.name.endswith(CARD_SUFFIX) else "manifest"
        plan.add(Target(kind, path, [f"found under {display(top)}"], inputs=frozenset({path})))
    for chart in chart_dirs:
        plan.found_charts.append((chart, values, f"Helm chart found under {display(top)}"))
    for path in helmfiles:
        for release in helmfile_releases(path):
            add_chart(plan, release.chart, release.values, f"helmfile release {release.name} in {display(path)}",
                      release=release.name, namespace=release.namespace, extra_inputs={path})


def _place_found_charts(plan: Plan) -> None:
    """Charts found by walking are rendered standalone only when no release in the plan uses them."""
    used = {t.path for t in plan.targets if t.kind == "helm"}
    for chart, values, reason in plan.found_charts:
        if chart in used:
            plan.notes.append(f"{display(chart)}: Helm chart, checked through the releases that use it")
        elif _vendored(chart):
            plan.skip(chart, "shipcard's vendored chart, used by no helmfile release or Application")
        else:
            add_chart(plan, chart, values, reason)
    plan.found_charts.clear()


def _vendored(chart: Path) -> bool:
    """Whether `chart` is the chart `shipcard render` vendors (its Chart.yaml carries shipcard's header)."""
    try:
        return is_generated(read_text(chart / "Chart.yaml"))
    except InputError:
        return False
