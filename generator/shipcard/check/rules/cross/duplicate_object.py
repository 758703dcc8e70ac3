'''The same object is defined twice.

Objects are the same when kind, namespace and name agree. Only objects applied
together are compared: those rendered by the same command (one Kustomize overlay, one
Helm release), or read from plain files of the same directory. When Argo CD Applications
among the checked manifests deploy that render to several clusters (two environments of
one chart, or of one overlay, with the same namespace and other value files), each cluster
gets its own copy: an object is reported only when it occurs more often than the number of
clusters deploying it. A render no Application deploys is one destination.

An ApplicationSet's list generator deploys like the Applications it makes, one per literal
element: the template's `destination` (`server`, `name`, `namespace`), source `path` and Helm
release filled from the element, in Argo CD's default fasttemplate syntax (`{{url}}`) or with
`goTemplate: true` (`{{.url}}`). Other generators (clusters, git, matrix, merge, SCM and
pull-request providers, plugins), a list's `elementsYaml` or own `template`, and `templatePatch`
are not expanded: what they yield only the ApplicationSet controller knows. In the examples, `# origin:` marks what a
command rendered.

```yaml pass
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  namespace: web
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  namespace: web-staging
data:
  LOG_LEVEL: debug
```

```yaml pass
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: notifier
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - list:
        elements:
          - {env: staging, url: https://staging.k8s.example.com}
          - {env: prod, url: https://prod.k8s.example.com}
  template:
    metadata:
      name: 'notifier-{{.env}}'
    spec:
      project: notifier
      source:
        repoURL: https://github.com/example/gitops.git
        targetRevision: main
        path: charts/service
        helm:
          releaseName: notifier
          valueFiles: ['../../apps/notifier/values/{{.env}}.yaml']
      destination:
        server: '{{.url}}'
        namespace: notifier
---
# origin: helm template notifier charts/service --namespace notifier
apiVersion: v1
kind: ConfigMap
metadata:
  name: notifier-env
  namespace: notifier
data:
  LOG_LEVEL: debug
---
# origin: helm template notifier charts/service --namespace notifier
apiVersion: v1
kind: ConfigMap
metadata:
  name: notifier-env
  namespace: notifier
data:
  LOG_LEVEL: info
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  namespace: web
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  namespace: web
data:
  LOG_LEVEL: debug
```

```yaml fail
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: notifier
  namespace: argocd
spec:
  generators:
    - list:
        elements:
          - {env: staging, url: https://prod.k8s.example.com}
          - {env: prod, url: https://prod.k8s.example.com}
  template:
    metadata:
      name: 'notifier-{{env}}'
    spec:
      project: notifier
      source:
        repoURL: https://github.com/example/gitops.git
        targetRevision: main
        path: charts/service
        helm:
          releaseName: notifier
          valueFiles: ['../../apps/notifier/values/{{env}}.yaml']
      destination:
        server: '{{url}}'
        namespace: notifier
---
# origin: helm template notifier charts/service --namespace notifier
apiVersion: v1
kind: ConfigMap
metadata:
  name: notifier-env
  namespace: notifier
data:
  LOG_LEVEL: debug
---
# origin: helm template notifier charts/service --namespace notifier
apiVersion: v1
kind: ConfigMap
metadata:
  name: notifier-env
  namespace: notifier
data:
  LOG_LEVEL: info
```
'''

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._destinations import (
    Place,
    application_places,
    cluster_of,
    deployed_by,
    deploying_applications,
    places,
)
from shipcard.check.rules.cross.argocd_source_path_missing import sources
from shipcard.check.rules.kube import Context, as_dict, dig, finding

ID = "duplicate-object"
SEVERITY = "error"
CATEGORY = "cross-object"
TITLE = "Object defined twice"
RATIONALE = """Two definitions of one object overwrite each other: which one wins depends on the
order the tool applies them, Argo CD reports the application as permanently out of sync,
and a change made to one copy silently does nothing."""
FIX = "Keep one definition; express per-environment differences with an overlay patch instead of a copy."


def _unit(obj: K8sObject) -> str:
    """Objects applied together: one render command, else one directory of plain files."""
    if obj.origin:
        return "origin:" + obj.origin
    return "dir:" + posixpath.dirname(obj.file.replace("\\", "/"))


def _clusters(origin: str, context: Context) -> set[str]:
    """The clusters the Argo CD Applications among the checked objects deploy the render `origin` to."""
    index: dict[Place, list[tuple[K8sObject, dict[str, Any], str]]] = context.shared(ID, _applications)
    return {cluster for place in places(origin) for app, source, cluster in index.get(place, [])
            if deployed_by(origin, app, source)}


def _applications(context: Context) -> dict[Place, list[tuple[K8sObject, dict[str, Any], str]]]:
    """(Application, source, cluster) by the places of the renders it may deploy; an Application an
    ApplicationSet's list generator makes counts like a written one."""
    index: dict[Place, list[tuple[K8sObject, dict[str, Any], str]]] = {}
    for app in deploying_applications(context):
        destination = as_dict(dig(app.data, "spec", "destination"))
        cluster = cluster_of(destination)
        if not cluster or "{{" in cluster:
            continue  # a parameter no generator filled: the cluster is not known offline
        for _, source in sources(app):
            for place in application_places(app, source, destination):
                index.setdefault(place, []).append((app, source, cluster))
    return index


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    seen: dict[tuple[str, str, str, str], list[K8sObject]] = {}
    copies: dict[str, int] = {}  # per origin: the clusters it is deployed to, each with its own copy
    for obj in objects:
        if not obj.kind or not obj.name:
            continue  # generateName, or not an object
        key = (_unit(obj), obj.kind, obj.namespace or "", obj.name)
        same = seen.setdefault(key, [])
        same.append(obj)
        if obj.origin and obj.origin not in copies:
            copies[obj.origin] = max(1, len(_clusters(obj.origin, context)))
        if len(same) <= (copies[obj.origin] if obj.origin else 1):
            continue
        first = same[0]
        line = first.position(("metadata", "name"))[0]
        where = f"{first.file}:{line}" if line else first.file
        yield finding(obj, ("metadata", "name"), f"{obj.ref} is already defined at {where}")
