"""Writing several cards as one transaction: every card new, or (after any failure) every card as it was.

One atomic rename per card is not enough: a run killed between two renames would leave some
cards pinned and others not. So a run

1. notes in `<root>/.shipcard/pin-journal/staged.json` which temporary files it is about to write,
2. writes each card's new text to a temporary file beside the card (same directory, so the final
   rename is atomic) and flushes it to disk,
3. commits by renaming `commit.json`, the list of (card, temporary file), into place,
4. renames every temporary file over its card, then removes the journal.

A run killed before step 3 leaves every card as it was (the next run deletes the temporary files);
one killed after it leaves a committed journal that the next `shipcard pin` completes before it
reads any card. A lock keeps two runs from interleaving.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shipcard.errors import ShipcardError, WriteError
from shipcard.yamlio.dump import write_atomic

STATE_DIR = ".shipcard"
JOURNAL = "pin-journal"
STAGED = "staged.json"
COMMIT = "commit.json"
LOCK = "pin.lock"
TEMPORARY_SUFFIX = ".shipcard-pin.tmp"


def journal_root(cards: list[Path]) -> Path:
    """Where the journal of these cards lives: the nearest directory above them holding `.git` or
    shipcard.yaml, else the directory of `services/` (or the cards' common directory)."""
    common = Path(os.path.commonpath([str(card.resolve().parent) for card in cards]))
    for directory in (common, *common.parents):
        if (directory / ".git").exists() or (directory / "shipcard.yaml").is_file():
            return directory
    return common.parent if common.name == "services" else common


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the pin lock of `root` (a second `shipcard pin` waits here)."""
    state = root / STATE_DIR
    try:
        state.mkdir(parents=True, exist_ok=True)
        handle = open(state / LOCK, "a+")
    except OSError as exc:
        raise WriteError(state / LOCK, exc) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pending(root: Path) -> bool:
    """A committed journal that a killed run left behind."""
    return (root / STATE_DIR / JOURNAL / COMMIT).is_file()


def recover(root: Path) -> bool:
    """Complete a committed journal, or drop an uncommitted one and its temporary files; True if one was there."""
    journal = root / STATE_DIR / JOURNAL
    if not journal.exists():
        return False
    if (journal / COMMIT).is_file():
        _roll_forward(journal)
        return True
    for staged in _read_list(journal / STAGED):
        Path(staged).unlink(missing_ok=True)
    shutil.rmtree(journal, ignore_errors=True)
    return True


def write_cards(root: Path, changes: list[tuple[Path, str]]) -> None:
    """Write every card of `changes` (path, new text) as one transaction; call under `locked(root)`.

    A symbolic link to a card stays a link: the file it points to is written.
    """
    recover(root)
    if not changes:
        return
    journal = root / STATE_DIR / JOURNAL
    pairs = [(path.resolve(), text) for path, text in changes]
    staged = [target.with_name(f".{target.name}{TEMPORARY_SUFFIX}") for target, _ in pairs]
    try:
        journal.mkdir(parents=True)
        write_atomic(journal / STAGED, json.dumps([str(path) for path in staged]))
        for (target, text), temporary in zip(pairs, staged):
            _write_flushed(temporary, text, target)
        write_atomic(journal / COMMIT, json.dumps([[str(t), str(s)] for (t, _), s in zip(pairs, staged)]))
    except BaseException as exc:
        for temporary in staged:
            temporary.unlink(missing_ok=True)
        shutil.rmtree(journal, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, ShipcardError):
            raise WriteError(getattr(exc, "filename", None) or journal, exc) from None
        raise
    _roll_forward(journal)


def _write_flushed(path: Path, text: str, like: Path) -> None:
    """Write `path` and flush it to disk, with the permissions of the card it will replace."""
    mode = like.stat().st_mode & 0o7777
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise


def _roll_forward(journal: Path) -> None:
    """Rename every staged file over its card (a file already renamed is skipped), then drop the journal."""
    for target, temporary in _read_list(journal / COMMIT):
        if Path(temporary).exists():
            os.replace(temporary, target)
    for directory in {Path(target).parent for target, _ in _read_list(journal / COMMIT)}:
        _fsync_directory(directory)
    shutil.rmtree(journal)


def _read_list(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
