"""Issue 13, classes 3 and 4: shipcard's own files in a repository are untrusted, and so is every file
shipcard reads, whatever kind of file it turns out to be.

Class 3. `.shipcard/` (lock, journal, staged files) and `.shipcard-state/` may come with a pull
request. A journal shipcard did not write here (one copied from a real interrupted run elsewhere,
one forged with every wrong type, path and staged file) is refused by `render`, `pin`, `upgrade`
and `new` with exit 2 and one exact line, and not a byte changes in the repository or beside it;
`check` neither reads nor touches it, and a forged render state never makes `check` or `render`
skip what changed.

Class 4. FIFOs, devices, sockets, link loops, links out of the repository, directories where a
file is expected: in a card, shipcard.yaml, a lock file, `--values`, a manifest, a chart. Exit 2 and
one line naming the path (`render`, `pin`, `upgrade`), or an error finding naming it (`check`);
each run is the real `shipcard` script under a one-minute timeout and a 1 GiB address-space limit,
so a hang or a memory blow-up fails the case instead of blocking the suite.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hardhelpers import SHIPCARD, clean_environment, snapshot, start_shipcard, stop
from pinhelpers import Run

from shipcard.lifecycle.state import tree_digest
from shipcard.transaction import JOURNAL_FORMAT, PAUSE_AT_ENV, PAUSE_FILE_ENV, STATE_DIR
from shipcard.writers.tree import EDITED, generated_digest, stated_digest
from tests.conftest import run_cli

DIGEST = "sha256:" + "b" * 64
CARD = f"""apiVersion: shipcard/v1
kind: Service
name: web
image: ghcr.io/example/web:1.0.0@{DIGEST}
port: 8080
replicas: 2
environments:
  dev: {{}}
"""
MEMORY_LIMIT = 1 << 30
TIMEOUT = 60


def bounded(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """The real `shipcard ARGS` under a timeout and an address-space limit (a hang or a blow-up fails)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    try:
        done = subprocess.run([str(SHIPCARD), *args], cwd=cwd, env=clean_environment(env), capture_output=True,
                              text=True, timeout=TIMEOUT, preexec_fn=limit, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"shipcard {' '.join(args)} hung for {TIMEOUT} s") from None
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository made by `shipcard init`, with one rendered card, committed."""
    repo = tmp_path_factory.mktemp("template") / "repo"
    assert bounded("init", str(repo), cwd=repo.parent).code == 0
    (repo / "services" / "web.service.yaml").write_text(CARD)
    assert bounded("render", cwd=repo).code == 0
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "render"],
                   cwd=repo, check=True, capture_output=True)
    shutil.rmtree(repo / ".shipcard")  # git-ignored: not in a clone
    return repo


@pytest.fixture
def sandbox(template: Path, tmp_path: Path) -> Path:
    """`repo/` (a copy of the template) beside `outside/victim.txt`."""
    shutil.copytree(template, tmp_path / "repo", symlinks=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.txt").write_text("not shipcard's\n")
    (tmp_path / "outside" / "card.yaml").write_text(CARD.replace("name: web", "name: outsider"))
    return tmp_path


def everything(sandbox: Path) -> dict[str, bytes]:
    """Every file and link of the repository (`.shipcard/` and `.git/` included) and beside it."""
    return snapshot(sandbox, skip_state=False)


# --------------------------------------------------------------------------- class 3: journals


def journal_of_a_killed_run(template: Path, tmp_path: Path, point: str) -> Path:
    """A copy of the template whose `render` of a changed card was killed at `point` of its transaction."""
    repo = tmp_path / f"killed-{point}"
    shutil.copytree(template, repo, symlinks=True)
    card = repo / "services" / "web.service.yaml"
    card.write_text(card.read_text().replace("replicas: 2", "replicas: 3"))
    marker = tmp_path / f"reached-{point}"
    process = start_shipcard("render", cwd=repo, env={PAUSE_AT_ENV: point, PAUSE_FILE_ENV: str(marker)})
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    stop(process, signal.SIGKILL)
    assert (repo / STATE_DIR / "txn" / "plan.json").is_file()
    return repo


@pytest.fixture(scope="module")
def real_journal(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The journal (file name → bytes) a real `render` left when killed after its commit point."""
    repo = journal_of_a_killed_run(template, tmp_path_factory.mktemp("real"), "committed")
    txn = repo / STATE_DIR / "txn"
    return {path.name: path.read_bytes() for path in txn.iterdir()}


def txn_of(sandbox: Path) -> Path:
    return sandbox / "repo" / STATE_DIR / "txn"


def plant_files(sandbox: Path, files: dict[str, bytes]) -> Path:
    txn = txn_of(sandbox)
    txn.mkdir(parents=True)
    for name, data in files.items():
        (txn / name).write_bytes(data)
    return txn


