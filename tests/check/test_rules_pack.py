"""Issue 3, policy pack: organisation policies, real third-party manifests, shipcard's own output, packaging."""

from __future__ import annotations

import re
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

import shipcard.resources
from shipcard.card.load import load_card
from shipcard.check.model import K8sObject
from shipcard.check.rules import PolicyError, builtin_policy_dir, load_rules
from shipcard.errors import InputError
from shipcard.k8s.objects import environment_objects
from shipcard.render import card_files
from shipcard.settings import RepoSettings
from shipcard.writers.argocd import project_files
from shipcard.writers.chart import chart_files
from shipcard.yamlio.dump import dump
from shipcard.yamlio.read import load_documents, load_plain, read_text
from tests.check.rule_examples import example_objects, run_example
from tests.conftest import ROOT, example_cards

RULES = load_rules()
CORPUS = ROOT.parent / "shared" / "corpus" / "online-boutique.yaml"

ORG_RULE = """\
id: team-label-missing
severity: error
category: organisation
title: Workload has no team label
rationale: Every workload must name the team that is paged for it.
fix: Add the `example.com/team` label to the object.
target: object
kinds: [Deployment, StatefulSet, CronJob]
schema:
  required: [metadata]
  properties:
    metadata:
      required: [labels]
      properties:
        labels:
          required: [example.com/team]
message: '{kind} "{name}" has no example.com/team label'
examples:
  pass:
    - |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        labels: {example.com/team: storefront}
      spec:
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
              - name: web
                image: ghcr.io/example/web:1.0.0
  fail:
    - |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: web}
          spec:
            containers:
              - name: web
                image: ghcr.io/example/web:1.0.0
"""

ORG_PYTHON_RULE = '''\
"""At most one Ingress per host.

```yaml pass
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: a
spec:
  rules:
    - host: a.example.com
```

```yaml fail
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: a
spec:
  rules:
    - host: shop.example.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: b
spec:
  rules:
    - host: shop.example.com
```
"""

from shipcard.rules import finding

ID = "ingress-host-shared"
SEVERITY = "warning"
CATEGORY = "organisation"
TITLE = "Two Ingresses claim one host"
RATIONALE = "Controllers merge or pick one of them unpredictably."
FIX = "Serve each host from one Ingress."


def check(objects):
    seen = {}
    for obj in objects:
        if obj.kind != "Ingress":
            continue
        for i, rule in enumerate(obj.data.get("spec", {}).get("rules", [])):
            host = rule.get("host")
            if host in seen:
                yield finding(obj, ("spec", "rules", i, "host"), f"host {host} is also served by {seen[host]}")
            seen.setdefault(host, obj.ref)
'''


def objects_of(path: Path) -> list[K8sObject]:
    return [K8sObject(d.data, str(path), d) for d in load_documents(read_text(path), str(path))
            if isinstance(d.data, dict)]


# --------------------------------------------------------------------------- organisation policies


def test_an_organisation_policy_dir_is_loaded_like_the_built_in_pack(tmp_path: Path) -> None:
    org = tmp_path / "org-policies"
    (org / "organisation").mkdir(parents=True)
    (org / "organisation" / "team-label-missing.yaml").write_text(ORG_RULE)
    (org / "ingress_host_shared.py").write_text(ORG_PYTHON_RULE)
    (org / "README.md").write_text("not a rule")
    rules = load_rules([org])
    assert len(rules) == len(RULES) + 2
    for rule_id in ("team-label-missing", "ingress-host-shared"):
        info = rules.get(rule_id)
        assert info is not None and info.category == "organisation"
        for text in info.pass_examples:
            assert not run_example(rules, text, rule_id)
        for text in info.fail_examples:
            found = run_example(rules, text, rule_id)
            assert found and all(f.line > 0 for f in found)
    assert rules.get("team-label-missing").severity == "error"  # type: ignore[union-attr]
    assert rules.get("team-label-missing").source.endswith("organisation/team-label-missing.yaml")  # type: ignore[union-attr]


def test_the_public_rule_surface_is_exactly_what_the_docs_name() -> None:
    import shipcard.rules

    assert shipcard.rules.__all__ == ["Context", "Finding", "K8sObject", "Prepared", "as_dict", "as_list", "dig",
                                      "finding", "selector_matches"]
    writing = (ROOT / "docs" / "rules.md").read_text().split("## Writing rules", 1)[1].split("\n## ", 1)[0]
    assert "Import only from `shipcard.rules`" in writing
    for name in shipcard.rules.__all__:
        assert f"`{name}`" in writing, name
        assert getattr(shipcard.rules, name) is not None


