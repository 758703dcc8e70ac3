"""Issue 16 item 2 and issue 13 class 12: `check --base` plans only what the change reaches, never
less than planning everything and filtering would check, and a card changed without `render`
is checked as it renders now."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from shipcard.check.base import Changes, plan_changed, select_changed
from shipcard.check.inputs import kustomize
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.inputs.targets import Plan
from tests.check.test_engine_base import APP, CONFIGMAP, DEPLOYMENT, FILES, commit
from tests.conftest import feature_branch_repo, run_cli, write_files

OVERLAY_ELSEWHERE = "resources: [../../../../shared/base]\nnamespace: team\n"
HELMFILE = """\
releases:
  - name: alpha-hf
    namespace: alpha
    chart: ../charts/svc
    values: [../values/alpha.yaml]
  - name: beta-hf
    namespace: beta
    chart: ../charts/svc
    values: [../values/beta.yaml]
"""
MORE = {
    **FILES,
    "shared/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "shared/base/deployment.yaml": DEPLOYMENT.replace("name: web", "name: shared"),
    "teams/a/overlays/prod/kustomization.yaml": OVERLAY_ELSEWHERE,
    "teams/b/overlays/prod/kustomization.yaml": "resources: [cm.yaml]\n",
    "teams/b/overlays/prod/cm.yaml": CONFIGMAP,
    "deploy/helmfile.yaml": HELMFILE,
    "values/alpha.yaml": "replicas: 4\n",
    "values/beta.yaml": "replicas: 5\n",
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> git.Repo:
    monkeypatch.chdir(tmp_path)
    return feature_branch_repo(tmp_path, MORE)


def names(plan: Plan, root: Path) -> list[str]:
    return [f"{t.kind}:{t.path.relative_to(root).as_posix()}" + (f"@{t.release}" if t.release else "")
            for t in plan.targets]


def both_ways(repository: git.Repo) -> tuple[list[str], list[str]]:
    """The targets and lines of the planned-by-reach selection, asserted equal to planning everything."""
    root = Path(repository.working_tree_dir).resolve()
    full, full_lines = select_changed(plan_inputs([str(root)]), "main", root)
    reached, lines = plan_changed([str(root)], (), Changes.find(root, "main"))
    assert names(reached, root) == names(full, root)
    assert lines == full_lines
    return names(reached, root), lines


def test_a_changed_base_selects_an_overlay_in_another_directory(repo):
    commit(repo, {"shared/base/deployment.yaml": MORE["shared/base/deployment.yaml"].replace("1.27", "1.28")})
    assert both_ways(repo)[0] == ["kustomize:teams/a/overlays/prod"]


def test_a_changed_values_file_selects_the_helmfile_release_naming_it(repo):
    commit(repo, {"values/beta.yaml": "replicas: 6\n"})
    assert both_ways(repo)[0] == ["helm:charts/svc@beta-hf", "manifest:values/beta.yaml"]


def test_a_changed_chart_selects_every_release_of_it(repo):
    commit(repo, {"charts/svc/templates/cm.yaml": MORE["charts/svc/templates/cm.yaml"] + "data: {a: b}\n"})
    assert both_ways(repo)[0] == ["helm:charts/svc@alpha", "helm:charts/svc@alpha-hf", "helm:charts/svc@beta",
                                  "helm:charts/svc@beta-hf"]


def test_a_changed_application_selects_it_and_its_source(repo):
    commit(repo, {"argocd/alpha.yaml": APP.format(name="alpha").replace("v1.0.0", "v1.1.0")})
    assert both_ways(repo)[0] == ["manifest:argocd/alpha.yaml", "helm:charts/svc@alpha"]


def test_a_deleted_and_a_renamed_file_select_what_named_them(repo):
    root = Path(repo.working_tree_dir)
    (root / "teams/b/overlays/prod/cm.yaml").rename(root / "teams/b/overlays/prod/moved.yaml")
    assert both_ways(repo)[0] == ["kustomize:teams/b/overlays/prod"]


def test_an_application_with_relative_values_files_is_read(repo):
    """A values file named `../…` from the chart is found through the Application that names it."""
    app = APP.format(name="gamma").replace("[values-gamma.yaml]", "[../../values/alpha.yaml]")
    commit(repo, {"argocd/gamma.yaml": app})
    repo.git.checkout("-b", "later")
    commit(repo, {"values/alpha.yaml": "replicas: 7\n"})
    root = Path(repo.working_tree_dir).resolve()
    reached, _ = plan_changed([str(root)], (), Changes.find(root, "feature"))
    assert names(reached, root) == ["helm:charts/svc@alpha-hf", "helm:charts/svc@gamma", "manifest:values/alpha.yaml"]


def test_a_small_change_reads_no_unrelated_kustomize_tree(repo, monkeypatch):
    commit(repo, {"misc/cm.yaml": CONFIGMAP.replace("a: b", "a: c")})
    read: list[Path] = []
    original = kustomize.KustomizeTree.read.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(kustomize.KustomizeTree, "read",
                        classmethod(lambda cls, directory: (read.append(directory), original(cls, directory))[1]))
    assert both_ways(repo)[0] == ["manifest:misc/cm.yaml"]
    read.clear()
    root = Path(repo.working_tree_dir).resolve()
    plan_changed([str(root)], (), Changes.find(root, "main"))
    assert read == []


def test_a_symbolic_link_plans_everything_then_filters(repo):
    root = Path(repo.working_tree_dir)
    os.symlink("../../shared/base", root / "teams/b/linked")
    write_files(root, {"teams/b/overlays/prod/kustomization.yaml": "resources: [cm.yaml, ../../linked]\n"})
    commit(repo, {"teams/b/overlays/prod/kustomization.yaml": "resources: [cm.yaml, ../../linked]\n"})
    repo.git.checkout("-b", "later")
    commit(repo, {"shared/base/deployment.yaml": MORE["shared/base/deployment.yaml"].replace("1.27", "1.29")})
    resolved = root.resolve()
    reached, _ = plan_changed([str(resolved)], (), Changes.find(resolved, "feature"))
    assert names(reached, resolved) == ["kustomize:teams/a/overlays/prod", "kustomize:teams/b/overlays/prod"]
    assert reached.notes[-1] == ("--base: every target planned, then filtered: teams/b/linked is a symbolic link, "
                                 "so paths are not what they say")


# --------------------------------------------------------------------------- a card changed without `render`

SETTINGS = """\
apiVersion: shipcard/v1
kind: Repository
repoURL: https://github.com/example/gitops.git
targetRevision: main
project: platform
environments:
  prod: {}
