"""The one repository transaction and lock: every shipcard command that writes goes through it.

* **One lock**, `<root>/.shipcard/lock` (`flock`), held from before a command reads its inputs
  (cards, shipcard.yaml, a pin lock file) until its changes are on disk, so no run writes from a
  stale read of another's files. A second run waits up to `LOCK_WAIT_SECONDS`, then refuses with
  one line naming the holder (its pid and command are written in the lock file). The lock file
  exists only while a run holds it, and `.shipcard/` (or the repository directory itself) only
  when a run made it and left something there: a refused run leaves nothing behind.
* **One journal**, `<root>/.shipcard/txn/`: new contents are staged there as numbered files, made
  durable, then `plan.json` (which files go where, which are deleted) is written with an atomic
  rename: the commit point. Then the staged files are renamed into place and the journal removed.
  Files are staged where they are made: `render`'s worker processes stage each service's files
  through a `Stager` (named `<service>-<file>`, the same checks) and hand back only `Staged` records;
  the run itself keeps the journal, the commit point and the renames.
* **One recovery**: whichever command takes the lock next completes a committed journal (of any
  command) or drops an uncommitted one, before it reads anything. A run completes its own commit
  without reading its plan back: every check recovery makes was made before its commit point.
* The journal is repository content, so it is checked before anything is touched: its format,
  every path relative, inside the repository, outside `.git` and `.shipcard`, without a symbolic
  link on the way and naming a regular file or nothing; staged files only numbered files of the
  journal itself. A journal failing a check is refused in one line and left as it is.
* A journal is bound to the place it was written: the plan records the inode of its own
  directory and of every staged file, so a journal that came with the repository (committed in a
  pull request, copied or unpacked) is never shipcard's: it is refused, nothing touched. A staged
  file already moved is recognised by its inode at its target; anything else missing is refused.

A symbolic link to a file (a card) stays a link: the file it leads to is what changes.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipcard.errors import InputError, Location, ShipcardError, WriteError, one_line
from shipcard.yamlio.dump import write_atomic

STATE_DIR = ".shipcard"
JOURNAL_DIR = "txn"
PLAN_FILE = "plan.json"
LOCK_FILE = "lock"
JOURNAL_FORMAT = "shipcard-transaction/2"
# Left by a `shipcard pin` of a shipcard before the one transaction; never completed, only reported.
LEGACY_PIN_JOURNAL = "pin-journal"
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.05
MAX_JOURNAL_BYTES = 64 << 20
_STAGED_NAME = re.compile(r"[0-9]{6}|[0-9]{6,}-[0-9]{6,}")  # the run's own, or `<service>-<file>` of a worker
_PLAN_TEMPORARY = re.compile(r"\.plan\.json\..+\.tmp")
# Tests stop a run at a transaction point (staging, staged, committed, applying) to kill it there.
PAUSE_AT_ENV = "SHIPCARD_TEST_PAUSE_AT"
PAUSE_FILE_ENV = "SHIPCARD_TEST_PAUSE_FILE"


# --------------------------------------------------------------------------- paths inside the repository


def safe_target(out: Path, rel: str, resolved: dict[str, str] | None = None) -> Path:
    """`out/rel`, refusing absolute paths, `..` and symbolic links that lead outside `out`.

    `resolved` caches directories' real paths for the duration of one plan or transaction
    (this runs for every file of every render: plain strings, no pathlib).
    """
    _real_target(out, rel, resolved if resolved is not None else {})
    return Path(os.path.join(str(out), rel))


def _real_target(out: Path, rel: str, cache: dict[str, str], follow: bool = True) -> str:
    """The real path `out/rel` leads to (through a link at its end only when `follow`), inside `out`."""
    if rel.startswith("/") or ".." in rel.split("/"):
        raise InputError(Location(rel), "", "generated path leaves the output directory")
    target = os.path.join(str(out), rel)
    root = _realpath(str(out), cache)
    real = os.path.realpath(target) if follow and os.path.islink(target) else \
        os.path.join(_realpath(os.path.dirname(target), cache), os.path.basename(target))
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise ShipcardError(f"{target}: a symbolic link leads outside {out}; refusing to write through it")
    return real


def _realpath(directory: str, cache: dict[str, str]) -> str:
    """`os.path.realpath(directory)` from its parent's (cached): one lstat a directory, not one a component."""
    real = cache.get(directory)
    if real is None:
        parent, name = os.path.split(directory)
        if name in ("", ".", "..") or not parent or os.path.islink(directory):
            real = os.path.realpath(directory)
        else:
            real = os.path.join(_realpath(parent, cache), name)
        cache[directory] = real
    return real


