'''One environment's CronJob is active in several clusters, so it runs several times.

Argo CD Applications (and ApplicationSets with list or cluster generators) are grouped by
the environment they deploy: the Applications shipcard writes by their labels
`app.kubernetes.io/name` and `shipcard.io/environment` (both sides of a cluster cut-over,
docs/cutover.md, are one environment), any other by its source (repository, path, Helm
values). When one CronJob (its namespace and name) is active, not suspended, in two clusters
of one group, every Application deploying it there is reported. An Application deploys the
CronJobs rendered from its source (the Kustomize overlay, or the chart with the same release,
namespace and values files), those read from files under its path or, when nothing of that
path was checked and the repository root is known, those defined by a YAML file under it or
under the Kustomize resources it includes.

```yaml pass
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-tokyo
  namespace: argocd
spec:
  project: payments
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/billing/overlays/prod
  destination:
    server: https://tokyo.k8s.example.com
    namespace: billing
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-osaka
  namespace: argocd
spec:
  project: payments
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/billing/overlays/prod-standby
  destination:
    server: https://osaka.k8s.example.com
    namespace: billing
---
# file: apps/billing/overlays/prod/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: billing-nightly-invoices
  namespace: billing
spec:
  schedule: "0 1 * * *"
  timeZone: Asia/Tokyo
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: run
              image: ghcr.io/example/billing:1.4.2
```

```yaml pass
# A cut-over: both sides of environment prod, the new cluster's CronJob suspended.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod
  namespace: argocd
  labels: {app.kubernetes.io/name: billing, shipcard.io/environment: prod}
spec:
  project: payments
  source: {repoURL: https://github.com/example/gitops.git, path: apps/billing/overlays/prod}
  destination: {server: https://old.k8s.example.com, namespace: billing}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-next
  namespace: argocd
  labels: {app.kubernetes.io/name: billing, shipcard.io/environment: prod}
spec:
  project: payments
  source: {repoURL: https://github.com/example/gitops.git, path: apps/billing/overlays/prod-next}
  destination: {server: https://new.k8s.example.com, namespace: billing}
---
# file: apps/billing/overlays/prod/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: billing-nightly-invoices, namespace: billing}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: ghcr.io/example/billing:1.4.2}]
---
# file: apps/billing/overlays/prod-next/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: billing-nightly-invoices, namespace: billing}
spec:
  schedule: "0 1 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: ghcr.io/example/billing:1.4.2}]
```

```yaml fail
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-tokyo
  namespace: argocd
spec:
  project: payments
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/billing/overlays/prod
  destination:
    server: https://tokyo.k8s.example.com
    namespace: billing
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-osaka
  namespace: argocd
spec:
  project: payments
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/billing/overlays/prod
  destination:
    server: https://osaka.k8s.example.com
    namespace: billing
---
# file: apps/billing/overlays/prod/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: billing-nightly-invoices
  namespace: billing
spec:
  schedule: "0 1 * * *"
  timeZone: Asia/Tokyo
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: run
              image: ghcr.io/example/billing:1.4.2
```

```yaml fail
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: billing-prod
  namespace: argocd
spec:
  syncPolicy:
    preserveResourcesOnDeletion: true
  generators:
    - list:
        elements:
          - {cluster: tokyo, url: https://tokyo.k8s.example.com}
          - {cluster: osaka, url: https://osaka.k8s.example.com}
  template:
    metadata:
      name: 'billing-prod-{{cluster}}'
    spec:
      project: payments
      source:
        repoURL: https://github.com/example/gitops.git
        targetRevision: main
        path: apps/billing/overlays/prod
      destination:
        server: '{{url}}'
        namespace: billing
---
# file: apps/billing/overlays/prod/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: billing-nightly-invoices
  namespace: billing
spec:
  schedule: "0 1 * * *"
  timeZone: Asia/Tokyo
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: run
              image: ghcr.io/example/billing:1.4.2
```

```yaml fail
# A cut-over whose new side runs the schedule too: two overlays, one environment.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod
  namespace: argocd
  labels: {app.kubernetes.io/name: billing, shipcard.io/environment: prod}
spec:
  project: payments
  source: {repoURL: https://github.com/example/gitops.git, path: apps/billing/overlays/prod}
  destination: {server: https://old.k8s.example.com, namespace: billing}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-prod-next
  namespace: argocd
  labels: {app.kubernetes.io/name: billing, shipcard.io/environment: prod}
spec:
  project: payments
  source: {repoURL: https://github.com/example/gitops.git, path: apps/billing/overlays/prod-next}
  destination: {server: https://new.k8s.example.com, namespace: billing}
---
# file: apps/billing/overlays/prod/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: billing-nightly-invoices, namespace: billing}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: ghcr.io/example/billing:1.4.2}]
---
# file: apps/billing/overlays/prod-next/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: billing-nightly-invoices, namespace: billing}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: run, image: ghcr.io/example/billing:1.4.2}]
```
'''

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._destinations import (
    HELM_PREFIX,
    Place,
    application_places,
    cluster_of,
    deployed_by,
    generated_applications,
    places,
)
from shipcard.check.rules.cross.argocd_source_path_missing import sources
from shipcard.check.rules.kube import Context, Prepared, as_dict, as_list, dig, finding
from shipcard.git import normalise_repo_url
from shipcard.yamlio.read import load_plain_all, read_text, real_path

