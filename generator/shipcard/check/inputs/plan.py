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

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from shipcard.check.inputs.cards import Cards
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
from shipcard.check.inputs.reach import Reach
from shipcard.check.inputs.sources import add_argocd_sources, helmfile_releases
from shipcard.check.inputs.targets import Plan, Target, add_chart, add_kustomize
from shipcard.errors import InputError, ShipcardError, one_line
from shipcard.writers.tree import is_generated
from shipcard.yamlio.read import read_text


def plan_inputs(paths: Iterable[str], *, values: Iterable[Path] = (), reach: Reach | None = None,
                cards: Cards | None = None) -> Plan:
    """Targets for the PATH arguments (see the module docstring); ShipcardError for a missing path.

    With `reach` (`check --base`), what the walk finds becomes a target only when it may read a changed
    path (`Reach`): the plan holds every target the change affects, and few others."""
    plan = Plan(cards=cards) if cards is not None else Plan()
    values = tuple(_values_file(Path(v)) for v in values)
    walked: list[Path] = []
    for raw in paths:
        if raw == STDIN:
            plan.add(Target("stdin", Path(STDIN), ["standard input"], explicit=True))
            continue
        path = Path(raw)
        try:
            os.stat(path)
        except OSError as exc:
            problem = "a symbolic link loop" if exc.errno == errno.ELOOP else "no such file or directory"
            raise ShipcardError(f"{one_line(raw)}: {problem}") from None
        # A file keeps its own name (a link to /dev/zero is reported as the link), its directory resolved.
        path = Path(os.path.realpath(path)) if path.is_dir() else Path(os.path.realpath(path.parent), path.name)
        if path.is_dir():
            if kustomization_file(path):
                add_kustomize(plan, path, "named on the command line", explicit=True)
            elif (path / "Chart.yaml").is_file():
                add_chart(plan, path, values, "named on the command line", explicit=True)
            else:
                walked.append(path)
        elif path.name in KUSTOMIZATION_NAMES:
            add_kustomize(plan, path.parent, "named on the command line", explicit=True)
        elif path.name == "Chart.yaml" and _is_regular(path):
            add_chart(plan, path.parent, values, "named on the command line", explicit=True)
        else:
            kind = "card" if path.name.endswith(CARD_SUFFIX) else "manifest"
            plan.add(Target(kind, path, ["named on the command line"], explicit=True, inputs=frozenset({path})))
    for directory in walked:
        _walk(plan, directory, values, reach)
    add_argocd_sources(plan, reach)
    _place_found_charts(plan, reach)
    plan.targets.sort(key=lambda t: (str(t.path), t.kind, t.release))
    return plan


def _values_file(given: Path) -> Path:
    """A `--values` file, resolved; one line naming it as given unless it is a regular file."""
    try:
        mode = os.stat(given).st_mode
    except OSError as exc:  # missing, a dangling link, a link loop
        raise ShipcardError(f"--values {display(given)}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ShipcardError(f"--values {display(given)}: not a regular file")
    return Path(os.path.realpath(given))


def _is_regular(path: Path) -> bool:
    """Whether `path` (a link followed) is a regular file: a FIFO, a device or a link loop is not."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _listing(top: Path, reach: Reach | None) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk(top)`, top-down; with `reach`, the symbolic links of every directory listed are noted."""
    if reach is None:
        yield from os.walk(top)
        return
    pending = [str(top)]
    while pending:
        root = pending.pop()
        try:
            with os.scandir(root) as listing:
                found = list(listing)
        except OSError:
            continue
        reach.met(Path(root), found)
        dirs: list[str] = []
        names: list[str] = []
        for entry in found:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else names).append(entry.name)
        yield root, dirs, names
        pending += [os.path.join(root, d) for d in reversed(dirs) if not os.path.islink(os.path.join(root, d))]


