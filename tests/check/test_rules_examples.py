"""Issue 3, policy pack: every rule's documented PASS and FAIL examples are executed, and the pack's metadata
is complete. The examples are the rules' documentation (`shipcard rules ID`, docs/rules.md)."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft7Validator

from shipcard.check.model import SEVERITY_ORDER
from shipcard.check.rules import DataRule, PythonRule, RuleSet, load_rules
from tests.check.rule_examples import example_objects, run_example

RULES = load_rules()

# The issue's list, minus what other layers of the checker own (deprecated-api, removed-api,
# generated-file-edited, card-invalid).
ISSUE_RULES = {
    "privileged-container", "privilege-escalation", "run-as-root", "writable-root-fs", "capabilities-not-dropped",
    "dangerous-capabilities", "seccomp-missing", "host-namespaces", "host-port", "host-path", "runtime-socket-mount",
    "service-account-token-automount", "default-service-account",
    "plaintext-secret", "secret-literal-in-env", "secret-in-configmap",
    "image-latest-or-untagged", "image-not-pinned",
    "cpu-request-missing", "memory-request-missing", "memory-limit-missing",
    "liveness-probe-missing", "readiness-probe-missing", "probe-port-unknown", "single-replica", "pdb-missing",
    "pdb-blocks-eviction", "hpa-target-missing", "replicas-with-hpa", "no-graceful-shutdown",
    "cronjob-concurrent-runs", "cronjob-deadline-missing", "cronjob-timezone-missing", "job-unbounded",
    "job-ttl-missing",
    "selector-mismatch", "service-selects-nothing", "ingress-backend-missing", "target-port-unknown",
    "networkpolicy-selects-nothing", "duplicate-env-var", "duplicate-object",
    "service-open-to-world", "networkpolicy-allows-world", "ingress-without-tls", "pods-without-networkpolicy",
    "cluster-admin-binding", "rbac-wildcard", "rbac-secrets-access",
    "recommended-labels-missing", "default-namespace", "naked-pod",
    "argocd-source-path-missing", "argocd-default-project", "argocd-unpinned-revision",
    "applicationset-deletion-unguarded", "presync-hook-without-delete-policy", "cronjob-on-several-clusters",
}


def examples(kind: str) -> list[pytest.param]:  # type: ignore[valid-type]
    params = []
    for rule in RULES:
        items = rule.info.pass_examples if kind == "pass" else rule.info.fail_examples
        for index, text in enumerate(items):
            params.append(pytest.param(rule.id, text, id=f"{rule.id}-{kind}{index + 1}"))
    return params


@pytest.mark.parametrize(("rule_id", "text"), examples("pass"))
def test_pass_example_yields_no_finding_of_its_rule(rule_id: str, text: str) -> None:
    findings = run_example(RULES, text, rule_id)
    assert not findings, [f"{f.line}: {f.message}" for f in findings]


@pytest.mark.parametrize(("rule_id", "text"), examples("fail"))
def test_fail_example_yields_a_located_finding_of_its_rule(rule_id: str, text: str) -> None:
    info = RULES.get(rule_id)
    assert info is not None
    findings = run_example(RULES, text, rule_id)
    assert findings, f"{rule_id}: the FAIL example produced no finding"
    lines = text.splitlines()
    for f in findings:
        assert f.severity == info.severity and f.help == info.fix
        assert f.message and "{" not in f.message, f.message  # every placeholder was filled
        assert f.object_ref and f.file
        # Every rule points at a field (or at least its object) of the example: a real line of it.
        assert 0 < f.line <= len(lines), (f.line, f.message)
        assert f.column > 0
        assert lines[f.line - 1].strip() and not lines[f.line - 1].lstrip().startswith(("#", "---"))


def test_fail_findings_point_at_the_offending_field() -> None:
    """Spot checks that the line is the field's own line, not just the object's first line."""
    expected = {
        "privileged-container": "privileged: true",
        "host-port": "hostPort: 80",
        "runtime-socket-mount": "path: /var/run/docker.sock",
        "dangerous-capabilities": "add: [NET_BIND_SERVICE, SYS_ADMIN]",
        "image-latest-or-untagged": "image: nginx",
        "image-not-pinned": "image: ghcr.io/example/web:1.0.0",
        "cluster-admin-binding": "name: cluster-admin",
        "argocd-default-project": "project: default",
        "replicas-with-hpa": "replicas: 3",
        "probe-port-unknown": "httpGet: {path: /ready, port: http}",
        "target-port-unknown": "targetPort: http",
        "secret-literal-in-env": "- name: STRIPE_API_KEY",
        "argocd-source-path-missing": "path: apps/web-frontend/overlays/prod",
    }
    for rule_id, needle in expected.items():
        info = RULES.get(rule_id)
        assert info is not None
        text = info.fail_examples[0]
        findings = run_example(RULES, text, rule_id)
        assert findings, rule_id
        line = text.splitlines()[findings[0].line - 1]
        assert needle in line, (rule_id, line)


def test_the_pack_has_at_least_40_rules_with_unique_ids_and_complete_metadata() -> None:
    infos = RULES.infos()
    assert len(infos) >= 40
    ids = [i.id for i in infos]
    assert len(ids) == len(set(ids))
    for info in infos:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", info.id)
        assert info.severity in SEVERITY_ORDER
        for field in ("title", "category", "rationale", "fix", "source"):
            assert getattr(info, field).strip(), (info.id, field)
        assert info.pass_examples and info.fail_examples, info.id
        assert RULES.get(info.id) is info
    assert RULES.get("no-such-rule") is None


def test_the_pack_covers_the_issue_list() -> None:
    assert {i.id for i in RULES.infos()} >= ISSUE_RULES, sorted(ISSUE_RULES - {i.id for i in RULES.infos()})


def test_both_kinds_of_rules_and_every_target_are_used() -> None:
    data = [r for r in RULES if isinstance(r, DataRule)]
    python = [r for r in RULES if isinstance(r, PythonRule)]
    assert len(data) >= 30 and len(python) >= 10
    assert {r.target for r in data} == {"object", "podSpec", "container", "jobSpec"}


@pytest.mark.parametrize("rule", [r for r in RULES if isinstance(r, DataRule)], ids=lambda r: r.id)
def test_data_rule_schema_is_valid_json_schema_and_file_is_where_its_id_says(rule: DataRule) -> None:
    Draft7Validator.check_schema(rule.schema)
    assert rule.info.source == f"policies/{rule.info.category}/{rule.id}.yaml"


@pytest.mark.parametrize(("rule_id", "text"), examples("pass") + examples("fail"))
def test_examples_are_complete_manifests(rule_id: str, text: str) -> None:
    objects, _ = example_objects(text)
    assert objects, rule_id
    for obj in objects:
        assert obj.api_version and obj.kind, rule_id
        if obj.kind != "Kustomization":
            assert obj.name, (rule_id, obj.kind)


def test_severities_follow_the_gate_policy() -> None:
    """Errors for what is always wrong (and shipcard always gets right); judgement calls are warnings."""
    severity = {i.id: i.severity for i in RULES.infos()}
    for rule_id in ("privileged-container", "run-as-root", "plaintext-secret", "secret-literal-in-env",
                    "image-latest-or-untagged", "replicas-with-hpa", "selector-mismatch", "duplicate-object",
                    "argocd-source-path-missing", "cluster-admin-binding"):
        assert severity[rule_id] == "error", rule_id
    for rule_id in ("image-not-pinned", "liveness-probe-missing", "single-replica", "pdb-missing",
                    "argocd-default-project"):
        assert severity[rule_id] == "warning", rule_id
    assert severity["argocd-unpinned-revision"] == "info"


def test_a_ruleset_refuses_two_rules_with_one_id() -> None:
    rules = list(RULES)
    with pytest.raises(Exception, match="defined twice"):
        RuleSet(rules + rules[:1])
