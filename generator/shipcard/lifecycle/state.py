"""Render state: per service, what its last render read and wrote (`.shipcard-state/<name>.yaml`).

The state file is generated like every other file (header, digest) and committed with the
tree. It records a hash of the render's inputs (the card's text, the repository settings that
shape files, shipcard's version, the run's --format and pins), the extension points found, and
every file written. A later render skips the service when the inputs hash is the same, the
extension points are as they were and every listed file is still intact; the list also tells
which files went stale and which trees a removed card left behind (orphans).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard import __version__
from shipcard.errors import InputError, WriteError
from shipcard.settings import RepoSettings
from shipcard.transaction import STATE_DIR as LOCAL_DIR
from shipcard.writers.tree import intact, with_header
from shipcard.yamlio.dump import write_atomic
from shipcard.yamlio.read import MAX_FILE_BYTES, read_regular_file, read_text

STATE_DIR = ".shipcard-state"


@dataclass(frozen=True)
class State:
    service: str
    card: str  # the card's source, as headers name it
    tree: str  # its gitops.path
    format: str
    inputs: str
    extensions: dict[str, bool]
    files: tuple[str, ...]

    @property
    def path(self) -> str:
        return state_path(self.service)

    def text(self) -> str:
        """JSON (which is YAML) under the usual header: read back by the C JSON parser, fast."""
        body = json.dumps({"service": self.service, "card": self.card, "tree": self.tree, "format": self.format,
                           "inputs": self.inputs, "extensions": dict(sorted(self.extensions.items())),
                           "files": sorted(self.files)}, indent=1)
        return with_header(self.card, body + "\n")

    def still_valid(self, out: Path, inputs: str, verified: VerifiedFiles | None = None) -> bool:
        """Nothing this service's render depends on changed, and its files are as it wrote them."""
        if inputs != self.inputs:
            return False
        root = str(out)
        if not all(_plain(rel) for rel in (*self.files, *self.extensions)):
            return False  # a state file is repository content: one naming other paths is not trusted
        if any(os.path.isfile(os.path.join(root, rel)) != there for rel, there in self.extensions.items()):
            return False
        if verified is None:
            return all(_intact(os.path.join(root, rel), self.card) for rel in (*self.files, self.path))
        return all(verified.intact(root, rel, self.card) for rel in (*self.files, self.path))


MAX_VERIFIED_BYTES = 64 * 1024 * 1024  # a larger file is ignored: every generated file is then read


class VerifiedFiles:
    """Generated files found intact by earlier runs, by their stat signature (`.shipcard/verified.json`).

    A no-op render of a thousand services would otherwise read and hash some 16,000 files. Like
    git's index, a file whose size, mtime, ctime and inode are those recorded when it was last
    found intact is taken as still intact; any write changes its ctime. Files changed less than
    two seconds before a run are not recorded (a write in the same clock tick could go unseen).
    The cache is local (`.shipcard/` is git-ignored) and only ever saves reading a file.
    """

    RACY_NS = 2_000_000_000

    def __init__(self, out: Path) -> None:
        self.path = out / LOCAL_DIR / "verified.json"
        try:
            data = None if self.path.is_symlink() else read_regular_file(self.path, MAX_VERIFIED_BYTES)
            entries = json.loads(data.decode("utf-8")) if data and len(data) <= MAX_VERIFIED_BYTES else {}
            self.entries: dict[str, list[Any]] = entries if isinstance(entries, dict) else {}
        except (OSError, UnicodeDecodeError, ValueError):
            self.entries = {}
        self.found: dict[str, list[Any]] = {}
        self.horizon_ns = time.time_ns() - self.RACY_NS

    def intact(self, root: str, rel: str, source: str) -> bool:
        path = os.path.join(root, rel)
        try:
            stat = os.stat(path)
        except OSError:
            return False
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, source]
        if self.entries.get(rel) == signature or _intact(path, source):
            if max(stat.st_mtime_ns, stat.st_ctime_ns) < self.horizon_ns:
                self.found[rel] = signature
            return True
        return False

    def save(self, whole_repository: bool) -> None:
        """Record what this run found (plus, for a run over some cards, what earlier runs found)."""
        entries = self.found if whole_repository else {**self.entries, **self.found}
        if entries == self.entries:
            return
        try:
            write_atomic(self.path, json.dumps(entries, separators=(",", ":")))
        except WriteError:
            pass  # a cache: a full disk costs the next run some reading, nothing else


def state_path(service: str) -> str:
    return f"{STATE_DIR}/{service}.yaml"


def inputs_hash(card_text: str, repo: RepoSettings, fmt: str | None, pins: dict[str, str] | None) -> str:
    """What a service's generated files depend on, besides the extension points."""
    digest = hashlib.sha256()
    for part in (__version__, repo.fingerprint, fmt or "", json.dumps(pins or {}, sort_keys=True), card_text):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def read_states(out: Path, services: list[str] | None = None) -> list[State]:
    """The readable state files under `out`, all or those of `services` (a damaged one is ignored:
    its service renders again)."""
    states: list[State] = []
    directory = out / STATE_DIR
    if not directory.is_dir():
        return states
    if services is None:
        paths = sorted(directory.glob("*.yaml"), key=str)
    else:
        paths = [out / state_path(s) for s in services]
    for path in paths:
        state = _parse(path)
        if state is not None and path.name == f"{state.service}.yaml":
            states.append(state)
    return states


def _parse(path: Path) -> State | None:
    try:
        data: Any = json.loads(read_text(path).split("\n", 2)[2])
        return State(service=str(data["service"]), card=str(data["card"]), tree=str(data["tree"]),
                     format=str(data["format"]),
                     inputs=str(data["inputs"]), extensions={str(k): bool(v) for k, v in data["extensions"].items()},
                     files=tuple(str(f) for f in data["files"]))
    except (InputError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _plain(rel: str) -> bool:
    """A plain path relative to the repository: not absolute, no `.`/`..`/empty parts, no NUL."""
    return bool(rel) and not rel.startswith("/") and "\0" not in rel \
        and all(part not in ("", ".", "..") for part in rel.split("/"))


def _intact(path: str, source: str) -> bool:
    try:
        data = read_regular_file(path, MAX_FILE_BYTES)  # never a FIFO or device, never unbounded
    except OSError:
        return False
    return data is not None and len(data) <= MAX_FILE_BYTES and intact(data, source)
