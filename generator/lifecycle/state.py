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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__
from generator.repo import RepoSettings
from generator.writers.tree import intact, with_header

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

    def still_valid(self, out: Path, inputs: str) -> bool:
        """Nothing this service's render depends on changed, and its files are as it wrote them."""
        if inputs != self.inputs:
            return False
        root = str(out)
        if any(os.path.isfile(os.path.join(root, rel)) != there for rel, there in self.extensions.items()):
            return False
        return all(_intact(os.path.join(root, rel), self.card) for rel in (*self.files, self.path))


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
    paths = sorted(directory.glob("*.yaml")) if services is None else [out / state_path(s) for s in services]
    for path in paths:
        state = _parse(path)
        if state is not None and path.name == f"{state.service}.yaml":
            states.append(state)
    return states


def _parse(path: Path) -> State | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8").split("\n", 2)[2])
        return State(service=str(data["service"]), card=str(data["card"]), tree=str(data["tree"]),
                     format=str(data["format"]),
                     inputs=str(data["inputs"]), extensions={str(k): bool(v) for k, v in data["extensions"].items()},
                     files=tuple(str(f) for f in data["files"]))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _intact(path: str, source: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return intact(handle.read(), source)
    except OSError:
        return False
