"""What `pin` does with the cards: choose what to resolve, then rewrite cards or the lock file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipcard.errors import ShipcardError, WriteError, one_line
from shipcard.pin.cards import Card, ImageSite, PathKey
from shipcard.pin.lock import LockEntry, now_utc, write_lock
from shipcard.transaction import Transaction
from shipcard.yamlio.edit import replace_scalars
from shipcard.yamlio.read import read_text


class Incomplete(ShipcardError):
    """The command did part of its job (or `--check` found unpinned images): exit code 1."""

    exit_code = 1


@dataclass(frozen=True)
class SiteFailure:
    """An image that could not be pinned, and why; prints as `file:line:col: image: ref: reason`."""

    site: ImageSite
    reason: str

    def __str__(self) -> str:
        return one_line(f"{self.site.location}: image: {self.site.text}: {self.reason}")


class PinFailed(ShipcardError):
    """Images that could not be pinned: one `file:line:col: image: ref: reason` line each; nothing was written."""

    def __init__(self, failures: list[SiteFailure]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} image reference(s) could not be pinned")

    def __str__(self) -> str:
        lines = [str(failure) for failure in self.failures]
        lines[-1] += "; no file was changed"
        return "\n".join(lines)


@dataclass
class Selection:
    """The image sites to resolve, those refused before any network access, and those left alone."""

    resolve: list[ImageSite] = field(default_factory=list)
    refused: list[SiteFailure] = field(default_factory=list)
    untouched: int = 0


def unpinned_sites(cards: list[Card], locked: dict[str, str] | None) -> list[ImageSite]:
    """Sites with neither a digest in the card nor an entry in the lock file (for `--check`)."""
    return [site for card in cards for site in card.sites
            if not site.reference.pinned and not (locked is not None and site.text in locked)]


def select(cards: list[Card], *, update: bool, allow_latest: bool, locked: dict[str, str] | None) -> Selection:
    """Decide per image site. `locked` is the lock file's content in lock mode, None when pinning cards."""
    selection = Selection()
    for site in (site for card in cards for site in card.sites):
        reference = site.reference
        if reference.pinned and (locked is not None or not update or reference.tag is None):
            selection.untouched += 1  # immutable already; nothing to re-resolve without a tag
        elif locked is not None and site.text in locked and not update:
            selection.untouched += 1
        elif reference.floating and not allow_latest:
            what = "has no tag (means latest)" if reference.tag is None else "uses the tag latest"
            selection.refused.append(SiteFailure(site, f"{what}, which moves with every push; "
                                                 "pin a version tag, or pass --allow-latest"))
        else:
            selection.resolve.append(site)
    return selection


def pinned_text(site: ImageSite, digest: str) -> str:
    """The reference as written with its digest; an untagged name gets `:latest` so `--update` can follow it."""
    name_and_tag = site.text.split("@", 1)[0]
    if site.reference.tag is None:
        name_and_tag += ":latest"
    return f"{name_and_tag}@{digest}"


@dataclass
class Outcome:
    """What happened to the resolved sites, as lines for the user."""

    lines: list[str] = field(default_factory=list)
    pinned: int = 0
    changed: int = 0
    unchanged: int = 0
    files: set[str] = field(default_factory=set)
    cards: dict[Path, str] = field(default_factory=dict)  # card file → its pinned text, not written yet


def apply_to_cards(cards: list[Card], digests: dict[ImageSite, str]) -> Outcome:
    """The new text of every card that changes (`Outcome.cards`); nothing is written here.

    The command commits them, with the re-rendered trees of their services, as one transaction.
    """
    outcome = Outcome()
    for card in cards:
        new_values: dict[PathKey, str] = {}
        for site in card.sites:
            if site not in digests:
                continue
            old_digest, new_text = site.reference.digest, pinned_text(site, digests[site])
            if old_digest is None:
                outcome.pinned += 1
                outcome.lines.append(f"{site.location}: image: {site.text} -> {digests[site]}")
            elif old_digest != digests[site]:
                outcome.changed += 1
                outcome.lines.append(f"{site.location}: image: {site.text.split('@', 1)[0]}: digest changed "
                                     f"{old_digest} -> {digests[site]} (the tag was pushed again)")
            else:
                outcome.unchanged += 1
                continue
            new_values[site.path] = new_text
        if new_values:
            if read_text(card.path) != card.text:  # an editor's save while the registry answered
                raise ShipcardError(f"{card.name}: changed on disk while pinning; no card was changed")
            outcome.cards[card.path] = replace_scalars(card.text, card.document, card.name, new_values)
            outcome.files.add(card.name)
    return outcome


def commit_cards(txn: Transaction, writes: Mapping[str, str], deletes: Iterable[str] = ()) -> None:
    """Commit the pinned cards (and the files re-rendered from them): all are written, or (on any
    error, or killed) none. A symbolic link to a card stays a link: the file it leads to is rewritten."""
    try:
        txn.commit(writes, deletes)
    except WriteError as exc:
        raise WriteError(exc.filename, exc, "no card was changed") from None


def apply_to_lock(path: Path, existing: dict[str, LockEntry], digests: dict[ImageSite, str]) -> Outcome:
    """Record each resolved reference in the lock file; an unchanged digest keeps its first resolution time."""
    outcome = Outcome()
    entries = dict(existing)
    resolved_at = now_utc()
    first_site_per_reference: dict[str, ImageSite] = {}
    for site in digests:
        first_site_per_reference.setdefault(site.text, site)
    for site in first_site_per_reference.values():
        digest = digests[site]
        before = entries.get(site.text)
        if before is not None and before.digest == digest:
            outcome.unchanged += 1
            continue
        if before is None:
            outcome.pinned += 1
            outcome.lines.append(f"{site.location}: image: {site.text} -> {digest} (in {path})")
        else:
            outcome.changed += 1
            outcome.lines.append(f"{site.location}: image: {site.text}: digest changed {before.digest} -> "
                                 f"{digest} (the tag was pushed again)")
        entries[site.text] = LockEntry(digest, resolved_at)
    if entries != existing or not path.exists():
        write_lock(path, entries)
        outcome.files.add(str(path))
    return outcome
