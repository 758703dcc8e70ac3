"""Issue 12, item 2: one repository transaction and one lock for every command that writes.

A journal is repository content: a hostile one (committed by a pull request) is refused by `render`
and `pin` alike with exit 2 and one line, and nothing in the repository or outside it is touched.
The lock makes a second writer wait, then refuse naming the holder; a refused run leaves nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shipcard import transaction
from shipcard.transaction import JOURNAL_FORMAT, STATE_DIR, begin, service_names
from tests.conftest import run_cli

DIGEST = "sha256:" + "a" * 64
CARD = f"""apiVersion: shipcard/v1
kind: Service
name: small
image: ghcr.io/example/small:1.0.0@{DIGEST}
port: 8080
replicas: 2
environments:
  dev: {{}}
gitops:
  repoURL: https://git.example.com/gitops.git
"""
SHIPCARD = Path(sys.executable).parent / "shipcard"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and link under `root`, `.shipcard/` included (links as `-> target`)."""
    files: dict[str, bytes] = {}
    for directory, dirs, names in os.walk(root):
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(directory, d)))]:
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            files[rel] = b"-> " + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return files


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """`repo/` with one rendered card (and a `.git/hooks/`), beside `outside/victim.txt`."""
    repo = tmp_path / "repo"
    (repo / "services").mkdir(parents=True)
    (repo / "services" / "small.service.yaml").write_text(CARD)
    (repo / ".git" / "hooks").mkdir(parents=True)
    assert run_cli("render", cwd=repo).exit_code == 0
    left = sorted(p.name for p in (repo / STATE_DIR).iterdir())
    assert left == ["receipts.json"]  # a run leaves no lock and no journal behind, only its render receipts
    (repo / STATE_DIR / "receipts.json").unlink()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.txt").write_text("not shipcard's\n")
    return tmp_path


def plant(repo: Path, writes: list[list[str]] | None = None, deletes: list[str] | None = None,
          staged: dict[str, str] | None = None, **plan: object) -> Path:
    """A committed journal in `repo` with these entries and staged files."""
    txn = repo / STATE_DIR / "txn"
    txn.mkdir(parents=True)
    for name, text in (staged if staged is not None else {"000000": "#!/bin/sh\necho owned\n"}).items():
        (txn / name).write_text(text)
    # Bound to this journal directory and its staged files, as shipcard binds the journals it writes.
    bound = [[rel, name, os.lstat(txn / name).st_ino if os.path.lexists(txn / name) else 1]
             for rel, name in writes or []]
    document = {"format": JOURNAL_FORMAT, "journal": os.lstat(txn).st_ino, "writes": bound,
                "deletes": deletes or [], **plan}
    (txn / "plan.json").write_text(json.dumps(document))
    return txn


