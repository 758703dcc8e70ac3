"""Class 10 for `shipcard import`: every module-level regex of the importers ends within a second on
100 kB of near-misses, as test_linear_time.py holds the rest of the package's.

Two were quadratic: Compose durations (`healthcheck.interval: 000…0x` scanned the run of digits from
each digit, 100 kB in minutes) and the JWT shape of secret detection (`eyJ-eyJ-…`, 6 s on 100 kB, in
every env value an import reads).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shipcard.importers.result import looks_secret
from tests.conftest import run_cli
from tests.hardening.test_linear_time import CEILING, N, TooSlow, near_misses, timed

IMPORTER_REGEXES = [
    ("compose", "_INTERPOLATION"), ("compose", "_DURATION_PART"), ("compose", "_PORT"), ("compose", "_BYTES"),
    ("crontab", "_ENV_LINE"), ("crontab", "_REDIRECT"), ("crontab", "_UNESCAPED_PERCENT"),
    ("ecs", "_ARN"), ("ecs", "_SECRET_SUFFIX"), ("ecs", "_TASK_CPU"), ("ecs", "_TASK_MEMORY"),
    ("eventbridge", "_EXPRESSION"), ("eventbridge", "_CRON"), ("eventbridge", "_RATE"),
    ("result", "_LOCAL_URL"), ("result", "_SECRET_NAME"), ("result", "_SECRET_VALUE"), ("result", "_SECRET_FLAG"),
    ("result", "_SHELL_WORD"),
]
EXTRA = ["eyJ-" * (N // 4), "-eyJ" * (N // 4) + ".", "0" * N + "x", "1." * (N // 2) + "s", "-----BEGIN " * (N // 11)]


@pytest.mark.parametrize("module, name", [pytest.param(m, n, id=f"{m}-{n.strip('_').lower()}")
                                          for m, n in IMPORTER_REGEXES])
def test_every_importer_regex_is_linear_on_its_near_misses(module: str, name: str) -> None:
    compiled = getattr(importlib.import_module(f"shipcard.importers.{module}"), name)
    for text in [*near_misses(compiled.pattern), *EXTRA]:
        try:
            timed(lambda text=text: compiled.findall(text))
        except TooSlow:
            pytest.fail(f"{module}.{name} takes over {CEILING}s on {text[:20]!r}... ({len(text)} chars)")


@pytest.mark.parametrize("value, secret", [
    pytest.param("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", True, id="jwt"),
    pytest.param("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", True, id="bearer-jwt"),
    pytest.param("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", True, id="assigned-jwt"),
    pytest.param("keyJhbGciOiJIUzI1NiJ9.x", False, id="eyJ-inside-a-word"),
])
def test_the_jwt_shape_is_still_found(value: str, secret: bool) -> None:
    assert looks_secret("VALUE", value) is secret


def test_importing_a_compose_file_of_near_misses_ends_in_time(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx:1.27\n    healthcheck:\n      test: [CMD, 'true']\n"
                       f"      interval: {'0' * N}x\n    environment:\n      NOTE: {'eyJ-' * (N // 4)}\n",
                       encoding="utf-8")
    result: list = []
    timed(lambda: result.append(run_cli("import", "compose", str(compose), cwd=tmp_path)), 3 * CEILING)
    assert result[0].exit_code == 2
    assert result[0].stderr == f"shipcard: {compose}:6:7: services.web.healthcheck.interval: not a Compose " \
                               "duration (such as 10s or 1m30s)\n"
    assert not (tmp_path / "services").exists()
