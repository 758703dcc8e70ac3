"""Fixtures for the `shipcard pin` tests; the machinery lives in pinhelpers.py."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from pinhelpers import (PASSWORD, USER, Proxy, ProxyServer, Registry, Run, htpasswd_line, run_shipcard,
                        start_proxy, start_registry, stop_registry)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous docker-registry on 127.0.0.1 (plain HTTP, like any loopback registry)."""
    process, host = start_registry(tmp_path_factory.mktemp("registry"), None)
    yield Registry(host)
    stop_registry(process)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A docker-registry behind htpasswd basic auth (bcrypt): USER with PASSWORD."""
    process, host = start_registry(tmp_path_factory.mktemp("auth-registry"), htpasswd_line(USER, PASSWORD))
    yield Registry(host, (USER, PASSWORD))
    stop_registry(process)


@pytest.fixture
def make_proxy() -> Iterator[Callable[[str], Proxy]]:
    """Start loopback proxies in front of a host; all are stopped after the test."""
    servers: list[ProxyServer] = []

    def start(upstream: str) -> Proxy:
        servers.append(start_proxy(upstream))
        return servers[-1].proxy

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    """An empty DOCKER_CONFIG directory, so the machine's own ~/.docker is never read."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    return directory


@pytest.fixture
def shipcard(docker_config: Path, tmp_path: Path) -> Callable[..., Run]:
    """Run the installed `shipcard pin` with DOCKER_CONFIG and HOME inside the test's tmp dir."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
        return run_shipcard(args, cwd=cwd or tmp_path,
                            env={"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path), **(env or {})})

    return run
