"""Issue 15 item 3: argocd-job-immutable-name and argocd-app-wave-missing, case by case."""

from __future__ import annotations

import pytest

from shipcard.check.rules import RuleSet, load_rules
from shipcard.check.rules.cross.argocd_job_immutable_name import hash_suffixed
from tests.check.rule_examples import run_example

RULES = RuleSet(load_rules())


def job(name_line: str, annotations: str = "") -> str:
    return f"""apiVersion: batch/v1
kind: Job
metadata:
  {name_line}
  namespace: dev
{annotations}spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
"""


def options(value: str) -> str:
    return f"  annotations:\n    {value}\n"


JOB_MESSAGE = "is a Job outside Argo CD hooks whose name does not change with its immutable template"


@pytest.mark.parametrize("name, expected", [
    pytest.param("seed-7f3c9d2", True, id="hash-7"),
    pytest.param("seed-a1b2c", True, id="hash-5"),
    pytest.param("seed-a1b2c3d4e5", True, id="hash-10"),
    pytest.param("seed-20240601", True, id="date-digits"),
    pytest.param("seed-v2", True, id="version-short"),
    pytest.param("seed-v1.4.0", True, id="version-dotted"),
    pytest.param("seed-abcdef", False, id="letters-only"),
    pytest.param("seed-a1b2", False, id="hash-4-too-short"),
    pytest.param("seed-a1b2c3d4e5f", False, id="hash-11-too-long"),
    pytest.param("seed-1", False, id="single-digit"),
    pytest.param("seed", False, id="no-dash"),
    pytest.param("a1b2c3d", False, id="hash-without-dash"),
    pytest.param("seed-vx", False, id="v-without-digit"),
])
def test_hash_suffixed(name, expected):
    assert hash_suffixed(name) is expected


@pytest.mark.parametrize("text", [
    pytest.param(job("name: seed-7f3c9d2"), id="hash-suffixed"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/hook: Sync")), id="argocd-hook"),
    pytest.param(job("name: seed", options("helm.sh/hook: post-install")), id="helm-hook"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-options: Force=true,Replace=true")),
                 id="force-replace"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-options: Validate=false, Force=true")),
                 id="force-among-others"),
    pytest.param(job("generateName: seed-"), id="generate-name"),
    pytest.param(job("name: seed").replace("kind: Job", "kind: CronJob"), id="not-a-job"),
])
def test_job_passes(text):
    assert run_example(RULES, text, "argocd-job-immutable-name") == []


@pytest.mark.parametrize("text, name", [
    pytest.param(job("name: seed"), "seed", id="plain-name"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-options: Replace=false")), "seed",
                 id="replace-false"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-options: Replace=true")), "seed",
                 id="replace-alone"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-options: Force=false")), "seed",
                 id="force-false"),
    pytest.param(job("name: seed", options("argocd.argoproj.io/sync-wave: '1'")), "seed", id="wave-is-not-hook"),
    pytest.param(job("name: seed-abcdef"), "seed-abcdef", id="letters-suffix"),
])
def test_job_fails_at_its_name(text, name):
    found = [(f.severity, f.line, f.message) for f in run_example(RULES, text, "argocd-job-immutable-name")]
    assert found == [("warning", 4, f"Job/dev/{name} {JOB_MESSAGE}")]


def app(name: str, namespace: str = "argocd", wave: str | None = None, other: str | None = None) -> str:
    annotations = {"argocd.argoproj.io/sync-wave": wave, "example.com/team": other}
    lines = [f"    {k}: {v!r}" for k, v in annotations.items() if v is not None]
    block = "  annotations:\n" + "\n".join(lines) + "\n" if lines else ""
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {namespace}
{block}spec:
  project: default
  source: {{repoURL: https://git.example.com/platform.git, path: {name}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
"""


def stream(*documents: str) -> str:
    return "---\n".join(documents)


WAVE_MESSAGE = "has no argocd.argoproj.io/sync-wave while Application/argocd/crds of the same app-of-apps set has one"


@pytest.mark.parametrize("text", [
    pytest.param(stream(app("crds"), app("shop")), id="no-waves"),
    pytest.param(stream(app("crds", wave="-1"), app("shop", wave="0")), id="all-waves"),
    pytest.param(stream(app("crds", wave="-1"), app("shop", namespace="tools")), id="other-namespace"),
    pytest.param(app("crds", wave="1"), id="alone"),
])
def test_app_waves_pass(text):
    assert run_example(RULES, text, "argocd-app-wave-missing") == []


@pytest.mark.parametrize("text, expected", [
    pytest.param(stream(app("crds", wave="-1"), app("shop")), [(15, "Application/argocd/shop")], id="no-annotations"),
    pytest.param(stream(app("crds", wave="-1"), app("shop", other="a"), app("web", wave="")),
                 [(18, "Application/argocd/shop"), (30, "Application/argocd/web")], id="annotations-empty-wave"),
])
def test_app_wave_missing(text, expected):
    found = [(f.severity, f.line, f.message) for f in run_example(RULES, text, "argocd-app-wave-missing")]
    assert found == [("warning", line, f"{ref} {WAVE_MESSAGE}") for line, ref in expected]
