"""The pin lock file: image reference (as written in the cards) → digest, with when it was resolved.

For teams who keep cards tag-only, `shipcard pin --lock FILE` writes this file
and `render` reads it with `load_lock`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shipcard.errors import InputError, Location
from shipcard.yamlio.dump import dump, write_atomic
from shipcard.yamlio.read import load_documents, read_text

LOCK_VERSION = 1
HEADER = ("# Written by `shipcard pin --lock`: image reference as written in the cards -> digest.\n"
          "# Commit it; `shipcard pin --lock FILE --update` re-resolves every tag.\n")
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


@dataclass(frozen=True)
class LockEntry:
    digest: str
    resolved_at: str


def now_utc() -> str:
    """The resolution time as written in the lock file: UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_lock(path: Path) -> dict[str, str]:
    """Tag reference (exactly as written in a card) → digest; InputError when unreadable or malformed."""
    return {reference: entry.digest for reference, entry in read_entries(path).items()}


def read_entries(path: Path) -> dict[str, LockEntry]:
    """The lock file's entries, validated, with their resolution times."""
    name = str(path)
    documents = list(load_documents(read_text(path), name))
    if not documents:
        return {}
    document = documents[0]
    data = document.data
    if len(documents) > 1 or not isinstance(data, dict):
        raise InputError(Location(name, 1, 1), "", "a lock file is one mapping with `version` and `images`")
    if data.get("version") != LOCK_VERSION:
        raise InputError(Location(name, *document.line_of(("version",))), "version",
                         f"unsupported lock file version {data.get('version')!r} (expected {LOCK_VERSION})")
    images = data.get("images") or {}
    if not isinstance(images, dict):
        raise InputError(Location(name, *document.line_of(("images",))), "images",
                         "expected a mapping of image reference to digest")
    entries: dict[str, LockEntry] = {}
    for reference, value in images.items():
        digest = value.get("digest") if isinstance(value, dict) else None
        if not isinstance(reference, str) or not isinstance(digest, str) or not _DIGEST.match(digest):
            raise InputError(Location(name, *document.line_of(("images", reference))), f"images.{reference}",
                             "expected `digest: sha256:<64 hex digits>`")
        resolved_at = value.get("resolvedAt", "")
        entries[reference] = LockEntry(digest, str(resolved_at) if resolved_at else "")
    return entries


def write_lock(path: Path, entries: dict[str, LockEntry]) -> None:
    """Write the lock file atomically, references sorted so diffs stay small."""
    images = {reference: {"digest": entries[reference].digest, "resolvedAt": entries[reference].resolved_at}
              for reference in sorted(entries)}
    write_atomic(path, HEADER + dump({"version": LOCK_VERSION, "images": images}))
