"""Issue 6 fixtures: a git identity for every commit, and a fresh repository with a bare origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lifecycle.helpers import IDENTITY, init_repository, with_origin


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits made by the code under test (gitpython) and by the tests have an author everywhere."""
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """`shipcard init` with git, pushed to a bare origin."""
    directory = init_repository(tmp_path / "gitops")
    with_origin(directory, tmp_path / "origin.git")
    return directory