ID = "cronjob-on-several-clusters"
SEVERITY = "warning"
CATEGORY = "gitops"
TITLE = "CronJob deployed to several clusters runs once per cluster"
RATIONALE = """Deploying one environment to two clusters (active-active, a standby, a migration) copies
its CronJobs too, and each cluster runs them on schedule: invoices are sent twice, batch
imports run concurrently against the same database. Nothing fails, so nobody notices until
the duplicates do."""
FIX = """Run scheduled jobs in exactly one cluster: move the CronJob to a path only one
Application deploys, or suspend it (`spec.suspend: true`) in the overlay of all clusters
but one. During a shipcard cut-over, `cutover.schedules` in shipcard.yaml names the one side
that runs them (docs/cutover.md)."""

MAX_VISITED_FILES = 5000
SKIPPED_DIRS = {"node_modules", "vendor", "__pycache__", "venv"}
EVERY_CLUSTER = "every cluster the generator selects"
# The labels shipcard gives its Applications: the card and the environment (both sides of a cut-over).
CARD_LABEL = "app.kubernetes.io/name"
ENVIRONMENT_LABEL = "shipcard.io/environment"

CronJobKey = tuple[str, str]  # namespace, name


@dataclass
class Deployment:
    app: Prepared
    cluster: str
    where: tuple[str | int, ...]  # path of the destination inside the Application
    groups: list[tuple[tuple[str, ...], str]]  # the environment it deploys (shipcard's labels, its source), described
    cronjobs: set[CronJobKey] = field(default_factory=set)  # the active ones it deploys


def _groups(app: Prepared, repo: str, path: str, helm: Any) -> list[tuple[tuple[str, ...], str]]:
    """What an Application deploys, described: the environment shipcard's labels name, and its source
    (which a hand-written Application of the same path shares)."""
    groups: list[tuple[tuple[str, ...], str]] = []
    labels = as_dict(dig(app.obj.data, "metadata", "labels"))
    card, environment = labels.get(CARD_LABEL), labels.get(ENVIRONMENT_LABEL)
    if app.kind == "Application" and isinstance(card, str) and isinstance(environment, str) and card and environment:
        groups.append((("labels", card, environment), f"of environment {environment} of {card}"))
    # One chart with different value files is a different deployment, not the same one twice.
    groups.append((("source", repo, path, repr(helm)), f"from {path}"))
    return groups


