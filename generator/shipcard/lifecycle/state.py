"""Render state: per service, what its last render read and wrote (`.shipcard-state/<name>.yaml`).

The state file is generated like every other file (header, digest) and committed with the
tree. It records a hash of the render's inputs (the card's text, the repository settings that
shape files, shipcard's version, the run's --format and pins), the extension points found, and
every file written. A later render skips the service when the inputs hash is the same, the
extension points are as they were, every listed file is still intact and this machine's
receipt vouches for the tree; the list also tells which files went stale and which trees a
removed card left behind (orphans).

A state file is repository content: a pull request can commit one that claims the current
card's inputs beside an older card's files, each of them intact. So skipping also needs a
receipt (`Receipts`): a keyed hash, under a key kept in the user's cache and never in the
repository, of the state and file digests this machine itself rendered. A clone without
receipts (CI, a colleague's checkout) renders each service once, writing nothing that matches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard import __version__
from shipcard.errors import InputError, WriteError
from shipcard.settings import RepoSettings
from shipcard.transaction import STATE_DIR as LOCAL_DIR
from shipcard.validation import cache_root
from shipcard.writers.tree import generated_digest, stated_digest, with_header
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
    # Rendered by a shipcard whose NetworkPolicies admit declared callers only (allowFrom). Older ones
    # admitted every source to the ports of a card without allowFrom: `upgrade` keeps that explicit.
    declared_callers: bool = True

    @property
    def path(self) -> str:
        return state_path(self.service)

    def text(self) -> str:
        """JSON (which is YAML) under the usual header: read back by the C JSON parser, fast."""
        body = json.dumps({"service": self.service, "card": self.card, "tree": self.tree, "format": self.format,
                           "inputs": self.inputs, "extensions": dict(sorted(self.extensions.items())),
                           "files": sorted(self.files), "declaredCallers": self.declared_callers}, indent=1)
        return with_header(self.card, body + "\n")

    def still_valid(self, out: Path, inputs: str, verified: VerifiedFiles | None = None,
                    receipts: Receipts | None = None) -> bool:
        """Nothing this service's render depends on changed, and its files are as this machine wrote them."""
        if inputs != self.inputs or receipts is None:
            return False
        root = str(out)
        if not all(_plain(rel) for rel in (*self.files, *self.extensions)):
            return False  # a state file is repository content: one naming other paths is not trusted
        if any(os.path.isfile(os.path.join(root, rel)) != there for rel, there in self.extensions.items()):
            return False
        digests: dict[str, str] = {}
        for rel in (*self.files, self.path):
            digest = verified.digest(root, rel, self.card) if verified else _digest(os.path.join(root, rel), self.card)
            if digest is None:
                return False
            digests[rel] = digest
        return receipts.vouches(self.service, tree_digest(digests))


def tree_digest(digests: dict[str, str]) -> str:
    """One digest of a service's files (state file included), from their header digests."""
    joined = "\0".join(f"{rel}\0{digest}" for rel, digest in sorted(digests.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def text_digests(files: dict[str, str]) -> dict[str, str]:
    """The header digests of generated texts (as `tree_digest` wants them), without re-hashing bodies."""
    return {rel: stated_digest(text) for rel, text in files.items()}


RECEIPT_KEY_BYTES = 32


class Receipts:
    """Which trees this machine rendered: service → keyed hash of its tree digest (`.shipcard/receipts.json`).

    The key lives in the user's cache, so a receipts file committed to the repository, or copied
    from another machine, vouches for nothing. Without a usable key there are no receipts: every
    service renders, which is slower and never wrong.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / LOCAL_DIR / "receipts.json"
        self.key = _receipt_key()
        self.entries: dict[str, str] = {k: v for k, v in _read_cache(self.path).items()
                                        if isinstance(v, str) and _HEX_DIGEST.fullmatch(v)}

    def _mac(self, service: str, digest: str) -> str:
        assert self.key is not None
        return hmac.new(self.key, f"{service}\0{digest}".encode(), hashlib.sha256).hexdigest()

    def vouches(self, service: str, digest: str) -> bool:
        recorded = self.entries.get(service)
        return self.key is not None and recorded is not None and hmac.compare_digest(recorded, self._mac(service,
                                                                                                          digest))

    def save(self, rendered: dict[str, str], keep: set[str]) -> None:
        """Record the trees of `rendered` (service → tree digest); keep the receipts of `keep` only besides."""
        if self.key is None:
            return
        entries = {s: r for s, r in self.entries.items() if s in keep and s not in rendered}
        entries.update({service: self._mac(service, digest) for service, digest in rendered.items()})
        if entries == self.entries:
            return
        _write_cache(self.path, dict(sorted(entries.items())))


def _receipt_key() -> bytes | None:
    """This user's receipt key (made on first use, mode 0600), or None when the cache cannot hold one."""
    path = cache_root() / "receipts.key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(RECEIPT_KEY_BYTES))
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        data = read_regular_file(path, RECEIPT_KEY_BYTES, follow=False)  # a linked key may be anyone's
        stale = data is not None and len(data) != RECEIPT_KEY_BYTES \
            and time.time() - path.stat().st_mtime > KEY_REPAIR_SECONDS
        if stale:
            data = _replace_key(path)  # truncated or padded long ago, not being written by a rival: a new key
    except OSError:
        return None
    return data if data is not None and len(data) == RECEIPT_KEY_BYTES else None  # half-written by a rival: none


KEY_REPAIR_SECONDS = 60


def _replace_key(path: Path) -> bytes:
    """A new key in place of a damaged one, atomically (a rival reads the old file or the new, whole)."""
    key = secrets.token_bytes(RECEIPT_KEY_BYTES)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return key


MAX_VERIFIED_BYTES = 64 * 1024 * 1024  # a larger file is ignored: every generated file is then read
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _write_cache(path: Path, entries: dict[str, Any]) -> None:
    """Replace a cache of `.shipcard/`; a failure costs the next run some work, nothing else."""
    _write_cache_text(path, json.dumps(entries, separators=(",", ":")))


def _write_cache_text(path: Path, text: str) -> None:
    try:
        if path.is_symlink():
            path.unlink()  # replaced, never written through (nor given its target's mode)
        write_atomic(path, text)
    except (OSError, WriteError):
        pass


def _cache_mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, b"verified\0" + body, hashlib.sha256).hexdigest()


def _read_cache(path: Path) -> dict[str, Any]:
    """A JSON object cache of `.shipcard/` (repository content: any damage reads as empty)."""
    try:
        data = read_regular_file(path, MAX_VERIFIED_BYTES, follow=False)
    except OSError:
        return {}
    return _cache_entries(data if data and len(data) <= MAX_VERIFIED_BYTES else b"{}")


def _read_keyed_cache(path: Path, key: bytes | None) -> dict[str, Any]:
    """A cache whose first line is the HMAC of the rest under `key`; anything else reads as empty."""
    try:
        data = read_regular_file(path, MAX_VERIFIED_BYTES, follow=False) if key is not None else None
    except OSError:
        return {}
    if key is None or not data or len(data) > MAX_VERIFIED_BYTES:
        return {}
    mac, _, body = data.partition(b"\n")
    if not hmac.compare_digest(mac, _cache_mac(key, body).encode()):
        return {}
    return _cache_entries(body)


def _cache_entries(data: bytes) -> dict[str, Any]:
    try:
        entries = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, str)} if isinstance(entries, dict) else {}


