"""Issue 14, items 1 and 2: migrations work on the first sync, and `hook-dependency-order` says so.

Argo CD cannot run here (no cluster, no application controller), so its documented sync order is
encoded instead and checked on what Argo CD would receive: the objects `kubectl kustomize` builds
from every example overlay and `helm template` renders for every helm release, each example card
rendered in both formats. The order, from Argo CD's docs and gitops-engine's source:

- https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/: phase (PreSync, Sync, PostSync),
  then wave (`argocd.argoproj.io/sync-wave`, default 0, lower first), then kind, then name; the next
  wave starts only when every resource of the current one is synced and healthy;
- https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/: a Sync hook runs with the
  manifests of its wave, a failed hook fails the sync, `BeforeHookCreation` recreates it every sync;
- gitops-engine `pkg/sync/sync_tasks.go` (`syncPhaseOrder`, `kindOrder`, `Less`) and
  `pkg/sync/sync_context.go` (one wave applied, kind group by kind group, without waiting for health
  inside it); the encoding is `shipcard.check.rules.cross.hook_dependency_order` (`sync_step`), the
  rule's own model, whose documented facts the first tests pin.

What must hold: every object a hook Job needs (its ServiceAccount, the ConfigMaps and Secrets of
envFrom, env, volumes and imagePullSecrets; a Secret counts as provided by the ExternalSecret whose
target it is) is in the set and in a strictly earlier wave than the Job, so Argo CD has applied it
and seen it healthy (for the ExternalSecret: ESO has written the Secret, Argo CD's built-in
ExternalSecret health check) before the Job starts; and the Job is in a strictly earlier wave than
every Deployment and StatefulSet, so the new code rolls only after the migration succeeded.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from shipcard.check.model import K8sObject
from shipcard.check.rules import load_rules
from shipcard.check.rules.cross.hook_dependency_order import (
    ID,
    KIND_ORDER,
    PHASES,
    Need,
    pod_needs,
    secret_makers,
    sync_step,
)
from shipcard.check.rules.kube import Context, prepare
from shipcard.writers.chart import CHART_DIR
from shipcard.yamlio.read import load_plain_all
from tests.conftest import example_cards, run_cli

FORMATS = ("kustomize", "helmfile")
RULES = load_rules().only([ID])


def obj(kind: str, name: str, annotations: dict[str, str] | None = None, **body: object) -> K8sObject:
    metadata: dict[str, object] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return K8sObject({"apiVersion": "v1", "kind": kind, "metadata": metadata, **body}, "test.yaml")


# --------------------------------------------------------------------------- the encoded order


def test_argo_cd_orders_by_phase_then_wave_then_kind_then_name() -> None:
    objects = [
        obj("Deployment", "web"),
        obj("ExternalSecret", "web"),
        obj("Job", "migrate", {"argocd.argoproj.io/hook": "Sync"}),
        obj("ConfigMap", "b-env"),
        obj("ConfigMap", "a-env"),
        obj("Service", "late", {"argocd.argoproj.io/sync-wave": "1"}),
        obj("Secret", "early", {"argocd.argoproj.io/sync-wave": "-3"}),
        obj("Pod", "smoke", {"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/sync-wave": "-9"}),
        obj("Job", "seed", {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "5"}),
        obj("Namespace", "web"),
    ]
    ordered = sorted(objects, key=lambda o: sync_step(o) or pytest.fail(o.name))
    assert [o.ref for o in ordered] == [
        "Job/seed", "Secret/early", "Namespace/web", "ConfigMap/a-env", "ConfigMap/b-env", "Deployment/web",
        "Job/migrate", "ExternalSecret/web", "Service/late", "Pod/smoke"]


def test_the_kind_order_is_gitops_engines() -> None:
    """sync_tasks.go's list: namespaces first, workloads late, Deployments before Jobs, custom resources last."""
    assert len(KIND_ORDER) == 35 and KIND_ORDER[0] == "Namespace" and KIND_ORDER[-1] == "APIService"
    rank = KIND_ORDER.index
    assert rank("NetworkPolicy") < rank("ServiceAccount") < rank("Secret") < rank("ConfigMap") < rank("Service")
    assert rank("Pod") < rank("Deployment") < rank("HorizontalPodAutoscaler") < rank("StatefulSet") < rank("Job")
    assert "ExternalSecret" not in KIND_ORDER
    assert PHASES == ("PreSync", "Sync", "PostSync", "SyncFail")