def _deployments(context: Context) -> list[Deployment]:
    found: list[Deployment] = []

    def add(app: Prepared, source: dict[str, Any], destination: dict[str, Any], where: tuple[str | int, ...],
            every_cluster: bool = False) -> None:
        path = source.get("path")
        if not isinstance(path, str) or "chart" in source or "{{" in path:
            return
        cluster = EVERY_CLUSTER if every_cluster else cluster_of(destination)
        if cluster is None or "{{" in cluster:
            return
        path = str(PurePosixPath(path.strip().strip("/") or "."))
        filled_source = {**source, "path": path}
        groups = _groups(app, normalise_repo_url(str(filled_source.get("repoURL", ""))), path,
                         filled_source.get("helm"))
        deployment = Deployment(app, cluster, where, groups)
        deployment.cronjobs = _deployed_cronjobs(context, app, filled_source, destination)
        found.append(deployment)

    for app in context.of_kind("Application"):
        spec = as_dict(app.obj.data.get("spec"))
        for _where, source in sources(app.obj):
            add(app, source, as_dict(spec.get("destination")), ("spec", "destination"))
    where = ("spec", "template", "spec", "destination")
    for appset in context.of_kind("ApplicationSet"):
        for generated in generated_applications(appset.obj):
            for _, source in sources(generated):
                add(appset, source, as_dict(dig(generated.data, "spec", "destination")), where)
        if any("clusters" in as_dict(generator) for generator in as_list(dig(appset.obj.data, "spec", "generators"))):
            destination = as_dict(dig(appset.obj.data, "spec", "template", "spec", "destination"))
            for _, source in sources(appset.obj):
                add(appset, source, destination, where, every_cluster=True)
    return found


