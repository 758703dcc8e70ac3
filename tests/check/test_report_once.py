"""Issue 15, item 5: a finding of a source line that several overlays or releases include is reported once, at
that line, listing the renders it came through (text, JSON, SARIF related locations)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.model import Finding, Via
from shipcard.check.once import report_once
from shipcard.check.report import render
from tests.check.test_engine_inputs import DEPLOYMENT, write
from tests.check.test_engine_report import check_sarif_structure
from tests.conftest import run_cli

OVERLAYS = {"dev": "namespace: dev\n", "qa": "namespace: qa\n", "staging": "namespace: staging\nnamePrefix: staging-\n",
            "prod": "namespace: prod\n"}
MESSAGE = "spec.template.spec.containers[0].imagePullPolicey: unknown field (did you mean 'imagePullPolicy'?)"


@pytest.fixture
def four_overlays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kubectl: str):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    write(tmp_path, {".git/HEAD": "ref: refs/heads/main\n",
                     "apps/web/base/kustomization.yaml": "resources: [deployment.yaml]\n",
                     "apps/web/base/deployment.yaml": DEPLOYMENT})
    for name, extra in OVERLAYS.items():
        write(tmp_path, {f"apps/web/overlays/{name}/kustomization.yaml": "resources: [../../base]\n" + extra})
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=["."]))


@pytest.mark.kubectl
def test_a_base_finding_is_one_text_row_listing_the_four_overlays(four_overlays):
    assert four_overlays.objects == 4
    [schema] = [f for f in four_overlays.findings if f.rule == "schema"]
    assert [v.origin for v in schema.via] == [f"kubectl kustomize apps/web/overlays/{name}"
                                              for name in ("dev", "prod", "qa", "staging")]
    lines = render("text", four_overlays).splitlines()
    row = lines.index(f"  apps/web/base/deployment.yaml:17:11: error   schema: {MESSAGE} [Deployment/dev/web]")
    assert lines[row + 1] == ("      via overlays: apps/web/overlays/dev, apps/web/overlays/prod, apps/web/overlays/qa, "
                              "apps/web/overlays/staging")
    assert sum(line.startswith("  apps/web/base/deployment.yaml:17:11: error   schema:") for line in lines) == 1


@pytest.mark.kubectl
def test_a_base_finding_is_one_json_object_with_a_list(four_overlays):
    document = json.loads(render("json", four_overlays))
    [schema] = [f for f in document["findings"] if f["rule"] == "schema"]
    assert (schema["file"], schema["line"], schema["column"], schema["message"]) == (
        "apps/web/base/deployment.yaml", 17, 11, MESSAGE)
    assert schema["via"] == [
        {"origin": "kubectl kustomize apps/web/overlays/dev", "object": "Deployment/dev/web"},
        {"origin": "kubectl kustomize apps/web/overlays/prod", "object": "Deployment/prod/web"},
        {"origin": "kubectl kustomize apps/web/overlays/qa", "object": "Deployment/qa/web"},
        {"origin": "kubectl kustomize apps/web/overlays/staging", "object": "Deployment/staging/staging-web"}]
    assert document["summary"]["error"] == sum(1 for f in document["findings"] if f["severity"] == "error")


@pytest.mark.kubectl
def test_a_base_finding_is_one_sarif_result_with_related_locations(four_overlays):
    document = json.loads(render("sarif", four_overlays))
    check_sarif_structure(document)
    [result] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "schema"]
    assert result["message"]["text"] == (
        f"{MESSAGE} [Deployment/dev/web] (via [apps/web/overlays/dev](1), [apps/web/overlays/prod](2), "
        "[apps/web/overlays/qa](3), [apps/web/overlays/staging](4))")
    [location] = result["locations"]
    assert location["physicalLocation"]["region"] == {"startLine": 17, "startColumn": 11}
    related = result["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2, 3, 4]
    assert [r["physicalLocation"]["artifactLocation"] for r in related] == [
        {"uri": f"apps/web/overlays/{name}/kustomization.yaml", "uriBaseId": "%SRCROOT%"}
        for name in ("dev", "prod", "qa", "staging")]
    assert [r["logicalLocations"][0]["fullyQualifiedName"] for r in related] == [
        "Deployment/dev/web", "Deployment/prod/web", "Deployment/qa/web", "Deployment/staging/staging-web"]
    assert related[0]["message"] == {"text": "via kubectl kustomize apps/web/overlays/dev"}


@pytest.mark.helm
def test_a_chart_finding_of_three_helmfile_releases_is_one_finding(tmp_path, monkeypatch, helm):
    monkeypatch.setenv("SHIPCARD_HELM", helm)
    (tmp_path / ".git").mkdir()
    (tmp_path / "services").mkdir()
    card = (Path(__file__).resolve().parents[2] / "examples" / "notifier.service.yaml").read_text()
    assert "  prod:\n    cluster:" in card and "format: helmfile" in card
    (tmp_path / "services" / "notifier.service.yaml").write_text(
        card.replace("  prod:\n    cluster:", "  qa: {}\n  prod:\n    cluster:"))
    assert run_cli("render", "--out", str(tmp_path), cwd=tmp_path).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = run_check(CheckOptions(paths=["."]))
    [unpinned] = [f for f in result.findings if f.rule == "image-not-pinned"]
    assert (unpinned.file, unpinned.message) == (
        "charts/service/templates/deployment.yaml",
        'container "notifier" uses image ghcr.io/example/notifier:2.0.0 without a digest')
    assert [v.origin for v in unpinned.via] == [
        f"helm template notifier charts/service --namespace notifier-{env}" for env in ("prod", "qa", "staging")]
    assert "      via releases: notifier in notifier-prod, notifier in notifier-qa, notifier in notifier-staging" \
        in render("text", result).splitlines()
    check_sarif_structure(json.loads(render("sarif", result)))


# ------------------------------------------------------------------ what is the same finding

def finding(origin: str | None, *, line: int = 17, rule: str = "run-as-root", namespace: str = "dev",
            message: str = "") -> Finding:
    ref = f"Deployment/{namespace}/web"
    return Finding(rule, "error", message or f"{ref} runs as root in namespace {namespace}",
                   "apps/web/base/deployment.yaml", line, 9, ref, ("spec",), "web", origin=origin)


DEV, PROD = "kubectl kustomize apps/web/overlays/dev", "kubectl kustomize apps/web/overlays/prod"


def test_messages_that_differ_only_in_the_namespace_merge():
    [merged] = report_once([finding(DEV), finding(PROD, namespace="prod")])
    assert merged.via == (Via(DEV, "Deployment/dev/web"), Via(PROD, "Deployment/prod/web"))
    assert (merged.origin, merged.object_ref, merged.message) == (DEV, "Deployment/dev/web",
                                                                  "Deployment/dev/web runs as root in namespace dev")


def test_other_lines_rules_or_messages_never_merge():
    assert len(report_once([finding(DEV), finding(PROD, namespace="prod", line=18)])) == 2
    assert len(report_once([finding(DEV), finding(PROD, namespace="prod", rule="privileged-container")])) == 2
    assert len(report_once([finding(DEV, message="uses 1 CPU"), finding(PROD, namespace="prod",
                                                                       message="uses 2 CPU")])) == 2


def test_a_namespace_inside_an_image_is_not_a_render_part():
    """`app:staging` and `app:prod` are two images, so two problems, although the namespaces are staging/prod."""
    staging = finding(DEV, namespace="staging", message='container "web" uses image app:staging without a digest')
    prod = finding(PROD, namespace="prod", message='container "web" uses image app:prod without a digest')
    assert len(report_once([staging, prod])) == 2
    team_a = finding(DEV, namespace="team-a", message='container "web" uses image ghcr.io/team-a/app')
    team_b = finding(PROD, namespace="team-b", message='container "web" uses image ghcr.io/team-b/app')
    assert len(report_once([team_a, team_b])) == 2


def test_the_merged_message_is_that_of_the_object_it_names():
    [merged] = report_once([finding(PROD, namespace="prod"), finding(DEV)])  # prod seen first
    assert (merged.origin, merged.object_ref, merged.message) == (DEV, "Deployment/dev/web",
                                                                  "Deployment/dev/web runs as root in namespace dev")


def test_raw_files_and_two_objects_of_one_render_never_merge():
    raw = report_once([finding(None), finding(None, namespace="prod")])
    assert [(f.via, f.object_ref) for f in raw] == [((), "Deployment/dev/web"), ((), "Deployment/prod/web")]
    same_render = report_once([finding(DEV), finding(DEV, namespace="prod")])
    assert [f.via for f in same_render] == [(Via(DEV, "Deployment/dev/web"),), (Via(DEV, "Deployment/prod/web"),)]


@pytest.mark.kubectl
@pytest.mark.helm
def test_examples_repository_text_never_repeats_a_row(tmp_path, monkeypatch, kubectl, helm):
    """Every rendered example: no two text rows alike (each source place once)."""
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    monkeypatch.setenv("SHIPCARD_HELM", helm)
    (tmp_path / ".git").mkdir()
    (tmp_path / "services").mkdir()
    for card in (Path(__file__).resolve().parents[2] / "examples").glob("*.service.yaml"):
        shutil.copy(card, tmp_path / "services" / card.name)
    assert run_cli("render", "--out", str(tmp_path), cwd=tmp_path).exit_code == 0
    monkeypatch.chdir(tmp_path)
    rows = [line.split(" [", 1)[0] for line in render("text", run_check(CheckOptions(paths=["."]))).splitlines()
            if line.startswith("  ") and not line.startswith("      via")]
    assert len(rows) == len(set(rows))
