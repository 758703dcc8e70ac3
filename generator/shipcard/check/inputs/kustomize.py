"""Kustomize trees: what a kustomization is built from, and where its rendered objects were written."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.check.inputs.paths import KUSTOMIZATION_NAMES, display
from shipcard.check.model import Finding
from shipcard.check.rules.cross.helm_remote_dependency import ID as HELM_RULE
from shipcard.check.rules.cross.helm_remote_dependency import kustomization_charts
from shipcard.check.rules.cross.kustomize_loop import ID as LOOP_RULE
from shipcard.check.rules.cross.kustomize_remote_resource import ID as REMOTE_RULE
from shipcard.check.rules.cross.kustomize_remote_resource import entries, is_remote, remote_entries
from shipcard.errors import InputError
from shipcard.validation import field_name
from shipcard.yamlio.read import (
    Document,
    LazyDocument,
    ParsedOnDemand,
    PathKey,
    UnreadableFileError,
    load_documents,
    read_text,
)


@dataclass
class KustomizeTree:
    """What one kustomization is built from: its files (recursively), the kustomizations it includes,
    and what stops it from being rendered (remote locations, loops, files that are not regular files)."""

    directory: Path
    is_component: bool = False
    files: set[Path] = field(default_factory=set)
    resource_files: set[Path] = field(default_factory=set)  # files whose objects kustomize emits
    included_dirs: set[Path] = field(default_factory=set)
    named: set[Path] = field(default_factory=set)  # every local path named, as written and resolved, even if missing
    remote: list[Finding] = field(default_factory=list)  # rendered only with `check --allow-remote`
    broken: list[Finding] = field(default_factory=list)  # never rendered: kustomize would loop or block
    _visited: set[Path] = field(default_factory=set, repr=False)

    @classmethod
    def read(cls, directory: Path) -> KustomizeTree:
        tree = cls(directory)
        tree._visited.add(directory)
        tree._visit(directory, (directory,), top=True)
        return tree

    def _visit(self, directory: Path, stack: tuple[Path, ...], *, top: bool = False) -> None:
        file = self._kustomization(directory)
        if file is None:
            return
        self.files.add(file)
        try:
            document = next(load_documents(read_text(file), display(file)), None)
        except InputError as exc:  # kustomize may read it otherwise; malformed YAML is never rendered
            rule = "input-unreadable" if isinstance(exc, UnreadableFileError) else "yaml-invalid"
            message = f"{exc.field}: {exc.message}" if exc.field else exc.message
            self.broken.append(Finding(rule, "error", message, display(file), exc.location.line, exc.location.column))
            return
        data = document.data if document is not None and isinstance(document.data, dict) else {}
        if top:
            self.is_component = data.get("kind") == "Component"
        shown = display(file)

        def at(rule: str, path: PathKey, message: str) -> Finding:
            line, column = document.line_of(path) if document is not None else (0, 0)
            return Finding(rule, "error", message, shown, line, column)

        self.remote += [at(REMOTE_RULE, path, text) for path, text in remote_entries(data)]
        self.remote += [at(HELM_RULE, path, text) for path, text in kustomization_charts(data)]
        for path, key, entry in entries(data):
            if is_remote(entry):
                continue
            target, looped = self._locate(directory, entry)
            if looped:
                self.broken.append(at(LOOP_RULE, path, f"{field_name(path)} {entry.strip()}: a symbolic link loop"))
            if target is None:
                continue
            if target.is_dir():
                if target in stack:
                    self.broken.append(at(LOOP_RULE, path, f"{field_name(path)} {entry} leads back to "
                                          f"{display(target)}, which includes it: a kustomization loop"))
                    continue
                self.included_dirs.add(target)
                if target not in self._visited:
                    self._visited.add(target)
                    self._visit(target, (*stack, target))
            elif target.is_file():
                self.files.add(target)
                if key in ("resources", "bases"):
                    self.resource_files.add(target)
            else:
                self.broken.append(Finding("input-unreadable", "error", "not a regular file (named by "
                                           f"{field_name(path)} of {shown}): kustomize would block reading it",
                                           display(target)))

    def _kustomization(self, directory: Path) -> Path | None:
        """The kustomization file of `directory`; one that exists but is no regular file is a finding."""
        for name in KUSTOMIZATION_NAMES:
            candidate = directory / name
            if not os.path.lexists(candidate):
                continue
            try:
                if stat.S_ISREG(candidate.stat().st_mode):
                    return candidate
                problem = "not a regular file: kustomize would block reading it"
            except OSError as exc:
                problem = "a symbolic link loop" if exc.errno == errno.ELOOP else "a symbolic link to nothing"
            self.broken.append(Finding("input-unreadable", "error", problem, display(candidate)))
            return None
        return None

    def _locate(self, directory: Path, entry: str) -> tuple[Path | None, bool]:
        """The file or directory `entry` names, resolved (None when missing: kustomize says so), and
        whether resolving it met a symbolic link loop."""
        written = Path(os.path.normpath(directory / entry.strip()))
        self.named.add(written)
        try:
            resolved = Path(os.path.realpath(written, strict=True))
        except OSError as exc:
            return None, exc.errno == errno.ELOOP
        self.named.add(resolved)
        return resolved, False


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class SourceIndex:
    """Objects as written in a Kustomize tree's resource files, to trace rendered objects back to them.

    `rendered_now`: the files are exactly what shipcard renders now (the in-process build's condition), so
    each document's kind and name can be read off shipcard's own layout, and the file is parsed only if
    one of its objects' data or positions is asked for (a finding, mostly).
    """

    def __init__(self, files: Iterable[Path], *, rendered_now: bool = False) -> None:
        self._by_kind: dict[str, list[tuple[str, str, Document]]] = {}
        for path in sorted(files):
            shown = display(path)
            entries = _laid_out_by_shipcard(path, shown) if rendered_now else None
            if entries is None:
                try:
                    documents = list(load_documents(read_text(path), shown))
                except InputError:
                    continue
                entries = [(str(d.data.get("kind") or ""), str(d.data["metadata"].get("name") or ""), d)
                           for d in documents
                           if isinstance(d.data, dict) and isinstance(d.data.get("metadata"), dict)]
            for kind, name, document in entries:
                self._by_kind.setdefault(kind, []).append((name, shown, document))

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


_TOP_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]*):(?: (.*))?$")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][-A-Za-z0-9._]*")


def _laid_out_by_shipcard(path: Path, shown: str) -> list[tuple[str, str, Document]] | None:
    """(kind, name, document) of each object of a file written by shipcard's emitter, from its layout: block
    mappings, top-level keys at column 0, `metadata`'s keys at column 2, plain names. None when any
    document does not read unambiguously that way; the caller then parses the file."""
    try:
        text = read_text(path)
    except InputError:
        return None
    stream = ParsedOnDemand(path, shown)
    entries: list[tuple[str, str, Document]] = []
    index = 0
    for chunk in text.split("\n---\n"):
        lines = [line for line in chunk.split("\n") if line and not line.startswith("#")]
        if not lines:
            continue  # an empty document: the parser yields none
        kind, name, in_metadata, has_metadata, in_block = "", "", False, False, False
        for line in lines:
            if line.startswith("- ") and in_block and not in_metadata:
                continue  # an item of a top-level key's sequence (written without indentation)
            if not line.startswith(" "):
                top = _TOP_KEY.match(line)
                if top is None:
                    return None
                key, value = top.group(1), top.group(2)
                in_block = value is None
                in_metadata = key == "metadata" and value is None
                has_metadata = has_metadata or in_metadata
                if key == "kind":
                    if value is None or not _PLAIN_NAME.fullmatch(value):
                        return None
                    kind = value
                elif key == "metadata" and value is not None:
                    return None  # metadata written inline ({} or flow): leave it to the parser
            elif in_metadata and line.startswith("  name:") and not line.startswith("   "):
                value = line[len("  name:"):]
                if not value.startswith(" ") or not _PLAIN_NAME.fullmatch(value[1:]):
                    return None
                name = value[1:]
        if has_metadata:
            entries.append((kind, name, LazyDocument(stream, index)))
        index += 1
    return entries