def forge(sandbox: Path, writes: list[list[object]] | None = None, deletes: list[object] | None = None,
          staged: dict[str, str] | None = None, **changes: object) -> Path:
    """A journal bound like shipcard's own (its directory's and staged files' inodes), then `changes`."""
    txn = plant_files(sandbox, {name: text.encode() for name, text in (staged if staged is not None else {"000000": "owned\n"}).items()})
    bound = [[*entry, os.lstat(txn / str(entry[1])).st_ino if os.path.lexists(txn / str(entry[1])) else 7]
             for entry in writes or []]
    plan = {"format": JOURNAL_FORMAT, "journal": os.lstat(txn).st_ino, "writes": bound, "deletes": deletes or [],
            **changes}
    (txn / "plan.json").write_text(json.dumps(plan))
    return txn


def rewrite_plan(sandbox: Path, change: Callable[[dict], object]) -> None:
    """Change the planted journal's plan.json in place (its inode binding kept)."""
    path = txn_of(sandbox) / "plan.json"
    plan = json.loads(path.read_text())
    path.write_text(json.dumps(change(plan)))


def _escape(sandbox: Path) -> None:
    (sandbox / "repo" / "apps" / "escape").symlink_to(sandbox / "outside", target_is_directory=True)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


JOURNALS: list = [
    pytest.param(lambda s, j: plant_files(s, j), "written elsewhere: committed, copied or unpacked with the repository",
                 id="real-journal-committed-in-a-pull-request"),
    pytest.param(lambda s, j: (plant_files(s, j), rewrite_plan(s, lambda p: {**p, "journal": os.lstat(txn_of(s))
                                                                           .st_ino + 1})),
                 "written elsewhere: committed, copied or unpacked with the repository", id="journal-inode-guessed-wrong"),
    pytest.param(lambda s, j: (plant_files(s, j), rewrite_plan(s, lambda p: {**p, "journal": os.lstat(txn_of(s))
                                                                           .st_ino})),
                 "staged file {first} is neither in the journal nor moved into place",
                 id="journal-inode-right-files-not"),
    pytest.param(lambda s, j: (plant_files(s, j), rewrite_plan(s, lambda p: {**p, "format": "shipcard-transaction/1",
                                                                           "writes": [w[:2] for w in p["writes"]]})),
                 f"plan.json is not in the format {JOURNAL_FORMAT}", id="format-version-1"),
    pytest.param(lambda s, j: forge(s, [["services/web.service.yaml", "000000"]],
                                    deletes=["services/web.service.yaml"]),
                 "a path named twice", id="writes-and-deletes-one-path"),
    pytest.param(lambda s, j: forge(s, [["apps/web/x.yaml", "000000"], ["apps/web/x.yaml", "000001"]],
                                    staged={"000000": "a", "000001": "b"}),
                 "a path named twice", id="one-path-written-twice"),
    pytest.param(lambda s, j: forge(s, [["apps/new", "000000"]], deletes=["apps/new/x.yaml"]),
                 "'apps/new': named as a file and as a directory", id="a-file-and-a-directory-of-it"),
    pytest.param(lambda s, j: forge(s, [["apps/web/x.yaml", "000000"]], staged={}),
                 "staged file 000000 is neither in the journal nor moved into place", id="staged-file-missing"),
    pytest.param(lambda s, j: forge(s, [["README.md", "000000"]], staged={"000001": "x"}),
                 "staged file 000000 is neither in the journal nor moved into place",
                 id="staged-file-missing-target-exists"),
    pytest.param(lambda s, j: forge(s, [[".git/config", "000000"]]), "'.git/config': inside .git or .shipcard",
                 id="write-git-config"),
    pytest.param(lambda s, j: forge(s, deletes=[".GIT/config"]), "'.GIT/config': inside .git or .shipcard",
                 id="delete-git-config-upper-case"),
    pytest.param(lambda s, j: forge(s, [[".shipcard/txn/plan.json", "000000"]]),
                 "'.shipcard/txn/plan.json': inside .git or .shipcard", id="write-its-own-plan"),
    pytest.param(lambda s, j: forge(s, [["apps", "000000"]]), "'apps': not a regular file", id="write-onto-a-directory"),
    pytest.param(lambda s, j: forge(s, deletes=["apps"]), "'apps': not a regular file", id="delete-a-directory"),
    pytest.param(lambda s, j: (_escape(s), forge(s, deletes=["apps/escape/victim.txt"])),
                 "'apps/escape/victim.txt': a symbolic link on the way", id="delete-through-a-link"),
    pytest.param(lambda s, j: ((s / "repo/apps/inside").symlink_to("web", target_is_directory=True),
                               forge(s, [["apps/inside/x.yaml", "000000"]])),
                 "'apps/inside/x.yaml': a symbolic link on the way", id="write-through-a-link-inside"),
    pytest.param(lambda s, j: forge(s, [["README.md/x", "000000"]]), "'README.md/x': a file where a directory should be",
                 id="write-below-a-file"),
    pytest.param(lambda s, j: forge(s, [["a" * 300 + "/x", "000000"]]),
                 f"'{'a' * 200}': cannot be examined (File name too long)", id="name-too-long"),
    pytest.param(lambda s, j: forge(s, [["apps/x.yaml", "plan.json"]]), "a staged file outside the journal",
                 id="staged-is-the-plan"),
    pytest.param(lambda s, j: forge(s, [["apps/x.yaml", "00000"]], staged={"00000": "x"}),
                 "holds '00000'", id="staged-name-five-digits"),
    pytest.param(lambda s, j: (forge(s, [["apps/x.yaml", "000001"]], staged={}), (txn_of(s) / "000001").mkdir()),
                 "staged file 000001 is not a regular file", id="staged-is-a-directory"),
    pytest.param(lambda s, j: (forge(s, [["apps/x.yaml", "000001"]], staged={}), _fifo(txn_of(s) / "000001")),
                 "staged file 000001 is not a regular file", id="staged-is-a-fifo"),
    pytest.param(lambda s, j: (forge(s, [["apps/x.yaml", "000001"]], staged={}),
                               (txn_of(s) / "000001").symlink_to(s / "outside/victim.txt")),
                 "staged file 000001 is not a regular file", id="staged-links-outside"),
    pytest.param(lambda s, j: (forge(s), (txn_of(s) / "plan.json").write_text("[" * 100_000 + "]" * 100_000)),
                 "plan.json is not JSON", id="plan-nested-100000-deep"),
    pytest.param(lambda s, j: (forge(s), os.truncate(txn_of(s) / "plan.json", 65 << 20)),
                 "plan.json is not a plan file", id="plan-65-MiB"),
    pytest.param(lambda s, j: (forge(s), (txn_of(s) / "plan.json").unlink(), _fifo(txn_of(s) / "plan.json")),
                 "plan.json is not a plan file", id="plan-is-a-fifo"),
    pytest.param(lambda s, j: (forge(s), (txn_of(s) / "plan.json").unlink(),
                               (txn_of(s) / "plan.json").symlink_to("/dev/zero")),
                 "plan.json is not a plan file", id="plan-links-to-dev-zero"),
    pytest.param(lambda s, j: (forge(s), (txn_of(s) / "plan.json").write_text("[]")),
                 f"plan.json is not in the format {JOURNAL_FORMAT}", id="plan-a-list"),
    pytest.param(lambda s, j: (forge(s), (txn_of(s) / "plan.json").write_text("null")),
                 f"plan.json is not in the format {JOURNAL_FORMAT}", id="plan-null"),
    pytest.param(lambda s, j: forge(s, [[7, "000000"]]), f"plan.json is not in the format {JOURNAL_FORMAT}",
                 id="a-number-as-a-path"),
    pytest.param(lambda s, j: forge(s, deletes=[None]), f"plan.json is not in the format {JOURNAL_FORMAT}",
                 id="null-as-a-path"),
    pytest.param(lambda s, j: forge(s, writes=None, deletes=[["README.md"]]),
                 f"plan.json is not in the format {JOURNAL_FORMAT}", id="a-list-as-a-path"),
    pytest.param(lambda s, j: forge(s, journal=True), f"plan.json is not in the format {JOURNAL_FORMAT}",
                 id="journal-inode-true"),
    pytest.param(lambda s, j: forge(s, journal="1"), f"plan.json is not in the format {JOURNAL_FORMAT}",
                 id="journal-inode-a-string"),
    pytest.param(lambda s, j: forge(s, hooks=["rm -rf ~"]), f"plan.json is not in the format {JOURNAL_FORMAT}",
                 id="unknown-key"),
    pytest.param(lambda s, j: (txn_of(s).mkdir(parents=True), (txn_of(s) / "000000").mkdir(),
                               (txn_of(s) / "000000" / "keep.txt").write_text("x")),
                 "000000 is not a regular file", id="uncommitted-holding-a-directory"),
    pytest.param(lambda s, j: (txn_of(s).mkdir(parents=True), (txn_of(s) / "000000").symlink_to(s / "outside")),
                 "000000 is not a regular file", id="uncommitted-holding-a-link"),
    pytest.param(lambda s, j: (txn_of(s).parent.mkdir(), txn_of(s).write_text("x")), "not a directory",
                 id="txn-is-a-file"),
]


