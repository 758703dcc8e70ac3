"""Layer 1 of `shipcard check`: which paths become which objects.

`plan_inputs` turns the PATH arguments into targets without reading manifests:

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
release), or standalone when nothing in the input uses them.

`load_targets` then reads, renders and parses the targets into `K8sObject`s, turning
every problem on the way (malformed YAML, a failing kubectl, a missing helm) into findings.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules import builtin_policy_dir
from shipcard.check.rules.data import load_data_rule
from shipcard.errors import InputError, ShipcardError
from shipcard.yamlio.dump import dump
from shipcard.yamlio.read import MAX_FILE_BYTES, Document, UnreadableFileError, load_documents, read_text
from shipcard.yamlio.roundtrip import load_roundtrip, locate

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CARD_SUFFIX = ".service.yaml"
CONFIG_NAME = "shipcard.yaml"
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "vendor"})
HELMFILE_NAMES = frozenset({"helmfile.yaml", "helmfile.yml"})
NOT_MANIFESTS = frozenset({CONFIG_NAME, "Chart.yaml", "Chart.lock", "package.json", "package-lock.json",
                           "tsconfig.json", "values.schema.json"})
RENDER_TIMEOUT_SECONDS = float(os.environ.get("SHIPCARD_RENDER_TIMEOUT", "120"))
STDIN = "-"
STDIN_NAME = "<stdin>"


# --------------------------------------------------------------------------- paths shown to people


def display(path: Path | str) -> str:
    """A path as findings show it: relative to the working directory, with forward slashes."""
    if str(path) in (STDIN, STDIN_NAME):
        return STDIN_NAME
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = str(path)
    return Path(rel).as_posix()


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` or shipcard.yaml."""
    current = start if start.is_dir() else start.parent
    for directory in (current, *current.parents):
        if (directory / ".git").exists() or (directory / CONFIG_NAME).is_file():
            return directory
    return None


# --------------------------------------------------------------------------- the plan


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
    _by_key: dict[tuple[Any, ...], Target] = field(default_factory=dict, repr=False)

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
            if _kustomization_file(path):
                _add_kustomize(plan, path, "named on the command line", explicit=True)
            elif (path / "Chart.yaml").is_file():
                _add_chart(plan, path, values, "named on the command line", explicit=True)
            else:
                walked.append(path)
        elif path.name in KUSTOMIZATION_NAMES:
            _add_kustomize(plan, path.parent, "named on the command line", explicit=True)
        elif path.name == "Chart.yaml":
            _add_chart(plan, path.parent, values, "named on the command line", explicit=True)
        else:
            kind = "card" if path.name.endswith(CARD_SUFFIX) else "manifest"
            plan.add(Target(kind, path, ["named on the command line"], explicit=True, inputs=frozenset({path})))
    for directory in walked:
        _walk(plan, directory, values)
    _add_argocd_sources(plan)
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
            _add_kustomize(plan, directory, "Kustomize root found under " + display(top), tree=tree)
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
        for release in _helmfile_releases(path):
            _add_chart(plan, release.chart, release.values, f"helmfile release {release.name} in {display(path)}",
                       release=release.name, namespace=release.namespace, extra_inputs={path})


def _add_kustomize(plan: Plan, directory: Path, reason: str, *, explicit: bool = False,
                   tree: KustomizeTree | None = None) -> Target:
    tree = tree or KustomizeTree.read(directory)
    return plan.add(Target("kustomize", directory, [reason], explicit=explicit,
                           inputs=frozenset(tree.files | tree.included_dirs | {directory})))


def _add_chart(plan: Plan, chart: Path, values: tuple[Path, ...], reason: str, *, explicit: bool = False,
               release: str = "", namespace: str = "", inline_values: str = "",
               extra_inputs: Iterable[Path] = ()) -> Target:
    return plan.add(Target("helm", chart, [reason], values=values, inline_values=inline_values,
                           release=release or _release_name(chart.name), namespace=namespace, explicit=explicit,
                           inputs=frozenset({chart, *values, *extra_inputs})))


def _release_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:53] or "release"


# --------------------------------------------------------------------------- Kustomize trees


def _kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "gitlab.com/", "git@", "bitbucket.org/"))


