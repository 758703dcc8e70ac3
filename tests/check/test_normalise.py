"""Issue 15: rules read objects the way the API server stores them (null is unset, the serviceAccount
alias, empty documents are nothing), and findings still point at the line people wrote."""

from __future__ import annotations

import json
from pathlib import Path

from shipcard.check.model import K8sObject
from shipcard.check.rules import load_rules
from shipcard.check.rules.kube import normalise, prepare, without_nulls
from tests.check.rule_examples import example_objects
from tests.conftest import run_cli

RULES = load_rules()

# The issue's example: a blank securityContext, blank requests and limits, a blank pod-level seccompProfile.
BLANK_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    seccompProfile:
  containers:
    - name: web
      image: ghcr.io/example/web:1.0.0
      securityContext:
      resources: {requests: , limits: }
"""


def pod(spec: dict[str, object]) -> K8sObject:
    return K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": spec}, "pod.yaml")


def test_without_nulls_drops_null_keys_at_any_depth_and_keeps_list_items() -> None:
    value = {"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None, "g": 0}], "h": {}}
    assert without_nulls(value) == {"b": {"d": 1}, "e": [None, {"g": 0}], "h": {}}
    assert value == {"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None, "g": 0}], "h": {}}


def test_without_nulls_returns_the_value_itself_when_nothing_is_null() -> None:
    value = {"b": {"d": 1}, "e": [{"g": [1, 2]}], "s": "", "f": False}
    assert without_nulls(value) is value


def test_normalise_leaves_the_object_alone_and_keeps_file_and_document() -> None:
    [obj], _ = example_objects(BLANK_POD)
    normalised = normalise(obj)
    assert obj.data["spec"]["containers"][0]["securityContext"] is None
    assert normalised.data["spec"] == {"securityContext": {},
                                       "containers": [{"name": "web", "image": "ghcr.io/example/web:1.0.0",
                                                       "resources": {}}]}
    assert (normalised.file, normalised.document) == (obj.file, obj.document)
    clean = pod({"containers": [{"name": "web", "image": "x"}]})
    assert normalise(clean) is clean


def test_empty_mappings_are_kept_not_unset() -> None:
    spec = {"securityContext": {"seccompProfile": {}}, "containers": [{"name": "web", "image": "x", "resources": {}}]}
    assert normalise(pod(spec)).data["spec"] == spec


def test_the_service_account_alias_fills_in_service_account_name() -> None:
    containers = [{"name": "web", "image": "x"}]
    assert prepare(pod({"serviceAccount": "legacy", "containers": containers})).pod_spec == {
        "serviceAccount": "legacy", "serviceAccountName": "legacy", "containers": containers}
    both = {"serviceAccount": "old", "serviceAccountName": "web", "containers": containers}
    assert prepare(pod(both)).pod_spec == both
    deployment = K8sObject({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                            "spec": {"template": {"spec": {"serviceAccount": "web", "containers": containers}}}},
                           "d.yaml")
    assert prepare(deployment).pod_spec == {"serviceAccount": "web", "serviceAccountName": "web",
                                            "containers": containers}
    assert "serviceAccountName" not in deployment.data["spec"]["template"]["spec"]


def test_blank_values_fail_every_rule_the_issue_names_at_the_blank_line() -> None:
    objects, _ = example_objects(BLANK_POD)
    found = {(f.rule, f.line) for f in RULES.evaluate(objects)}
    named = {"run-as-root", "privilege-escalation", "capabilities-not-dropped", "seccomp-missing", "writable-root-fs",
             "cpu-request-missing", "memory-request-missing", "memory-limit-missing"}
    assert {(rule, line) for rule, line in found if rule in named} == {
        ("run-as-root", 11), ("privilege-escalation", 11), ("capabilities-not-dropped", 11),
        ("seccomp-missing", 11), ("writable-root-fs", 11),  # the blank `securityContext:` line
        ("cpu-request-missing", 9), ("memory-request-missing", 9),  # anyOf: the container
        ("memory-limit-missing", 12),  # the blank `limits:`
    }


def test_a_blank_pod_level_seccomp_profile_is_no_profile() -> None:
    text = BLANK_POD.replace("      securityContext:\n", "      securityContext:\n        runAsNonRoot: true\n")
    objects, _ = example_objects(text)
    assert [(f.rule, f.line) for f in RULES.only(["seccomp-missing"]).evaluate(objects)] == [("seccomp-missing", 11)]
    with_profile = text.replace("    seccompProfile:\n", "    seccompProfile: {type: RuntimeDefault}\n")
    objects, _ = example_objects(with_profile)
    assert RULES.only(["seccomp-missing"]).evaluate(objects) == []


def test_empty_documents_are_nothing(tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"
                        "  labels: {app.kubernetes.io/name: app}\n---\n", encoding="utf-8")
    result = run_cli("check", str(manifest), "--fail-on", "info", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("ok: no findings in 1 object from 1 input, Kubernetes ")


def test_standard_input_is_one_input_with_its_objects_counted_once(tmp_path: Path) -> None:
    text = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
                   "  labels: {app.kubernetes.io/name: c}\n" for i in range(3)) + "---\n"
    result = run_cli("check", "-", "--format", "json", cwd=tmp_path, input=text)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["summary"]["objects"], report["summary"]["inputs"], report["inputs"]) == (3, 1, ["<stdin>"])
    text_result = run_cli("check", "-", cwd=tmp_path, input=text)
    assert text_result.output.splitlines()[-1].startswith("ok: no findings in 3 objects from 1 input,")