@pytest.mark.parametrize("command", [("render",), ("pin",), ("upgrade", "--allow-dirty"), ("new", "fresh", "--no-input")],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("make,why", JOURNALS)
def test_a_journal_shipcard_did_not_write_is_refused_and_nothing_is_touched(
        sandbox: Path, real_journal: dict[str, bytes], make: Callable, why: str, command: tuple[str, ...]) -> None:
    make(sandbox, real_journal)
    if "{first}" in why:  # the first write of the plan, in the order of its targets
        why = why.format(first=json.loads((txn_of(sandbox) / "plan.json").read_text())["writes"][0][1])
    before = everything(sandbox)
    result = run_cli(*command, cwd=sandbox / "repo")
    assert result.exit_code == 2, result.output
    journal = txn_of(sandbox).as_posix()
    assert result.stderr == (f"shipcard: {journal}: not a transaction shipcard wrote ({why}); nothing was "
                             "changed: if no shipcard run was interrupted, delete it\n")
    assert result.stdout == ""
    assert everything(sandbox) == before


@pytest.mark.parametrize("make,why", [p for p in JOURNALS if p.id in (
    "real-journal-committed-in-a-pull-request", "writes-and-deletes-one-path", "plan-is-a-fifo",
    "uncommitted-holding-a-directory", "plan-nested-100000-deep")])
def test_check_never_reads_or_touches_a_journal(sandbox: Path, real_journal: dict[str, bytes], make: Callable,
                                                why: str) -> None:
    clean = bounded("check", cwd=sandbox / "repo")
    make(sandbox, real_journal)
    before = everything(sandbox)
    result = bounded("check", cwd=sandbox / "repo")
    assert (result.code, result.stdout) == (clean.code, clean.stdout) and clean.code == 0, result.output
    assert everything(sandbox) == before


@pytest.mark.parametrize("case", ["state-dir-a-file", "state-dir-links-inside", "lock-a-fifo", "lock-links-to-dev-null",
                                  "lock-a-socket"])
def test_a_hostile_state_directory_or_lock_is_refused(sandbox: Path, case: str) -> None:
    state = sandbox / "repo" / STATE_DIR
    held: list[socket.socket] = []
    if case == "state-dir-a-file":
        state.write_text("x")
        expected = f"{state}: not a directory; shipcard keeps its lock and journal in it"
    elif case == "state-dir-links-inside":
        state.symlink_to("apps", target_is_directory=True)
        expected = (f"{state}: a symbolic link; shipcard keeps its lock and journal inside {sandbox / 'repo'} "
                    "and refuses to follow it")
    else:
        state.mkdir()
        lock = state / "lock"
        if case == "lock-a-fifo":
            os.mkfifo(lock)
        elif case == "lock-links-to-dev-null":
            lock.symlink_to("/dev/null")
        else:
            _special(lock, "socket", sandbox, held)
        expected = f"{lock}: not a regular file; shipcard's lock must be one"
    before = everything(sandbox)
    for command in (("render",), ("pin",), ("upgrade", "--allow-dirty"), ("new", "fresh", "--no-input")):
        result = bounded(*command, cwd=sandbox / "repo")
        assert (result.code, result.stderr, result.stdout) == (2, f"shipcard: {expected}\n", ""), command
    assert everything(sandbox) == before
    for sock in held:
        sock.close()


@pytest.mark.parametrize("point", ["committed", "applying"])
def test_the_journal_of_a_run_killed_here_is_completed_and_a_copy_of_it_is_refused(
        template: Path, tmp_path: Path, point: str) -> None:
    """The binding does not cost a real recovery: the killed repository completes; its copy refuses."""
    killed = journal_of_a_killed_run(template, tmp_path, point)
    copy = tmp_path / "copy"
    shutil.copytree(killed, copy, symlinks=True)
    copied = snapshot(copy, skip_state=False)  # the killed run's stale lock too: the refused run leaves it
    refused = bounded("render", cwd=copy)
    assert (refused.code, refused.stdout) == (2, ""), refused.output
    assert refused.stderr == (f"shipcard: {copy / STATE_DIR / 'txn'}: not a transaction shipcard wrote (written "
                              "elsewhere: committed, copied or unpacked with the repository); nothing was changed: "
                              "if no shipcard run was interrupted, delete it\n")
    assert snapshot(copy, skip_state=False) == copied
    completed = bounded("render", cwd=killed)
    assert completed.code == 0, completed.output
    assert "replicas: 3" in (killed / "apps/web/overlays/dev/kustomization.yaml").read_text() + \
        (killed / "apps/web/base/deployment.yaml").read_text()
    assert not (killed / STATE_DIR / "txn").exists() and not (killed / STATE_DIR / "lock").exists()
    assert bounded("render", "--check", cwd=killed).code == 0


def forged_state(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    """`repo` with a changed card, its old tree and the `.shipcard-state/` of `ahead`, where it was rendered."""
    repo, ahead = tmp_path / "repo", tmp_path / "ahead"
    shutil.copytree(template, repo, symlinks=True)
    for directory in (repo, ahead):
        if directory is ahead:
            shutil.copytree(repo, ahead, symlinks=True)
        card = directory / "services" / "web.service.yaml"
        card.write_text(card.read_text().replace("replicas: 2", "replicas: 4"))
    assert bounded("render", cwd=ahead).code == 0
    shutil.rmtree(repo / ".shipcard-state")
    shutil.copytree(ahead / ".shipcard-state", repo / ".shipcard-state")
    return repo, ahead


def test_a_forged_render_state_never_makes_check_or_render_check_skip_a_change(template: Path,
                                                                              tmp_path: Path) -> None:
    """`.shipcard-state/` of a render of the changed card, committed beside the old tree: still drift."""
    repo, _ = forged_state(template, tmp_path)
    before = snapshot(repo)
    checked = bounded("check", cwd=repo)
    assert checked.code == 1 and re.search(r"^  apps/web/base/deployment\.yaml:1:1: error +generated-file-stale: "
                                           r"differs from its card: rendered before the card, shipcard\.yaml or "
                                           r"shipcard changed \(card services/web\.service\.yaml; ",
                                           checked.stdout, re.MULTILINE), checked.output
    drift = bounded("render", "--check", cwd=repo)
    assert drift.code == 1, drift.output
    assert snapshot(repo) == before  # neither of them wrote anything


def test_a_forged_render_state_never_makes_render_skip_a_change(template: Path, tmp_path: Path) -> None:
    """Each file intact and the state claiming the new card: no receipt of this machine vouches for the mix."""
    repo, ahead = forged_state(template, tmp_path)
    assert bounded("render", cwd=repo).code == 0
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")} == \
        {k: v for k, v in snapshot(ahead).items() if not k.startswith(".git/")}


def _tree(repo: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(repo).items() if not k.startswith((".git/", ".shipcard/"))}


def test_receipts_copied_from_where_the_state_was_rendered_vouch_for_nothing_here(template: Path,
                                                                                 tmp_path: Path) -> None:
    """`.shipcard/receipts.json` of `ahead` (same key) names `ahead`'s tree, not the old files beside its state."""
    repo, ahead = forged_state(template, tmp_path)
    (repo / ".shipcard").mkdir(exist_ok=True)
    shutil.copy(ahead / ".shipcard" / "receipts.json", repo / ".shipcard" / "receipts.json")
    assert bounded("render", cwd=repo).code == 0
    assert _tree(repo) == _tree(ahead)


@pytest.mark.parametrize("key", [bytes(32), b""], ids=["zero-key", "empty-key"])
def test_receipts_forged_with_a_guessed_key_vouch_for_nothing(template: Path, tmp_path: Path, key: bytes) -> None:
    """Receipts computed for the forged tree exactly as shipcard would, under a key the attacker chose."""
    repo, ahead = forged_state(template, tmp_path)
    forge_receipts(repo, key)
    assert bounded("render", cwd=repo).code == 0
    assert _tree(repo) == _tree(ahead)


def forge_receipts(repo: Path, key: bytes) -> None:
    """`.shipcard/receipts.json` vouching for web's tree as it is, computed as shipcard would under `key`."""
    state = ".shipcard-state/web.yaml"
    files = json.loads((repo / state).read_text().split("\n", 2)[2])["files"]
    digests = {rel: generated_digest((repo / rel).read_bytes(), "services/web.service.yaml") or ""
               for rel in [*files, state]}
    forged = hmac.new(key, f"web\0{tree_digest(digests)}".encode(), hashlib.sha256).hexdigest()
    (repo / ".shipcard").mkdir(exist_ok=True)
    (repo / ".shipcard" / "receipts.json").write_text(json.dumps({"web": forged}))


def test_a_symlinked_receipts_file_is_neither_read_nor_written_through(template: Path, tmp_path: Path) -> None:
    """`.shipcard/receipts.json` committed as a link to a file outside: ignored, and replaced, not followed."""
    repo, ahead = forged_state(template, tmp_path)
    outside = tmp_path / "outside.json"
    outside.write_bytes((ahead / ".shipcard" / "receipts.json").read_bytes())
    before = outside.read_bytes()
    (repo / ".shipcard").mkdir(exist_ok=True)
    (repo / ".shipcard" / "receipts.json").unlink(missing_ok=True)
    (repo / ".shipcard" / "receipts.json").symlink_to(outside)
    assert bounded("render", cwd=repo).code == 0
    assert _tree(repo) == _tree(ahead)
    assert outside.read_bytes() == before and not (repo / ".shipcard" / "receipts.json").is_symlink()


@pytest.mark.parametrize("name, text", [
    pytest.param("receipts.json", '{"web": "\u00e9"}', id="receipt-not-ascii"),
    pytest.param("receipts.json", '{"web": "\\ud800"}', id="receipt-lone-surrogate"),
    pytest.param("receipts.json", '{"web": ' + "[" * 1100 + "]" * 1100 + "}", id="receipts-nested-deeply"),
    pytest.param("verified.json", '{"a": ' + "[" * 1100 + "]" * 1100 + "}", id="verified-nested-deeply"),
    pytest.param("receipts.json", '{"web": 7, "1": null}', id="receipts-wrong-types"),
])
def test_a_damaged_cache_reads_as_empty(template: Path, tmp_path: Path, name: str, text: str) -> None:
    """A cache of `.shipcard/` is repository content: damage costs a render, never a crash."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    before = _tree(repo)
    (repo / ".shipcard").mkdir(exist_ok=True)
    (repo / ".shipcard" / name).write_text(text, encoding="utf-8")
    done = bounded("render", cwd=repo)
    assert (done.code, done.stderr) == (0, ""), done.output
    assert _tree(repo) == before


def _forge_verified(repo: Path, target: str, digest: str, key: bytes | None) -> None:
    """`.shipcard/verified.json` claiming `target`, as it is on disk now, is intact with `digest`."""
    stat = (repo / target).stat()
    entries = {target: [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, "services/web.service.yaml",
                        digest]}
    body = json.dumps(entries, separators=(",", ":"))
    text = body if key is None else hmac.new(key, b"verified\0" + body.encode(), hashlib.sha256).hexdigest() + \
        "\n" + body
    (repo / ".shipcard" / "verified.json").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("key", [pytest.param(None, id="unkeyed"), pytest.param(bytes(32), id="guessed-key")])
def test_a_verified_cache_forged_with_the_current_stat_signatures_vouches_for_nothing(
        template: Path, tmp_path: Path, key: bytes | None) -> None:
    """Someone who can write `.shipcard/` (and read the files' stat) claims a hand-edited generated file is
    intact: without this user's key the claim is not read, the file is, and the edit is reported."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    cache = {"SHIPCARD_CACHE_DIR": str(tmp_path / "cache")}
    assert bounded("render", cwd=repo, env=cache).code == 0  # this machine's receipts for the tree
    assert "rendered 0 service(s)" in bounded("render", cwd=repo, env=cache).output
    target = "apps/web/base/deployment.yaml"
    path = repo / target
    text = path.read_text(encoding="utf-8")
    intact = stated_digest(text)
    path.write_text(text.replace("replicas: 2", "replicas: 9", 1), encoding="utf-8")
    _forge_verified(repo, target, intact, key)
    done = bounded("render", cwd=repo, env=cache)
    assert done.code == 1 and f"{target}: {EDITED}" in done.stderr, done.output
    assert "replicas: 9" in path.read_text(encoding="utf-8")  # the user's edit is kept, not overwritten


def test_a_linked_receipt_key_is_no_key(template: Path, tmp_path: Path) -> None:
    """A key that is a link (to a file anyone can read or write) vouches for nothing."""
    repo, ahead = forged_state(template, tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    known = tmp_path / "known.key"
    known.write_bytes(bytes(32))
    (cache / "receipts.key").symlink_to(known)
    forge_receipts(repo, bytes(32))
    assert bounded("render", cwd=repo, env={"SHIPCARD_CACHE_DIR": str(cache)}).code == 0
    assert _tree(repo) == _tree(ahead)


def test_a_linked_receipts_file_is_replaced_with_a_private_mode(template: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    target = tmp_path / "open.json"
    target.write_text("{}")
    target.chmod(0o777)
    (repo / ".shipcard").mkdir(exist_ok=True)
    (repo / ".shipcard" / "receipts.json").symlink_to(target)
    assert bounded("render", cwd=repo).code == 0
    written = repo / ".shipcard" / "receipts.json"
    assert not written.is_symlink() and written.stat().st_mode & 0o022 == 0 and target.read_text() == "{}"


def test_a_new_receipt_key_renders_each_service_once_and_changes_no_file(template: Path, tmp_path: Path) -> None:
    """Another user's cache (no key yet): every service renders again, byte for byte what is there."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    before = _tree(repo)
    cache = tmp_path / "cache"
    env = {"SHIPCARD_CACHE_DIR": str(cache)}
    assert bounded("render", cwd=repo, env=env).code == 0
    assert _tree(repo) == before
    key = cache / "receipts.key"
    assert key.stat().st_size == 32 and key.stat().st_mode & 0o777 == 0o600
    assert list(json.loads((repo / ".shipcard" / "receipts.json").read_text())) == ["web"]


# --------------------------------------------------------------------------- class 4: special files and loops


def _special(path: Path, kind: str, sandbox: Path, held: list[socket.socket]) -> None:
    """Make `path` a file of this `kind` (replacing whatever is there)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "dev-null":
        path.symlink_to("/dev/null")
    elif kind == "loop-to-itself":
        path.symlink_to(path.name)
    elif kind == "loop-of-two":
        path.symlink_to(path.name + ".other")
        path.with_name(path.name + ".other").symlink_to(path.name)
    elif kind == "dangling":
        path.symlink_to("nowhere")
    elif kind == "directory":
        path.mkdir()
    elif kind == "socket":  # bound by a relative name: a socket's path may not exceed 108 bytes
        held.append(socket.socket(socket.AF_UNIX))
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            held[-1].bind(path.name)
        finally:
            os.chdir(cwd)
    elif kind == "link-outside":
        path.symlink_to(sandbox / "outside" / "card.yaml")
    else:
        raise AssertionError(kind)


SPECIAL = ["fifo", "dev-zero", "dev-null", "loop-to-itself", "loop-of-two", "dangling", "directory", "socket",
           "link-outside"]
UNREADABLE = re.compile(r"cannot read: (not a regular file|Too many levels of symbolic links|No such file or directory"
                        r"|No such device or address)"
                        r"|a symbolic link leads outside the repository; shipcard does not follow it")


@pytest.fixture
def held() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


@pytest.mark.parametrize("kind", SPECIAL)
def test_shipcard_yaml_of_any_other_kind_is_refused_not_ignored(sandbox: Path, held: list, kind: str) -> None:
    """Without this, render went on as if the repository had no settings and rewrote its Applications."""
    repo = sandbox / "repo"
    _special(repo / "shipcard.yaml", kind, sandbox, held)
    before = everything(sandbox)
    for command in (("render",), ("render", "--check"), ("upgrade", "--allow-dirty"), ("check",)):
        result = bounded(*command, cwd=repo)
        assert result.code == 2 and result.stdout == "", (command, result.output)
        line = f"shipcard: {repo / 'shipcard.yaml'}: "
        assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1, (command, result.stderr)
        assert UNREADABLE.search(result.stderr), result.stderr
        if kind in ("link-outside", "dev-zero", "dev-null"):
            assert "a symbolic link leads outside the repository" in result.stderr
    assert everything(sandbox) == before


@pytest.mark.parametrize("kind", SPECIAL)
def test_a_card_of_any_other_kind_is_refused_by_pin_and_upgrade_and_reported_by_check(
        sandbox: Path, held: list, kind: str) -> None:
    repo = sandbox / "repo"
    card = repo / "services" / "new.service.yaml"
    _special(card, kind, sandbox, held)
    before = everything(sandbox)
    if kind != "link-outside":  # read, not written: pin and upgrade refuse to write through it (test_transaction)
        for command in (("pin", "--check"), ("upgrade", "--allow-dirty")):
            result = bounded(*command, cwd=repo)
            assert result.code == 2 and result.stdout == "", (command, result.output)
            assert re.fullmatch(rf"shipcard: {re.escape(str(card))}: ({UNREADABLE.pattern})\n", result.stderr), \
                (command, result.stderr)
    checked = bounded("check", cwd=repo)
    assert checked.code == 2, checked.output
    assert re.search(r"^  services/new\.service\.yaml: error +input-unreadable: "
                     rf"({UNREADABLE.pattern})", checked.stdout, re.MULTILINE), checked.stdout
    assert everything(sandbox) == before


@pytest.mark.parametrize("where", ["manifests/m.yaml", "manifests/deep/m.json", "services/x.service.yaml"])
@pytest.mark.parametrize("kind", SPECIAL)
def test_check_reports_a_walked_file_of_any_other_kind_by_name(sandbox: Path, held: list, kind: str,
                                                               where: str) -> None:
    repo = sandbox / "repo"
    path = repo / where
    path.parent.mkdir(parents=True, exist_ok=True)
    _special(path, kind, sandbox, held)
    before = everything(sandbox)
    checked = bounded("check", "-v", cwd=repo)
    assert "Traceback" not in checked.output
    if kind == "directory" and not where.startswith("services/"):
        assert checked.code == 0, checked.output  # a directory named like a file elsewhere is walked, not read
    else:
        assert checked.code == 2, checked.output
        assert re.search(rf"^  {re.escape(where)}: error +input-unreadable: ({UNREADABLE.pattern})",
                         checked.stdout, re.MULTILINE), checked.stdout
    assert everything(sandbox) == before


@pytest.mark.parametrize("kind", SPECIAL)
def test_check_names_a_special_file_given_on_the_command_line(sandbox: Path, held: list, kind: str) -> None:
    repo = sandbox / "repo"
    _special(repo / "m.yaml", kind, sandbox, held)
    checked = bounded("check", "m.yaml", cwd=repo)
    assert "Traceback" not in checked.output
    if kind in ("loop-to-itself", "loop-of-two", "dangling"):
        problem = "a symbolic link loop" if kind.startswith("loop") else "no such file or directory"
        assert (checked.code, checked.stderr) == (2, f"shipcard: m.yaml: {problem}\n"), checked.output
    elif kind == "directory":
        assert checked.code == 0, checked.output
    elif kind == "link-outside":  # named on purpose: read where it leads, under the repository's settings
        assert checked.code == 0 and ", Kubernetes 1.31 " in checked.stderr, checked.output
    else:
        assert checked.code == 2, checked.output
        assert re.search(rf"^  m\.yaml: error +input-unreadable: ({UNREADABLE.pattern})", checked.stdout,
                         re.MULTILINE), checked.stdout
        assert ", Kubernetes 1.31 " in checked.stderr  # the repository's settings, not those of where a link leads


@pytest.mark.parametrize("kind", [k for k in SPECIAL if k != "link-outside"])
def test_a_values_file_of_any_other_kind_is_refused_in_one_line(sandbox: Path, held: list, kind: str) -> None:
    repo = sandbox / "repo"
    _special(repo / "v.yaml", kind, sandbox, held)
    checked = bounded("check", "--values", "v.yaml", "apps", cwd=repo)
    problem = {"loop-to-itself": "Too many levels of symbolic links", "loop-of-two": "Too many levels of symbolic links",
               "dangling": "No such file or directory"}.get(kind, "not a regular file")
    assert (checked.code, checked.stdout, checked.stderr) == (2, "", f"shipcard: --values v.yaml: {problem}\n")


@pytest.mark.parametrize("kind", [k for k in SPECIAL if k != "link-outside"])
def test_a_lock_file_of_any_other_kind_is_refused_in_one_line(sandbox: Path, held: list, kind: str) -> None:
    repo = sandbox / "repo"
    _special(repo / "images.lock", kind, sandbox, held)
    before = everything(sandbox)
    for command in (("render", "--lock", "images.lock"), ("pin", "--check", "--lock", "images.lock")):
        result = bounded(*command, cwd=repo)
        assert result.code == 2 and result.stdout == "" and "Traceback" not in result.stderr, (command, result.output)
        lines = result.stderr.splitlines()
        # click refuses a missing path or a directory itself (a usage error, its own short text)
        assert len(lines) == 1 and "images.lock" in lines[0] or "Invalid value for '--lock'" in result.stderr, \
            (command, result.stderr)
    assert everything(sandbox) == before


def _chart(repo: Path) -> Path:
    chart = repo / "charts" / "mine"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: mine\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 1\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
    return chart


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "loop-to-itself", "socket"])
@pytest.mark.parametrize("named", ["charts/mine", "charts/mine/Chart.yaml", "."])
def test_a_chart_file_of_any_other_kind_is_a_finding_not_a_hang(sandbox: Path, held: list, kind: str,
                                                                named: str) -> None:
    """helm would block reading a FIFO Chart.yaml: the chart is reported, never handed to helm."""
    repo = sandbox / "repo"
    _special(_chart(repo) / "Chart.yaml", kind, sandbox, held)
    checked = bounded("check", named, cwd=repo)
    if named.endswith("Chart.yaml") and kind == "loop-to-itself":
        assert (checked.code, checked.stderr) == (2, f"shipcard: {named}: a symbolic link loop\n"), checked.output
        return
    assert checked.code == 2, checked.output
    assert re.search(rf"^  charts/mine/Chart\.yaml: error +input-unreadable: ({UNREADABLE.pattern})",
                     checked.stdout, re.MULTILINE), checked.stdout


@pytest.mark.parametrize("setting", ["policy-dirs", "crd-dirs"])
@pytest.mark.parametrize("kind", ["loop-to-itself", "link-outside", "dangling"])
def test_a_settings_directory_that_is_a_loop_or_leads_out_is_refused_with_its_line(sandbox: Path, held: list,
                                                                                  kind: str, setting: str) -> None:
    repo = sandbox / "repo"
    _special(repo / "extra", kind, sandbox, held)
    settings = repo / "shipcard.yaml"
    settings.write_text(settings.read_text().replace("check:\n", f"check:\n  {setting}: [extra]\n"))
    line = settings.read_text().splitlines().index(f"  {setting}: [extra]") + 1
    checked = bounded("check", cwd=repo)
    assert "Traceback" not in checked.output
    assert checked.code == 2 and len(checked.stderr.splitlines()) == 1, checked.output
    if kind == "link-outside":
        assert checked.stderr == (f"shipcard: {settings}:{line}:{len(setting) + 6}: check.{setting}[0]: must be a "
                                  "directory inside the repository\n")
    else:  # named by the path it leads to
        assert re.fullmatch(r"shipcard: (--crd-dir )?\S*(extra|nowhere): [a-zA-Z ]+\n", checked.stderr), checked.stderr


@pytest.mark.parametrize("size", [0, 31, 33], ids=["empty", "short", "long"])
def test_a_damaged_receipt_key_is_replaced_once_it_is_old(template: Path, tmp_path: Path, size: int) -> None:
    """A key of the wrong length, untouched for over a minute, is no rival's half-written key: a new one."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    key = cache / "receipts.key"
    key.write_bytes(b"k" * size)
    os.utime(key, (time.time() - 120, time.time() - 120))
    before = _tree(repo)
    assert bounded("render", cwd=repo, env={"SHIPCARD_CACHE_DIR": str(cache)}).code == 0
    assert _tree(repo) == before
    assert key.stat().st_size == 32 and key.read_bytes() != b"k" * 32 and key.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in cache.iterdir() if p.name != "schemas") == ["receipts.key"]  # no temporary left
    assert list(json.loads((repo / ".shipcard" / "receipts.json").read_text())) == ["web"]


def test_a_fresh_short_key_is_left_to_the_run_writing_it(template: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "receipts.key").write_bytes(b"")
    assert bounded("render", cwd=repo, env={"SHIPCARD_CACHE_DIR": str(cache)}).code == 0
    assert (cache / "receipts.key").read_bytes() == b""