@dataclass
class KustomizeTree:
    """What one kustomization is built from: its files (recursively) and the kustomizations it includes."""

    directory: Path
    is_component: bool = False
    files: set[Path] = field(default_factory=set)
    resource_files: set[Path] = field(default_factory=set)  # files whose objects kustomize emits
    included_dirs: set[Path] = field(default_factory=set)

    @classmethod
    def read(cls, directory: Path) -> KustomizeTree:
        tree = cls(directory)
        tree._visit(directory, set(), top=True)
        return tree

    def _visit(self, directory: Path, seen: set[Path], *, top: bool = False) -> None:
        if directory in seen:
            return
        seen.add(directory)
        file = _kustomization_file(directory)
        if file is None:
            return
        self.files.add(file)
        data = _read_yaml_mapping(file)
        if top:
            self.is_component = data.get("kind") == "Component"
        for key in ("resources", "bases", "components"):
            for entry in _strings(data.get(key)):
                if _is_remote(entry):
                    continue
                target = (directory / entry).resolve()
                if target.is_dir():
                    self.included_dirs.add(target)
                    self._visit(target, seen)
                elif target.is_file():
                    self.files.add(target)
                    if key != "components":
                        self.resource_files.add(target)
        for entry in _strings(data.get("patchesStrategicMerge")) + _strings(data.get("crds")) \
                + _strings(data.get("configurations")) + _strings(data.get("transformers")) \
                + _strings(data.get("generators")) + _strings(data.get("validators")):
            self._add_file(directory, entry)
        for key in ("patches", "patchesJson6902", "replacements"):
            for item in data.get(key) or []:
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    self._add_file(directory, item["path"])
        for key in ("configMapGenerator", "secretGenerator"):
            for generator in data.get(key) or []:
                if not isinstance(generator, dict):
                    continue
                for entry in _strings(generator.get("files")) + _strings(generator.get("envs")) \
                        + _strings(generator.get("env")):
                    self._add_file(directory, entry.split("=", 1)[-1])

    def _add_file(self, directory: Path, entry: str) -> None:
        if _is_remote(entry):
            return
        target = (directory / entry).resolve()
        if target.is_file():
            self.files.add(target)
        elif target.is_dir():
            self.included_dirs.add(target)
            self._visit(target, set())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The first document of a small YAML file as a dict; {} when unreadable (the renderer will say why)."""
    try:
        for document in load_documents(read_text(path), str(path)):
            return document.data if isinstance(document.data, dict) else {}
    except (InputError, OSError):
        pass
    return {}


# --------------------------------------------------------------------------- helmfile and Argo CD


@dataclass
class Release:
    name: str
    chart: Path
    values: tuple[Path, ...]
    namespace: str


def _helmfile_releases(path: Path) -> list[Release]:
    """Releases of local charts in a helmfile (plain YAML only; templated helmfiles are not read)."""
    items: list[Any] = []
    try:
        for document in load_documents(read_text(path), str(path)):
            if isinstance(document.data, dict) and isinstance(document.data.get("releases"), list):
                items += document.data["releases"]
    except InputError:
        return []
    releases = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("chart"), str):
            continue
        chart = (path.parent / item["chart"]).resolve()
        if not (chart / "Chart.yaml").is_file():
            continue
        values = tuple((path.parent / v).resolve() for v in _strings(item.get("values"))
                       if (path.parent / v).is_file())
        releases.append(Release(str(item.get("name") or chart.name), chart, values,
                                str(item.get("namespace") or "")))
    return releases


def _repo_remote_urls(root: Path) -> set[str] | None:
    """Normalised remote URLs from `.git/config`; None when they cannot be read."""
    config_file = root / ".git" / "config"
    if not config_file.is_file():
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config_file, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return {normalise_repo_url(parser[s]["url"]) for s in parser.sections()
            if s.startswith("remote ") and "url" in parser[s]}


def normalise_repo_url(url: str) -> str:
    """`git@github.com:org/repo.git` and `https://github.com/org/repo` → `github.com/org/repo`."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    text = text.replace(":", "/", 1) if re.match(r"^[^/]+:[^/0-9]", text) else text
    return text.removesuffix("/").removesuffix(".git")


def _add_argocd_sources(plan: Plan) -> None:
    """Render the in-repository source of every Argo CD Application among the manifests."""
    for target in list(plan.targets):
        if target.kind != "manifest":
            continue
        try:
            text = read_text(target.path)
        except InputError:
            continue
        if "argoproj.io" not in text or "Application" not in text:
            continue
        try:
            documents = list(load_documents(text, str(target.path)))
        except InputError:
            continue
        for document in documents:
            data = document.data
            if isinstance(data, dict) and data.get("kind") == "Application" \
                    and str(data.get("apiVersion", "")).startswith("argoproj.io/"):
                _add_application_sources(plan, target.path, data)


