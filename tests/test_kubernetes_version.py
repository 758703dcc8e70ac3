"""Issue 12: `kubernetesVersion` of shipcard.yaml is the target of `check` (the flag overrides it)
and of `render`, which renders nothing the target's schemas lack."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.card.load import load_card, load_card_text
from shipcard.k8s.objects import environment_objects
from shipcard.settings import RepoSettings, load_repo
from shipcard.writers.helmfile import values_for
from shipcard.yamlio.dump import dump_all
from shipcard.yamlio.read import load_plain_all
from tests.conftest import example_cards, find_tool, run_cli
from tests.test_helmfile import LEDGER, LEDGER_CARD

HPA_V2BETA2 = """\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
"""

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: web
image: ghcr.io/example/web:1.0.0
port: 8080
replicas: 2
environments:
  prod: {}
gitops:
  repoURL: https://github.com/example/gitops.git
"""


def check_json(directory: Path, *args: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "hpa.yaml", "--format", "json", *args],
                          cwd=directory, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def repository_for_125(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "shipcard.yaml").write_text('kubernetesVersion: "1.25"\n')
    (tmp_path / "hpa.yaml").write_text(HPA_V2BETA2)
    return tmp_path


def rules_of(report: dict) -> list[tuple[str, str]]:
    return [(f["rule"], f["message"]) for f in report["findings"] if f["rule"].endswith("-api")]


def test_check_targets_the_settings_version(repository_for_125: Path) -> None:
    code, report = check_json(repository_for_125)
    assert (code, report["kubernetesVersion"]) == (0, "1.25")
    assert rules_of(report) == [("deprecated-api", "HorizontalPodAutoscaler autoscaling/v2beta2 is deprecated since "
                                                   "Kubernetes 1.23, removed in 1.26: use autoscaling/v2")]
    summary = subprocess.run([sys.executable, "-m", "shipcard", "check", "hpa.yaml"], cwd=repository_for_125,
                             capture_output=True, text=True, timeout=120).stderr  # the summary's stream
    assert summary.splitlines()[-1].endswith("from 1 input, Kubernetes 1.25 (fail-on error)")


def test_the_flag_overrides_the_settings_version(repository_for_125: Path) -> None:
    code, report = check_json(repository_for_125, "--kubernetes-version", "1.26")
    assert (code, report["kubernetesVersion"]) == (1, "1.26")
    assert rules_of(report) == [("removed-api", "HorizontalPodAutoscaler autoscaling/v2beta2 is no longer served "
                                                "since Kubernetes 1.26 (target 1.26): use autoscaling/v2")]


# --------------------------------------------------------------------------- the model, per version


def objects_for(version: tuple[int, int] | None) -> dict[str, dict]:
    card = load_card_text(CARD, "web.service.yaml", "web.service.yaml", repo=RepoSettings(kubernetes_version=version))
    return {obj["kind"]: obj for obj in environment_objects(card.environments[0])}


@pytest.mark.parametrize("version,pre_stop,policy", [
    (None, {"sleep": {"seconds": 5}}, True),
    ((1, 30), {"sleep": {"seconds": 5}}, True),
    ((1, 29), {"exec": {"command": ["sleep", "5"]}}, True),  # in 1.29's schemas, but its feature gate is off
    ((1, 27), {"exec": {"command": ["sleep", "5"]}}, True),
    ((1, 26), {"exec": {"command": ["sleep", "5"]}}, False),  # in 1.26's schemas, gate off
    ((1, 25), {"exec": {"command": ["sleep", "5"]}}, False),
])
def test_versioned_fields_follow_the_target(version: tuple[int, int] | None, pre_stop: dict, policy: bool) -> None:
    objects = objects_for(version)
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["lifecycle"] == {"preStop": pre_stop}
    assert objects["PodDisruptionBudget"]["spec"] == {
        "maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "web",
                                                          "app.kubernetes.io/component": "server"}},
        **({"unhealthyPodEvictionPolicy": "AlwaysAllow"} if policy else {})}


def test_the_chart_values_say_what_the_target_lacks() -> None:
    def chart_switches(version: tuple[int, int] | None) -> object:
        card = load_card_text(CARD, "w", "w", repo=RepoSettings(kubernetes_version=version))
        return values_for(card.base).get("kubernetes")

    assert chart_switches(None) is None and chart_switches((1, 30)) is None
    assert chart_switches((1, 27)) == {"preStopSleepAction": False}
    assert chart_switches((1, 25)) == {"preStopSleepAction": False, "unhealthyPodEvictionPolicy": False}


# --------------------------------------------------------------------------- every example, validated for 1.25


def served_by_kubernetes(objects: list[dict]) -> dict[tuple[str, str, str], dict]:
    """The objects Kubernetes itself serves (custom resources have their own tests), by kind, namespace and name."""
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects
            if "/" not in o["apiVersion"] or "." not in o["apiVersion"].split("/")[0]}


def run(*command: str) -> str:
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.kubectl
@pytest.mark.helm
def test_every_example_renders_valid_for_kubernetes_1_25(tmp_path: Path, kubectl: str, helm: str) -> None:
    repository = tmp_path / "gitops"
    assert run_cli("init", str(repository), "--no-input", "--no-git", "--set", "kubernetes_version=1.25").exit_code == 0
    for card in example_cards():
        shutil.copy(card, repository / "services" / card.name)
    (repository / "services" / LEDGER).write_text(LEDGER_CARD)  # projected secret files, several stores, IRSA
    result = run_cli("render", cwd=repository)
    assert result.exit_code == 0, result.output
    assert load_repo(repository).kubernetes_version == (1, 25)
    rendered: list[dict] = []
    for card_path in sorted((repository / "services").glob("*.service.yaml")):
        card = load_card(card_path)
        for env in card.environments:
            root = repository / card.gitops.path
            if card.gitops.format == "helmfile":  # the release values through the vendored chart, as Argo CD does
                text = run(helm, "template", card.name, str(repository / "charts/service"), "--namespace",
                           env.namespace, "-f", str(root / "values/common.yaml"),
                           "-f", str(root / f"values/{env.name}.yaml"))
            else:
                text = run(kubectl, "kustomize", str(root / "overlays" / env.name))
            objects = served_by_kubernetes(load_plain_all(text))
            assert objects == served_by_kubernetes(environment_objects(env)), (card.name, env.name)
            rendered += objects.values()
    assert {o["kind"] for o in rendered} >= {"Deployment", "PodDisruptionBudget", "CronJob", "HorizontalPodAutoscaler"}
    stream = tmp_path / "rendered.yaml"
    stream.write_text(dump_all(rendered))
    validate = find_tool("kubernetes-validate")
    done = subprocess.run([validate, "--strict", "-k", "1.25.0", str(stream)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
