"""Issue 6, an interrupted upgrade: `shipcard upgrade` is killed (SIGKILL, in a separate process) at
each point of its transaction. Before the commit point the cards and trees are exactly as they
were; after it, they become exactly what an uninterrupted upgrade writes once the next shipcard
run completes the journal; never migrated cards beside old trees. A re-run then finishes cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from shipcard.transaction import PAUSE_AT_ENV, PAUSE_FILE_ENV, STATE_DIR, pending, recover
from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import SHIPCARD, as_v1alpha1, init_repository, rendered_by_an_older_shipcard, snapshot


@pytest.fixture(scope="module")
def before_and_after(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A repository waiting for its upgrade, and the snapshot an uninterrupted upgrade leaves."""
    base = init_repository(tmp_path_factory.mktemp("interrupted") / "gitops", "--no-git")
    for card in example_cards():
        (base / "services" / card.name).write_text(card.read_text())
    assert run_cli("render", cwd=base).exit_code == 0
    for card in example_cards():
        (base / "services" / card.name).write_text(as_v1alpha1(card.read_text()))
    rendered_by_an_older_shipcard(base)
    reference = base.parent / "reference"
    shutil.copytree(base, reference)
    assert run_cli("upgrade", cwd=reference).exit_code == 0
    return base, snapshot(reference)


def killed_at(repo: Path, point: str) -> None:
    """Run `shipcard upgrade` until it reaches `point`, then SIGKILL it."""
    marker = repo.parent / f"reached-{point}"
    environment = {**os.environ, PAUSE_AT_ENV: point, PAUSE_FILE_ENV: str(marker)}
    process = subprocess.Popen([str(SHIPCARD), "upgrade"], cwd=repo, env=environment, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the upgrade never reached " + point
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()


@pytest.mark.parametrize("point,committed", [("staged", False), ("committed", True), ("applying", True)])
def test_a_killed_upgrade_leaves_old_or_new_never_mixed(before_and_after: tuple[Path, dict[str, bytes]],
                                                        tmp_path: Path, point: str, committed: bool) -> None:
    base, upgraded = before_and_after
    repo = tmp_path / "gitops"
    shutil.copytree(base, repo)
    original = snapshot(repo)
    killed_at(repo, point)
    assert pending(repo)  # the journal is there for the next run
    if not committed:
        assert snapshot(repo) == original  # nothing of the upgrade is visible
    recover(repo)  # what every writing shipcard run does first, under the lock
    assert snapshot(repo) == (upgraded if committed else original)
    result = run_cli("upgrade", cwd=repo)
    assert result.exit_code == 0, result.output
    assert snapshot(repo) == upgraded
    assert run_cli("render", "--check", cwd=repo).exit_code == 0
    assert not (repo / STATE_DIR / "txn").exists()


def test_a_check_after_a_killed_run_says_what_to_do(before_and_after: tuple[Path, dict[str, bytes]],
                                                   tmp_path: Path) -> None:
    base, _ = before_and_after
    repo = tmp_path / "gitops"
    shutil.copytree(base, repo)
    killed_at(repo, "applying")
    result = run_cli("render", "--check", cwd=repo)
    assert result.exit_code == 2 and "interrupted run" in result.stderr