def _root_holding(app_file: Path, sources: list[dict[str, Any]]) -> Path | None:
    """Outside a repository: the nearest directory above the Application that holds its source paths."""
    paths = [s["path"] for s in sources if isinstance(s.get("path"), str) and not s.get("chart")]
    if not paths:
        return None
    for directory in app_file.resolve().parents:
        if all((directory / p).exists() for p in paths):
            return directory
    return None


def _add_application_sources(plan: Plan, app_file: Path, app: dict[str, Any]) -> None:
    spec = app.get("spec") if isinstance(app.get("spec"), dict) else {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    name = str((app.get("metadata") or {}).get("name") or app_file.stem)
    namespace = str((spec.get("destination") or {}).get("namespace") or "")
    root = repository_root(app_file) or _root_holding(app_file, sources) or Path.cwd().resolve()
    remotes = _repo_remote_urls(root)
    for source in sources:
        path = source.get("path")
        if not isinstance(path, str) or source.get("chart"):
            continue
        repo_url = source.get("repoURL")
        if remotes and isinstance(repo_url, str) and normalise_repo_url(repo_url) not in remotes:
            plan.notes.append(f"{display(app_file)}: Application {name} deploys from {repo_url}, "
                              "another repository: not rendered")
            continue
        directory = (root / path).resolve()
        if not directory.is_dir() or root not in (directory, *directory.parents):
            continue  # argocd-source-path-missing (policy pack) reports it
        reason = f"source of Argo CD Application {name} ({display(app_file)})"
        if _kustomization_file(directory):
            _add_kustomize(plan, directory, reason)
        elif (directory / "Chart.yaml").is_file():
            helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
            values = tuple((directory / v).resolve() for v in _strings(helm.get("valueFiles"))
                           if (directory / v).is_file())
            inline = helm.get("valuesObject") if isinstance(helm.get("valuesObject"), dict) else None
            inline_text = dump(inline) if inline else (helm.get("values") if isinstance(helm.get("values"), str)
                                                       else "")
            _add_chart(plan, directory, values, reason, release=str(helm.get("releaseName") or name),
                       namespace=namespace, inline_values=inline_text, extra_inputs={app_file})
        else:
            recurse = bool(((source.get("directory") or {}) if isinstance(source.get("directory"), dict)
                            else {}).get("recurse"))
            pattern = "**/*" if recurse else "*"
            for file in sorted(directory.glob(pattern)):
                if file.is_file() and file.name.endswith(MANIFEST_SUFFIXES) and not file.name.startswith("."):
                    plan.add(Target("manifest", file, [reason], inputs=frozenset({file})))


def _place_found_charts(plan: Plan) -> None:
    """Charts found by walking are rendered standalone only when no release in the plan uses them."""
    used = {t.path for t in plan.targets if t.kind == "helm"}
    for chart, values, reason in plan.found_charts:
        if chart in used:
            plan.notes.append(f"{display(chart)}: Helm chart, checked through the releases that use it")
        else:
            _add_chart(plan, chart, values, reason)
    plan.found_charts.clear()


# --------------------------------------------------------------------------- loading


@dataclass
class Loaded:
    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file or tree checked, as displayed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_targets(plan: Plan, *, stdin_text: str | None = None) -> Loaded:
    """Read and render every target; problems become findings, never exceptions."""
    loaded = Loaded(skipped=list(plan.skipped), notes=list(plan.notes))
    renders = [t for t in plan.targets if t.kind in ("kustomize", "helm")]
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(renders)))) as pool:
        rendered = dict(zip((id(t) for t in renders), pool.map(_render, renders)))
    for target in plan.targets:
        if target.kind in ("manifest", "card"):
            _load_file(loaded, target)
        elif target.kind == "stdin":
            text = stdin_text if stdin_text is not None else _read_stdin(loaded)
            if text is not None:
                loaded.files.append(STDIN_NAME)
                _load_text(loaded, text, STDIN_NAME, explicit=True)
        else:
            _load_rendered(loaded, target, rendered[id(target)])
    return loaded


def _read_stdin(loaded: Loaded) -> str | None:
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        loaded.findings.append(Finding("yaml-invalid", "error", f"more than {MAX_FILE_BYTES} bytes on standard input",
                                       STDIN_NAME))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        loaded.findings.append(Finding("yaml-invalid", "error", "standard input is not valid UTF-8", STDIN_NAME))
        return None


