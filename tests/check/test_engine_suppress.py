"""Issue 3, suppression that stays honest: annotations with reasons, container-level annotations,
shipcard.yaml ignores with expiry, required rules, and suppressed findings kept in JSON and SARIF."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.report import render

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    {annotations}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
        - name: proxy
          image: envoyproxy/envoy:v1.31.0
"""


def deployment(annotations: str = "example.com/x: y") -> str:
    return DEPLOYMENT.format(annotations=annotations)


def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest: str, config: str | None = None,
          **options):
    (tmp_path / ".git").mkdir(exist_ok=True)  # the config search stops at the repository root
    (tmp_path / "apps").mkdir(exist_ok=True)
    (tmp_path / "apps" / "web.yaml").write_text(manifest)
    if config is not None:
        (tmp_path / "shipcard.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=["apps"], **options))


def of(result, rule: str, container: str | None = "any"):
    return [f for f in result.findings if f.rule == rule and (container == "any" or f.container == container)]


def test_annotation_with_reason_suppresses_and_keeps_the_audit_trail(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment(
        'shipcard.io/ignore: "image-not-pinned,run-as-root: vendor images, pinned by the platform team (OPS-12)"'))
    pinned = of(result, "image-not-pinned")
    assert pinned and all(f.suppressed for f in pinned)
    assert all("OPS-12" in f.suppression.reason for f in pinned)
    assert all(f.suppression.source == "annotation" for f in pinned)
    assert all(f.suppressed for f in of(result, "run-as-root"))
    assert not any(f.suppressed for f in of(result, "seccomp-missing"))
    report = json.loads(render("json", result))
    suppressed = [f for f in report["findings"] if f["rule"] == "image-not-pinned"]
    assert suppressed and all(f["suppressed"] and "OPS-12" in f["suppression"]["reason"] for f in suppressed)
    sarif = json.loads(render("sarif", result))
    marked = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "image-not-pinned"]
    assert marked and all(r["suppressions"][0]["kind"] == "inSource" and "OPS-12" in
                          r["suppressions"][0]["justification"] for r in marked)


def test_annotation_without_reason_does_not_suppress_and_is_a_finding(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment('shipcard.io/ignore: "image-not-pinned"'))
    assert of(result, "image-not-pinned") and not any(f.suppressed for f in of(result, "image-not-pinned"))
    [finding] = of(result, "suppression-without-reason")
    assert finding.line == 7 and finding.severity == "error"
    assert result.exit_code == 1


def test_several_clauses_one_per_line(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment(
        "shipcard.io/ignore: |\n      image-not-pinned: pinned at deploy time\n"
        "      seccomp-missing: node runtime enforces it"))
    assert all(f.suppressed for f in of(result, "image-not-pinned") + of(result, "seccomp-missing"))
    assert not of(result, "suppression-without-reason")


def test_container_level_annotation_only_covers_that_container(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment(
        'shipcard.io/ignore.proxy: "image-not-pinned: sidecar image managed by the mesh team"'))
    assert all(f.suppressed for f in of(result, "image-not-pinned", "proxy"))
    assert of(result, "image-not-pinned", "web") and not any(f.suppressed for f in of(result, "image-not-pinned", "web"))


def test_container_level_annotation_on_the_pod_template(tmp_path, monkeypatch):
    text = deployment().replace("      labels: {app: web}\n",
                                "      labels: {app: web}\n      annotations:\n"
                                "        shipcard.io/ignore.web: \"run-as-root: legacy image, OPS-7\"\n")
    result = check(tmp_path, monkeypatch, text)
    assert all(f.suppressed for f in of(result, "run-as-root", "web"))
    assert not any(f.suppressed for f in of(result, "run-as-root", "proxy"))


def test_unknown_rule_in_a_suppression_is_reported(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment('shipcard.io/ignore: "image-not-pined: typo"'))
    [finding] = of(result, "suppression-unknown-rule")
    assert "image-not-pined" in finding.message


CONFIG = """\
check:
  ignore:
    - rule: image-not-pinned
      path: apps/**
      kind: Deployment
      name: we*
      namespace: shop
      reason: images are pinned by the release pipeline
      expires: {expires}
"""


