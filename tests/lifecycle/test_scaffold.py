"""Issue 6, scaffolding: `init` → `new` (each blueprint) → `render` → `check` on a fresh repository,
and the commands its generated CI runs are run here, parsed from the CI files themselves."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import git
import pytest
from jsonschema import Draft202012Validator

from shipcard.card.load import load_card
from shipcard.lifecycle.blueprints import SERVICE_KINDS
from shipcard.schemas import crd_schema
from shipcard.settings import load_repo
from shipcard.yamlio.read import load_plain, load_plain_all
from tests.conftest import ROOT, run_cli
from tests.lifecycle.helpers import (
    DIGEST,
    SHIPCARD,
    commit_all,
    init_repository,
    shipcard,
    snapshot,
    with_origin,
)

EXPECTED_FILES = {"shipcard.yaml", "services/README.md", "argocd/root.yaml", "argocd/projects/platform.yaml",
                  ".github/workflows/shipcard.yml",
                  ".gitlab-ci.yml", ".pre-commit-config.yaml", "CODEOWNERS", "README.md", ".gitignore"}


def new_service(repo: Path, name: str, kind: str, *sets: str) -> None:
    image = f"ghcr.io/example/{name}:1.0.0@{DIGEST}"
    result = run_cli("new", name, "--blueprint", kind, "--no-input", "--set", f"image={image}", *sets, cwd=repo)
    assert result.exit_code == 0, result.output


def ci_commands(repo: Path) -> dict[str, list[str]]:
    """The shipcard command lines of each generated CI file, in order."""
    workflow = load_plain((repo / ".github/workflows/shipcard.yml").read_text())
    github = [step["run"] for step in workflow["jobs"]["shipcard"]["steps"] if "run" in step]
    gitlab = load_plain((repo / ".gitlab-ci.yml").read_text())["shipcard"]["script"]
    return {name: [line for line in lines if line.startswith("shipcard ")]
            for name, lines in (("github", github), ("gitlab", gitlab))}


def test_init_writes_the_repository_and_makes_the_first_commit(repository: Path) -> None:
    files = set(snapshot(repository))
    assert files == EXPECTED_FILES
    repo = git.Repo(repository)
    assert repo.active_branch.name == "main"
    assert not repo.is_dirty(untracked_files=True)
    assert {item.path for item in repo.head.commit.tree.traverse() if item.type == "blob"} == EXPECTED_FILES
    settings = load_repo(repository)
    assert settings.repo_url == "https://github.com/example/gitops.git" and settings.project == "platform"
    assert list(settings.environments) == ["dev", "staging", "prod"]
    assert settings.kubernetes_version == (1, 31)
    assert ".shipcard/" in (repository / ".gitignore").read_text().splitlines()
    assert "@example/platform" in (repository / "CODEOWNERS").read_text()


def test_the_root_is_an_applicationset_per_environment_directory_that_keeps_resources(repository: Path) -> None:
    root = load_plain((repository / "argocd/root.yaml").read_text())
    assert not list(Draft202012Validator(crd_schema("argoproj.io/v1alpha1", "ApplicationSet")).iter_errors(root))
    spec = root["spec"]
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True, "applicationsSync": "create-update"}
    assert spec["generators"][0]["git"]["directories"] == [{"path": "argocd/*"}]
    assert spec["template"]["spec"]["source"]["path"] == "{{ .path.path }}"  # Argo CD's template, left as it is
    assert spec["template"]["spec"]["project"] == "platform"


@pytest.mark.parametrize("kind", SERVICE_KINDS)
def test_each_blueprint_writes_a_short_valid_card(repository: Path, kind: str) -> None:
    new_service(repository, f"my-{kind}", kind, "--set", "team=payments")
    path = repository / "services" / f"my-{kind}.service.yaml"
    text = path.read_text()
    assert "gitops:" not in text and "environments:" not in text  # both come from shipcard.yaml
    assert len(text.splitlines()) <= 30
    card = load_card(path)
    assert card.name == f"my-{kind}" and card.base.team == "payments"
    assert card.gitops.repo_url == "https://github.com/example/gitops.git" and card.gitops.project == "platform"
    assert [env.name for env in card.environments] == ["dev", "staging", "prod"]
    assert not list((repository / ".shipcard").glob("blueprint-*"))  # the staging directory is gone


def pull_request(repository: Path) -> None:
    """A service of each blueprint on main, and a pull request adding one more, as CI checks it."""
    for kind in SERVICE_KINDS:
        new_service(repository, f"my-{kind}", kind)
    assert run_cli("render", cwd=repository).exit_code == 0
    repo = git.Repo(repository)
    commit_all(repo, "four services")
    repo.remote("origin").push("main")
    repo.create_head("add-api").checkout()
    new_service(repository, "api", "web", "--set", "host=api.example.com")
    assert run_cli("render", cwd=repository).exit_code == 0
    commit_all(repo, "api")


def test_init_new_render_check_and_the_ci_commands_pass(repository: Path, tmp_path: Path) -> None:
    pull_request(repository)
    assert "strategy" not in load_plain((repository / ".github/workflows/shipcard.yml").read_text())["jobs"]["shipcard"]
    assert "parallel" not in load_plain((repository / ".gitlab-ci.yml").read_text())["shipcard"]  # one job
    checked = shipcard("check", cwd=repository)
    assert "ok:" in checked.stdout + checked.stderr
    commands = ci_commands(repository)
    assert commands["github"][:2] == commands["gitlab"][:2] == ["shipcard pin --check", "shipcard render --check"]
    for platform in ("github", "gitlab"):
        check = commands[platform][2]
        assert check.startswith('shipcard check --base "origin/${SHIPCARD_BASE:-main}"') and "sarif=" in check
    environment = {**os.environ, "PATH": f"{SHIPCARD.parent}{os.pathsep}{os.environ['PATH']}", "SHIPCARD_BASE": "main"}
    for platform, lines in commands.items():
        for line in lines:
            done = subprocess.run(["bash", "-c", line], cwd=repository, env=environment, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"{platform}: {line}\n{done.stdout}\n{done.stderr}"
    sarif = json.loads((repository / "shipcard.sarif").read_text())
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "shipcard"
    assert "api" in (repository / "shipcard.junit.xml").read_text()  # --base saw the branch's change


def test_a_sharded_ci_runs_n_jobs_that_together_check_what_one_job_does(tmp_path: Path) -> None:
    """`init --set ci_shards=3`. GitHub Actions substitutes `${{ matrix.shard }}` with each value of
    `strategy.matrix.shard` before the shell sees the line; GitLab's `parallel: 3` runs the job three
    times with CI_NODE_INDEX 1..3 and CI_NODE_TOTAL 3 (both platforms' documented behaviour, not
    runnable here). Each shard's lines are run as the platform would; upload-sarif keeps a SARIF
    run's own `automationDetails` (its `category` input only fills one in), and each shard's names
    the category of its upload step. The three shards' SARIF results are one unsharded run's."""
    repository = init_repository(tmp_path / "gitops", "--set", "ci_shards=3")
    with_origin(repository, tmp_path / "origin.git")
    pull_request(repository)
    job = load_plain((repository / ".github/workflows/shipcard.yml").read_text())["jobs"]["shipcard"]
    assert job["strategy"] == {"fail-fast": False, "matrix": {"shard": [1, 2, 3]}}
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert load_plain((repository / ".gitlab-ci.yml").read_text())["shipcard"]["parallel"] == 3
    commands = ci_commands(repository)
    assert commands["github"][2] == ('shipcard check --base "origin/${SHIPCARD_BASE:-main}" --shard '
                                     '${{ matrix.shard }}/3 --format text --format sarif=shipcard.sarif')
    assert commands["gitlab"][2] == ('shipcard check --base "origin/${SHIPCARD_BASE:-main}" --shard '
                                     '"$CI_NODE_INDEX/$CI_NODE_TOTAL" --format text --format sarif=shipcard.sarif '
                                     '--format junit=shipcard.junit.xml')
    environment = {**os.environ, "PATH": f"{SHIPCARD.parent}{os.pathsep}{os.environ['PATH']}", "SHIPCARD_BASE": "main"}
    whole = shipcard("check", "--base", "origin/main", "--format", "sarif", cwd=repository)
    expected = sorted(json.dumps(r, sort_keys=True) for r in json.loads(whole.stdout)["runs"][0]["results"])
    assert expected  # the pull request has findings to share out
    for platform, lines in commands.items():
        results = []
        for shard in (1, 2, 3):
            node = {"CI_NODE_INDEX": str(shard), "CI_NODE_TOTAL": "3"} if platform == "gitlab" else {}
            for line in lines:
                line = line.replace("${{ matrix.shard }}", str(shard))
                done = subprocess.run(["bash", "-c", line], cwd=repository, env={**environment, **node},
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, f"{platform} shard {shard}: {line}\n{done.stdout}\n{done.stderr}"
            run = json.loads((repository / "shipcard.sarif").read_text())["runs"][0]
            assert run["automationDetails"] == {"id": f"shipcard/shard-{shard}-of-3/"}
            assert upload["with"]["category"].replace("${{ matrix.shard }}", str(shard)) + "/" == \
                run["automationDetails"]["id"]
            results += run["results"]
        assert sorted(json.dumps(r, sort_keys=True) for r in results) == expected, platform


@pytest.mark.parametrize("value", ["0", "100", "3 ", "-1", "two"])
def test_init_refuses_a_ci_shards_that_is_no_job_count(tmp_path: Path, value: str) -> None:
    result = run_cli("init", str(tmp_path / "gitops"), "--no-input", "--no-git", "--set", f"ci_shards={value}")
    assert result.exit_code == 2
    assert result.stderr == f"shipcard: ci_shards {value!r}: expected a number of CI jobs from 1 to 99\n"
    assert not (tmp_path / "gitops").exists()


def test_example_cards_render_in_an_initialised_repository_unchanged(repository: Path) -> None:
    from tests.conftest import example_cards

    for card in example_cards():
        (repository / "services" / card.name).write_bytes(card.read_bytes())
    result = run_cli("render", cwd=repository)
    assert result.exit_code == 0, result.output
    billing = load_plain_all((repository / "argocd/prod/billing-api.yaml").read_text())[0]
    assert billing["spec"]["destination"]["server"] == "https://prod.k8s.example.com"  # the card's own wins
    assert billing["spec"]["project"] == "payments"


def test_a_bad_name_is_refused_before_anything_is_written(repository: Path) -> None:
    before = snapshot(repository)
    for name in ("Billing", "9lives", "-x", "a" * 64, "../evil", "x_y", "web\n"):
        result = run_cli("new", "--no-input", "--", name, cwd=repository)
        assert result.exit_code == 2 and "NAME" in result.stderr and len(result.stderr.splitlines()) == 1
    assert snapshot(repository) == before
    assert not (repository / ".shipcard").exists()


def test_new_refuses_an_existing_card_an_unknown_key_and_a_missing_repository(repository: Path, tmp_path: Path) -> None:
    new_service(repository, "api", "web")
    before = snapshot(repository)
    assert "already exists" in run_cli("new", "api", "--no-input", cwd=repository).stderr
    assert "KEY one of" in run_cli("new", "b", "--no-input", "--set", "colour=red", cwd=repository).stderr
    assert "whole number" in run_cli("new", "b", "--no-input", "--set", "port=eighty", cwd=repository).stderr
    bad = run_cli("new", "b", "--no-input", "--set", "host=Not A Host", cwd=repository)
    assert bad.exit_code == 2 and "ingress.host" in bad.stderr
    assert snapshot(repository) == before
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert "shipcard init" in run_cli("new", "api", "--no-input", cwd=elsewhere).stderr
    assert list(elsewhere.iterdir()) == []


def test_init_never_replaces_a_file_and_writes_nothing_then(tmp_path: Path) -> None:
    directory = tmp_path / "existing"
    directory.mkdir()
    (directory / "README.md").write_text("mine\n")
    result = run_cli("init", str(directory), "--no-input", "--no-git")
    assert result.exit_code == 2 and "README.md: already exists" in result.stderr
    assert [p.name for p in directory.iterdir()] == ["README.md"] and (directory / "README.md").read_text() == "mine\n"


def test_init_without_git_and_with_other_environments(tmp_path: Path) -> None:
    directory = init_repository(tmp_path / "plain", "--no-git", "--set", "environments=qa,live",
                                "--set", "target_revision=release")
    assert not (directory / ".git").exists()
    settings = load_repo(directory)
    assert list(settings.environments) == ["qa", "live"] and settings.target_revision == "release"
    assert "origin/${SHIPCARD_BASE:-release}" in (directory / ".github/workflows/shipcard.yml").read_text()


def test_init_inside_a_work_tree_leaves_the_files_uncommitted(tmp_path: Path) -> None:
    outer = git.Repo.init(tmp_path / "mono")
    result = run_cli("init", str(tmp_path / "mono" / "deploy"), "--no-input")
    assert result.exit_code == 0 and "uncommitted" in result.output
    assert not outer.head.is_valid() and "deploy/shipcard.yaml" in outer.untracked_files


def test_pre_commit_hooks_are_published_and_used(repository: Path) -> None:
    published = load_plain((ROOT / ".pre-commit-hooks.yaml").read_text())
    config = load_plain((repository / ".pre-commit-config.yaml").read_text())
    used = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {h["id"] for h in used} <= {h["id"] for h in published}
    for hook in published + used:
        assert hook["entry"].startswith("shipcard ") and hook["pass_filenames"] is False
    from pre_commit.clientlib import load_config, load_manifest  # pre-commit's own reader (a test dependency)

    load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    load_config(str(repository / ".pre-commit-config.yaml"))


def shipcard_order(lines: list[str]) -> list[str]:
    """The shipcard commands among `lines` that `pin` and `render` must be ordered with, in order, each once."""
    order: list[str] = []
    for line in lines:
        words = line.split()
        if len(words) > 1 and words[0] == "shipcard" and words[1] in ("pin", "render", "check") \
                and words[1] not in order:
            order.append(words[1])
    return order


def test_hooks_ci_and_docs_state_one_order_pin_render_check(repository: Path) -> None:
    """Issue 14, item 8: `pin` re-renders what it pins, so pin comes first everywhere, then render, then check."""
    published = load_plain((ROOT / ".pre-commit-hooks.yaml").read_text())
    config = load_plain((repository / ".pre-commit-config.yaml").read_text())
    workflow = load_plain((repository / ".github/workflows/shipcard.yml").read_text())
    gitlab = load_plain((repository / ".gitlab-ci.yml").read_text())["shipcard"]
    readme = (ROOT / "README.md").read_text()
    using_it = readme[readme.index("## Using it"):readme.index("One order everywhere")]
    places = {
        "published hooks": [hook["entry"] for hook in published],
        "init's hooks": [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]],
        "GitHub Actions": [step["run"] for step in workflow["jobs"]["shipcard"]["steps"] if "run" in step],
        "GitLab CI": gitlab["script"],
        "init's README": (repository / "README.md").read_text().splitlines(),
        "README": using_it.splitlines(),
    }
    assert {place: shipcard_order(lines) for place, lines in places.items()} == \
        dict.fromkeys(places, ["pin", "render", "check"])


def test_on_a_terminal_new_asks_for_what_set_does_not_give(repository: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    import shipcard.lifecycle.new as new_module

    monkeypatch.setattr(new_module, "interactive", lambda no_input: not no_input)
    marker = tmp_path / "pwned"
    answers = ["payments", "{{ cycler.__init__.__globals__.os.system('touch %s') }}" % marker, "9090", "", ""]
    result = run_cli("new", "api", "--set", f"image=ghcr.io/example/api:2.0.0@{DIGEST}", cwd=repository,
                     input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Team that owns the service" in result.output and "Container image" not in result.output  # --set given
    card = load_card(repository / "services/api.service.yaml")
    assert card.base.team == "payments" and card.base.ports[0].port == 9090
    assert card.base.description == answers[1] and not marker.exists()  # a typed answer is data too
    assert card.base.ingress is not None and card.base.ingress.host == "api.example.com"  # the default
    no_input = run_cli("new", "other", "--no-input", cwd=repository, input="ignored\n")
    assert no_input.exit_code == 0 and "Team" not in no_input.output