def _input_finding(exc: InputError, file: str) -> Finding:
    rule = "input-unreadable" if isinstance(exc, UnreadableFileError) else "yaml-invalid"
    where = exc.location
    message = f"{exc.field}: {exc.message}" if exc.field else exc.message
    return Finding(rule, "error", message, file, where.line, where.column)


def _load_file(loaded: Loaded, target: Target) -> None:
    shown = display(target.path)
    try:
        text = read_text(target.path)
    except InputError as exc:
        loaded.files.append(shown)
        loaded.findings.append(_input_finding(exc, shown))
        return
    if target.kind == "card" or "shipcard/" in text[:4096]:
        if _looks_like_card(text) or (target.kind == "card" and _renders_as_card(target.path, text)):
            loaded.files.append(shown)
            loaded.findings.extend(check_card(target.path))
            return
    loaded.findings.extend(generated_file_findings(text, shown))
    _load_text(loaded, text, shown, explicit=target.explicit)


def generated_file_findings(text: str, shown: str) -> list[Finding]:
    """`generated-file-edited` when a file with shipcard's header no longer matches its digest."""
    try:
        from shipcard.writers.tree import edited_by_hand, is_generated
    except ImportError:
        return []
    if not is_generated(text) or not edited_by_hand(text):
        return []
    return [Finding("generated-file-edited", "error", "edited by hand: the body no longer matches the digest in "
                    "shipcard's header (change the card and run `shipcard render`, or restore the file)",
                    shown, 2 if text.count("\n") >= 2 else 1, 1)]


def _looks_like_card(text: str) -> bool:
    return re.search(r"^apiVersion:\s*['\"]?shipcard/", text, re.MULTILINE) is not None


def _renders_as_card(path: Path, text: str) -> bool:
    """`services/*.service.yaml` is what `shipcard render` reads as a card, whatever it holds (empty, a
    list, comments only), unless it is a Kubernetes manifest that happens to be named like one."""
    if path.parent.name != "services":
        return False
    return re.search(r"^(apiVersion|kind):", text, re.MULTILINE) is None


def _load_text(loaded: Loaded, text: str, shown: str, *, explicit: bool, origin: str | None = None) -> None:
    objects: list[K8sObject] = []
    problems: list[Finding] = []
    try:
        for document in load_documents(text, shown):
            _collect(document, shown, objects, problems, origin)
    except InputError as exc:
        problems.append(_input_finding(exc, shown))
    has_yaml_error = any(p.rule == "yaml-invalid" for p in problems)
    if not explicit and not has_yaml_error and not any("apiVersion" in o.data or "kind" in o.data for o in objects):
        loaded.skipped.append((shown, "no Kubernetes objects (no apiVersion and kind)"))
        return
    loaded.files.append(shown)
    loaded.objects.extend(objects)
    loaded.findings.extend(problems)


def _collect(document: Document, shown: str, objects: list[K8sObject], problems: list[Finding],
             origin: str | None) -> None:
    data = document.data
    if not isinstance(data, dict):
        line, column = document.line_of(())
        problems.append(Finding("schema", "error", f"document {document.index + 1} is not a mapping, so not a "
                                "Kubernetes object", shown, line, column))
        return
    items = data.get("items")
    if str(data.get("kind", "")).endswith("List") and isinstance(items, list) and data.get("apiVersion") == "v1":
        node = _child_node(document.node, "items")
        for index, item in enumerate(items):
            child = node.value[index] if node is not None and index < len(node.value) else None
            _collect(Document(item, child, shown, document.index), shown, objects, problems, origin)
        return
    objects.append(K8sObject(data, shown, document, origin))


def _child_node(node: Any, key: str) -> Any:
    for key_node, value_node in getattr(node, "value", []) or []:
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


# --------------------------------------------------------------------------- cards


def check_card(path: Path) -> list[Finding]:
    """`card-invalid` for a card that does not load; `generated-file-edited` for its rendered tree out of date."""
    try:
        from shipcard.card.load import load_card
    except ImportError:
        return []
    shown = display(path)
    try:
        card = load_card(path)
    except InputError as exc:
        where = exc.location
        message = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return [Finding("card-invalid", "error", message, display(where.file) if where.file else shown,
                        where.line, where.column)]
    except ShipcardError as exc:
        return [Finding("card-invalid", "error", str(exc), shown)]
    return card_secret_literals(path, card) + _card_drift(path, card)


SECRET_LITERAL_RULE = "secret-literal-in-env"