def _path_problem(rel: str) -> str | None:
    """Why a journal may not name `rel` (a path relative to the repository), or None."""
    if not rel or rel.startswith("/") or "\0" in rel:
        return "not a relative path"
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "not a plain relative path"
    if parts[0] == STATE_DIR or any(part.lower() == ".git" for part in parts):
        return "inside .git or .shipcard"
    return None


def state_directory(root: Path) -> Path:
    """`<root>/.shipcard` (lock, journal, scratch), created if needed; never a link leading elsewhere."""
    root = Path(os.path.abspath(root))
    state = root / STATE_DIR
    for path in (state, state / JOURNAL_DIR):
        if path.is_symlink():
            raise ShipcardError(f"{path}: a symbolic link; shipcard keeps its lock and journal inside {root} "
                                "and refuses to follow it")
    if os.path.lexists(state) and not state.is_dir():
        raise ShipcardError(f"{state}: not a directory; shipcard keeps its lock and journal in it")
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(state, exc) from None
    return state


# --------------------------------------------------------------------------- the lock


@contextmanager
def _locked(root: Path, command: str) -> Iterator[list[bool]]:
    """Hold the repository's lock; on release remove the lock file and the directories made for it, if empty.

    A lock file that was there before (a stale one, or one that came with the repository) is locked as it
    is and not rewritten; it is removed only when the caller sets the yielded flag (its run changed the
    repository): a run that is refused leaves the repository byte for byte as it was."""
    made = _missing_directories(root / STATE_DIR)
    fd, found = _acquire(root, command)
    changed = [False]
    try:
        yield changed
    finally:
        if not found or changed[0]:
            try:
                os.unlink(root / STATE_DIR / LOCK_FILE)  # still ours: a waiting run sees it gone and starts again
            except OSError:
                pass
        os.close(fd)
        for directory in made:
            try:
                directory.rmdir()
            except OSError:
                break


def _missing_directories(path: Path) -> list[Path]:
    """`path` and its parents that do not exist yet, deepest first."""
    missing = []
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _acquire(root: Path, command: str) -> tuple[int, bool]:
    """The locked lock file, and whether it was there before this run (then it is left as it is)."""
    path = root / STATE_DIR / LOCK_FILE
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        state_directory(root)
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            try:
                fd, found = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644), False
            except FileExistsError:  # another run's lock, a stale one, or one that came with the repository
                fd, found = os.open(path, flags), True
        except FileNotFoundError:  # a finishing run removed the lock or the empty state directory meanwhile
            if time.monotonic() >= deadline:
                raise ShipcardError(f"{path}: cannot be created; is another program removing {root / STATE_DIR}?") \
                    from None
            continue
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise ShipcardError(f"{path}: not a regular file; shipcard's lock must be one") from None
            raise WriteError(path, exc) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ShipcardError(f"{path}: not a regular file; shipcard's lock must be one")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise ShipcardError(f"{root}: another shipcard run is writing this repository "
                                    f"({_holder(path)}); "
                                    f"waited {LOCK_WAIT_SECONDS:g} s, try again when it has finished") from None
            time.sleep(LOCK_POLL_SECONDS)
            continue
        if _is_file_at(fd, path):
            if not found:
                _write_holder(fd, command)
            return fd, found
        os.close(fd)  # the lock of a run that has finished and removed it: take the new one