def escape_link(sandbox: Path) -> None:
    (sandbox / "repo" / "apps" / "escape").symlink_to(sandbox / "outside", target_is_directory=True)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "write-absolute": (lambda s: plant(s / "repo", [[str(s / "outside/victim.txt"), "000000"]]),
                       "'{s}/outside/victim.txt': not a relative path"),
    "write-climbing": (lambda s: plant(s / "repo", [["../outside/victim.txt", "000000"]]),
                       "'../outside/victim.txt': not a plain relative path"),
    "write-through-linked-directory": (lambda s: (escape_link(s), plant(s / "repo", [["apps/escape/victim.txt",
                                                                                     "000000"]])),
                                       "'apps/escape/victim.txt': a symbolic link on the way"),
    "write-through-linked-card": (lambda s: ((s / "repo/services/linked.service.yaml").symlink_to(
        s / "outside/victim.txt"), plant(s / "repo", [["services/linked.service.yaml", "000000"]])),
        "'services/linked.service.yaml': not a regular file"),
    "write-a-git-hook": (lambda s: plant(s / "repo", [[".git/hooks/post-checkout", "000000"]]),
                         "'.git/hooks/post-checkout': inside .git or .shipcard"),
    "write-the-lock": (lambda s: plant(s / "repo", [[f"{STATE_DIR}/lock", "000000"]]),
                       "'.shipcard/lock': inside .git or .shipcard"),
    "staged-outside": (lambda s: plant(s / "repo", [["apps/x.yaml", "../../../outside/victim.txt"]]),
                       "a staged file outside the journal"),
    "staged-link": (lambda s: (plant(s / "repo", [["apps/x.yaml", "000001"]], staged={}),
                               (s / "repo" / STATE_DIR / "txn/000001").symlink_to(s / "outside/victim.txt")),
                    "staged file 000001 is not a regular file"),
    "delete-absolute": (lambda s: plant(s / "repo", deletes=[str(s / "outside/victim.txt")]),
                        "'{s}/outside/victim.txt': not a relative path"),
    "delete-climbing": (lambda s: plant(s / "repo", deletes=["apps/../../outside/victim.txt"]),
                        "'apps/../../outside/victim.txt': not a plain relative path"),
    "delete-through-linked-directory": (lambda s: (escape_link(s), plant(s / "repo",
                                                                         deletes=["apps/escape/victim.txt"])),
                                        "'apps/escape/victim.txt': a symbolic link on the way"),
    "no-format": (lambda s: (plant(s / "repo"), (s / "repo" / STATE_DIR / "txn/plan.json").write_text(
        json.dumps({"writes": [], "deletes": []}))), f"plan.json is not in the format {JOURNAL_FORMAT}"),
    "other-format": (lambda s: plant(s / "repo", format="shipcard-transaction/99"),
                     f"plan.json is not in the format {JOURNAL_FORMAT}"),
    "not-json": (lambda s: (plant(s / "repo"), (s / "repo" / STATE_DIR / "txn/plan.json").write_text("{writes")),
                 "plan.json is not JSON"),
    "strange-file-uncommitted": (lambda s: ((s / "repo" / STATE_DIR / "txn").mkdir(parents=True),
                                            (s / "repo" / STATE_DIR / "txn/run.sh").write_text("rm -rf /\n")),
                                 "holds 'run.sh'"),
    "worker-name-cut-short": (lambda s: ((s / "repo" / STATE_DIR / "txn").mkdir(parents=True),
                                         (s / "repo" / STATE_DIR / "txn/000003-00001").write_text("x\n")),
                              "holds '000003-00001'"),
}