def card_secret_literals(path: Path, card: Any) -> list[Finding]:
    """`secret-literal-in-env` for a card's `env` (base or an environment's) holding a literal under a
    secret-looking name. Such a value is rendered into the ConfigMap `<name>-env`, i.e. committed in
    clear, so it is the same error as a literal `value` in a container's env. The value is never shown."""
    validate = _secret_literal_validator()
    raw = getattr(card, "raw", None)
    if validate is None or not isinstance(raw, dict):
        return []
    places: list[tuple[tuple[str, ...], Any]] = [(("env",), raw.get("env"))]
    environments = raw.get("environments")
    if isinstance(environments, dict):
        places += [(("environments", str(name), "env"), (overrides or {}).get("env"))
                   for name, overrides in environments.items() if isinstance(overrides, dict) or overrides is None]
    shown = display(path)
    findings: list[Finding] = []
    document = None
    for prefix, env in places:
        if not isinstance(env, dict):
            continue
        for name, value in env.items():
            if not isinstance(value, str) or _passes(validate, {"env": [{"name": str(name), "value": value}]}):
                continue
            if document is None:
                document = load_roundtrip(read_text(path), shown)
            line, column = locate(document, prefix + (name,))
            where = ".".join(prefix)
            findings.append(Finding(SECRET_LITERAL_RULE, "error", f"card {where} sets {name} to a literal value (not "
                                    "shown), which is rendered into a ConfigMap; move it to secrets.env", shown,
                                    line, column))
    return findings


def _passes(validate: Any, instance: Any) -> bool:
    try:
        validate(instance)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


@cache
def _secret_literal_validator() -> Any:
    """The built-in rule's own schema (policies/secrets/secret-literal-in-env.yaml), so both agree."""
    try:
        return load_data_rule(builtin_policy_dir() / "secrets" / f"{SECRET_LITERAL_RULE}.yaml").validate
    except (ShipcardError, OSError):
        return None


def _card_drift(path: Path, card: Any) -> list[Finding]:
    """Compare the tree a card renders with the files on disk, when that tree is there."""
    if path.parent.name != "services":
        return []
    out = path.parent.parent
    tree = getattr(getattr(card, "gitops", None), "path", None)
    if not isinstance(tree, str) or not (out / tree).is_dir():
        return []
    try:
        from shipcard.lifecycle.rendering import plan_render
        from shipcard.writers.tree import drift
    except ImportError:
        return []
    try:
        _, plan = plan_render([path], out)
    except ShipcardError as exc:
        return [Finding("generated-file-edited", "error", str(exc), display(path))]
    findings = []
    for line in drift(plan):
        rel, _, what = line.partition(": ")
        file = out / rel
        if file.exists():
            findings.append(Finding("generated-file-edited", "error", f"{what} (card {display(path)}; run "
                                    "`shipcard render`)", display(file), 1, 1))
        else:
            findings.append(Finding("generated-file-edited", "error", f"{rel} is {what} (run `shipcard render`)",
                                    display(path)))
    return findings


# --------------------------------------------------------------------------- rendering


@dataclass
class RenderResult:
    text: str | None
    finding: Finding | None
    command: str


def find_tool(name: str, env_var: str) -> str | None:
    """`$ENV_VAR`, else PATH, else next to the running Python (a venv's bin directory)."""
    configured = os.environ.get(env_var)
    if configured:
        return configured if Path(configured).is_file() or shutil.which(configured) else None
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else None


def _render(target: Target) -> RenderResult:
    if target.kind == "kustomize":
        file = _kustomization_file(target.path) or target.path
        tool = find_tool("kubectl", "SHIPCARD_KUBECTL")
        command = f"kubectl kustomize {display(target.path)}"
        if tool is None:
            return RenderResult(None, Finding("render-failed", "error", "kubectl not found: install it or set "
                                              "SHIPCARD_KUBECTL to render this Kustomize tree", display(file)),
                                command)
        return _run([tool, "kustomize", str(target.path)], command, display(file))
    chart_file = target.path / "Chart.yaml"
    tool = find_tool("helm", "SHIPCARD_HELM")
    command = f"helm template {target.release} {display(target.path)}"
    if tool is None:
        return RenderResult(None, Finding("render-failed", "error", "helm not found: install it or set "
                                          "SHIPCARD_HELM to render this chart", display(chart_file)), command)
    argv = [tool, "template", target.release, str(target.path)]
    if target.namespace:
        argv += ["--namespace", target.namespace]
    for value in target.values:
        argv += ["--values", str(value)]
    if target.inline_values:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="shipcard-values-", delete=False) as handle:
            handle.write(target.inline_values)
        argv += ["--values", handle.name]
        try:
            return _run(argv, command, display(chart_file))
        finally:
            Path(handle.name).unlink(missing_ok=True)
    return _run(argv, command, display(chart_file))


