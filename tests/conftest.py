"""Shared test helpers: where the examples are, the real tools, and running the CLI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from shipcard.cli import cli

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
