"""Helpers of the issue 6 tests: the real console script, repositories made by the real `shipcard init`
(git with a bare origin), and snapshots of trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import git

from shipcard.lifecycle.state import STATE_DIR
from shipcard.writers.tree import with_header
from tests.conftest import run_cli

SHIPCARD = Path(sys.executable).parent / "shipcard"
DIGEST = "sha256:" + "0123456789abcdef" * 4
IDENTITY = {"GIT_AUTHOR_NAME": "shipcard tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
            "GIT_COMMITTER_NAME": "shipcard tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}
INIT_SETTINGS = ("--set", "repo_url=https://github.com/example/gitops.git", "--set", "project=platform",
                 "--set", "owners=@example/platform")


def shipcard(*args: str, cwd: Path, env: dict[str, str] | None = None,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user or CI runs it."""
    environment = {**os.environ, **IDENTITY, **(env or {})}
    done = subprocess.run([str(SHIPCARD), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=environment, stdin=subprocess.DEVNULL)
    if check:
        assert done.returncode == 0, f"shipcard {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` but git's and shipcard's local state."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not {".git", ".shipcard"} & set(p.relative_to(root).parts)}


def init_repository(directory: Path, *extra: str) -> Path:
    result = run_cli("init", str(directory), "--no-input", *INIT_SETTINGS, *extra)
    assert result.exit_code == 0, result.output
    return directory


def with_origin(repo_dir: Path, bare: Path) -> git.Repo:
    """Give a repository a bare `origin` and push its branch there."""
    git.Repo.init(bare, bare=True)
    repo = git.Repo(repo_dir)
    repo.create_remote("origin", str(bare))
    repo.remote("origin").push(repo.active_branch.name)
    return repo


def commit_all(repo: git.Repo, message: str) -> None:
    repo.git.add("--all")
    repo.index.commit(message)


def as_v1alpha1(text: str) -> str:
    """The same card in the older format (docs/repository.md): what users had before upgrading."""
    return (text.replace("apiVersion: shipcard/v1", "apiVersion: shipcard/v1alpha1")
            .replace("\nport:", "\ncontainerPort:").replace("\nsecrets:", "\nsecretsFrom:")
            .replace("    secrets:", "    secretsFrom:").replace("    schedule:", "    cron:"))


KEPT_OPEN = "allowFrom: [{anywhere: true}]  # kept by shipcard upgrade: every source, as before; list the callers instead\n"


def upgraded(text: str) -> str:
    """An example card as `upgrade` leaves it when an older shipcard rendered it: a card with ports keeps them
    open to every source, in a last line (docs/cards.md, "Callers and egress")."""
    return text + KEPT_OPEN if "\nport:" in text or "\nports:" in text else text


def rendered_by_an_older_shipcard(repo: Path) -> None:
    """Trees as an older shipcard left them: no render states, and one file its blueprint wrote differently."""
    shutil.rmtree(repo / STATE_DIR)
    path = repo / "apps/billing-api/base/deployment.yaml"
    body = path.read_text().split("\n", 2)[2].replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 10")
    path.write_text(with_header("services/billing-api.service.yaml", body))