def _run(argv: list[str], command: str, shown: str) -> RenderResult:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return RenderResult(None, Finding("render-failed", "error",
                                          f"`{command}` did not finish in {RENDER_TIMEOUT_SECONDS:g} s", shown),
                            command)
    except OSError as exc:
        return RenderResult(None, Finding("render-failed", "error", f"`{command}` could not run: {exc.strerror}",
                                          shown), command)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()][:20]
        detail = "\n".join(lines) or f"exit status {done.returncode}"
        return RenderResult(None, Finding("render-failed", "error", f"`{command}` failed: {detail}", shown), command)
    return RenderResult(done.stdout, None, command)


def _load_rendered(loaded: Loaded, target: Target, result: RenderResult) -> None:
    loaded.files.append(target.describe())
    if result.finding is not None:
        loaded.findings.append(result.finding)
        return
    assert result.text is not None
    if target.kind == "kustomize":
        _load_kustomize_output(loaded, target, result)
    else:
        _load_helm_output(loaded, target, result)


def _load_kustomize_output(loaded: Loaded, target: Target, result: RenderResult) -> None:
    file = _kustomization_file(target.path) or target.path
    rendered_name = f"{display(file)} (rendered)"
    objects: list[K8sObject] = []
    problems: list[Finding] = []
    try:
        for document in load_documents(result.text or "", rendered_name):
            _collect(document, rendered_name, objects, problems, result.command)
    except InputError as exc:
        problems.append(_input_finding(exc, rendered_name))
    tree = KustomizeTree.read(target.path)
    for path in sorted(tree.files):
        try:
            loaded.findings.extend(generated_file_findings(read_text(path), display(path)))
        except InputError:
            pass  # kubectl reported it already
    sources = SourceIndex(tree.resource_files)
    for obj in objects:
        found = sources.find(obj.kind, obj.name)
        if found is not None:
            obj.file, obj.document = found
        else:
            obj.file, obj.document = display(file), None
    loaded.objects.extend(objects)
    loaded.findings.extend(problems)


class SourceIndex:
    """Objects as written in a Kustomize tree's resource files, to trace rendered objects back to them."""

    def __init__(self, files: Iterable[Path]) -> None:
        self._by_kind: dict[str, list[tuple[str, str, Document]]] = {}
        for path in sorted(files):
            shown = display(path)
            try:
                documents = list(load_documents(read_text(path), shown))
            except InputError:
                continue
            for document in documents:
                data = document.data
                if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
                    name = str(data["metadata"].get("name") or "")
                    self._by_kind.setdefault(str(data.get("kind") or ""), []).append((name, shown, document))

    def find(self, kind: str, name: str) -> tuple[str, Document] | None:
        """The source of a rendered object: same kind, same name or the longest name inside it
        (kustomize adds prefixes, suffixes and generator hashes)."""
        best: tuple[int, str, Document] | None = None
        for source_name, shown, document in self._by_kind.get(kind, []):
            if source_name == name:
                return shown, document
            if source_name and source_name in name and (best is None or len(source_name) > best[0]):
                best = (len(source_name), shown, document)
        return (best[1], best[2]) if best else None


_SOURCE_COMMENT = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)
_DOCUMENT_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def _load_helm_output(loaded: Loaded, target: Target, result: RenderResult) -> None:
    """helm marks each document with `# Source: <chart>/templates/<file>`: objects point at that template."""
    chart_file = display(target.path / "Chart.yaml")
    for chunk in _DOCUMENT_SPLIT.split(result.text or ""):
        if not chunk.strip():
            continue
        source = _SOURCE_COMMENT.search(chunk)
        if source:
            template = target.path.joinpath(*Path(source[1]).parts[1:])
            shown = display(template)
        else:
            shown = chart_file
        objects: list[K8sObject] = []
        problems: list[Finding] = []
        try:
            for document in load_documents(chunk, shown):
                _collect(document, shown, objects, problems, result.command)
        except InputError as exc:
            problems.append(_input_finding(exc, shown))
        for obj in objects:
            obj.document = None  # lines of the rendered text would not match the template
        loaded.objects.extend(objects)
        loaded.findings.extend(problems)
