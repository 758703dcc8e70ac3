"""Card format migrations: one small, tested function per step from one format to the next.

A step reads the card's round-trip (ruamel) document and says which keys to rename; the
renames and the new apiVersion are written into the card's text by `yamlio.edit`, so comments,
order, quoting and layout stay byte for byte (a ruamel dump would re-indent sequences and
rewrite `null`), and the card is left alone unless the result holds exactly those changes.

shipcard/v1alpha1 → shipcard/v1 (docs/repository.md), in the service and in every
environment override alike:
  * `containerPort: N` became `port: N`;
  * `secretsFrom:` became `secrets:`;
  * a job's `cron:` became `schedule:`.

A card rendered before `allowFrom` existed had its ports open to every source; the new default
admits declared callers only. `keep_open_ports` writes the old meaning into such a card
(`allowFrom: [{anywhere: true}]`), which `upgrade` does for every card whose tree an older shipcard
rendered (docs/cards.md, "Callers and egress").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipcard.card.schema import API_VERSION
from shipcard.errors import InputError, Location
from shipcard.yamlio.edit import append_key, replace_scalars
from shipcard.yamlio.read import PathKey
from shipcard.yamlio.roundtrip import NeedsRoundtrip, load_plain_like_roundtrip, load_roundtrip, locate

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


OPEN_TO_EVERY_SOURCE = [{"anywhere": True}]
OPEN_TO_EVERY_SOURCE_TEXT = "[{anywhere: true}]"


def opens_ports_implicitly(card: Any) -> bool:
    """Whether a card (plain or round-trip data) has ports in some environment and says nowhere who may call
    them: rendered before allowFrom, its ports were open to every source."""
    scopes = [card]
    environments = card.get("environments") if isinstance(card, dict) else None
    if isinstance(environments, dict):
        scopes += [value for value in environments.values() if isinstance(value, dict)]
    return any(scope.get("port") or scope.get("ports") for scope in scopes) \
        and not any("allowFrom" in scope for scope in scopes)


def keep_open_ports(text: str, filename: str) -> tuple[str, list[str]]:
    """The card's text with `allowFrom: [{anywhere: true}]` added when its ports were open implicitly."""
    doc = load_roundtrip(text, filename)
    if not opens_ports_implicitly(doc):
        return text, []
    text = append_key(text, doc, filename, "allowFrom", OPEN_TO_EVERY_SOURCE, OPEN_TO_EVERY_SOURCE_TEXT,
                      "kept by shipcard upgrade: every source, as before; list the callers instead")
    return text, ["allowFrom: [{anywhere: true}] added (its ports stay open to every source, as rendered)"]


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
        text = replace_scalars(text, doc, filename, {("apiVersion",): target},
                               {rename.path + (rename.old,): rename.new for rename in renames})
        changes += [f"apiVersion {current} → {target}"] + [r.describe() for r in renames]
        doc, current = load_roundtrip(text, filename), target
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