def _walk(plan: Plan, top: Path, values: tuple[Path, ...], reach: Reach | None) -> None:
    kustomize_dirs: list[Path] = []
    chart_dirs: list[Path] = []
    helmfiles: list[Path] = []
    files: list[Path] = []
    for root, dirs, names in _listing(top, reach):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if here.name == "services":  # a directory where `render` expects a card is a card that cannot be read
            names += [d for d in dirs if d.endswith(CARD_SUFFIX)]
            dirs[:] = [d for d in dirs if not d.endswith(CARD_SUFFIX)]
        if "services" in names and not os.path.isdir(here / "services") and not _is_regular(here / "services"):
            # a link loop, dangling link or special file where the cards live: unreadable, never skipped
            names.remove("services")
            plan.add(Target("manifest", here / "services", ["the card directory"], explicit=True,
                            inputs=frozenset({here / "services"})))
        if "Chart.yaml" in names and not _is_regular(here / "Chart.yaml"):
            # helm would block reading a FIFO: reported as the unreadable file it is, the chart not rendered
            plan.add(Target("manifest", here / "Chart.yaml", ["Helm chart file"], explicit=True,
                            inputs=frozenset({here / "Chart.yaml"})))
            dirs[:] = []
            continue
        if "Chart.yaml" in names:
            chart_dirs.append(here)
            if reach is not None:
                reach.scan(here)
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

    if reach is not None:
        reaching = reach.reaching_kustomizations(kustomize_dirs)
        kustomize_dirs = [d for d in kustomize_dirs if d in reaching]
    trees = {d: KustomizeTree.read(d) for d in kustomize_dirs}
    included: set[Path] = set(reach.included) if reach is not None else set()
    consumed: set[Path] = set(reach.consumed) if reach is not None else set()
    for tree in trees.values():
        included |= tree.included_dirs
        consumed |= tree.files
    for directory, tree in trees.items():
        if tree.broken:  # a loop through it or its users: reported through it, never left unchecked
            add_kustomize(plan, directory, "Kustomize tree found under " + display(top), tree=tree)
        elif tree.is_component:
            plan.skip(directory, "Kustomize component: checked through the kustomizations that use it")
        elif directory in included:
            users = sorted(display(d) for d, t in trees.items() if directory in t.included_dirs)
            plan.notes.append(f"{display(directory)}: Kustomize base, checked through {', '.join(users)}")
        else:
            add_kustomize(plan, directory, "Kustomize root found under " + display(top), tree=tree)
    kustomize_homes = set(trees) | included | (reach.homes if reach is not None else set())
    for path in files:
        kind = "card" if path.name.endswith(CARD_SUFFIX) else "manifest"
        if path in consumed or any(parent in kustomize_homes for parent in path.parents):
            if kind == "manifest":
                plan.unchecked.append(path)
            if path not in consumed:
                plan.skip(path, "inside a Kustomize tree but not referenced by its kustomization")
            continue
        if reach is not None and not reach.touches(path):
            if kind == "manifest":
                plan.unchanged.append(path)  # read only if it may be an Application deploying what changed
                plan.unchecked.append(path)
            continue
        plan.add(Target(kind, path, [f"found under {display(top)}"], inputs=frozenset({path})))
    for chart in chart_dirs:
        plan.found_charts.append((chart, values, f"Helm chart found under {display(top)}"))
    for path in helmfiles:
        if reach is not None and not reach.helmfile_may_reach(path):
            continue
        for release in helmfile_releases(path):
            add_chart(plan, release.chart, release.values, f"helmfile release {release.name} in {display(path)}",
                      release=release.name, namespace=release.namespace, extra_inputs={path})


def _place_found_charts(plan: Plan, reach: Reach | None) -> None:
    """Charts found by walking are rendered standalone only when no release in the plan uses them."""
    used = {t.path for t in plan.targets if t.kind == "helm"}
    for chart, values, reason in plan.found_charts:
        if reach is not None and not reach.touches(chart) and not any(reach.touches(v) for v in values):
            continue
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