def test_config_ignore_with_future_expiry_suppresses(tmp_path, monkeypatch):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    result = check(tmp_path, monkeypatch, deployment(), CONFIG.format(expires=future))
    pinned = of(result, "image-not-pinned")
    assert pinned and all(f.suppressed and f.suppression.source == "config" for f in pinned)
    assert all(f.suppression.expires == future for f in pinned)
    sarif = json.loads(render("sarif", result))
    assert {s["kind"] for r in sarif["runs"][0]["results"] for s in r.get("suppressions", [])} == {"external"}


def test_expired_config_ignore_stops_working_and_is_reported(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, deployment(), CONFIG.format(expires="2020-01-31"))
    assert of(result, "image-not-pinned") and not any(f.suppressed for f in of(result, "image-not-pinned"))
    [expired] = of(result, "suppression-expired")
    assert (expired.file, expired.line) == ("shipcard.yaml", 3)
    assert "2020-01-31" in expired.message


def test_config_ignore_selectors_must_all_match(tmp_path, monkeypatch):
    config = CONFIG.format(expires="2999-01-01").replace("namespace: shop", "namespace: other")
    result = check(tmp_path, monkeypatch, deployment(), config)
    assert not any(f.suppressed for f in of(result, "image-not-pinned"))


def test_config_ignore_without_reason_is_a_finding(tmp_path, monkeypatch):
    config = "check:\n  ignore:\n    - rule: image-not-pinned\n"
    result = check(tmp_path, monkeypatch, deployment(), config)
    [finding] = of(result, "suppression-without-reason")
    assert finding.file == "shipcard.yaml" and finding.line == 3
    assert not any(f.suppressed for f in of(result, "image-not-pinned"))


def test_required_rules_cannot_be_suppressed(tmp_path, monkeypatch):
    config = "check:\n  required: [run-as-root]\n"
    result = check(tmp_path, monkeypatch, deployment('shipcard.io/ignore: "run-as-root: we promise"'), config)
    findings = of(result, "run-as-root")
    assert findings and not any(f.suppressed for f in findings)
    assert all("required rule" in f.message for f in findings)
    assert result.exit_code == 1


def test_config_settings_apply(tmp_path, monkeypatch):
    config = "kubernetesVersion: '1.30'\ncheck:\n  fail-on: warning\n  strict-kinds: true\n"
    text = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: shop\n" \
           "  labels: {app.kubernetes.io/name: web}\n"
    result = check(tmp_path, monkeypatch, text, config)
    assert (result.fail_on, result.kubernetes_version) == ("warning", "1.30")


def test_malformed_config_is_a_usage_error_with_its_line(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "m.yaml").write_text(deployment())
    (tmp_path / "shipcard.yaml").write_text("check:\n  ignore:\n    - rule: x\n      reson: typo\n")
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "m.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "shipcard.yaml:4:7" in done.stderr and "reson" in done.stderr


def test_yaml_errors_cannot_be_suppressed(tmp_path, monkeypatch):
    config = "check:\n  ignore:\n    - rule: '*'\n      reason: everything is fine\n"
    result = check(tmp_path, monkeypatch, "a: [\n", config)
    assert result.exit_code == 1
    assert [f.suppressed for f in of(result, "yaml-invalid")] == [False]


def test_python_rules_from_a_policy_dir_named_in_shipcard_yaml_are_refused(tmp_path: Path) -> None:
    """A pull request controls shipcard.yaml: the directories it names may hold YAML rules only."""
    from click.testing import CliRunner

    from shipcard.cli import cli

    policies = tmp_path / "org-policies"
    policies.mkdir()
    marker = tmp_path / "ran"
    (policies / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nID = 'evil'\n")
    (tmp_path / "shipcard.yaml").write_text("check:\n  policy-dirs: [org-policies]\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\n")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "cm.yaml"), "--config", str(tmp_path / "shipcard.yaml")])
    assert result.exit_code == 2
    assert "Python rules load only from --policy-dir" in result.output
    assert not marker.exists()