@pytest.mark.parametrize(("annotations", "expected"), [
    ({}, ("Sync", 0, False)),
    ({"argocd.argoproj.io/sync-wave": "-2"}, ("Sync", -2, False)),
    ({"argocd.argoproj.io/sync-wave": "+3"}, ("Sync", 3, False)),
    ({"argocd.argoproj.io/sync-wave": "two"}, ("Sync", 0, False)),  # not a number: Argo CD's default
    ({"argocd.argoproj.io/hook": "PostSync,PreSync"}, ("PreSync", 0, True)),  # runs first in its earliest phase
    ({"helm.sh/hook": "pre-upgrade", "helm.sh/hook-weight": "-5"}, ("PreSync", -5, True)),
    ({"helm.sh/hook": "post-install", "argocd.argoproj.io/hook": "Sync"}, ("Sync", 0, True)),  # Argo CD's wins
    ({"argocd.argoproj.io/hook": "Skip"}, None),  # never applied
    ({"argocd.argoproj.io/hook": "PostDelete"}, None),  # runs on deletion, not in a sync
])
def test_phase_and_wave_are_read_as_argo_cd_reads_them(annotations: dict[str, str],
                                                       expected: tuple[str, int, bool] | None) -> None:
    step = sync_step(obj("Job", "x", annotations))
    assert (None if step is None else (PHASES[step.phase], step.wave, step.hook)) == expected


