"""Issue 2: a wheel installed into a fresh venv works from any directory, without the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT, example_cards

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_wheel_in_a_fresh_venv_renders_an_example_from_tmp(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=ROOT)
    wheel = next(dist.glob("shipcard-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    run(bin_dir / "pip", "install", "--quiet", wheel, cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    card = next(c for c in example_cards() if c.name == "web-frontend.service.yaml")
    shutil.copy(card, work / card.name)
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    assert "0.1" in run(bin_dir / "shipcard", "--version", cwd=work, env=clean_env).stdout
    run(bin_dir / "shipcard", "render", card.name, "--out", "tree", cwd=work, env=clean_env)
    assert (work / "tree/apps/web-frontend/overlays/prod/kustomization.yaml").is_file()
    assert (work / "tree/argocd/prod/web-frontend.yaml").is_file()

    # The packaged data is found without the source tree.
    probe = ("from shipcard.resources import data_dir; from shipcard.card.schema import shipped_schema;"
             "import shipcard; print(shipcard.__file__);"
             "print(data_dir('policies')); print(data_dir('blueprints')); print(len(shipped_schema()))")
    lines = run(bin_dir / "python", "-c", probe, cwd=work, env=clean_env).stdout.splitlines()
    assert str(env_dir) in lines[0] and str(ROOT) not in lines[0]
    for line in lines[1:3]:
        assert "_data" in line and Path(line).is_dir() and any(Path(line).iterdir()), line
