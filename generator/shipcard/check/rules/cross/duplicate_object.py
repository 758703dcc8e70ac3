'''The same object is defined twice.

Objects are the same when kind, namespace and name agree. Only objects applied
together are compared: those rendered by the same command (one Kustomize overlay, one
Helm release), or read from plain files of the same directory. When Argo CD Applications
among the checked manifests deploy that render to several clusters (two environments of
one chart, or of one overlay, with the same namespace and other value files), each cluster
gets its own copy: an object is reported only when it occurs more often than the number of
clusters deploying it. A render no Application deploys is one destination.

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
'''

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross.argocd_source_path_missing import sources
from shipcard.check.rules.cross.cronjob_on_several_clusters import cluster_of
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


def _same_path(rendered: str, source_path: str) -> bool:
    """Whether a rendered directory (as findings show it) is an Application's repository-relative path."""
    rendered, source_path = rendered.replace("\\", "/").strip("/"), source_path.strip().strip("/")
    return bool(source_path) and (rendered == source_path or rendered.endswith("/" + source_path))


def _deployed_by(origin: str, app: K8sObject, source: dict[str, Any]) -> bool:
    """Whether the render `origin` is what `app` deploys from `source` (see shipcard.check.inputs.tools)."""
    path = source.get("path")
    if not isinstance(path, str):
        return False
    words = origin.split()
    if origin.startswith("kubectl kustomize "):
        return _same_path(origin.removeprefix("kubectl kustomize "), path)
    if origin.startswith("helm template ") and len(words) >= 4:
        release = as_dict(source.get("helm")).get("releaseName") or app.name
        namespace = words[words.index("--namespace") + 1] if "--namespace" in words[:-1] else ""
        return _same_path(words[3], path) and words[2] == release \
            and namespace == str(dig(app.data, "spec", "destination", "namespace") or "")
    return False


def _clusters(origin: str, context: Context) -> set[str]:
    """The clusters the Argo CD Applications among the checked objects deploy the render `origin` to.

    Only the Applications whose source path is a trailing part of the rendered directory can deploy
    it (`_same_path`), so they are looked up by path, not scanned per render."""
    words = origin.split()
    rendered = origin.removeprefix("kubectl kustomize ") if origin.startswith("kubectl kustomize ") \
        else words[3] if origin.startswith("helm template ") and len(words) >= 4 else ""
    parts = rendered.replace("\\", "/").strip("/").split("/")
    by_path = context.shared(f"{ID}/applications-by-source-path", _applications_by_source_path)
    found = set()
    for start in range(len(parts)):
        for cluster, app, source in by_path.get("/".join(parts[start:]), ()):
            if _deployed_by(origin, app, source):
                found.add(cluster)
    return found


def _applications_by_source_path(context: Context) -> dict[str, list[tuple[str, K8sObject, dict[str, Any]]]]:
    """(cluster, Application, source) of every Application with a destination cluster, by source path."""
    index: dict[str, list[tuple[str, K8sObject, dict[str, Any]]]] = {}
    for app in context.of_kind("Application"):
        cluster = cluster_of(as_dict(dig(app.obj.data, "spec", "destination")))
        if not cluster:
            continue
        for _, source in sources(app.obj):
            path = source.get("path")
            if isinstance(path, str) and path.strip().strip("/"):
                index.setdefault(path.strip().strip("/"), []).append((cluster, app.obj, source))
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