def test_an_organisation_rule_cannot_reuse_a_built_in_id(tmp_path: Path) -> None:
    (tmp_path / "run-as-root.yaml").write_text(ORG_RULE.replace("team-label-missing", "run-as-root"))
    with pytest.raises(PolicyError, match="run-as-root.*defined twice"):
        load_rules([tmp_path])


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("severity: error", "severity: fatal"), r":2:1: severity: must be error, warning or info"),
    (lambda t: t.replace("target: object", "target: containers"), r"target: must be one of"),
    (lambda t: t.replace("id: team-label-missing", "id: other-name"), r"id: must equal the file name"),
    (lambda t: t.replace("fix:", "fixx:"), r"fixx: unknown key"),
    (lambda t: t.replace("required: [example.com/team]", "required: 12"), r"schema: invalid JSON Schema"),
    (lambda t: t.replace("  fail:", "  failing:"), r"examples: must have exactly `pass` and `fail`"),
    (lambda t: t + "  - [", r"invalid policy file: .*team-label-missing.yaml:\d+"),
])
def test_a_broken_policy_file_is_a_located_usage_error(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "team-label-missing.yaml").write_text(edit(ORG_RULE))
    with pytest.raises(PolicyError, match=message) as info:
        load_rules([tmp_path])
    assert info.value.exit_code == 2
    assert "team-label-missing.yaml" in str(info.value)


def test_a_missing_policy_dir_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_rules([tmp_path / "nope"])


def test_a_python_rule_without_examples_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(ORG_PYTHON_RULE.replace("```yaml fail", "```yaml"))
    with pytest.raises(PolicyError, match="fail example"):
        load_rules([tmp_path])


def test_a_crashing_organisation_rule_is_reported_and_does_not_hide_other_findings(tmp_path: Path) -> None:
    (tmp_path / "crash.py").write_text(ORG_PYTHON_RULE.replace("seen = {}", "seen = {}\n    1 / 0"))
    rules = load_rules([tmp_path])
    text = RULES.get("privileged-container").fail_examples[0]  # type: ignore[union-attr]
    findings = run_example(rules, text)
    crash = [f for f in findings if f.rule == "ingress-host-shared"]
    assert len(crash) == 1 and crash[0].severity == "error" and "ZeroDivisionError" in crash[0].message
    assert any(f.rule == "privileged-container" for f in findings)


# --------------------------------------------------------------------------- real manifests


def test_online_boutique_findings_are_real_and_located() -> None:
    objects = objects_of(CORPUS)
    assert len(objects) == 35
    findings = RULES.evaluate(objects)
    lines = CORPUS.read_text().splitlines()
    by_rule = Counter(f.rule for f in findings)

    unpinned = [f for f in findings if f.rule == "image-not-pinned"]
    assert len(unpinned) == 12  # one container per Deployment, every image a bare tag
    for f in unpinned:
        assert f.file == str(CORPUS) and f.line > 0
        assert lines[f.line - 1].strip().startswith("image:"), lines[f.line - 1]
        assert f.container and f.container in f.message

    # Really wrong there: no seccomp profile, a public LoadBalancer, API tokens mounted, a container without
    # resources, single replicas, no NetworkPolicy.
    for rule_id in ("seccomp-missing", "service-open-to-world", "service-account-token-automount",
                    "memory-limit-missing", "single-replica", "pods-without-networkpolicy"):
        assert by_rule[rule_id] > 0, rule_id
    open_lb = next(f for f in findings if f.rule == "service-open-to-world")
    assert "frontend-external" in open_lb.object_ref
    # And what is right there is not reported.
    for rule_id in ("privileged-container", "run-as-root", "privilege-escalation", "capabilities-not-dropped",
                    "writable-root-fs", "image-latest-or-untagged", "plaintext-secret", "selector-mismatch",
                    "service-selects-nothing", "duplicate-object", "probe-port-unknown", "target-port-unknown"):
        assert by_rule[rule_id] == 0, (rule_id, [f.message for f in findings if f.rule == rule_id])
    assert all(f.line > 0 for f in findings)


def test_pack_speed_over_the_bench_corpus_shape() -> None:
    """Not a timing gate (see bench/); a guard against accidental quadratic rules: 20 copies, well under 2 s."""
    text = CORPUS.read_text()
    objects: list[K8sObject] = []
    for i in range(20):
        copy = re.sub(r"name: ([a-z]*)", rf"name: \1-{i}", text)
        objects += [K8sObject(d.data, f"m{i}.yaml", d) for d in load_documents(copy, f"m{i}.yaml")
                    if isinstance(d.data, dict)]
    start = time.perf_counter()
    RULES.evaluate(objects)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- shipcard's own output


def rendered_cards() -> list:  # type: ignore[type-arg]
    cards = []
    for path in example_cards():
        try:
            cards.append(load_card(path))
        except InputError as exc:  # a card format not rendered yet (helmfile): nothing to check
            assert "not yet supported" in str(exc)
    assert cards
    return cards


