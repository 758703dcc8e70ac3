"""Helpers shared by the hardening suites: running the real `shipcard` script, valid cards to break,
snapshots of directory trees, and the shape every refusal must have (one located line, exit 2)."""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pinhelpers import Run  # the same result type as tests/pin's (conftest puts tests/pin on the path)

SHIPCARD = Path(sys.executable).parent / "shipcard"
STATE_DIR = ".shipcard"

# A card using every field of the schema at least once: the wrong-type and Jinja cases start from it.
FULL_CARD: dict[str, Any] = {
    "apiVersion": "shipcard/v1",
    "kind": "Service",
    "name": "full",
    "team": "platform",
    "description": "every field once",
    "image": "ghcr.io/example/full:1.0.0",
    "command": ["/app/server"],
    "args": ["--verbose"],
    "ports": [{"name": "http", "port": 8080, "servicePort": 80, "protocol": "http"},
              {"name": "grpc", "port": 9090, "protocol": "grpc"}],
    "env": {"LOG_LEVEL": "info"},
    "resources": {"cpu": "100m", "memory": "128Mi", "limits": {"cpu": "1", "memory": "256Mi"}},
    "secrets": {"provider": "vault", "store": "vault-backend", "refresh": "1h", "env": {"DATABASE_URL": "full/db#url"}},
    "replicas": 2,
    "autoscaling": {"min": 2, "max": 4, "cpu": 70},
    "health": {"liveness": "/healthz",
               "readiness": {"http": "http", "path": "/ready", "initialDelay": 1, "period": 5, "failureThreshold": 3},
               "startup": {"grpc": 9090, "service": "full"}},
    "shutdown": {"preStopSleep": 5, "gracePeriod": 30},
    "ingress": {"host": "full.example.com", "path": "/", "className": "nginx", "tls": True},
    "jobs": [{"name": "nightly", "schedule": "0 1 * * *", "timeZone": "Etc/UTC", "command": ["/app/nightly"],
              "args": ["--all"], "image": "ghcr.io/example/full-jobs:1.0.0",
              "resources": {"cpu": "50m", "memory": "64Mi"}, "concurrency": "forbid", "timeout": "2h",
              "retries": 1, "suspend": False}],
    "environments": {"dev": {"replicas": 1, "cluster": "https://dev.k8s.example.com", "namespace": "full-dev"},
                     "prod": {"ingress": {"host": "full.prod.example.com"}}},
    "gitops": {"format": "kustomize", "repoURL": "https://git.example.com/gitops.git", "targetRevision": "main",
               "path": "apps/full", "project": "platform", "autoSync": True, "prune": True, "selfHeal": True},
}

SMALL_CARD: dict[str, Any] = {
    "apiVersion": "shipcard/v1",
    "kind": "Service",
    "name": "small",
    "image": "ghcr.io/example/small:1.0.0",
    "port": 8080,
    "environments": {"dev": {}},
    "gitops": {"repoURL": "https://git.example.com/gitops.git"},
}


def card(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A deep copy of a card (FULL_CARD by default) with top-level fields changed (None removes one)."""
    data = copy.deepcopy(FULL_CARD if base is None else base)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def dump_card(data: Any) -> str:
    """Block-style YAML, one key per line, so every field has a line of its own."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096)


def set_path(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of `data` with the element at `path` set to `value` (mappings on the way are created)."""
    data = copy.deepcopy(data)
    holder = data
    for key in path[:-1]:
        if isinstance(holder, dict):
            holder = holder.setdefault(key, {})
        else:
            holder = holder[key]
    holder[path[-1]] = value
    return data


def field_name(path: tuple[str | int, ...]) -> str:
    """('jobs', 0, 'retries') -> 'jobs[0].retries', the way shipcard names a field."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


# --------------------------------------------------------------------------- running shipcard




def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without SHIPCARD_* and DOCKER_* variables, plus `extra`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPCARD_", "DOCKER_"))}
    environment.update(extra or {})
    return environment


def shipcard(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180,
             stdin: str | None = None) -> Run:
    """The installed `shipcard` console script as a subprocess (a crash or a signal shows as such)."""
    result = subprocess.run([str(SHIPCARD), *args], cwd=cwd, env=clean_environment(env), capture_output=True,
                            text=True, timeout=timeout, input=stdin, check=False)
    return Run(result.returncode, result.stdout, result.stderr)


def start_shipcard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`shipcard ARGS` started in the background in its own process group."""
    return subprocess.Popen([str(SHIPCARD), *args], cwd=cwd, env=clean_environment(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop(process: subprocess.Popen, sig: int = signal.SIGKILL) -> tuple[str, str]:
    """Send `sig` to a process started by `start_shipcard` (only to it), reap it, return its output."""
    if process.poll() is None:
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # something of the group holds the pipes: end the whole group, then fail
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        raise AssertionError(f"shipcard {process.args[1:]} or a process it started outlived signal {sig}") from None
    return stdout or "", stderr or ""


# --------------------------------------------------------------------------- what a refusal looks like

ONE_LINE_ERROR = re.compile(r"^shipcard: (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


def assert_located_refusal(run: Run, file: str) -> re.Match[str]:
    """Exit 2, no traceback, one line on stderr per problem (a card can have several), each
    `shipcard: FILE:LINE:COL: message` with LINE > 0; the first line's match."""
    assert run.code == 2, f"exit {run.code}\n{run.output[-3000:]}"
    assert "Traceback" not in run.output, run.output[-3000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, run.stderr[-3000:]
    for line in lines:
        match = ONE_LINE_ERROR.match(line)
        assert match, line
        assert match["file"].endswith(file), (match["file"], file)
        assert int(match["line"]) > 0, line
    first = ONE_LINE_ERROR.match(lines[0])
    assert first
    return first


# --------------------------------------------------------------------------- trees and snapshots


def write_repo(root: Path, cards: dict[str, str | bytes]) -> Path:
    """A repository with `services/<file>` for each card (text or raw bytes)."""
    services = root / "services"
    services.mkdir(parents=True, exist_ok=True)
    for name, content in cards.items():
        path = services / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def snapshot(root: Path, *, skip_state: bool = True) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes); symbolic links as `-> target`.

    The state directory `.shipcard/` holds the lock and an unfinished transaction: it is left
    out unless `skip_state` is False.
    """
    files: dict[str, bytes] = {}
    for path in sorted(_walk(root)):
        rel = path.relative_to(root).as_posix()
        if skip_state and (rel == STATE_DIR or rel.startswith(STATE_DIR + "/")):
            continue
        if path.is_symlink():
            files[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            files[rel] = path.read_bytes()
    return files


def _walk(root: Path) -> Iterator[Path]:
    for directory, dirs, names in os.walk(root):
        here = Path(directory)
        for name in names:
            yield here / name
        for name in list(dirs):
            if (here / name).is_symlink():
                yield here / name
                dirs.remove(name)


def diff_keys(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Paths added, removed or changed between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def temporary_files(root: Path) -> list[str]:
    """Leftovers of an interrupted atomic write (`.name.XXXX.tmp`) anywhere under `root`."""
    return sorted(p.relative_to(root).as_posix() for p in _walk(root) if p.name.endswith(".tmp"))
