"""Issue 16: start-up imports no heavy module a run does not use (guarded without timing).

Each case runs the CLI in a fresh interpreter with `-X importtime` and reads the names of every
module imported from its stderr; the heavy ones listed must be absent. A check that reads nothing
does not load the policy pack either (its rules find nothing in no objects, which is tested too),
yet a report that lists the rules still lists every one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# kubernetes_validate is only a schema folder (found by path); jsonschema only explains a rejection;
# fastjsonschema and re2 validate, of which a run reading nothing does none; ruamel reads shipcard.yaml
# and cards, of which an empty repository has none; cookiecutter (init), git (gitpython, tests), rich
# and the render worker pool are for other commands.
HEAVY = frozenset({"cookiecutter", "fastjsonschema", "git", "jinja2", "jsonschema", "kubernetes_validate",
                   "multiprocessing", "re2", "rich", "ruamel"})
# What a run that reads nothing still must not load of shipcard: the policy pack and its loaders.
PACK = frozenset({"shipcard.check.rules.pack", "shipcard.check.rules.data", "shipcard.check.rules.python"})
# What only rendering uses: the worker pool's module, the writers, the round-trip YAML reader.
RENDERING = frozenset({"shipcard.lifecycle.rendering", "shipcard.writers.kustomize", "shipcard.yamlio.roundtrip"})


def imported_modules(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime -m shipcard ARGS` in `cwd`; its result and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "shipcard", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=60)
    return result, modules_of(result.stderr)


def modules_of(importtime: str) -> set[str]:
    """The module names of `-X importtime` output (its header line left out)."""
    names = {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines() if line.startswith("import time:")}
    return names - {"imported package"}


def heavy_in(modules: set[str]) -> list[str]:
    return sorted({name.split(".", 1)[0] for name in modules} & HEAVY)


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


@pytest.mark.parametrize(("args", "stdout", "stderr"), [
    pytest.param(["check", "."], "", ["ok: no findings in 0 objects from 0 inputs, Kubernetes 1.37 (fail-on error)"],
                 id="check-empty-repository"),
    pytest.param(["--version"], "shipcard, version 0.1.0\n", [], id="version"),
    pytest.param(["render", "--help"], None, [], id="render-help"),
])
def test_start_up_imports_no_heavy_module(empty_repo: Path, args: list[str], stdout: str | None,
                                          stderr: list[str]) -> None:
    result, modules = imported_modules(args, empty_repo)
    said = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert (result.returncode, said) == (0, stderr)
    assert result.stdout == stdout if stdout is not None else result.stdout.startswith("Usage: shipcard render ")
    assert "shipcard.cli" in modules
    assert heavy_in(modules) == []
    assert modules & (PACK | RENDERING) == set()


def test_the_pack_finds_nothing_in_no_objects(empty_repo: Path) -> None:
    """Why `check` may skip the pack when it read nothing: every rule over no objects finds nothing."""
    from shipcard.check.rules import load_rules

    assert load_rules().evaluate([], root=empty_repo) == []


def test_a_report_of_nothing_still_lists_every_rule(empty_repo: Path) -> None:
    """SARIF's rule list is the pack's, loaded for the report when the run itself did not need it."""
    listed = subprocess.run([sys.executable, "-m", "shipcard", "rules", "--format", "json"], cwd=empty_repo,
                            capture_output=True, text=True, timeout=60, check=True)
    result = subprocess.run([sys.executable, "-m", "shipcard", "check", ".", "--format", "sarif"], cwd=empty_repo,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert sorted(r["id"] for r in rules) == sorted(r["id"] for r in json.loads(listed.stdout))
    assert len(rules) > 100


def test_the_probe_sees_a_heavy_import(empty_repo: Path) -> None:
    """The guard can fail: heavy modules a process imports are seen, by their top-level package."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import jsonschema, multiprocessing"],
                            cwd=empty_repo, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert heavy_in(modules_of(result.stderr)) == ["jsonschema", "multiprocessing"]
