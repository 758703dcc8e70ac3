'''A HorizontalPodAutoscaler scales an object that is not there.

Reported when no object of the HPA's `scaleTargetRef` kind and name exists in its
namespace among the checked manifests.

```yaml pass
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
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
```

```yaml fail
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-frontend
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
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, dig, finding

ID = "hpa-target-missing"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "HorizontalPodAutoscaler target does not exist"
RATIONALE = """An HPA whose scaleTargetRef names no existing object does nothing: the workload it
was meant to scale runs at its static replica count (often 1) through every traffic peak,
and the HPA only reports FailedGetScale events nobody reads. A renamed Deployment is the
usual cause."""
FIX = "Point `spec.scaleTargetRef` at the workload's kind and name (same namespace), or delete the HPA."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for hpa in context.of_kind("HorizontalPodAutoscaler"):
        ref = as_dict(dig(hpa.obj.data, "spec", "scaleTargetRef"))
        kind, name = ref.get("kind"), ref.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            continue
        if context.find(kind, hpa.namespace, name) is None:
            yield finding(hpa.obj, ("spec", "scaleTargetRef", "name"),
                          f"{hpa.obj.ref} scales {kind}/{name}, which is not among the checked objects")
