"""Shared test helpers: where the examples are, the real tools, and running the CLI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from shipcard.cli import cli

if TYPE_CHECKING:
    import git

ROOT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"
BUNDLED_EXAMPLES = ROOT / "examples"


def example_cards() -> list[Path]:
    """The users' cards in ../shared/examples (the contract), or the bundled copies without shared/."""
    directory = SHARED_EXAMPLES if SHARED_EXAMPLES.is_dir() else BUNDLED_EXAMPLES
    return sorted(directory.glob("*.service.yaml"))


def find_tool(name: str) -> str:
    """A real binary from the venv or PATH. Missing in CI is a failure, locally a skip."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (run `make setup`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


@pytest.fixture
def kubectl() -> str:
    return find_tool("kubectl")


@pytest.fixture
def helm() -> str:
    return find_tool("helm")


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> Result:
    """Invoke `shipcard ARGS` in-process (the same click group as the console script)."""
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)


def write_files(root: Path, files: dict[str, str]) -> None:
    """Each `files` entry (a path relative to `root` → its text), directories made as needed."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def feature_branch_repo(root: Path, files: dict[str, str]) -> git.Repo:
    """A git repository at `root` whose `main` commits `files`, checked out on a new branch `feature`."""
    import git

    repository = git.Repo.init(root, initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    write_files(root, files)
    repository.index.add(sorted(files))
    repository.index.commit("initial")
    repository.git.checkout("-b", "feature")
    return repository
