"""Card format migrations: one small, tested function per step from one format to the next.

A step reads the card's round-trip (ruamel) document and says which keys to rename; the
renames are then spliced into the card's original text at the positions ruamel reports, so
comments, order, quoting and layout stay byte for byte (a ruamel dump would re-indent
sequences and rewrite `null`). The result is parsed again and must equal the old data with
exactly those renames, or the card is left alone.

shipcard/v1alpha1 → shipcard/v1 (docs/repository.md), in the service and in every
environment override alike:
  * `containerPort: N` became `port: N`;
  * `secretsFrom:` became `secrets:`;
  * a job's `cron:` became `schedule:`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipcard.card.schema import API_VERSION
from shipcard.errors import InputError, Location
from shipcard.yamlio.read import PathKey
from shipcard.yamlio.roundtrip import NeedsRoundtrip, load_plain_like_roundtrip, load_roundtrip, locate, to_plain

FORMATS = ("shipcard/v1alpha1", API_VERSION)  # oldest first; the last is the one shipcard renders


@dataclass(frozen=True)
class Rename:
    """Rename key `old` to `new` in the mapping at `path`."""

    path: PathKey
    old: str
    new: str

    def describe(self) -> str:
        where = ""
        for step in self.path:
            where += f"[{step}]" if isinstance(step, int) else (f".{step}" if where else str(step))
        where += "." if where else ""
        return f"{where}{self.old} → {where}{self.new}"


Step = Callable[[Any], list[Rename]]


def v1alpha1_to_v1(doc: Any) -> list[Rename]:
    """containerPort → port, secretsFrom → secrets, jobs[].cron → jobs[].schedule."""
    scopes: list[PathKey] = [()]
    environments = doc.get("environments")
    if isinstance(environments, dict):
        scopes += [("environments", name) for name, value in environments.items() if isinstance(value, dict)]
    renames = []
    for scope in scopes:
        fields = _at(doc, scope)
        for old, new in (("containerPort", "port"), ("secretsFrom", "secrets")):
            if old in fields:
                renames.append(Rename(scope, old, new))
        jobs = fields.get("jobs")
        for index, job in enumerate(jobs if isinstance(jobs, list) else []):
            if isinstance(job, dict) and "cron" in job:
                renames.append(Rename(scope + ("jobs", index), "cron", "schedule"))
    return renames


STEPS: dict[str, tuple[str, Step]] = {
    "shipcard/v1alpha1": (API_VERSION, v1alpha1_to_v1),
}


def card_format(doc: Any) -> str | None:
    version = doc.get("apiVersion") if isinstance(doc, dict) else None
    return version if isinstance(version, str) else None


def migrate_text(text: str, filename: str, to: str = API_VERSION) -> tuple[str, list[str]]:
    """The card's text in format `to` and the changes made (none when it already is)."""
    if to not in FORMATS:
        raise InputError(Location(filename), "", f"unknown card format {to!r}; known: {', '.join(FORMATS)}")
    if _fast_format(text, filename) == to:
        return text, []  # the usual case, without the slow round-trip parse
    doc = load_roundtrip(text, filename)
    current = card_format(doc)
    if current not in FORMATS:
        raise InputError(Location(filename, *locate(doc, ("apiVersion",))), "apiVersion",
                         f"unknown card format {current!r}; shipcard knows {', '.join(FORMATS)}")
    if FORMATS.index(current) > FORMATS.index(to):
        raise InputError(Location(filename, *locate(doc, ("apiVersion",))), "apiVersion",
                         f"the card is {current}, newer than {to}; migrations only go forward")
    changes: list[str] = []
    while current != to:
        target, step = STEPS[current]
        renames = step(doc)
        for rename in renames:
            if rename.new in _at(doc, rename.path):
                raise InputError(Location(filename, *locate(doc, rename.path + (rename.new,))),
                                 rename.new, f"both {rename.old} and {rename.new} are set; keep only {rename.new}")
        text = _splice(text, doc, renames, target, filename)
        new_doc = load_roundtrip(text, filename)
        _verify(doc, new_doc, renames, target, filename)
        changes += [f"apiVersion {current} → {target}"] + [r.describe() for r in renames]
        doc, current = new_doc, target
    return text, changes


def _fast_format(text: str, filename: str) -> str | None:
    try:
        return card_format(load_plain_like_roundtrip(text, filename))
    except (NeedsRoundtrip, InputError):
        return None


def _at(doc: Any, path: PathKey) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _splice(text: str, doc: Any, renames: list[Rename], version: str, filename: str) -> str:
    """Replace each renamed key's token, and the apiVersion value, where they stand in the text."""
    lines = text.split("\n")
    edits = []
    for rename in renames:
        line, column = _at(doc, rename.path).lc.key(rename.old)
        edits.append((line, column, rename.old, rename.new))
    line, column = doc.lc.value("apiVersion")
    edits.append((line, column, str(doc["apiVersion"]), version))
    for line, column, old, new in sorted(edits, reverse=True):
        current = lines[line]
        quote = current[column] if current[column:column + 1] in ("'", '"') else ""
        token = f"{quote}{old}{quote}"
        if not current.startswith(token, column):
            raise InputError(Location(filename, line + 1, column + 1), old,
                             "cannot rewrite this key in place; write it as a plain scalar and run again")
        lines[line] = current[:column] + f"{quote}{new}{quote}" + current[column + len(token):]
    return "\n".join(lines)


def _verify(before: Any, after: Any, renames: list[Rename], version: str, filename: str) -> None:
    """The new text must hold the old data with exactly these renames (same order), nothing else."""
    expected = to_plain(before)
    for rename in renames:
        holder = _at(expected, rename.path)
        items = [(rename.new if key == rename.old else key, value) for key, value in holder.items()]
        holder.clear()
        holder.update(items)
    expected["apiVersion"] = version
    if json.dumps(expected, default=str) != json.dumps(to_plain(after), default=str):
        raise InputError(Location(filename), "", "migrating the card would change more than its renamed keys; "
                         "card left unchanged")