def _active_cronjob(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("kind") == "CronJob" and dig(data, "spec", "suspend") is not True:
        return str(dig(data, "metadata", "name") or "?")
    return None


def _under(candidate: str, path: str) -> bool:
    candidate = candidate.replace("\\", "/").strip("/")
    return path == "." or candidate == path or candidate.startswith(path + "/") or ("/" + path + "/") in candidate


@dataclass
class _Renders:
    """The checked objects by how they were rendered; plain files' CronJobs by file."""

    by_origin: dict[tuple[str, tuple[str, ...]], list[K8sObject]]  # (origin, values files): its CronJobs
    by_place: dict[Place, list[tuple[str, tuple[str, ...]]]]  # the renders at each of their places
    plain: list[K8sObject]  # CronJobs read from files as they are


def _renders(context: Context) -> _Renders:
    renders = _Renders({}, {}, [])
    for prepared in context.prepared or []:
        obj = prepared.obj
        if not obj.origin:
            if prepared.kind == "CronJob":
                renders.plain.append(obj)
            continue
        key = (obj.origin, obj.values)
        if key not in renders.by_origin:
            renders.by_origin[key] = []
            for place in places(obj.origin):
                renders.by_place.setdefault(place, []).append(key)
        if prepared.kind == "CronJob":
            renders.by_origin[key].append(obj)
    return renders


def _value_files(context: Context, source: dict[str, Any]) -> tuple[str, ...] | None:
    """An Application's Helm values files as the checker resolves them; None when it cannot tell."""
    if context.root is None:
        return None
    directory = context.root / source["path"]
    files = [directory / str(v) for v in as_list(as_dict(source.get("helm")).get("valueFiles")) if isinstance(v, str)]
    return tuple(str(real_path(f)) for f in files if f.is_file())


def _deployed_cronjobs(context: Context, app: Prepared, source: dict[str, Any],
                       destination: dict[str, Any]) -> set[CronJobKey]:
    """The active CronJobs the Application deploys from `source` to `destination`."""
    renders: _Renders = context.shared(ID, _renders)
    path = source["path"]
    namespace = str(destination.get("namespace") or "")
    values = _value_files(context, source)
    rendered = False
    found: set[CronJobKey] = set()
    candidates = [key for place in application_places(app.obj, source, destination)
                  for key in renders.by_place.get(place, [])]
    for origin, origin_values in candidates:
        if not deployed_by(origin, app.obj, source, destination):
            continue
        if origin.startswith(HELM_PREFIX) and values is not None and origin_values != values:
            continue  # the same release with another environment's values
        rendered = True
        found |= {(cron.namespace or namespace, name) for cron in renders.by_origin[(origin, origin_values)]
                  if (name := _active_cronjob(cron.data))}
    root = str(context.root).replace("\\", "/").rstrip("/") + "/" if context.root else None
    for cron in renders.plain:
        file = cron.file.replace("\\", "/")
        if root and file.startswith(root):
            file = file[len(root):]
        if _under(file, path):
            rendered = True
            name = _active_cronjob(cron.data)
            if name:
                found.add((cron.namespace or namespace, name))
    if not rendered and context.root is not None and context.is_this_repository(source.get("repoURL")):
        found = {(namespace, name) for name in _cronjobs_on_disk(context.root, path)}
    return found


def _yaml_files(directory: Path, budget: list[int]) -> Iterable[Path]:
    """YAML files below `directory`, skipping hidden and vendored directories, within a shared visit budget."""
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            budget[0] -= 1
            if budget[0] < 0:
                return
            if name.endswith((".yaml", ".yml")):
                yield Path(current) / name


def _cronjobs_on_disk(root: Path, path: str) -> list[str]:
    """CronJobs in the YAML files under root/path and the Kustomize directories it includes."""
    found: list[str] = []
    seen: set[Path] = set()
    pending = [root / path]
    budget = [MAX_VISITED_FILES]
    base = real_path(root)
    while pending and budget[0] > 0:
        entry = real_path(pending.pop())
        if entry in seen or not entry.is_relative_to(base) or not entry.exists():
            continue
        seen.add(entry)
        files = _yaml_files(entry, budget) if entry.is_dir() else [entry] if entry.suffix in (".yaml", ".yml") else []
        for file in files:
            try:
                text = read_text(file)
                if "CronJob" not in text and not file.name.startswith("kustomization."):
                    continue
                documents = load_plain_all(text)
            except Exception:
                continue
            for doc in documents:
                name = _active_cronjob(doc)
                if name:
                    found.append(name)
                if isinstance(doc, dict) and file.name.startswith("kustomization."):
                    for entry in as_list(doc.get("resources")) + as_list(doc.get("bases")) + \
                            as_list(doc.get("components")):
                        if isinstance(entry, str) and "://" not in entry:
                            pending.append(file.parent / entry)
    return found


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    clusters_of: dict[tuple[tuple[str, ...], CronJobKey], set[str]] = {}
    deployments = _deployments(context)
    for d in deployments:
        for group, _ in d.groups:
            for cronjob in d.cronjobs:
                clusters_of.setdefault((group, cronjob), set()).add(d.cluster)

    def several(clusters: set[str]) -> bool:
        return len(clusters) >= 2 or EVERY_CLUSTER in clusters

    reported: set[tuple[int, tuple[str | int, ...]]] = set()
    for d in sorted(deployments, key=lambda d: (d.app.obj.file, d.app.obj.name)):
        if (id(d.app), d.where) in reported:
            continue
        for group, described in d.groups:
            doubled = sorted(c for c in d.cronjobs if several(clusters_of[(group, c)]))
            if not doubled:
                continue
            reported.add((id(d.app), d.where))
            clusters = sorted(set().union(*(clusters_of[(group, c)] for c in doubled)))
            names = ", ".join(f"CronJob/{name}" for name in sorted({name for _, name in doubled}))
            yield finding(d.app.obj, d.where, f"{names} {described} is active in {len(clusters)} clusters "
                                              f"({', '.join(clusters)}): each cluster runs every schedule")
            break
