"""Issue 3, pull-request mode: `--base REF` on real git repositories selects what the change
affects: overlays of a changed base, releases of a changed chart, the tree of a changed card, and
uncommitted work; it prints what it selected and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

import shipcard.yamlio.read as yamlio_read
from shipcard.check.base import changed_files, select_changed
from shipcard.check.inputs.parse import load_targets
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.inputs.targets import Plan
from tests.conftest import feature_branch_repo, write_files

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: misc\ndata:\n  a: b\n"
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: shop
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: v1.0.0
    path: charts/svc
    helm:
      releaseName: {name}
      valueFiles: [values-{name}.yaml]
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
"""
FILES = {
    "apps/web/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "apps/web/base/deployment.yaml": DEPLOYMENT,
    "apps/web/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: prod\n"
                                                 "patches:\n  - path: replicas.yaml\n",
    "apps/web/overlays/prod/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                                            "spec:\n  replicas: 3\n",
    "apps/web/overlays/dev/kustomization.yaml": "resources: [../../base]\nnamespace: dev\n",
    "misc/cm.yaml": CONFIGMAP,
    "charts/svc/Chart.yaml": "apiVersion: v2\nname: svc\nversion: 0.1.0\n",
    "charts/svc/values.yaml": "replicas: 1\n",
    "charts/svc/values-alpha.yaml": "replicas: 2\n",
    "charts/svc/values-beta.yaml": "replicas: 3\n",
    "charts/svc/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    "argocd/alpha.yaml": APP.format(name="alpha"),
    "argocd/beta.yaml": APP.format(name="beta"),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> git.Repo:
    monkeypatch.chdir(tmp_path)  # paths in messages are relative to the working directory
    return feature_branch_repo(tmp_path, FILES)


def commit(repository: git.Repo, files: dict[str, str], message: str = "change") -> None:
    root = Path(repository.working_tree_dir)
    write_files(root, files)
    repository.index.add(sorted(files))
    repository.index.commit(message)


def selected(repository: git.Repo, ref: str = "main") -> tuple[list[str], list[str]]:
    root = Path(repository.working_tree_dir).resolve()
    plan, lines = select_changed(plan_inputs([str(root)]), ref, root)
    names = [f"{t.kind}:{t.path.relative_to(root).as_posix()}" + (f"@{t.release}" if t.release else "")
             for t in plan.targets]
    return names, lines


def test_changed_base_selects_every_overlay_that_includes_it(repo):
    commit(repo, {"apps/web/base/deployment.yaml": DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")})
    names, lines = selected(repo)
    assert names == ["kustomize:apps/web/overlays/dev", "kustomize:apps/web/overlays/prod"]
    assert any(line.startswith("selected apps/web/overlays/dev (kustomize): ") and
               "apps/web/base/deployment.yaml changed" in line for line in lines)


def test_changed_overlay_file_selects_only_that_overlay(repo):
    commit(repo, {"apps/web/overlays/prod/replicas.yaml": FILES["apps/web/overlays/prod/replicas.yaml"]
                  .replace("3", "4")})
    assert selected(repo)[0] == ["kustomize:apps/web/overlays/prod"]


def test_changed_chart_selects_every_release_that_uses_it(repo):
    commit(repo, {"charts/svc/templates/cm.yaml": FILES["charts/svc/templates/cm.yaml"] + "data: {a: b}\n"})
    assert selected(repo)[0] == ["helm:charts/svc@alpha", "helm:charts/svc@beta"]


def test_changed_application_selects_it_and_its_release(repo):
    commit(repo, {"argocd/beta.yaml": APP.format(name="beta").replace("v1.0.0", "v1.1.0")})
    assert selected(repo)[0] == ["manifest:argocd/beta.yaml", "helm:charts/svc@beta"]


def test_uncommitted_and_untracked_changes_count(repo):
    root = Path(repo.working_tree_dir)
    (root / "misc/cm.yaml").write_text(CONFIGMAP.replace("a: b", "a: c"))
    (root / "misc/new.yaml").write_text(CONFIGMAP.replace("misc", "new"))
    assert selected(repo)[0] == ["manifest:misc/cm.yaml", "manifest:misc/new.yaml"]


def test_changed_card_selects_its_rendered_tree(repo):
    commit(repo, {"services/web.service.yaml": "apiVersion: shipcard/v1\nkind: Service\nname: web\n"})
    names, lines = selected(repo)
    assert names == ["kustomize:apps/web/overlays/dev", "kustomize:apps/web/overlays/prod",
                     "card:services/web.service.yaml"]
    assert any("rendered from changed card services/web.service.yaml" in line for line in lines)


def test_merge_base_not_the_tip_of_ref(repo):
    """Changes made on main after the branch point are not the branch's changes."""
    repo.git.checkout("main")
    commit(repo, {"misc/cm.yaml": CONFIGMAP.replace("a: b", "a: main")})
    repo.git.checkout("feature")
    commit(repo, {"apps/web/overlays/prod/replicas.yaml": FILES["apps/web/overlays/prod/replicas.yaml"]
                  .replace("3", "5")})
    root = Path(repo.working_tree_dir).resolve()
    assert [p.relative_to(root).as_posix() for p in changed_files(root, "main")] == [
        "apps/web/overlays/prod/replicas.yaml"]


def test_unknown_ref_checks_everything_and_says_why(repo):
    root = Path(repo.working_tree_dir).resolve()
    plan = plan_inputs([str(root)])
    selected_plan, lines = select_changed(plan, "nope", root)
    assert selected_plan is plan
    assert lines == ["--base nope: checking everything: cannot tell what changed (not a revision git knows)"]


@pytest.mark.kubectl
def test_cli_prints_the_selection_and_checks_only_it(repo, kubectl):
    commit(repo, {"apps/web/overlays/prod/replicas.yaml": FILES["apps/web/overlays/prod/replicas.yaml"]
                  .replace("replicas: 3", "replica: 3")})
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "main"],
                          cwd=repo.working_tree_dir, capture_output=True, text=True, timeout=120,
                          env={"SHIPCARD_KUBECTL": kubectl, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert "selected apps/web/overlays/prod (kustomize): apps/web/overlays/prod/replicas.yaml changed" in done.stderr
    assert "misc/cm.yaml" not in done.stdout and "overlays/dev" not in done.stdout
    assert done.returncode == 1  # `replica` in the patch breaks the rendered Deployment's schema


def test_nothing_changed_checks_nothing_and_passes(repo):
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "main"],
                          cwd=repo.working_tree_dir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing to check" in done.stderr


def test_a_changed_file_whose_name_is_not_utf8_is_selected_and_shown_escaped(repo):
    root = Path(repo.working_tree_dir)
    name = os.fsdecode(b"caf\xe9.yaml")
    (root / "misc" / name).write_text(CONFIGMAP.replace("misc", "cafe"))
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "main", "--format", "json"],
                          cwd=root, capture_output=True, timeout=120)
    stderr = done.stderr.decode()
    assert "selected misc/caf\\xe9.yaml: misc/caf\\xe9.yaml changed" in stderr.splitlines()
    assert "Traceback" not in stderr
    report = json.loads(done.stdout)
    assert report["inputs"] == ["misc/caf\\xe9.yaml"]
    assert {f["file"] for f in report["findings"]} == {"misc/caf\\xe9.yaml"}
    assert done.returncode == 0


def test_no_commit_yet_checks_everything_and_says_why(tmp_path):
    git.Repo.init(tmp_path, initial_branch="main")
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "main"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stderr.splitlines()[0] == "--base main: checking everything: cannot tell what changed " \
                                          "(HEAD has no commit yet)"


def test_a_changed_card_is_read_once(repo, monkeypatch):
    card = "apiVersion: shipcard/v1\nkind: Service\nname: web\n"
    commit(repo, {"services/web.service.yaml": card})
    reads: list[str] = []
    read_file = yamlio_read.read_regular_file  # what read_text reads every file through
    monkeypatch.setattr(yamlio_read, "read_regular_file", lambda path, limit: (reads.append(Path(path).name), read_file(path, limit))[1])
    root = Path(repo.working_tree_dir).resolve()
    plan, _ = select_changed(plan_inputs([str(root)]), "main", root)
    loaded = load_targets(Plan(targets=[t for t in plan.targets if t.kind == "card"], cards=plan.cards))
    assert reads.count("web.service.yaml") == 1
    assert [(f.rule, f.file) for f in loaded.findings] == [("card-invalid", "services/web.service.yaml")]
