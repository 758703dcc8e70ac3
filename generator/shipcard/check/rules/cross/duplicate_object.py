'''The same object is defined twice.

Objects are the same when kind, namespace and name agree. Only objects applied
together are compared: those rendered by the same command (one Kustomize overlay, one
Helm release), or read from plain files of the same directory.

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

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, finding

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


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    seen: dict[tuple[str, str, str, str], K8sObject] = {}
    for obj in objects:
        if not obj.kind or not obj.name:
            continue  # generateName, or not an object
        key = (_unit(obj), obj.kind, obj.namespace or "", obj.name)
        first = seen.get(key)
        if first is None:
            seen[key] = obj
            continue
        line = first.position(("metadata", "name"))[0]
        where = f"{first.file}:{line}" if line else first.file
        yield finding(obj, ("metadata", "name"), f"{obj.ref} is already defined at {where}")
