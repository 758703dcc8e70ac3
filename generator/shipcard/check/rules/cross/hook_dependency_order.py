'''An Argo CD hook Job or Pod needs an object that Argo CD applies after it.

Argo CD orders a sync by phase (PreSync, Sync, PostSync), then by wave
(`argocd.argoproj.io/sync-wave`, default 0), then by kind, then by name, and waits for
one wave to be healthy before it starts the next
([sync waves](https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/),
[resource hooks](https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/)).
A hook's pod needs its ServiceAccount, and the ConfigMaps and Secrets it reads through
`envFrom`, `env`, volumes and `imagePullSecrets` (references marked `optional` excepted).
Reported when such an object is applied in a later phase or wave than the hook, or in the
same wave but by kind order after it. A Secret that is not among the manifests counts as
made by the ExternalSecret whose target it is: that Secret exists only once the External
Secrets Operator has synced it, which Argo CD waits for (the ExternalSecret's health)
only between waves, so the ExternalSecret must be in an earlier wave than the hook.
Objects that are not among the checked manifests are not reported. Helm hooks count with
the phases Argo CD maps them to (`pre-install`, `pre-upgrade`: PreSync).

```yaml pass
apiVersion: v1
kind: ServiceAccount
metadata:
  name: billing
  annotations: {argocd.argoproj.io/sync-wave: "-2"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: billing-env
  annotations: {argocd.argoproj.io/sync-wave: "-2"}
data: {RAILS_ENV: production}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: billing
  annotations: {argocd.argoproj.io/sync-wave: "-2"}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: aws-secrets}
  target: {name: billing-secrets}
  data:
    - secretKey: DATABASE_URL
      remoteRef: {key: billing/prod, property: database_url}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: billing-migrate
  annotations:
    argocd.argoproj.io/hook: Sync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
    argocd.argoproj.io/sync-wave: "-1"
spec:
  template:
    spec:
      serviceAccountName: billing
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/billing:1.4.2
          command: [bundle, exec, rails, db:migrate]
          envFrom:
            - configMapRef: {name: billing-env}
            - secretRef: {name: billing-secrets}
```

```yaml fail
apiVersion: v1
kind: ServiceAccount
metadata:
  name: billing
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: billing-env
data: {RAILS_ENV: production}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: billing
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: aws-secrets}
  target: {name: billing-secrets}
  data:
    - secretKey: DATABASE_URL
      remoteRef: {key: billing/prod, property: database_url}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: billing-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  template:
    spec:
      serviceAccountName: billing
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/billing:1.4.2
          command: [bundle, exec, rails, db:migrate]
          envFrom:
            - configMapRef: {name: billing-env}
            - secretRef: {name: billing-secrets}
```

```yaml fail
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: billing
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: aws-secrets}
  target: {name: billing-secrets}
  data:
    - secretKey: DATABASE_URL
      remoteRef: {key: billing/prod, property: database_url}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: billing-migrate
  annotations:
    argocd.argoproj.io/hook: Sync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/billing:1.4.2
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: billing-secrets, key: DATABASE_URL}
```
'''

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, as_dict, dig, finding, iter_named
from shipcard.yamlio.read import PathKey

ID = "hook-dependency-order"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Argo CD hook runs before an object it needs"
RATIONALE = """Argo CD applies PreSync hooks before every ordinary (Sync phase) resource, and within a
phase applies lower waves first. A migration Job that is a PreSync hook but uses the service's
ServiceAccount, ConfigMap or the Secret of its ExternalSecret cannot start its pod on the first
sync in a new namespace: the pod waits for objects Argo CD has not applied yet, until the Job's
deadline fails the sync. On later syncs it runs with the previous sync's configuration."""
FIX = """Put what the hook needs in an earlier wave than the hook (`argocd.argoproj.io/sync-wave`), and
make the hook a Sync hook in a wave before the workloads (for example: ServiceAccount, ConfigMaps and
ExternalSecret in wave -2, the `argocd.argoproj.io/hook: Sync` Job in wave -1, the Deployment in wave 0)."""

HOOK = "argocd.argoproj.io/hook"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
# gitops-engine pkg/sync/sync_tasks.go: syncPhaseOrder, and the Helm hooks it maps (pkg/sync/hook/helm/type.go).
PHASES = ("PreSync", "Sync", "PostSync", "SyncFail")
HELM_PHASES = {"pre-install": "PreSync", "pre-upgrade": "PreSync", "post-install": "PostSync",
               "post-upgrade": "PostSync"}
# gitops-engine pkg/sync/sync_tasks.go: kindOrder. Every other kind (custom resources) comes after these.
KIND_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "IngressClass", "Ingress", "APIService",
)
_KIND_RANK = {kind: index for index, kind in enumerate(KIND_ORDER)}
HOOK_KINDS = frozenset({"Job", "Pod"})
_GO_INT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi takes


@dataclass(frozen=True, order=True)
class SyncStep:
    """Where Argo CD applies an object in a sync, in its order: phase, wave, kind, name."""

    phase: int  # index in PHASES
    wave: int
    kind: int  # index in KIND_ORDER, len(KIND_ORDER) for other kinds
    name: str
    hook: bool = field(compare=False)

    @property
    def wave_step(self) -> tuple[int, int]:
        """(phase, wave): Argo CD waits for everything of one wave step to be healthy before the next."""
        return self.phase, self.wave

    def describe(self) -> str:
        return f"{PHASES[self.phase]} {'hook' if self.hook else 'phase'}, wave {self.wave}"


