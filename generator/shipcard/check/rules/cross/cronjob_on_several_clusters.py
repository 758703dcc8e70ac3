'''One environment's CronJob is deployed to several clusters, so it runs several times.

Argo CD Applications (and ApplicationSets with list or cluster generators) that deploy
the same source path to different clusters are grouped; when that path holds a CronJob
that is not suspended, every Application of the group is reported. A CronJob belongs to a
path when the checked object was read from a file under it or rendered from it, or
(with the repository root known) when a YAML file under it, or under the Kustomize
resources it includes, defines one.

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
'''

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.check.model import Finding, K8sObject
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
but one."""

IN_CLUSTER = "https://kubernetes.default.svc"
TEMPLATE = re.compile(r"\{\{\s*\.?([\w.-]+)\s*\}\}")
MAX_VISITED_FILES = 5000
SKIPPED_DIRS = {"node_modules", "vendor", "__pycache__", "venv"}


@dataclass
class Deployment:
    app: Prepared
    cluster: str
    where: tuple[str | int, ...]  # path of the destination inside the Application


def cluster_of(destination: dict[str, Any]) -> str | None:
    """An Argo CD destination's cluster: its server URL (normalised) or its name; None when it has neither."""
    server, name = destination.get("server"), destination.get("name")
    if isinstance(server, str) and server.strip():
        url = server.strip().rstrip("/").lower()
        return "in-cluster" if url == IN_CLUSTER else url
    if isinstance(name, str) and name.strip():
        return name.strip()
    return None


def _fill(text: Any, params: dict[str, Any]) -> Any:
    if not isinstance(text, str):
        return text

    def value(match: re.Match[str]) -> str:
        node: Any = params
        for part in match.group(1).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return str(node) if node is not None else match.group(0)

    return TEMPLATE.sub(value, text)


def _fill_all(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill_all(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_all(v, params) for v in value]
    return _fill(value, params)


def _deployments(context: Context) -> dict[tuple[str, str, str], list[Deployment]]:
    groups: dict[tuple[str, str, str], list[Deployment]] = {}

    def add(app: Prepared, source: dict[str, Any], destination: dict[str, Any], where: tuple[str | int, ...],
            params: dict[str, Any] | None, every_cluster: bool = False) -> None:
        path = _fill(source.get("path"), params or {})
        if not isinstance(path, str) or "chart" in source or "{{" in path:
            return
        cluster = "every cluster the generator selects" if every_cluster else \
            cluster_of({k: _fill(v, params or {}) for k, v in destination.items()})
        if cluster is None or "{{" in cluster:
            return
        key = (normalise_repo_url(str(_fill(source.get("repoURL", ""), params or {}))),
               str(PurePosixPath(path.strip().strip("/") or ".")))
        # One chart with different value files is a different deployment, not the same one twice.
        variant = json.dumps(_fill_all(source.get("helm"), params or {}), sort_keys=True, default=str)
        groups.setdefault(key + (variant,), []).append(Deployment(app, cluster, where))

    for app in context.of_kind("Application"):
        spec = as_dict(app.obj.data.get("spec"))
        for _where, source in sources(app.obj):
            add(app, source, as_dict(spec.get("destination")), ("spec", "destination"), None)
    for appset in context.of_kind("ApplicationSet"):
        template_spec = as_dict(dig(appset.obj.data, "spec", "template", "spec"))
        destination = as_dict(template_spec.get("destination"))
        where = ("spec", "template", "spec", "destination")
        for generator in as_list(dig(appset.obj.data, "spec", "generators")):
            generator = as_dict(generator)
            if "list" in generator:
                for element in as_list(as_dict(generator["list"]).get("elements")):
                    for _, source in sources(appset.obj):
                        add(appset, source, destination, where, as_dict(element))
            elif "clusters" in generator:
                for _, source in sources(appset.obj):
                    add(appset, source, destination, where, None, every_cluster=True)
    return groups


def _active_cronjob(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("kind") == "CronJob" and dig(data, "spec", "suspend") is not True:
        return str(dig(data, "metadata", "name") or "?")
    return None


def _under(candidate: str, path: str) -> bool:
    candidate = candidate.replace("\\", "/").strip("/")
    return path == "." or candidate == path or candidate.startswith(path + "/") or ("/" + path + "/") in candidate


def _cronjobs_from_objects(context: Context, path: str) -> list[str]:
    found = []
    root = str(context.root).replace("\\", "/").rstrip("/") + "/" if context.root else None
    for cron in context.of_kind("CronJob"):
        name = _active_cronjob(cron.obj.data)
        if name is None:
            continue
        file = cron.obj.file.replace("\\", "/")
        if root and file.startswith(root):
            file = file[len(root):]
        origin_parts = (cron.obj.origin or "").split()
        if _under(file, path) or any(_under(part, path) and part.replace("\\", "/").strip("/").endswith(path)
                                     for part in origin_parts):
            found.append(name)
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
    for (repo, path, _), deployments in sorted(_deployments(context).items()):
        clusters = sorted({d.cluster for d in deployments})
        several = len(clusters) >= 2 or any(c.startswith("every cluster") for c in clusters)
        if not several:
            continue
        cronjobs = _cronjobs_from_objects(context, path)
        if not cronjobs and context.root is not None and context.is_this_repository(repo):
            cronjobs = _cronjobs_on_disk(context.root, path)
        if not cronjobs:
            continue
        names = ", ".join(f"CronJob/{n}" for n in sorted(set(cronjobs)))
        reported: set[int] = set()
        for d in deployments:
            if id(d.app) in reported:
                continue
            reported.add(id(d.app))
            yield finding(d.app.obj, d.where,
                          f"{names} from {path} is deployed to {len(clusters)} clusters "
                          f"({', '.join(clusters)}): each cluster runs every schedule")