def test_shipcards_rendered_trees_pass_without_an_error_finding(tmp_path: Path) -> None:
    objects: list[K8sObject] = []
    cards = rendered_cards()
    files = {rel: text for card in cards for rel, text in card_files(card).items()}
    files.update(project_files([load_plain(text) for rel, text in files.items() if rel.startswith("argocd/")],
                               RepoSettings()))
    for rel, text in {**files, **chart_files()}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
        if rel.startswith("argocd/"):
            objects += [K8sObject(d.data, rel, d) for d in load_documents(text, rel)]
    for card in cards:
        for env in card.environments:
            overlay = f"{card.gitops.path}/overlays/{env.name}"
            built = "---\n".join(dump(o) for o in environment_objects(env))
            objects += [K8sObject(d.data, f"{overlay} (built)", d, origin=f"kubectl kustomize {overlay}")
                        for d in load_documents(built, f"{overlay} (built)")]
    kinds = {o.kind for o in objects}
    assert {"Deployment", "CronJob", "Job", "Application", "NetworkPolicy", "HorizontalPodAutoscaler"} <= kinds
    findings = RULES.evaluate(objects, root=tmp_path)
    errors = [f"{f.rule} {f.object_ref}: {f.message}" for f in findings if f.severity == "error"]
    assert not errors
    # The Applications' source paths were really checked against the rendered tree.
    assert (tmp_path / "apps").is_dir() and not [f for f in findings if f.rule == "argocd-source-path-missing"]


# --------------------------------------------------------------------------- behaviour details


def test_secret_values_are_never_echoed() -> None:
    for rule_id, secret in (("plaintext-secret", "aHVudGVyMg=="), ("plaintext-secret", "not-a-real-token"),
                            ("secret-literal-in-env", "sk_live_not_a_real_key"),
                            ("secret-in-configmap", "3f9d8e7c6b5a4f3e2d1c0b9a8f7e6d5c"),
                            ("secret-in-configmap", "hunter2hunter2")):
        info = RULES.get(rule_id)
        assert info is not None
        texts = [t for t in info.fail_examples if secret in t]
        assert texts, (rule_id, secret)
        for f in RULES.evaluate(example_objects(texts[0])[0]):
            assert secret not in f.message and secret not in f.help, f.rule


