"""Issue 3, engine layer 4: removed and deprecated apiVersions relative to --kubernetes-version."""

from __future__ import annotations

import pytest

from shipcard.check.deprecations import DEPRECATED_APIS, check_deprecations, deprecation_rule_infos, lookup
from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.model import K8sObject
from shipcard.yamlio.read import load_documents

CRONJOB = """\
apiVersion: {api}
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: example/report:1.0
"""


def run(tmp_path, monkeypatch, text: str, version: str | None = None):
    (tmp_path / "m.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=["m.yaml"], kubernetes_version=version))


def rules(result) -> list[str]:
    return [f.rule for f in result.findings if f.rule in ("deprecated-api", "removed-api")]


def test_removed_api_is_an_error_at_the_apiversion_line(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, CRONJOB.format(api="batch/v1beta1"))
    [finding] = [f for f in result.findings if f.rule == "removed-api"]
    assert (finding.severity, finding.line, finding.column) == ("error", 1, 1)
    assert "batch/v1" in finding.message and "1.25" in finding.message
    assert result.exit_code == 1


def test_deprecated_but_served_is_a_warning(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, CRONJOB.format(api="batch/v1beta1"), version="1.22")
    assert rules(result) == ["deprecated-api"]
    assert [f.severity for f in result.findings if f.rule == "deprecated-api"] == ["warning"]


def test_before_the_deprecation_nothing_is_reported(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, CRONJOB.format(api="batch/v1beta1"), version="1.20")
    assert rules(result) == []


def test_current_api_is_clean(tmp_path, monkeypatch):
    assert rules(run(tmp_path, monkeypatch, CRONJOB.format(api="batch/v1"))) == []


@pytest.mark.parametrize("removed_in", ["1.16", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"])
def test_the_table_covers_every_removal_release(removed_in):
    major, minor = map(int, removed_in.split("."))
    assert any(api.removed_in == (major, minor) for api in DEPRECATED_APIS)


@pytest.mark.parametrize("api_version,kind,removed", [
    ("extensions/v1beta1", "Deployment", (1, 16)), ("extensions/v1beta1", "Ingress", (1, 22)),
    ("networking.k8s.io/v1beta1", "Ingress", (1, 22)), ("policy/v1beta1", "PodDisruptionBudget", (1, 25)),
    ("policy/v1beta1", "PodSecurityPolicy", (1, 25)), ("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 26)),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity", (1, 27)),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 32)),
])
def test_known_removals(api_version, kind, removed):
    api = lookup(api_version, kind)
    assert api is not None and api.removed_in == removed
    assert api.status(removed) == "removed" and api.status((removed[0], removed[1] - 1)) == "deprecated"


def test_rule_examples_fire_as_documented():
    for info in deprecation_rule_infos():
        for text, expected in [(t, False) for t in info.pass_examples] + [(t, True) for t in info.fail_examples]:
            objects = [K8sObject(d.data, "ex.yaml", d) for d in load_documents(text, "ex.yaml")]
            found = {f.rule for f in check_deprecations(objects, (1, 37))}
            assert (info.id in found) is expected, (info.id, text)
