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


def test_wheel_in_a_fresh_venv_installs_shipcard_and_runs_every_command_from_tmp(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=ROOT)
    wheel = next(dist.glob("shipcard-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    run(bin_dir / "pip", "install", "--quiet", wheel, cwd=tmp_path)
    shipcard = bin_dir / "shipcard"

    work = tmp_path / "elsewhere"
    work.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    tools = Path(sys.executable).parent  # kubectl and helm, installed by the set-up
    clean_env["PATH"] = os.pathsep.join([str(bin_dir), str(tools), clean_env.get("PATH", "")])
    clean_env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                     GIT_COMMITTER_EMAIL="t@example.com")

    # The package is `shipcard`; nothing named `generator` is installed.
    probe = ("import shipcard, shipcard.rules; from shipcard.resources import data_dir;"
             "from shipcard.card.schema import shipped_schema; print(shipcard.__file__);"
             "print(data_dir('policies')); print(data_dir('blueprints')); print(len(shipped_schema()))")
    lines = run(bin_dir / "python", "-c", probe, cwd=work, env=clean_env).stdout.splitlines()
    assert str(env_dir) in lines[0] and str(ROOT) not in lines[0]
    for line in lines[1:3]:
        assert "_data" in line and Path(line).is_dir() and any(Path(line).iterdir()), line
        assert not Path(line).is_symlink()
    missing = subprocess.run([bin_dir / "python", "-c", "import generator"], cwd=work, env=clean_env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "No module named 'generator'" in missing.stderr
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    assert not (site / "generator").exists()

    assert run(shipcard, "--version", cwd=work, env=clean_env).stdout == "shipcard, version 0.1.0\n"
    for command in ("init", "new", "render", "upgrade", "check", "rules", "pin", "run"):
        assert "Usage: shipcard " + command in run(shipcard, command, "--help", cwd=work, env=clean_env).stdout

    # A single card rendered anywhere.
    card = next(c for c in example_cards() if c.name == "web-frontend.service.yaml")
    shutil.copy(card, work / card.name)
    run(shipcard, "render", card.name, "--out", "tree", cwd=work, env=clean_env)
    assert (work / "tree/apps/web-frontend/overlays/prod/kustomization.yaml").is_file()
    assert (work / "tree/argocd/prod/web-frontend.yaml").is_file()

    # The whole lifecycle on a repository made by init, with every example card.
    run(shipcard, "init", "repo", "--no-input", "--set", "project=platform", cwd=work, env=clean_env)
    repo = work / "repo"
    for example in example_cards():
        shutil.copy(example, repo / "services" / example.name)
    run(shipcard, "new", "nightly-report", "--blueprint", "cronjob", "--no-input", cwd=repo, env=clean_env)
    rendered = run(shipcard, "render", cwd=repo, env=clean_env)
    assert rendered.stdout.startswith("rendered 5 service(s)"), rendered.stdout
    assert subprocess.run([shipcard, "render", "--check"], cwd=repo, env=clean_env, timeout=300).returncode == 0
    checked = subprocess.run([shipcard, "check"], cwd=repo, env=clean_env, capture_output=True, text=True,
                             timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listing = run(shipcard, "rules", "--format", "json", cwd=repo, env=clean_env).stdout
    assert '"run-as-root"' in listing
    unpinned = subprocess.run([shipcard, "pin", "--check"], cwd=repo, env=clean_env, capture_output=True,
                              text=True, timeout=300)
    assert unpinned.returncode == 1 and "not pinned" in unpinned.stdout + unpinned.stderr
    subprocess.run(["git", "add", "-A"], cwd=repo, env=clean_env, check=True, timeout=60)
    subprocess.run(["git", "commit", "-qm", "services"], cwd=repo, env=clean_env, check=True, timeout=60)
    upgraded = run(shipcard, "upgrade", "--commit", cwd=repo, env=clean_env)
    assert upgraded.stdout == "already up to date: 5 card(s) in shipcard/v1, every tree as they render\n"
