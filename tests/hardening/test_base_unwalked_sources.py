"""Class 12: `check --base` never checks less than planning everything and filtering would, also when
an Argo CD Application deploys a kustomization the walk never lists (the check names only `argocd/`, or
the overlay lives in a hidden directory) and the change is in that kustomization's base.

Argo CD reads `spec.source.path` relative to the repository root (argo-cd docs, "Tracking and
Deployment Strategies" / Application specification): a directory whose name starts with `.` is a
valid source, and normalising `a//b` or a trailing comment changes nothing for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.check.base import Changes, plan_changed, select_changed
from shipcard.check.inputs.plan import plan_inputs
from tests.check.test_engine_base import APP, DEPLOYMENT, FILES, commit
from tests.conftest import feature_branch_repo

KUSTOMIZE_APP = APP.split("    helm:")[0]
PRIVILEGED = DEPLOYMENT + "          securityContext: {privileged: true}\n"


def _names(plan, root: Path) -> list[str]:
    return sorted(f"{t.kind}:{t.path.relative_to(root).as_posix()}" for t in plan.targets)


def _app(path: str) -> str:
    return KUSTOMIZE_APP.replace("path: charts/svc", f"path: {path}").format(name="web")


def _plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], changed: str,
           paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The targets of planning everything then filtering, and of planning by reach, after `changed` turned
    privileged on a feature branch of a repository of `files`."""
    monkeypatch.chdir(tmp_path)
    repository = feature_branch_repo(tmp_path, {**FILES, **files})
    commit(repository, {changed: PRIVILEGED})
    root = Path(repository.working_tree_dir).resolve()
    args = [str(root / p) for p in paths]
    full, _ = select_changed(plan_inputs(args), "main", root)
    reached, _ = plan_changed(args, (), Changes.find(root, "main"))
    return _names(full, root), _names(reached, root)


CASES = [
    pytest.param({"argocd/web.yaml": _app("apps/web/overlays/prod")}, "apps/web/base/deployment.yaml", ("argocd",),
                 "kustomize:apps/web/overlays/prod", id="only-argocd-checked"),
    pytest.param({"argocd/web.yaml": _app("apps//web/overlays/prod")}, "apps/web/base/deployment.yaml", ("argocd",),
                 "kustomize:apps/web/overlays/prod", id="only-argocd-checked-doubled-slash"),
    pytest.param({"argocd/web.yaml": _app("apps/web/overlays/prod # the prod overlay")},
                 "apps/web/base/deployment.yaml", ("argocd",), "kustomize:apps/web/overlays/prod",
                 id="only-argocd-checked-trailing-comment"),
    pytest.param({"argocd/web.yaml": _app(".deploy/overlays/prod"),
                  ".deploy/overlays/prod/kustomization.yaml": "resources: [../../base]\n",
                  ".deploy/base/kustomization.yaml": "resources: [deployment.yaml]\n",
                  ".deploy/base/deployment.yaml": DEPLOYMENT}, ".deploy/base/deployment.yaml", (".",),
                 "kustomize:.deploy/overlays/prod", id="hidden-overlay-directory"),
    pytest.param({"argocd/web.yaml": _app("'.deploy/overlays/prod'"),
                  ".deploy/overlays/prod/kustomization.yaml": "resources: [../../../apps/web/base]\n"},
                 "apps/web/base/deployment.yaml", (".",), "kustomize:.deploy/overlays/prod",
                 id="hidden-overlay-of-a-walked-base"),
]


@pytest.mark.parametrize("files, changed, paths, expected", CASES)
def test_an_application_deploying_an_unwalked_kustomization_is_planned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], changed: str,
        paths: tuple[str, ...], expected: str) -> None:
    full, reached = _plans(tmp_path, monkeypatch, files, changed, paths)
    assert expected in full
    assert reached == full


@pytest.mark.kubectl
def test_check_argocd_base_reports_the_privileged_base_as_a_full_check_does(tmp_path: Path, kubectl: str) -> None:
    repository = feature_branch_repo(tmp_path, {**FILES, "argocd/web.yaml": _app("apps/web/overlays/prod")})
    commit(repository, {"apps/web/base/deployment.yaml": PRIVILEGED})

    def errors(*extra: str) -> set[tuple[str, str, int]]:
        done = subprocess.run([sys.executable, "-m", "shipcard", "check", "argocd", "--format", "json", *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "SHIPCARD_KUBECTL": kubectl})
        assert "Traceback" not in done.stderr
        assert done.returncode == 1, done.stderr
        return {(f["rule"], f["file"], f["line"]) for f in json.loads(done.stdout)["findings"]
                if f["file"] == "apps/web/base/deployment.yaml"}

    full = errors()
    assert ("privileged-container", "apps/web/base/deployment.yaml", 16) in full
    assert errors("--base", "main") == full


CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
# Kustomizations in and under a chart directory (the walk does not enter a chart: its templates, subcharts
# and values belong to it), deployed by an Application; the change is in the kustomization's resource.
IN_CHARTS = {
    "below-the-chart": ({"argocd/web.yaml": _app("charts/web/deploy"), "charts/web/Chart.yaml": CHART,
                         "charts/web/deploy/kustomization.yaml": "resources: [deployment.yaml]\n",
                         "charts/web/deploy/deployment.yaml": DEPLOYMENT}, "charts/web/deploy/deployment.yaml"),
    "beside-chart-yaml": ({"argocd/web.yaml": _app("charts/web"), "charts/web/Chart.yaml": CHART,
                           "charts/web/kustomization.yaml": "resources: [deployment.yaml]\n",
                           "charts/web/deployment.yaml": DEPLOYMENT}, "charts/web/deployment.yaml"),
    "a-base-in-a-chart": ({"argocd/web.yaml": _app("apps/x/overlays/prod"), "charts/web/Chart.yaml": CHART,
                           "apps/x/overlays/prod/kustomization.yaml": "resources: [../../../../charts/web/kbase]\n",
                           "charts/web/kbase/kustomization.yaml": "resources: [deployment.yaml]\n",
                           "charts/web/kbase/deployment.yaml": DEPLOYMENT}, "charts/web/kbase/deployment.yaml"),
}


@pytest.mark.parametrize("layout", list(IN_CHARTS))
@pytest.mark.parametrize("paths", [(".",), ("argocd",)], ids=["whole-repository", "only-argocd"])
def test_a_kustomization_in_a_chart_directory_is_planned_as_planning_everything_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: tuple[str, ...], layout: str) -> None:
    full, reached = _plans(tmp_path, monkeypatch, *IN_CHARTS[layout], paths)
    assert any(name.startswith("kustomize:") for name in full)
    assert reached == full
