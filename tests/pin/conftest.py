"""Fixtures for the `shipcard pin` tests; the machinery lives in pinhelpers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pinhelpers import (  # noqa: F401  (fixtures shared with tests/hardening)
    PASSWORD,
    USER,
    Registry,
    Run,
    docker_config,
    htpasswd_line,
    make_proxy,
    registry,
    run_shipcard,
    start_registry,
    stop_registry,
)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A docker-registry behind htpasswd basic auth (bcrypt): USER with PASSWORD."""
    process, host = start_registry(tmp_path_factory.mktemp("auth-registry"), htpasswd_line(USER, PASSWORD))
    yield Registry(host, (USER, PASSWORD))
    stop_registry(process)


@pytest.fixture
def shipcard(docker_config: Path, tmp_path: Path) -> Callable[..., Run]:  # noqa: F811 (the fixture above)
    """Run the installed `shipcard pin` with DOCKER_CONFIG and HOME inside the test's tmp dir."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
        return run_shipcard(args, cwd=cwd or tmp_path,
                            env={"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path), **(env or {})})

    return run