def test_a_pods_needs_are_every_reference_it_cannot_start_without() -> None:
    job = prepare(K8sObject({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {
        "template": {"spec": {
            "serviceAccountName": "sa",
            "imagePullSecrets": [{"name": "pull"}],
            "volumes": [{"name": "a", "configMap": {"name": "cm-vol"}},
                        {"name": "b", "secret": {"secretName": "s-vol"}},
                        {"name": "c", "secret": {"secretName": "maybe", "optional": True}},
                        {"name": "d", "projected": {"sources": [{"configMap": {"name": "cm-proj"}},
                                                                {"secret": {"name": "s-proj"}}]}}],
            "initContainers": [{"name": "i", "image": "x", "envFrom": [{"secretRef": {"name": "s-init"}}]}],
            "containers": [{"name": "c", "image": "x",
                            "envFrom": [{"configMapRef": {"name": "cm-from"}},
                                        {"configMapRef": {"name": "cm-opt", "optional": True}}],
                            "env": [{"name": "A", "value": "1"},
                                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "b"}}},
                                    {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s-key", "key": "c"}}}]}],
            "ephemeralContainers": [{"name": "e", "image": "x", "envFrom": [{"secretRef": {"name": "s-eph"}}]}],
        }}}}, "job.yaml"))
    pod = ("spec", "template", "spec")
    assert pod_needs(job) == [
        Need("ServiceAccount", "sa", (*pod, "serviceAccountName")),
        Need("Secret", "pull", (*pod, "imagePullSecrets", 0, "name")),
        Need("ConfigMap", "cm-vol", (*pod, "volumes", 0, "configMap", "name")),
        Need("Secret", "s-vol", (*pod, "volumes", 1, "secret", "secretName")),
        Need("ConfigMap", "cm-proj", (*pod, "volumes", 3, "projected", "sources", 0, "configMap", "name")),
        Need("Secret", "s-proj", (*pod, "volumes", 3, "projected", "sources", 1, "secret", "name")),
        Need("Secret", "s-init", (*pod, "initContainers", 0, "envFrom", 0, "secretRef", "name")),
        Need("ConfigMap", "cm-from", (*pod, "containers", 0, "envFrom", 0, "configMapRef", "name")),
        Need("ConfigMap", "cm-key", (*pod, "containers", 0, "env", 1, "valueFrom", "configMapKeyRef", "name")),
        Need("Secret", "s-key", (*pod, "containers", 0, "env", 2, "valueFrom", "secretKeyRef", "name")),
    ]


# --------------------------------------------------------------------------- the built objects


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example card rendered in each format (its own one and the other)."""
    result = {}
    for fmt in FORMATS:
        out = tmp_path_factory.mktemp(fmt)
        rendered = run_cli("render", *map(str, example_cards()), "--format", fmt, "--out", str(out))
        assert rendered.exit_code == 0, rendered.output
        result[fmt] = out
    return result


@cache
def _built(tool: str, fmt: str, tree: Path, card_path: Path, env_name: str) -> tuple[dict, ...]:
    card = load_card(card_path)
    env = next(e for e in card.environments if e.name == env_name)
    if fmt == "kustomize":
        command = [tool, "kustomize", str(tree / card.gitops.path / "overlays" / env.name)]
    else:
        values = tree / card.gitops.path / "values"
        command = [tool, "template", card.name, str(tree / CHART_DIR), "--namespace", env.namespace,
                   "-f", str(values / "common.yaml"), "-f", str(values / f"{env.name}.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(load_plain_all(result.stdout))


def built_sets(trees: dict[str, Path], kubectl: str, helm: str) -> dict[str, list[K8sObject]]:
    """`<format> <card>/<env>` → the objects Argo CD would sync for that Application."""
    sets = {}
    for fmt in FORMATS:
        tool = kubectl if fmt == "kustomize" else helm
        for card_path in example_cards():
            for env in load_card(card_path).environments:
                label = f"{fmt} {card_path.name.removesuffix('.service.yaml')}/{env.name}"
                sets[label] = [K8sObject(data, label) for data in _built(tool, fmt, trees[fmt], card_path, env.name)]
    return sets


def providers(context: Context) -> dict[tuple[str, str], K8sObject]:
    """(kind, name) → the object that provides it; a Secret also by the ExternalSecret that writes it."""
    found = {(p.kind, p.obj.name): p.obj for p in context.prepared or []}
    for (_, secret), maker in secret_makers(context).items():
        found.setdefault(("Secret", secret), maker.obj)
    return found


@pytest.mark.kubectl
@pytest.mark.helm
def test_migrations_wait_for_what_they_need_and_deployments_wait_for_migrations(
        trees: dict[str, Path], kubectl: str, helm: str) -> None:
    hooks = 0
    for label, objects in built_sets(trees, kubectl, helm).items():
        context = Context(objects)
        provided = providers(context)
        workloads = [(w.obj.ref, sync_step(w.obj)) for w in context.of_kind("Deployment", "StatefulSet")]
        for hook in context.of_kind("Job", "Pod"):
            step = sync_step(hook.obj)
            assert step is not None
            if not step.hook:
                continue
            hooks += 1
            assert hook.obj.annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation", label
            needs = pod_needs(hook)
            assert {n.kind for n in needs} >= {"ServiceAccount"}, label
            for need in needs:
                provider = provided.get((need.kind, need.name))
                assert provider is not None, f"{label}: {hook.obj.ref} needs {need.kind}/{need.name}, not in the set"
                before = sync_step(provider)
                assert before is not None and before.wave_step < step.wave_step, \
                    f"{label}: {provider.ref} is not in a wave before {hook.obj.ref}"
            for ref, workload in workloads:
                assert workload is not None and step.wave_step < workload.wave_step, \
                    f"{label}: {ref} is not in a wave after {hook.obj.ref}"
    assert hooks == 6  # billing-api's migration: three environments, two formats


@pytest.mark.kubectl
@pytest.mark.helm
def test_the_migration_of_billing_api_needs_its_account_config_and_secret(
        trees: dict[str, Path], kubectl: str, helm: str) -> None:
    for fmt in FORMATS:
        objects = built_sets(trees, kubectl, helm)[f"{fmt} billing-api/prod"]
        job = prepare(next(o for o in objects if o.kind == "Job"))
        assert job.obj.annotations == {"argocd.argoproj.io/hook": "Sync",
                                       "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                                       "argocd.argoproj.io/sync-wave": "-1"}
        assert {(n.kind, n.name) for n in pod_needs(job)} == {
            ("ServiceAccount", "billing-api"), ("ConfigMap", "billing-api-env"), ("Secret", "billing-api-secrets")}
        waves = {o.ref: o.annotations.get("argocd.argoproj.io/sync-wave") for o in objects}
        assert waves == {
            "ServiceAccount/billing/billing-api": "-2", "ConfigMap/billing/billing-api-env": "-2",
            "ExternalSecret/billing/billing-api": "-2", "NetworkPolicy/billing/billing-api-default-deny": "-2",
            "NetworkPolicy/billing/billing-api-allow-ports": "-2", "Job/billing/billing-api-migrate": "-1",
            "Service/billing/billing-api": None, "Deployment/billing/billing-api": None,
            "HorizontalPodAutoscaler/billing/billing-api": None, "PodDisruptionBudget/billing/billing-api": None,
            "Ingress/billing/billing-api": None, "CronJob/billing/billing-api-nightly-invoices": None,
            "CronJob/billing/billing-api-data-patch": None}, fmt


# --------------------------------------------------------------------------- the rule on the output


@pytest.mark.kubectl
@pytest.mark.helm
def test_the_rule_passes_on_every_built_set_of_both_formats(trees: dict[str, Path], kubectl: str, helm: str) -> None:
    for label, objects in built_sets(trees, kubectl, helm).items():
        assert RULES.evaluate(objects) == [], label


def old_shape(objects: list[K8sObject]) -> list[K8sObject]:
    """The objects as shipcard rendered them before: a PreSync migration, no waves."""
    result = []
    for o in objects:
        data = json.loads(json.dumps(o.data))
        annotations = data["metadata"].get("annotations", {})
        annotations.pop("argocd.argoproj.io/sync-wave", None)
        if "argocd.argoproj.io/hook" in annotations:
            annotations["argocd.argoproj.io/hook"] = "PreSync"
        result.append(K8sObject(data, o.file))
    return result


@pytest.mark.kubectl
@pytest.mark.helm
def test_the_rule_fires_on_the_old_output(trees: dict[str, Path], kubectl: str, helm: str) -> None:
    for fmt in FORMATS:
        findings = RULES.evaluate(old_shape(built_sets(trees, kubectl, helm)[f"{fmt} billing-api/prod"]))
        assert [(f.rule, f.severity, f.message) for f in findings] == [
            (ID, "error", 'Job/billing/billing-api-migrate (PreSync hook, wave 0) needs ServiceAccount "billing-api", '
                          "which Argo CD applies after it (Sync phase, wave 0)"),
            (ID, "error", 'Job/billing/billing-api-migrate (PreSync hook, wave 0) needs ConfigMap "billing-api-env", '
                          "which Argo CD applies after it (Sync phase, wave 0)"),
            (ID, "error", 'Job/billing/billing-api-migrate (PreSync hook, wave 0) needs Secret "billing-api-secrets", '
                          'which ExternalSecret "billing-api" writes only once it is synced (Sync phase, wave 0): '
                          "it must be in an earlier wave"),
        ], fmt


def test_a_hook_after_its_config_in_the_same_wave_passes_but_not_after_its_external_secret() -> None:
    """Inside one wave Argo CD applies kind after kind: a ConfigMap exists when the Job is created, the
    Secret of an ExternalSecret (a custom resource, applied last, synced by ESO later) does not."""
    config = obj("ConfigMap", "env", {"argocd.argoproj.io/hook": "PreSync"})
    external = K8sObject({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                          "metadata": {"name": "es", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
                          "spec": {"target": {"name": "creds"}}}, "test.yaml")
    job = K8sObject({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}}, "spec": {"template": {"spec": {
            "containers": [{"name": "m", "image": "x", "envFrom": [
                {"configMapRef": {"name": "env"}}, {"secretRef": {"name": "creds"}}]}]}}}}, "test.yaml")
    assert [f.message for f in RULES.evaluate([config, external, job])] == [
        'Job/migrate (PreSync hook, wave 0) needs Secret "creds", which ExternalSecret "es" writes only once it is '
        "synced (PreSync hook, wave 0): it must be in an earlier wave"]


@pytest.mark.kubectl
@pytest.mark.helm
def test_check_of_both_formats_trees_reports_no_hook_out_of_order(trees: dict[str, Path]) -> None:
    """The real `shipcard check` over each rendered tree (overlays built, helm releases templated)."""
    for fmt, tree in trees.items():
        result = run_cli("check", str(tree), "--format", "json")
        report = json.loads(result.stdout)
        assert any("billing-api" in i for i in report["inputs"]), report["inputs"]
        assert [f for f in report["findings"] if f["rule"] == ID] == [], fmt