class VerifiedFiles:
    """Generated files found intact by earlier runs, by their stat signature (`.shipcard/verified.json`).

    A no-op render of a thousand services would otherwise read and hash some 16,000 files. Like
    git's index, a file whose size, mtime, ctime and inode are those recorded when it was last
    found intact is taken as still intact; any write changes its ctime. Files changed less than
    two seconds before a run are not recorded (a write in the same clock tick could go unseen).
    The cache is local (`.shipcard/` is git-ignored) and only ever saves reading a file. Like the
    receipts it is keyed: its first line is an HMAC of the rest under the receipt key, so a file
    that this user's shipcard did not write (committed, copied, or forged with the files' current
    stat signatures) reads as empty and every file is read.
    """

    RACY_NS = 2_000_000_000

    def __init__(self, out: Path) -> None:
        self.path = out / LOCAL_DIR / "verified.json"
        self.key = _receipt_key()
        self.entries: dict[str, list[Any]] = _read_keyed_cache(self.path, self.key)
        self.found: dict[str, list[Any]] = {}
        self.horizon_ns = time.time_ns() - self.RACY_NS

    def digest(self, root: str, rel: str, source: str) -> str | None:
        """The header digest of an intact generated file (from its stat signature when known), else None."""
        path = os.path.join(root, rel)
        try:
            stat = os.stat(path)
        except OSError:
            return None
        signature: list[Any] = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, source]
        entry = self.entries.get(rel)
        if isinstance(entry, list) and len(entry) == len(signature) + 1 and entry[:-1] == signature \
                and isinstance(entry[-1], str):
            digest: str | None = entry[-1]
        else:
            digest = _digest(path, source)
        if digest is not None and max(stat.st_mtime_ns, stat.st_ctime_ns) < self.horizon_ns:
            self.found[rel] = [*signature, digest]
        return digest

    def save(self, whole_repository: bool) -> None:
        """Record what this run found (plus, for a run over some cards, what earlier runs found)."""
        entries = self.found if whole_repository else {**self.entries, **self.found}
        if entries == self.entries or self.key is None:
            return
        body = json.dumps(entries, separators=(",", ":"))
        _write_cache_text(self.path, f"{_cache_mac(self.key, body.encode())}\n{body}")


def state_path(service: str) -> str:
    return f"{STATE_DIR}/{service}.yaml"


def inputs_hash(card_text: str, repo: RepoSettings, fmt: str | None, pins: dict[str, str] | None,
                services: str = "") -> str:
    """What a service's generated files depend on, besides the extension points (`services`: the digest of
    the other cards' placements, for a card whose NetworkPolicies may name them)."""
    digest = hashlib.sha256()
    for part in (__version__, repo.fingerprint, fmt or "", json.dumps(pins or {}, sort_keys=True), card_text,
                 services):
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
                     files=tuple(str(f) for f in data["files"]),
                     declared_callers=data.get("declaredCallers") is True)
    except (InputError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _plain(rel: str) -> bool:
    """A plain path relative to the repository: not absolute, no `.`/`..`/empty parts, no NUL."""
    return bool(rel) and not rel.startswith("/") and "\0" not in rel \
        and all(part not in ("", ".", "..") for part in rel.split("/"))


def _digest(path: str, source: str) -> str | None:
    """The header digest of the generated file at `path` if it is intact, else None."""
    try:
        data = read_regular_file(path, MAX_FILE_BYTES)  # never a FIFO or device, never unbounded
    except OSError:
        return None
    return generated_digest(data, source) if data is not None and len(data) <= MAX_FILE_BYTES else None