def _is_file_at(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _write_holder(fd: int, command: str) -> None:
    holder = f"pid {os.getpid()}, shipcard {command}, since {time.strftime('%H:%M:%S', time.gmtime())} UTC\n"
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
    except OSError:
        pass  # a full disk: the lock holds all the same, only the message of a waiting run is poorer


def _holder(path: Path) -> str:
    """Who holds the lock, as its lock file says (repository content: one short plain line)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            data = os.read(fd, 200)
        finally:
            os.close(fd)
    except OSError:
        data = b""
    line = data.decode("utf-8", "replace").split("\n", 1)[0].strip()
    return one_line(line) if line else "holder unknown"


# --------------------------------------------------------------------------- the transaction


@dataclass(frozen=True)
class Staged:
    """A file staged in a journal: the path as given, the repository path it leads to, the staged file, its inode."""

    path: str
    real: str
    name: str
    inode: int


def service_names(service: int) -> Iterator[str]:
    """Staged file names for the files of one service of a render (`<service>-<file>`): unique without asking."""
    return (f"{service:06d}-{number:06d}" for number in itertools.count())


class Stager:
    """Stages files into one open journal, checking each path as the commit will.

    Render's worker processes get a copy when they are forked and stage each service's files as
    they render it; what they hand back (`Staged`) the transaction adopts. Nothing is committed here.
    """

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = root
        self.directory = directory
        self.real_root = os.path.realpath(root)
        self._resolved: dict[str, str] = {}  # directories' real paths, for this process's stagings

    def path(self, rel: str, *, follow: bool) -> str:
        """The repository path `rel` leads to, refused when shipcard may not write there."""
        real = _real_target(self.root, rel, self._resolved, follow)
        real_rel = os.path.relpath(real, self.real_root)
        problem = _path_problem(real_rel)
        if problem:
            raise ShipcardError(f"{self.root / rel}: shipcard does not write there ({problem})")
        return real_rel

    def stage(self, writes: Mapping[str, str | bytes], names: Iterable[str]) -> list[Staged]:
        """Write `writes` (path relative to the repository → text or bytes) as the staged files `names`."""
        staged = []
        for (rel, content), name in zip(writes.items(), names, strict=False):  # names may be endless
            real_rel = self.path(rel, follow=True)  # refused before the commit point, not half-way
            data = content.encode("utf-8") if isinstance(content, str) else content
            try:
                inode = _write_new(os.path.join(self.directory, name), data)
            except OSError as exc:  # a full disk, a file-size limit: the tree is not touched yet
                raise WriteError(self.root / rel, exc, "nothing was changed") from None
            staged.append(Staged(rel, real_rel, name, inode))
            _pause("staging")
        return staged


class Transaction:
    """One run's changes: files staged under `.shipcard/txn/` (as they come), then one commit.

    Staging may start while the run still works out what to write (render's workers stage each
    service's files as they render it, see `stager`); only the paths `commit` names are committed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = root / STATE_DIR / JOURNAL_DIR
        self.staged: dict[str, Staged] = {}  # path as given → its staged file
        self.committed = False
        self._journal: int | None = None  # the journal directory's inode, once made
        self._names = (f"{number:06d}" for number in itertools.count())  # the run's own staged files
        self._stager = Stager(root, self.directory)
        self._real_root = self._stager.real_root

    def relative(self, path: Path) -> str:
        """`path` (a link followed to its file) relative to the repository; refused when outside it."""
        real = os.path.realpath(path)
        if not real.startswith(self._real_root.rstrip(os.sep) + os.sep):
            raise ShipcardError(f"{path}: lies outside {self.root} (a symbolic link?); refusing to write it")
        return os.path.relpath(real, self._real_root)

    def stager(self) -> Stager:
        """The journal, made now, and the stager that writes into it (for render's workers: see `adopt`)."""
        self._open_journal()
        return self._stager

    def adopt(self, staged: Iterable[Staged]) -> None:
        """Take files a stager staged; a path staged again is its later file (the earlier one is removed)."""
        for entry in staged:
            earlier = self.staged.get(entry.path)
            if earlier is not None and earlier.name != entry.name:
                try:
                    os.unlink(self.directory / earlier.name)
                except FileNotFoundError:
                    pass
            self.staged[entry.path] = entry

    def stage(self, writes: Mapping[str, str | bytes]) -> None:
        """Stage new contents (text or bytes) of paths relative to the repository; nothing is changed yet."""
        if writes:
            names = [self.staged[rel].name if rel in self.staged else next(self._names) for rel in writes]
            self.adopt(self.stager().stage(writes, names))

    def commit(self, writes: Mapping[str, str | bytes], deletes: Iterable[str] = ()) -> None:
        """Stage what is left of `writes`, make it durable, commit it with `deletes`, then apply it."""
        deleted = sorted({self._stager.path(rel, follow=False) for rel in deletes})
        if not writes and not deleted:
            return
        self.stage({rel: content for rel, content in writes.items() if rel not in self.staged})
        entries = sorted((self.staged[rel] for rel in writes), key=lambda entry: (entry.real, entry.name))
        targets = [entry.real for entry in entries]
        written = set(targets)
        deleted = [rel for rel in deleted if rel not in written]  # a delete never cancels a write
        if len(set(targets)) != len(targets):
            twice = next(t for t in targets if targets.count(t) > 1)
            raise ShipcardError(f"{self.root / twice}: two files of this run lead to it through symbolic links; "
                                "nothing was changed")
        _check_applicable(self.root, self._real_root, targets, deleted)
        refused = _target_problem(self._real_root, [*targets, *deleted])
        if refused:  # a link or special file where a file is written or deleted (a loop, say)
            raise ShipcardError(f"{self.root / refused[0]}: {refused[1]}; nothing was changed")
        both = _file_and_directory([*targets, *deleted])
        if both is not None:
            raise ShipcardError(f"{self.root / both}: this run names it as a file and as a directory; "
                                "nothing was changed")
        _flush([self.directory / entry.name for entry in entries])  # on disk before the plan naming them is
        _pause("staged")
        self._open_journal()  # a plan of deletes only stages nothing
        plan = {"format": JOURNAL_FORMAT, "journal": self._journal,
                "writes": [[entry.real, entry.name, entry.inode] for entry in entries], "deletes": deleted}
        try:
            write_atomic(self.directory / PLAN_FILE, json.dumps(plan))  # the commit point
        except WriteError as exc:
            raise WriteError(exc.filename, exc, "nothing was changed") from None
        _fsync_dir(self.directory)
        self.committed = True
        _pause("committed")
        # Every check a recovery makes of a journal it did not write was made above, before the commit point
        # (its binding to this directory and these staged files holds by construction): roll forward.
        _roll_forward(self.root, self.directory, [(entry.real, entry.name) for entry in entries], deleted)

    def _open_journal(self) -> None:
        """Make the journal directory once, remembering its inode (the plan is bound to it)."""
        if self._journal is None:
            state_directory(self.root)
            self.directory.mkdir(exist_ok=True)
            self._journal = os.lstat(self.directory).st_ino

    def abort(self) -> None:
        if not self.committed:
            shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def begin(root: Path, command: str) -> Iterator[Transaction]:
    """Lock the repository, complete or drop a pending transaction, and open one; dropped unless committed.

    Read the run's inputs inside this block: they are then what no other run is changing.
    """
    root = Path(os.path.abspath(root))  # messages name the repository, not `.`
    with _locked(root, command) as changed:
        changed[0] = recover(root)
        txn = Transaction(root)
        try:
            yield txn
        finally:
            txn.abort()
            changed[0] = changed[0] or txn.committed


def pending(root: Path) -> bool:
    """A transaction a killed run left behind (the next writing run completes or drops it)."""
    state = root / STATE_DIR
    return os.path.lexists(state / JOURNAL_DIR) or os.path.lexists(state / LEGACY_PIN_JOURNAL)


def require_settled(root: Path) -> None:
    """For the commands that only compare (`render --check`, `pin --check`): refuse while a transaction is pending."""
    if pending(root):
        raise ShipcardError(f"{os.path.abspath(root / STATE_DIR)}: an interrupted run left a transaction; "
                            "run `shipcard render` (or any command that writes) to complete it")


def recover(root: Path) -> bool:
    """Finish a committed transaction left by a killed run, or drop an uncommitted one. True if one was found.

    Call under the lock. A journal that fails a check is refused and nothing is touched.
    """
    root = Path(os.path.abspath(root))
    state = root / STATE_DIR
    if os.path.lexists(state / LEGACY_PIN_JOURNAL):
        raise ShipcardError(f"{state / LEGACY_PIN_JOURNAL}: a journal of an older shipcard's interrupted `pin`, "
                            "which this one does not complete; check the cards, then delete it")
    directory = state_directory(root) / JOURNAL_DIR
    if not os.path.lexists(directory):
        return False
    names = _journal_names(directory)
    if PLAN_FILE in names:
        writes, deletes = _read_plan(root, directory, names)
        _roll_forward(root, directory, writes, deletes)
    else:  # staged files only, no plan: dropped, and nothing but them (no link, no directory) goes with it
        for name in sorted(names):
            if not stat.S_ISREG(os.lstat(directory / name).st_mode):
                raise _refused(directory, f"{name} is not a regular file")
        shutil.rmtree(directory)
    return True


def _refused(directory: Path, why: str) -> ShipcardError:
    return ShipcardError(f"{directory}: not a transaction shipcard wrote ({why}); nothing was changed: "
                         "if no shipcard run was interrupted, delete it")


def _journal_names(directory: Path) -> set[str]:
    if not directory.is_dir():
        raise _refused(directory, "not a directory")
    try:
        names = set(os.listdir(directory))
    except OSError as exc:
        raise _refused(directory, f"cannot be read: {exc.strerror}") from None
    strange = sorted(n for n in names if n != PLAN_FILE and not _STAGED_NAME.fullmatch(n)
                     and not _PLAN_TEMPORARY.fullmatch(n))
    if strange:
        raise _refused(directory, f"holds {strange[0]!r}")
    return names


def _read_plan(root: Path, directory: Path, names: set[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The committed plan, every path and staged file checked (see the module docstring)."""
    path = directory / PLAN_FILE
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_JOURNAL_BYTES:
        raise _refused(directory, f"{PLAN_FILE} is not a plan file")
    try:
        plan = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        raise _refused(directory, f"{PLAN_FILE} is not JSON") from None
    if not isinstance(plan, dict) or set(plan) != {"format", "journal", "writes", "deletes"} \
            or plan["format"] != JOURNAL_FORMAT or not _is_inode(plan["journal"]):
        raise _refused(directory, f"{PLAN_FILE} is not in the format {JOURNAL_FORMAT}")
    writes, deletes = plan["writes"], plan["deletes"]
    if not isinstance(writes, list) or not isinstance(deletes, list) \
            or not all(isinstance(w, list) and len(w) == 3 and isinstance(w[0], str) and isinstance(w[1], str)
                       and _is_inode(w[2]) for w in writes) \
            or not all(isinstance(d, str) for d in deletes):
        raise _refused(directory, f"{PLAN_FILE} is not in the format {JOURNAL_FORMAT}")
    if plan["journal"] != os.lstat(directory).st_ino:
        raise _refused(directory, "written elsewhere: committed, copied or unpacked with the repository")
    staged = [name for _, name, _ in writes]
    if len(set(staged)) != len(staged) or not all(_STAGED_NAME.fullmatch(name) for name in staged):
        raise _refused(directory, "a staged file outside the journal")
    for name in staged:
        if name in names and not stat.S_ISREG(os.lstat(directory / name).st_mode):
            raise _refused(directory, f"staged file {name} is not a regular file")
    targets = [rel for rel, _, _ in writes] + deletes
    if len(set(targets)) != len(targets):
        raise _refused(directory, "a path named twice")
    real_root = os.path.realpath(root)
    refused = _target_problem(real_root, targets)
    if refused:
        raise _refused(directory, f"{one_line(refused[0])[:200]!r}: {refused[1]}")
    both = _file_and_directory(targets)
    if both is not None:
        raise _refused(directory, f"{one_line(both)[:200]!r}: named as a file and as a directory")
    for rel, name, inode in writes:
        if _inode(directory / name) != inode and _inode(Path(real_root, rel)) != inode:
            raise _refused(directory, f"staged file {name} is neither in the journal nor moved into place")
    return [(rel, name) for rel, name, _ in writes], deletes


def _target_problem(real_root: str, targets: Iterable[str]) -> tuple[str, str] | None:
    """The first path a plan may not write or delete, and why: checked before the commit point and again
    when a journal is recovered, so that a plan shipcard commits is always one it can complete."""
    checked: dict[str, bool] = {}
    for rel in targets:
        problem = _path_problem(rel) or _link_on_the_way(real_root, rel, checked)
        if problem:
            return rel, problem
    return None


def _file_and_directory(targets: list[str]) -> str | None:
    """A path of `targets` (plain relative paths: dirname ends at '') that is also a directory of another."""
    named = set(targets)
    for rel in targets:
        parent = os.path.dirname(rel)
        while parent:
            if parent in named:
                return parent
            parent = os.path.dirname(parent)
    return None


def _is_inode(value: object) -> bool:
    return type(value) is int and value > 0


def _inode(path: Path) -> int | None:
    """The inode of the regular file `path` (no link followed), or None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_ino if stat.S_ISREG(info.st_mode) else None


def _link_on_the_way(real_root: str, rel: str, checked: dict[str, bool]) -> str | None:
    """Why `real_root/rel` may not be written or deleted: a link or a non-directory on the way, or not a file there."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        directory = "/".join(parts[:depth])
        if directory not in checked:
            try:
                mode = os.lstat(os.path.join(real_root, directory)).st_mode
            except FileNotFoundError:
                return None  # created when the plan is applied, and everything below it too
            except OSError as exc:  # a name too long, no permission
                return f"cannot be examined ({exc.strerror})"
            if stat.S_ISLNK(mode):
                return "a symbolic link on the way"
            checked[directory] = stat.S_ISDIR(mode)
        if not checked[directory]:
            return "a file where a directory should be"
    try:
        mode = os.lstat(os.path.join(real_root, rel)).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror})"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _check_applicable(root: Path, real_root: str, writes: list[str], deletes: list[str]) -> None:
    """Refuse, before the commit point, a plan that could not be applied whole: a file (or anything
    but a directory) where a directory must be, or a directory the plan must change that is not
    writable (permissions, a read-only mount, an immutable directory). Nothing is changed then."""
    directories: dict[str, bool] = {}  # repository-relative directory → it exists (and is a directory)
    need: set[str] = set()  # directories whose entries the plan adds, replaces or removes

    def existing(directory: str) -> bool:
        if directory not in directories:
            try:
                mode = os.lstat(os.path.join(real_root, directory)).st_mode
            except (FileNotFoundError, NotADirectoryError):  # the latter: a file further up, found there
                mode = None
            except OSError as exc:  # a link loop on the way, say: named at the link
                raise ShipcardError(f"{root / _first_link(real_root, directory)}: cannot be examined "
                                    f"({exc.strerror}); nothing was changed") from None
            if mode is not None and not stat.S_ISDIR(mode):
                raise ShipcardError(f"{root / directory}: not a directory, but this run writes files below it; "
                                    "nothing was changed")
            directories[directory] = mode is not None
        return directories[directory]

    for rel in writes:
        parent = os.path.dirname(rel)
        while parent and not existing(parent):  # made when the plan is applied: its parent changes
            rel, parent = parent, os.path.dirname(parent)
        need.add(parent)
    for rel in deletes:
        parent = os.path.dirname(rel)
        if not parent or existing(parent):
            need.add(parent)
    for directory in sorted(need):
        path = os.path.join(real_root, directory) if directory else real_root
        if not os.access(path, os.W_OK | os.X_OK):
            raise WriteError(root / directory if directory else root, PermissionError(errno.EACCES, "not writable"),
                             "nothing was changed")
    for rel in [*writes, *deletes]:  # a file of its own that may not be replaced or removed (chattr +i, +a)
        path = os.path.join(real_root, rel)
        if os.path.isfile(path) and not os.access(path, os.W_OK) and _immutable(path):
            raise WriteError(root / rel, PermissionError(errno.EPERM, "immutable or append-only"),
                             "nothing was changed")


def _first_link(real_root: str, directory: str) -> str:
    """The first component of `directory` that is a symbolic link (else `directory` itself)."""
    parts = directory.split("/")
    for count in range(1, len(parts) + 1):
        prefix = "/".join(parts[:count])
        if os.path.islink(os.path.join(real_root, prefix)):
            return prefix
    return directory


FS_IOC_GETFLAGS = 0x80086601  # <linux/fs.h>
FS_IMMUTABLE_OR_APPEND = 0x10 | 0x20  # FS_IMMUTABLE_FL | FS_APPEND_FL


def _immutable(path: str) -> bool:
    """A file even root may not rename over or unlink (Linux's inode flags; elsewhere: never)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        flags = int.from_bytes(fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(8))[:4], sys.byteorder)
    except OSError:
        return False
    finally:
        os.close(fd)
    return bool(flags & FS_IMMUTABLE_OR_APPEND)


def _roll_forward(root: Path, directory: Path, writes: list[tuple[str, str]], deletes: list[str]) -> None:
    """Move every staged file into place and delete what the plan deletes; safe to repeat."""
    real_root = os.path.realpath(root)
    made: set[str] = set()
    half = len(writes) // 2
    for number, (rel, name) in enumerate(writes):
        if number == half:
            _pause("applying")
        source = os.path.join(directory, name)
        target = os.path.join(real_root, rel)
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        try:
            _keep_mode(target, source)
            os.replace(source, target)
        except FileNotFoundError:  # moved already by an earlier roll-forward of this plan
            pass
    for rel in deletes:
        deleted = Path(real_root, rel)
        deleted.unlink(missing_ok=True)
        _remove_empty_parents(deleted.parent, Path(real_root))
    shutil.rmtree(directory)  # journaled after the renames on the same file system


def _write_new(path: str, data: bytes) -> int:
    """Write a staged file with four system calls (a buffered text file adds seeks and a tty check); its inode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        return os.fstat(fd).st_ino
    finally:
        os.close(fd)


FSYNC_EACH_UP_TO = 256


def _flush(paths: list[Path]) -> None:
    """Make files durable: one fsync each for a few, one sync of everything for many (much faster)."""
    if len(paths) > FSYNC_EACH_UP_TO:
        os.sync()
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _keep_mode(target: str, staged: str) -> None:
    """A replaced file keeps its permissions (a user may have made a card read-only for others)."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(staged, mode)


def _pause(point: str) -> None:
    """Test hook: stop here (until killed) when $SHIPCARD_TEST_PAUSE_AT names this point; the marker file
    names the point and the process that stopped (a render worker stops at `staging`)."""
    if os.environ.get(PAUSE_AT_ENV) != point:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(f"{point} {os.getpid()}\n")
    while True:
        time.sleep(60)


def _remove_empty_parents(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_relative_to(stop):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