"""
PINNED = "ghcr.io/example/web@sha256:" + "0123456789abcdef" * 4
CARD = """\
# The storefront.
apiVersion: shipcard/v1
kind: Service
name: web
team: shop
image: {image}
ports:
  - {{name: http, port: 8080, servicePort: 80}}
health:
  liveness: /healthz
  readiness: /ready
gitops:
  format: {format}
"""
NOW = "services/web.service.yaml as it renders now for prod (its tree is stale: run `shipcard render`)"


def rendered_repository(root: Path, fmt: str) -> git.Repo:
    """A repository whose main holds one card, rendered; checked out on `feature`."""
    write_files(root, {"shipcard.yaml": SETTINGS, "services/web.service.yaml": CARD.format(image=PINNED, format=fmt)})
    assert run_cli("render", cwd=root).exit_code == 0
    repository = git.Repo.init(root, initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    repository.git.add("-A")
    repository.index.commit("initial")
    repository.git.checkout("-b", "feature")
    return repository


def check_base(root: Path, kubectl: str = "kubectl", helm: str = "helm") -> tuple[int, list[tuple[str, str, int, int,
                                                                                                 str | None]]]:
    """`check --base main` as a user runs it: its exit code and error findings (rule, file, line, column, origin)."""
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "main", "--format", "json"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SHIPCARD_KUBECTL": kubectl, "SHIPCARD_HELM": helm})
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    return done.returncode, [(f["rule"], f["file"], f["line"], f["column"], f["origin"])
                             for f in report["findings"] if f["severity"] == "error"]


@pytest.mark.kubectl
@pytest.mark.helm
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_a_card_changed_without_render_fails_with_what_it_renders_now(tmp_path, monkeypatch, kubectl, helm, fmt):
    """Only the card changes (an image by tag `latest`): its stale tree does not hold the Deployment that
    the rule rejects, the card's current output does, placed at the card's first line."""
    monkeypatch.chdir(tmp_path)
    repository = rendered_repository(tmp_path, fmt)
    commit(repository, {"services/web.service.yaml": CARD.format(image="ghcr.io/example/web:latest", format=fmt)})
    code, errors = check_base(tmp_path, kubectl, helm)
    assert code == 1
    assert ("image-latest-or-untagged", "services/web.service.yaml", 2, 1, NOW) in errors
    assert [e for e in errors if e[1] == "services/web.service.yaml"] == [
        ("image-latest-or-untagged", "services/web.service.yaml", 2, 1, NOW)]


@pytest.mark.kubectl
@pytest.mark.helm
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_a_card_rendered_with_its_change_is_checked_through_its_tree_only(tmp_path, monkeypatch, kubectl, helm, fmt):
    monkeypatch.chdir(tmp_path)
    repository = rendered_repository(tmp_path, fmt)
    (tmp_path / "services/web.service.yaml").write_text(CARD.format(image="ghcr.io/example/web:latest", format=fmt))
    assert run_cli("render", cwd=tmp_path).exit_code == 0
    repository.git.add("-A")
    repository.index.commit("change")
    code, errors = check_base(tmp_path, kubectl, helm)
    assert code == 1
    assert [e[0] for e in errors] == ["image-latest-or-untagged"]
    assert errors[0][1] != "services/web.service.yaml" and errors[0][4] != NOW


@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_a_new_card_never_rendered_is_checked_as_it_renders_now(tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    feature_branch_repo(tmp_path, {"shipcard.yaml": SETTINGS})
    write_files(tmp_path, {"services/web.service.yaml": CARD.format(image="ghcr.io/example/web:latest", format=fmt)})
    code, errors = check_base(tmp_path)
    assert code == 1
    assert errors == [("image-latest-or-untagged", "services/web.service.yaml", 2, 1, NOW)]


def test_on_the_users_examples_every_single_file_change_selects_what_planning_everything_does(tmp_path, monkeypatch):
    """Each file of the examples' rendered repository changed alone (uncommitted), and one deleted: the
    planned-by-reach selection is the full plan's, target for target and line for line."""
    from tests.check.test_in_process import examples_repository

    monkeypatch.chdir(tmp_path)
    root = examples_repository(tmp_path)
    repository = git.Repo.init(root, initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    repository.git.add("-A")
    repository.index.commit("examples")
    files = sorted(path for path in root.rglob("*") if path.is_file() and ".git" not in path.parts)
    selections = 0
    for path in files[::3]:
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        selections += len(both_ways(repository)[0])
        path.unlink()
        selections += len(both_ways(repository)[0])
        path.write_bytes(original)
    assert selections > 0
