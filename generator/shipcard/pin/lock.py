"""The pin lock file: image reference (as written in the cards) → digest, with when it was resolved.

For teams who keep cards tag-only, `shipcard pin --lock FILE` writes this file
and `render` reads it with `load_lock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from shipcard.errors import InputError, Location
from shipcard.patterns import DIGEST
from shipcard.validation import Schema, raise_first, schema_key
from shipcard.yamlio.dump import dump, write_atomic
from shipcard.yamlio.read import load_documents, read_text

LOCK_VERSION = 1
HEADER = ("# Written by `shipcard pin --lock`: image reference as written in the cards -> digest.\n"
          "# Commit it; `shipcard pin --lock FILE --update` re-resolves every tag.\n")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"const": LOCK_VERSION},
        "images": {"anyOf": [{"type": "null"}, {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["digest"],
                "properties": {"digest": {"type": "string", "pattern": DIGEST}, "resolvedAt": {}},
            },
        }]},
    },
}


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
    raise_first(_schema(), data, name, document.line_of)
    for reference in data.get("images") or {}:
        if not isinstance(reference, str):
            raise InputError(Location(name, *document.line_of(("images", reference))), "images",
                             "an image reference is a string")
    return {reference: LockEntry(value["digest"], str(value.get("resolvedAt") or ""))
            for reference, value in (data.get("images") or {}).items()}


@cache
def _schema() -> Schema:
    return Schema(SCHEMA, label="lock file", cache_key=f"lock|{schema_key(SCHEMA)}", compile_after=0)


def write_lock(path: Path, entries: dict[str, LockEntry]) -> None:
    """Write the lock file atomically, references sorted so diffs stay small."""
    images = {reference: {"digest": entries[reference].digest, "resolvedAt": entries[reference].resolved_at}
              for reference in sorted(entries)}
    write_atomic(path, HEADER + dump({"version": LOCK_VERSION, "images": images}))