def test_container_findings_name_the_container_and_inherited_settings_point_at_the_pod_level() -> None:
    text = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              securityContext:
                runAsUser: 0
                seccompProfile: {type: RuntimeDefault}
              containers:
                - name: web
                  image: ghcr.io/example/web:1.0.0
                - name: sidecar
                  image: ghcr.io/example/proxy:2.0.0
                  securityContext:
                    runAsUser: 1000
                    seccompProfile: {type: Unconfined}
        """)
    findings = RULES.evaluate(example_objects(text)[0])
    root = [f for f in findings if f.rule == "run-as-root"]
    assert [(f.container, f.line, f.path[-2:]) for f in root] == [("web", 13, ("securityContext", "runAsUser"))]
    seccomp = [f for f in findings if f.rule == "seccomp-missing"]
    assert [(f.container, f.line) for f in seccomp] == [("sidecar", 22)]


def test_container_rules_see_every_pod_bearing_kind() -> None:
    pod = {"containers": [{"name": "c", "image": "nginx"}]}
    shapes = {
        "Pod": {"spec": pod},
        "Deployment": {"spec": {"template": {"spec": pod}}},
        "StatefulSet": {"spec": {"template": {"spec": pod}}},
        "DaemonSet": {"spec": {"template": {"spec": pod}}},
        "ReplicaSet": {"spec": {"template": {"spec": pod}}},
        "ReplicationController": {"spec": {"template": {"spec": pod}}},
        "Job": {"spec": {"template": {"spec": pod}}},
        "CronJob": {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}},
    }
    objects = [K8sObject({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, **body}, "x.yaml")
               for kind, body in shapes.items()]
    flagged = {f.object_ref.split("/")[0] for f in RULES.evaluate(objects) if f.rule == "image-latest-or-untagged"}
    assert flagged == set(shapes)


def test_source_paths_are_checked_only_for_this_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text('[remote "origin"]\n\turl = git@github.com:example/gitops.git\n')
    text = RULES.get("argocd-source-path-missing").fail_examples[0]  # type: ignore[union-attr]
    objects, _ = example_objects(text)
    assert [f.rule for f in RULES.evaluate(objects, root=tmp_path) if f.rule == "argocd-source-path-missing"]
    other = example_objects(text.replace("github.com/example/gitops.git", "github.com/other/repo"))[0]
    assert not [f for f in RULES.evaluate(other, root=tmp_path) if f.rule == "argocd-source-path-missing"]
    # Without a root the rule cannot know and stays silent.
    assert not [f for f in RULES.evaluate(objects) if f.rule == "argocd-source-path-missing"]


def test_cronjob_on_several_clusters_follows_kustomize_resources_on_disk(tmp_path: Path) -> None:
    base = tmp_path / "apps/billing/base"
    base.mkdir(parents=True)
    (base / "cronjob.yaml").write_text("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n"
                                       "spec:\n  schedule: '0 1 * * *'\n")
    (base / "kustomization.yaml").write_text("resources: [cronjob.yaml]\n")
    overlay = tmp_path / "apps/billing/overlays/prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: [../../base]\n")
    text = RULES.get("cronjob-on-several-clusters").fail_examples[0]  # type: ignore[union-attr]
    apps = [o for o in example_objects(text)[0] if o.kind == "Application"]
    found = [f for f in RULES.evaluate(apps, root=tmp_path) if f.rule == "cronjob-on-several-clusters"]
    assert len(found) == 2 and "CronJob/nightly" in found[0].message
    (base / "cronjob.yaml").write_text((base / "cronjob.yaml").read_text() + "  suspend: true\n")
    assert not [f for f in RULES.evaluate(apps, root=tmp_path) if f.rule == "cronjob-on-several-clusters"]


def test_findings_carry_the_objects_origin() -> None:
    text = RULES.get("privileged-container").fail_examples[0]  # type: ignore[union-attr]
    objects, _ = example_objects(text)
    objects[0].origin = "kubectl kustomize apps/agent/overlays/prod"
    found = [f for f in RULES.evaluate(objects) if f.rule == "privileged-container"]
    assert found and found[0].origin == objects[0].origin


def test_rule_subsets() -> None:
    assert [i.id for i in RULES.only(["run-as-root", "nope"]).infos()] == ["run-as-root"]
    assert "run-as-root" not in RULES.without(["run-as-root"])
    assert len(RULES.without(["run-as-root"])) == len(RULES) - 1


# --------------------------------------------------------------------------- packaging


def test_the_built_in_pack_is_found_in_a_wheel_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert builtin_policy_dir().resolve() == ROOT / "policies"
    packaged = tmp_path / "site-packages" / "shipcard" / "_data"
    (packaged / "policies").mkdir(parents=True)
    for path in (ROOT / "policies").rglob("*.yaml"):
        target = packaged / "policies" / path.relative_to(ROOT / "policies")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    monkeypatch.setattr(shipcard.resources, "DATA_DIR", packaged)
    assert builtin_policy_dir() == packaged / "policies"
    rules = load_rules()
    assert len(rules) == len(RULES)
    assert rules.get("run-as-root").source == "policies/security/run-as-root.yaml"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- robustness

KEYS = ["spec", "template", "jobTemplate", "metadata", "labels", "annotations", "name", "namespace", "containers",
        "initContainers", "securityContext", "ports", "containerPort", "targetPort", "port", "selector",
        "matchLabels", "matchExpressions", "env", "value", "image", "resources", "requests", "limits", "volumes",
        "hostPath", "path", "rules", "http", "paths", "backend", "service", "scaleTargetRef", "kind", "replicas",
        "minReplicas", "source", "sources", "destination", "server", "generators", "list", "elements", "data",
        "podSelector", "ingress", "from", "ipBlock", "cidr", "verbs", "resources", "readinessProbe", "httpGet",
        "maxUnavailable", "minAvailable", "roleRef", "capabilities", "add", "drop", "suspend"]
KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "Ingress", "ConfigMap",
         "Secret", "NetworkPolicy", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Role", "ClusterRoleBinding",
         "Application", "ApplicationSet", "ServiceAccount"]


def _values():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from(
        ["", "*", "0", "0%", "100%", "http", "default", "ALL", "latest", "nginx", "a:1", "{{x}}", "/var/run/docker.sock",
         "0.0.0.0/0", "PreSync", "NodePort", "LoadBalancer", "secrets", "cluster-admin", "app"]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=25)


def test_malformed_objects_never_crash_a_rule() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(KINDS), st.dictionaries(st.sampled_from(KEYS), _values(), max_size=5)),
                    min_size=1, max_size=4))
    def run(items: list[tuple[str, dict]]) -> None:  # type: ignore[type-arg]
        objects = [K8sObject({"apiVersion": "argoproj.io/v1alpha1" if kind.startswith("Application") else "v1",
                              **body, "kind": kind}, "fuzz.yaml") for kind, body in items]
        for f in RULES.evaluate(objects, root=ROOT):
            assert not f.message.startswith(f"rule {f.rule} failed"), f.message

    run()