def sync_step(obj: K8sObject) -> SyncStep | None:
    """The object's step in an Argo CD sync; None when a sync does not apply it (Skip, delete-only hooks)."""
    annotations = obj.annotations
    if HOOK in annotations:  # Argo CD's own annotation wins over Helm's
        phases = [t.strip() for t in str(annotations[HOOK]).split(",")]
    elif HELM_HOOK in annotations:
        phases = [HELM_PHASES.get(t.strip(), "") for t in str(annotations[HELM_HOOK]).split(",")]
    else:
        phases = ["Sync"]
    ranks = [PHASES.index(p) for p in phases if p in PHASES]
    if not ranks:
        return None
    wave = _wave(annotations.get(SYNC_WAVE))
    if wave is None:
        wave = _wave(annotations.get(HELM_HOOK_WEIGHT)) or 0
    return SyncStep(min(ranks), wave, _KIND_RANK.get(obj.kind, len(KIND_ORDER)), obj.name,
                    hook=HOOK in annotations or HELM_HOOK in annotations)


def _wave(text: Any) -> int | None:
    return int(text) if isinstance(text, str) and _GO_INT.fullmatch(text) else None


@dataclass(frozen=True)
class Need:
    """An object a pod cannot start without, and where its pod spec names it."""

    kind: str  # ServiceAccount, ConfigMap or Secret
    name: str
    path: PathKey


def pod_needs(workload: Prepared) -> list[Need]:
    """Every ServiceAccount, ConfigMap and Secret the workload's pods need to start (optional ones left out)."""
    spec, pod = workload.pod_spec or {}, workload.pod_path or ()
    found: list[Need] = []

    def need(kind: str, ref: Any, key: str, path: PathKey) -> None:
        ref = as_dict(ref)
        if isinstance(ref.get(key), str) and ref[key] and ref.get("optional") is not True:
            found.append(Need(kind, ref[key], (*path, key)))

    need("ServiceAccount", spec, "serviceAccountName", pod)  # unset: the namespace's "default", always there
    for index, ref in iter_named(spec.get("imagePullSecrets")):
        need("Secret", ref, "name", (*pod, "imagePullSecrets", index))
    for index, volume in iter_named(spec.get("volumes")):
        where: PathKey = (*pod, "volumes", index)
        need("ConfigMap", volume.get("configMap"), "name", (*where, "configMap"))
        need("Secret", volume.get("secret"), "secretName", (*where, "secret"))
        for source_index, source in iter_named(dig(volume, "projected", "sources")):
            source_path = (*where, "projected", "sources", source_index)
            need("ConfigMap", source.get("configMap"), "name", (*source_path, "configMap"))
            need("Secret", source.get("secret"), "name", (*source_path, "secret"))
    for container in workload.containers:
        if container.group == "ephemeralContainers":  # added to running pods, never at their start
            continue
        for index, source in iter_named(container.data.get("envFrom")):
            need("ConfigMap", source.get("configMapRef"), "name", (*container.path, "envFrom", index, "configMapRef"))
            need("Secret", source.get("secretRef"), "name", (*container.path, "envFrom", index, "secretRef"))
        for index, variable in iter_named(container.data.get("env")):
            where = (*container.path, "env", index, "valueFrom")
            value_from = as_dict(variable.get("valueFrom"))
            need("ConfigMap", value_from.get("configMapKeyRef"), "name", (*where, "configMapKeyRef"))
            need("Secret", value_from.get("secretKeyRef"), "name", (*where, "secretKeyRef"))
    return found


def secret_makers(context: Context) -> dict[tuple[str, str], Prepared]:
    """(namespace, Secret name) → the ExternalSecret that writes that Secret (its target, by default its own name)."""
    makers: dict[tuple[str, str], Prepared] = {}
    for external in context.of_kind("ExternalSecret"):
        if not external.obj.api_version.startswith("external-secrets.io/"):
            continue
        target = dig(external.obj.data, "spec", "target", "name") or external.obj.name
        makers.setdefault((external.namespace, str(target)), external)
    return makers


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    makers = secret_makers(context)
    for hook in context.of_kind(*HOOK_KINDS):
        step = sync_step(hook.obj)
        if step is None or not step.hook:
            continue
        reported: set[tuple[str, str]] = set()
        for need in pod_needs(hook):
            if (need.kind, need.name) in reported:
                continue
            message = _out_of_order(hook, step, need, context, makers)
            if message:
                reported.add((need.kind, need.name))
                yield finding(hook.obj, need.path, message)


def _out_of_order(hook: Prepared, step: SyncStep, need: Need, context: Context,
                  makers: Mapping[tuple[str, str], Prepared]) -> str | None:
    """Why the hook's pod would wait for `need`, or None when Argo CD provides it in time (or it is made elsewhere)."""
    provider = context.find(need.kind, hook.namespace, need.name)
    if provider is not None:
        provided = sync_step(provider.obj)
        if provided is None or provided.wave_step < step.wave_step or \
                (provided.wave_step == step.wave_step and provided.kind < step.kind):
            return None
        return (f'{hook.obj.ref} ({step.describe()}) needs {need.kind} "{need.name}", which Argo CD applies '
                f'after it ({provided.describe()})')
    maker = makers.get((hook.namespace, need.name)) if need.kind == "Secret" else None
    if maker is None:
        return None
    made = sync_step(maker.obj)
    if made is None or made.wave_step < step.wave_step:
        return None
    return (f'{hook.obj.ref} ({step.describe()}) needs Secret "{need.name}", which ExternalSecret '
            f'"{maker.obj.name}" writes only once it is synced ({made.describe()}): it must be in an earlier wave')
