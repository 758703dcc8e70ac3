'''A HorizontalPodAutoscaler whose floor equals its ceiling.

Reported when `spec.minReplicas` (1 when unset, the API server's default) equals
`spec.maxReplicas`. Such an HPA never changes the replica count, yet it owns the
workload's `spec.replicas` (see replicas-with-hpa) and hides the fixed size behind an
object that looks like autoscaling. A JSON Schema cannot compare two fields, hence a
Python rule; it reads each HPA once.

```yaml pass
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: worker
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  maxReplicas: 3
```

```yaml fail
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 3
```

```yaml fail
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: worker
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  minReplicas:
  maxReplicas: 1
```
'''

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, dig, finding

ID = "hpa-min-equals-max"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "HorizontalPodAutoscaler cannot scale (minReplicas equals maxReplicas)"
RATIONALE = """An HPA whose minReplicas (default 1) equals maxReplicas keeps the workload at one size
whatever the load, while still taking `spec.replicas` over from the Deployment: the manifest
looks autoscaled, traffic peaks are not absorbed, and the real size lives in the HPA."""
FIX = """Raise `maxReplicas` above `minReplicas` so the HPA can scale, or delete the HPA and set
`spec.replicas` on the workload."""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for hpa in context.of_kind("HorizontalPodAutoscaler"):
        spec = dig(hpa.obj.data, "spec")
        if not isinstance(spec, dict):
            continue
        maximum = _count(spec.get("maxReplicas"))
        minimum = _count(spec.get("minReplicas", 1))
        if maximum is not None and minimum == maximum:
            yield finding(hpa.obj, ("spec", "maxReplicas"),
                          f"{hpa.obj.ref} has minReplicas {minimum} equal to maxReplicas {maximum}: it cannot scale")
