"""Kustomize trees: what a kustomization is built from, and where its rendered objects were written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.check.inputs.paths import display, kustomization_file
from shipcard.errors import InputError
from shipcard.yamlio.read import Document, load_documents, read_text


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
        file = kustomization_file(directory)
        if file is None:
            return
        self.files.add(file)
        data = _read_yaml_mapping(file)
        if top:
            self.is_component = data.get("kind") == "Component"
        for key in ("resources", "bases", "components"):
            for entry in strings(data.get(key)):
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
        for entry in strings(data.get("patchesStrategicMerge")) + strings(data.get("crds")) \
                + strings(data.get("configurations")) + strings(data.get("transformers")) \
                + strings(data.get("generators")) + strings(data.get("validators")):
            self._add_file(directory, entry)
        for key in ("patches", "patchesJson6902", "replacements"):
            for item in data.get(key) or []:
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    self._add_file(directory, item["path"])
        for key in ("configMapGenerator", "secretGenerator"):
            for generator in data.get(key) or []:
                if not isinstance(generator, dict):
                    continue
                for entry in strings(generator.get("files")) + strings(generator.get("envs")) \
                        + strings(generator.get("env")):
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


def strings(value: Any) -> list[str]:
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