@pytest.mark.parametrize("command", ["render", "pin"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_journal_is_refused_and_nothing_is_touched(sandbox: Path, case: str, command: str) -> None:
    make, why = HOSTILE[case]
    make(sandbox)
    why = why.replace("{s}", str(sandbox))
    before = snapshot(sandbox)
    result = run_cli(command, cwd=sandbox / "repo")
    assert result.exit_code == 2, result.output
    journal = (sandbox / "repo" / STATE_DIR / "txn").as_posix()
    assert result.stderr == (f"shipcard: {journal}: not a transaction shipcard wrote ({why}); nothing was changed: "
                             "if no shipcard run was interrupted, delete it\n")
    assert result.stdout == ""
    assert snapshot(sandbox) == before


def test_a_journal_of_the_old_pin_is_reported_not_completed(sandbox: Path) -> None:
    """An older shipcard's `.shipcard/pin-journal/` named absolute paths; it is refused, nothing touched."""
    journal = sandbox / "repo" / STATE_DIR / "pin-journal"
    journal.mkdir()
    (journal / "commit.json").write_text(json.dumps([[str(sandbox / "outside/victim.txt"),
                                                      str(sandbox / "outside/staged")]]))
    (sandbox / "outside" / "staged").write_text("replacement\n")
    before = snapshot(sandbox)
    for command in ("render", "pin", "render --check", "pin --check"):
        result = run_cli(*command.split(), cwd=sandbox / "repo")
        assert result.exit_code == 2, (command, result.output)
        expected = (f"shipcard: {journal}: a journal of an older shipcard's interrupted `pin`, which this one does "
                    "not complete; check the cards, then delete it\n") if "--check" not in command else \
            (f"shipcard: {journal.parent}: an interrupted run left a transaction; run `shipcard render` "
             "(or any command that writes) to complete it\n")
        assert result.stderr == expected, command
    assert snapshot(sandbox) == before


@pytest.mark.parametrize("what", ["lock-linked", "lock-a-directory", "journal-linked"])
def test_a_hostile_lock_or_journal_directory_is_refused(sandbox: Path, what: str) -> None:
    state = sandbox / "repo" / STATE_DIR
    if what == "lock-linked":
        (state / "lock").symlink_to(sandbox / "outside" / "victim.txt")
        expected = f"shipcard: {state / 'lock'}: not a regular file; shipcard's lock must be one\n"
    elif what == "lock-a-directory":
        (state / "lock").mkdir()
        expected = f"shipcard: {state / 'lock'}: not a regular file; shipcard's lock must be one\n"
    else:
        (sandbox / "outside" / "txn").mkdir()
        (state / "txn").symlink_to(sandbox / "outside" / "txn", target_is_directory=True)
        expected = (f"shipcard: {state / 'txn'}: a symbolic link; shipcard keeps its lock and journal inside "
                    f"{sandbox / 'repo'} and refuses to follow it\n")
    before = snapshot(sandbox)
    for command in ("render", "pin"):
        result = run_cli(command, cwd=sandbox / "repo")
        assert (result.exit_code, result.stderr) == (2, expected), command
    assert snapshot(sandbox) == before


# --------------------------------------------------------------------------- one journal for every command


def test_render_completes_a_committed_card_rewrite_before_reading_the_cards(sandbox: Path) -> None:
    """What a killed `pin` (or `upgrade`) leaves: the next `render` applies it, then renders the new cards."""
    repo = sandbox / "repo"
    new_card = CARD.replace("replicas: 2", "replicas: 5")
    plant(repo, [["services/small.service.yaml", "000000"]], staged={"000000": new_card})
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0, result.output
    assert (repo / "services/small.service.yaml").read_text() == new_card
    assert "replicas: 5" in (repo / "apps/small/overlays/dev/kustomization.yaml").read_text() + \
        (repo / "apps/small/base/deployment.yaml").read_text()
    assert not (repo / STATE_DIR / "txn").exists()
    assert run_cli("render", "--check", cwd=repo).exit_code == 0


def test_pin_drops_an_uncommitted_transaction_of_render(sandbox: Path) -> None:
    repo = sandbox / "repo"
    before = snapshot(repo)
    txn = repo / STATE_DIR / "txn"
    txn.mkdir()
    (txn / "000000").write_text("half a file")
    result = run_cli("pin", cwd=repo)
    assert result.exit_code == 0, result.output
    assert result.stdout == "pinned 0, unchanged 1 image reference(s); wrote 0 file(s)\n"
    assert not txn.exists() and snapshot(repo) == before


def test_a_symlinked_card_stays_a_link_through_upgrade(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "services").mkdir(parents=True)
    (repo / "shared").mkdir()
    old = CARD.replace("apiVersion: shipcard/v1", "apiVersion: shipcard/v1alpha1")
    old = old.replace("\nport:", "\ncontainerPort:")
    (repo / "shared" / "small.service.yaml").write_text(old)
    link = repo / "services" / "small.service.yaml"
    link.symlink_to(Path("..") / "shared" / "small.service.yaml")
    result = run_cli("upgrade", cwd=repo)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "../shared/small.service.yaml"
    # v1alpha1 predates allowFrom: its port stays open to every source, in one added line.
    assert (repo / "shared" / "small.service.yaml").read_text() == CARD + (
        "allowFrom: [{anywhere: true}]  # kept by shipcard upgrade: every source, as before; list the callers instead\n")


# --------------------------------------------------------------------------- the lock


def test_a_writer_refuses_after_waiting_and_names_the_holder(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sandbox / "repo"
    monkeypatch.setattr(transaction, "LOCK_WAIT_SECONDS", 0.3)
    with begin(repo, "upgrade"):
        before = snapshot(repo)
        started = time.monotonic()
        result = run_cli("render", "--all", cwd=repo)
        waited = time.monotonic() - started
        assert snapshot(repo) == before
    assert result.exit_code == 2 and 0.3 <= waited < 3
    assert re.fullmatch(rf"shipcard: {re.escape(str(repo))}: another shipcard run is writing this repository "
                        rf"\(pid {os.getpid()}, shipcard upgrade, since \d\d:\d\d:\d\d UTC\); waited 0\.3 s, "
                        r"try again when it has finished\n", result.stderr), result.stderr
    assert not (repo / STATE_DIR / "lock").exists()  # released: the lock file goes with it


def test_a_second_writer_waits_for_the_first(sandbox: Path) -> None:
    """A real process holds the lock for a second; `render` started meanwhile waits and then renders."""
    repo = sandbox / "repo"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom pathlib import Path\nfrom shipcard.transaction import begin\n"
        "with begin(Path(sys.argv[1]), 'pin'):\n    print('held', flush=True)\n    time.sleep(1.5)\n"), str(repo)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    assert (repo / STATE_DIR / "lock").read_text().startswith(f"pid {holder.pid}, shipcard pin, since ")
    started = time.monotonic()
    render = subprocess.run([str(SHIPCARD), "render", "--all"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert holder.wait(timeout=10) == 0
    assert render.returncode == 0, render.stderr
    assert time.monotonic() - started >= 1.0
    assert render.stderr == ""


def test_the_lock_file_of_a_killed_run_does_not_block(sandbox: Path) -> None:
    """It is taken as it is; a run that changes nothing leaves it, the next run that changes the repository
    removes it."""
    repo = sandbox / "repo"
    lock = repo / STATE_DIR / "lock"
    lock.write_text("pid 999999, shipcard pin, since 01:02:03 UTC\n")
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0, result.output
    assert lock.read_text() == "pid 999999, shipcard pin, since 01:02:03 UTC\n"
    card = repo / "services" / "small.service.yaml"
    card.write_text(card.read_text().replace("port: 8080", "port: 8081"))
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0, result.output
    assert not lock.exists()


def test_a_lock_file_that_came_with_the_repository_is_left_as_it_is_by_a_refused_run(sandbox: Path) -> None:
    """Found by the file-system layout campaign: a committed `.shipcard/lock` was rewritten and removed by a
    render that a card linked out of the repository made refuse (exit 2): the tree had changed."""
    repo = sandbox / "repo"
    lock = repo / STATE_DIR / "lock"
    lock.write_text("just: a file\n")
    card = next((repo / "services").glob("*.service.yaml"))
    card.write_text(card.read_text() + "bogus: field\n")
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert lock.read_bytes() == b"just: a file\n"


def test_a_refused_render_leaves_nothing_not_even_the_lock(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "services").mkdir(parents=True)
    (repo / "services" / "bad.service.yaml").write_text(CARD.replace("port: 8080", "port: eighty"))
    for args in (("render",), ("render", "--out", "new/tree")):
        result = run_cli(*args, cwd=repo)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")) == \
            ["services", "services/bad.service.yaml"]


def test_files_staged_by_workers_are_committed_and_a_path_staged_twice_keeps_its_later_file(tmp_path: Path) -> None:
    """Render's workers stage through the transaction's stager (names `<service>-<file>`) and the run adopts
    the records; a path two services stage is the later one's, and the earlier staged file is removed."""
    with begin(tmp_path, "render") as txn:
        stager = txn.stager()  # the journal exists from here: a forked worker writes into it
        txn.adopt(stager.stage({"apps/a/x.yaml": "first\n", "apps/a/y.yaml": "y\n"}, service_names(0)))
        txn.adopt(stager.stage({"apps/a/x.yaml": "second\n"}, service_names(12)))
        assert sorted(os.listdir(txn.directory)) == ["000000-000001", "000012-000000"]
        assert [(e.path, e.name) for e in txn.staged.values()] == [("apps/a/x.yaml", "000012-000000"),
                                                                  ("apps/a/y.yaml", "000000-000001")]
        txn.commit({"apps/a/x.yaml": "second\n", "apps/a/y.yaml": "y\n", "argocd/z.yaml": "z\n"})
    assert snapshot(tmp_path) == {"apps/a/x.yaml": b"second\n", "apps/a/y.yaml": b"y\n", "argocd/z.yaml": b"z\n"}


def test_a_worker_staging_a_path_outside_the_repository_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (repo / "apps" / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(transaction.ShipcardError, match="a symbolic link leads outside"), begin(repo, "render") as txn:
        txn.stager().stage({"apps/escape/x.yaml": "x\n"}, service_names(0))
    assert os.listdir(tmp_path / "outside") == [] and not (repo / STATE_DIR).exists()


def test_a_plan_naming_a_path_as_a_file_and_as_a_directory_is_refused_before_its_commit_point(tmp_path: Path) -> None:
    """Recovery refuses such a plan, so committing one would leave a journal no run completes: refused first."""
    with pytest.raises(transaction.ShipcardError) as refused, begin(tmp_path, "render") as txn:
        txn.commit({"apps/a/values.yaml": "x\n", "apps/a/values.yaml/base/kustomization.yaml": "y\n"})
    assert str(refused.value) == (f"{tmp_path}/apps/a/values.yaml: this run names it as a file and as a directory; "
                                  "nothing was changed")
    assert snapshot(tmp_path) == {}
