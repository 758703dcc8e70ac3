"""What a change can reach, found without reading every tree: `check --base` plans only that.

`Reach` is built from the changed paths (and the rendered trees of changed cards, whose every
target counts as changed) and answers, for what planning finds, whether it may read a changed path.
It only ever answers yes too often, never no too often: planning then reads those Kustomize trees,
helmfiles and Argo CD Applications exactly, and `check.base.select_changed` decides which targets
the change really affects, as it does for a full plan.

* a kustomization directory may reach the change when it lies under a changed path or holds one, or
  one of its entries (as written, normalised) does, or a kustomization it includes may; every
  kustomization met is read once, as plain data, for its entries;
* a helmfile, when it changed or its releases' charts or values files may;
* an Argo CD Application, when it changed or its text may name a path the change reaches: a token
  that is, or lies on the way to, a changed path or a reaching kustomization (relative to the
  repository), or anything relative (`..`, `./`), escaped, or in a directory the walk skips.

This holds only when names are what they say: a symbolic link met by the walk or on the way to a
named path makes `exact` False, and the caller plans everything instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shipcard.check.inputs.kustomize import strings
from shipcard.check.inputs.paths import SKIPPED_DIRS, kustomization_file
from shipcard.check.rules.cross.kustomize_remote_resource import entries, is_remote
from shipcard.errors import InputError
from shipcard.yamlio.read import load_plain_all, read_text

# A path token that normalising would change, or `.` alone: read the Application as data.
_DOT = re.compile(r"(?:^|[\s'\"\[,{:=])\.(?:/|(?=['\"\s,\]}#]|$))|(?:^|[\s'\"\[,{:=/])\.[^\s/.]", re.MULTILINE)
_SEPARATORS = frozenset(" \t\n'\"[,{:=")
_END = r"(?=['\"\s,\]}#]|$)"


def _unsure(body: str) -> bool:
    """Whether a path in `body` may not be written as the path it names (relative, escaped, doubled)."""
    return any(text in body for text in ("..", "\\", "''", '""', "recurse")) \
        or "//" in body.replace("://", "") or _DOT.search(body) is not None


class Reach:
    """The changed paths, and which of the things planning finds may read one (see the module docstring)."""

    def __init__(self, changed: Iterable[Path], trees: Iterable[Path] = ()) -> None:
        self.roots = frozenset(changed) | frozenset(trees)
        self._above = frozenset(str(parent) for path in self.roots for parent in path.parents)
        self._named = frozenset(map(str, self.roots))
        self._under = tuple(name.rstrip("/") + "/" for name in self._named)
        self.links: list[Path] = []  # symbolic links met: names are not what they say
        self.walked: set[Path] = set()  # directories the walk listed (any link in them is in `links`)
        self.kustomize: set[Path] = set()  # kustomization directories that may reach the change
        self.homes: set[Path] = set()  # every kustomization directory found, and every directory they include
        self.included: set[Path] = set()
        self.consumed: set[Path] = set()  # every path a kustomization read as plain data names
        self._roots_at: dict[Path, re.Pattern[str] | None] = {}

    @property
    def exact(self) -> bool:
        return not self.links

    def touches(self, path: Path) -> bool:
        """Whether `path` is changed, holds a changed path, or lies under one."""
        name = str(path)
        return name in self._named or name in self._above or name.startswith(self._under)

    def met(self, directory: Path, names: Iterable[os.DirEntry[str]]) -> None:
        """What the walk lists of `directory`: its symbolic links are noted."""
        self.walked.add(directory)
        self.links += [Path(entry.path) for entry in names if entry.is_symlink()]

    def scan(self, directory: Path) -> None:
        """Every directory below `directory` (a chart, which the walk does not descend), for links."""
        for root, _dirs, _names in os.walk(directory):
            with os.scandir(root) as listing:
                self.met(Path(root), list(listing))

    def named(self, base: Path, entry: str) -> Path | None:
        """What `entry` names relative to `base`, normalised; None when a link may be on the way."""
        path = Path(os.path.normpath(base / entry.strip()))
        if path.parent not in self.walked and os.path.realpath(path) != str(path):
            self.links.append(path)
            return None
        return path

    # ------------------------------------------------------------------ Kustomize

    def reaching_kustomizations(self, found: Iterable[Path]) -> set[Path]:
        """Of the kustomization directories `found`, those that may read a changed path (also kept in
        `kustomize`, for the Applications that name them)."""
        found = list(found)
        self.homes |= set(found)
        users: dict[Path, set[Path]] = {}  # included directory -> the kustomization directories including it
        reaching: set[Path] = set()
        pending, seen = list(found), set(found)
        while pending:
            directory = pending.pop()
            read = self._entries(directory)
            if read is None:
                reaching.add(directory)
                continue
            named, included = read
            self.consumed |= named
            self.included |= included
            self.homes |= included
            if self.touches(directory) or any(self.touches(path) for path in named):
                reaching.add(directory)
            for path in included:
                users.setdefault(path, set()).add(directory)
                if path not in seen:
                    seen.add(path)
                    pending.append(path)
        stack = list(reaching)
        while stack:
            for user in users.get(stack.pop(), ()):
                if user not in reaching:
                    reaching.add(user)
                    stack.append(user)
        self.kustomize |= reaching
        return reaching & set(found)

    def _entries(self, directory: Path) -> tuple[set[Path], set[Path]] | None:
        """The paths a kustomization names and the directories among them; None when only reading it
        exactly can tell (unreadable, not plain YAML, a link on the way)."""
        file = kustomization_file(directory)
        if file is None:
            return set(), set()
        data = _plain(file)
        if not isinstance(data, dict):
            return None
        named: set[Path] = set()
        for _, _, entry in entries(data):
            if is_remote(entry):
                continue
            path = self.named(directory, entry)
            if path is None:
                return None
            named.add(path)
        return named, {path for path in named if path.is_dir()}

    # ------------------------------------------------------------------ helmfiles and Applications

    def helmfile_may_reach(self, helmfile: Path) -> bool:
        """Whether a helmfile changed, or may release a chart or read a values file the change reaches."""
        if self.touches(helmfile):
            return True
        documents = _plain_all(helmfile)
        if documents is None:
            return True
        for document in documents:
            releases = document.get("releases") if isinstance(document, dict) else None
            for release in releases if isinstance(releases, list) else []:
                if not isinstance(release, dict):
                    continue
                for entry in strings(release.get("chart")) + strings(release.get("values")):
                    path = self.named(helmfile.parent, entry)
                    if path is None or self.touches(path):
                        return True
        return False

    def application_may_reach(self, file: Path, text: str, root: Path) -> bool:
        """Whether the Argo CD Application(s) in `file` (repository `root`) may deploy what the change reaches."""
        body = _body(text)
        if self.touches(file) or any(name in body for name in SKIPPED_DIRS):
            return True
        if _unsure(body) or root not in self.walked:
            # A source the walk did not list (outside the checked paths, in a hidden directory) may be a
            # kustomization no token names: only its paths, read as data, tell.
            return self._sources_may_reach(text, root)
        if root not in self._roots_at:
            self._roots_at[root] = self._path_tokens(root)
        pattern = self._roots_at[root]
        if pattern is None:
            return True
        return any(match.start() == 0 or body[match.start() - 1] in _SEPARATORS for match in pattern.finditer(body))

    def _sources_may_reach(self, text: str, root: Path) -> bool:
        """Whether an Application's source paths or values files (read as plain data) may reach the change."""
        try:
            documents = load_plain_all(text)
        except Exception:  # any YAML problem: the exact reader reports it
            return True
        for document in documents:
            spec = document.get("spec") if isinstance(document, dict) else None
            if not isinstance(spec, dict):
                continue
            sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
            sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)] \
                if isinstance(spec.get("sources"), list) else []
            for source in sources:
                if not isinstance(source.get("path"), str):
                    continue
                directory = self.named(root, source["path"])
                if directory is None or self.touches(directory) or directory in self.kustomize \
                        or self._unwalked_source_may_reach(directory):
                    return True
                helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
                for entry in strings(helm.get("valueFiles")):
                    path = self.named(directory, entry)
                    if path is None or self.touches(path):
                        return True
        return False

    def _unwalked_source_may_reach(self, directory: Path) -> bool:
        """Whether a source directory the walk never met reaches the change: a kustomization is read for
        its entries as the walk's are, a chart scanned for links (which make the plan not exact)."""
        if directory in self.homes:
            return False
        if kustomization_file(directory) is not None:
            return bool(self.reaching_kustomizations([directory]))
        if directory not in self.walked and (directory / "Chart.yaml").is_file():
            self.scan(directory)
        return False

    def _path_tokens(self, root: Path) -> re.Pattern[str] | None:
        """A token naming a changed path or reaching kustomization, or a directory on the way to one,
        relative to `root`; None when one of them is `root` or above it (everything may name it)."""
        alternatives = []
        for path in sorted(self.roots | self.kustomize):
            try:
                parts = path.relative_to(root).parts
            except ValueError:
                if path == root or path in root.parents:
                    return None
                continue
            if not parts or _SEPARATORS & set(str(path)):
                return None
            prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]  # itself and on the way to it
            alternatives.append(f"(?:{'|'.join(map(re.escape, reversed(prefixes)))})/?{_END}")
            alternatives.append(f"{re.escape(prefixes[-1])}/")  # below it
        return re.compile("|".join(alternatives) or r"(?!)", re.MULTILINE)


def _body(text: str) -> str:
    """`text` without its leading comment lines (shipcard's header names the card every file comes from)."""
    lines = text.split("\n")
    first = next((index for index, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
                 len(lines))
    return "\n".join(lines[first:])


def _plain(file: Path) -> Any:
    """A small file's first document as plain data; None when it cannot be read that way."""
    documents = _plain_all(file)
    return documents[0] if documents and len(documents) == 1 else None


def _plain_all(file: Path) -> list[Any] | None:
    try:
        text = read_text(file)
    except InputError:
        return None
    if "&" in text or "*" in text or "<<" in text:  # anchors and aliases: only the exact reader judges them
        return None
    try:
        return load_plain_all(text)
    except Exception:  # any YAML problem: the exact reader reports it
        return None

