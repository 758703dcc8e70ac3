"""Targets → `K8sObject`s that remember their file, line and column.

`load_targets` reads and renders every target of a plan, turning every problem on the way
(malformed YAML, a failing kubectl, a missing helm, an invalid card) into findings.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.check.inputs.cards import Cards
from shipcard.check.inputs.generated import GeneratedTrees, current_output
from shipcard.check.inputs.kustomize import KustomizeTree, SourceIndex
from shipcard.check.inputs.paths import STDIN_NAME, display, kustomization_file
from shipcard.check.inputs.targets import Plan, Target
from shipcard.check.inputs.tools import RenderResult, helm_command, kustomize_command, render_target
from shipcard.check.model import Finding, K8sObject
from shipcard.errors import InputError
from shipcard.settings import LINK_OUT, leads_out_of, repository_root
from shipcard.writers.tree import edited_by_hand, is_generated
from shipcard.yamlio.read import MAX_FILE_BYTES, Document, UnreadableFileError, load_documents, read_text


@dataclass
class Loaded:
    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file or tree checked, as displayed
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_targets(plan: Plan, *, stdin_text: str | None = None, jobs: int | None = None,
                 in_process: bool = True) -> Loaded:
    """Read and render every target; problems become findings, never exceptions.

    Files come first: the cards among them are compared with their trees, and the Kustomize overlays and
    chart releases of trees found intact are built in this process (`GeneratedTrees`) unless `in_process` is False (the
    tests' way to compare both paths). Every other overlay and chart release is rendered by kubectl or
    helm, `jobs` at a time (default: the number of cores). The result is in the plan's order either way.
    """
    loaded = Loaded(skipped=list(plan.skipped), notes=list(plan.notes))
    pieces: dict[int, Loaded] = {}
    for target in plan.targets:
        if target.kind in ("manifest", "card"):
            _load_file(pieces.setdefault(id(target), Loaded()), target, plan.cards)
    drift = plan.cards.drift_findings()
    generated = GeneratedTrees(plan.cards)
    sources = _SourceIndexes()
    rendering: dict[int, Future[RenderResult]] = {}
    trees: dict[int, KustomizeTree] = {}
    workers = max(1, jobs or os.cpu_count() or 1)
    # The tools start as soon as a target needs them, and run while this thread builds the others.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for target in plan.targets:
            if target.kind == "kustomize":
                tree = trees[id(target)] = target.tree or KustomizeTree.read(target.path)
                built = generated.overlay(target, tree) if in_process else None
                if built is not None:
                    piece = pieces[id(target)] = Loaded(files=[target.describe()])
                    _load_kustomize_objects(piece, target, tree, sources, built)
                    continue
            elif target.kind == "helm":
                templated = generated.release(target) if in_process else None
                if templated is not None:
                    origin = helm_command(target)
                    pieces[id(target)] = Loaded(files=[target.describe()], objects=[
                        K8sObject(data, display(template), None, origin, release_values(target))
                        for template, data in templated])
                    continue
            if target.kind in ("kustomize", "helm"):
                rendering[id(target)] = pool.submit(render_target, target)
        for target in plan.targets:
            if id(target) in rendering:
                _load_rendered(pieces.setdefault(id(target), Loaded()), target, rendering[id(target)].result(),
                               sources, trees.get(id(target)))
    for target in plan.targets:
        if target.kind == "stdin":
            text = stdin_text if stdin_text is not None else _read_stdin(loaded)
            if text is not None:
                _load_text(loaded, text, STDIN_NAME, explicit=True)
            continue
        piece = pieces[id(target)]
        loaded.objects.extend(piece.objects)
        loaded.findings.extend(piece.findings)
        loaded.files.extend(piece.files)
        loaded.skipped.extend(piece.skipped)
    loaded.findings.extend(drift)
    loaded.objects.extend(current_output(plan.cards))
    return loaded


def release_values(target: Target) -> tuple[str, ...]:
    """A release's values files as its objects remember them (which Application deploys which render)."""
    return tuple(str(value) for value in target.values)


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


def _load_file(loaded: Loaded, target: Target, cards: Cards) -> None:
    shown = display(target.path)
    if not target.explicit and _leads_out_of_its_repository(target.path):
        loaded.files.append(shown)
        loaded.findings.append(Finding("input-unreadable", "error", f"{LINK_OUT} (name it on the command line to "
                                       "check it)", shown))
        return
    try:
        text = cards.text(target.path) or read_text(target.path)
    except InputError as exc:
        loaded.files.append(shown)
        loaded.findings.append(_input_finding(exc, shown))
        return
    maybe_card = target.kind == "card" or "shipcard/" in text[:4096]
    if maybe_card and (_looks_like_card(text) or (target.kind == "card" and _renders_as_card(target.path, text))):
        loaded.files.append(shown)
        loaded.findings.extend(cards.check(target.path, text))
        return
    loaded.findings.extend(generated_file_findings(text, shown))
    _load_text(loaded, text, shown, explicit=target.explicit)


def _leads_out_of_its_repository(path: Path) -> bool:
    """Whether a file found in a repository is a symbolic link (or lies below one) leading out of it."""
    if os.path.realpath(path) == str(path):
        return False  # no link on the way: the walk stays inside what it walks
    root = repository_root(path.parent)
    return root is not None and leads_out_of(path, root)


def generated_file_findings(text: str, shown: str) -> list[Finding]:
    """`generated-file-edited` when a file with shipcard's header no longer matches its digest."""
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
    if data is None:
        return  # an empty document (`---` and comments): kubectl and the API server skip it too
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


def _load_rendered(loaded: Loaded, target: Target, result: RenderResult, sources: _SourceIndexes,
                   tree: KustomizeTree | None) -> None:
    loaded.files.append(target.describe())
    if result.findings:
        loaded.findings.extend(result.findings)
        return
    assert result.text is not None
    if target.kind == "kustomize":
        _load_kustomize_output(loaded, target, result, sources, tree or KustomizeTree.read(target.path))
    else:
        _load_helm_output(loaded, target, result)


class _SourceIndexes:
    """One `SourceIndex` per set of resource files in a run: the overlays of one base share it."""

    def __init__(self) -> None:
        self._by_files: dict[tuple[frozenset[Path], bool], SourceIndex] = {}

    def of(self, files: set[Path], rendered_now: bool = False) -> SourceIndex:
        key = (frozenset(files), rendered_now)
        index = self._by_files.get(key)
        if index is None:
            index = self._by_files[key] = SourceIndex(key[0], rendered_now=rendered_now)
        return index


def _load_kustomize_output(loaded: Loaded, target: Target, result: RenderResult, sources: _SourceIndexes,
                           tree: KustomizeTree) -> None:
    file = kustomization_file(target.path) or target.path
    rendered_name = f"{display(file)} (rendered)"
    objects: list[K8sObject] = []
    problems: list[Finding] = []
    try:
        for document in load_documents(result.text or "", rendered_name):
            _collect(document, rendered_name, objects, problems, result.command)
    except InputError as exc:
        problems.append(_input_finding(exc, rendered_name))
    for path in sorted(tree.files):
        try:
            loaded.findings.extend(generated_file_findings(read_text(path), display(path)))
        except InputError:
            pass  # kubectl reported it already
    _place_in_sources(loaded, target, tree, sources, objects)
    loaded.findings.extend(problems)


def _load_kustomize_objects(loaded: Loaded, target: Target, tree: KustomizeTree, sources: _SourceIndexes,
                            built: list[dict[str, Any]]) -> None:
    """An overlay built in this process: its objects, placed as kubectl's output would be (its files are
    intact, so there is no `generated-file-edited` to report)."""
    origin = kustomize_command(target)
    _place_in_sources(loaded, target, tree, sources, [K8sObject(data, "", None, origin) for data in built],
                      rendered_now=True)


def _place_in_sources(loaded: Loaded, target: Target, tree: KustomizeTree, sources: _SourceIndexes,
                      objects: list[K8sObject], rendered_now: bool = False) -> None:
    """Each built object points at the object of the tree's resource files it came from, else at the kustomization."""
    file = kustomization_file(target.path) or target.path
    index = sources.of(tree.resource_files, rendered_now)
    for obj in objects:
        found = index.find(obj.kind, obj.name)
        if found is not None:
            obj.file, obj.document = found
        else:
            obj.file, obj.document = display(file), None
    loaded.objects.extend(objects)


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
            obj.values = release_values(target)
        loaded.objects.extend(objects)
        loaded.findings.extend(problems)
