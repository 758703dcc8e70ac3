'''A workload sets static replicas while a HorizontalPodAutoscaler scales it.

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
  name: web
spec:
  replicas: 3
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
from shipcard.check.rules.kube import Context, dig, finding

ID = "replicas-with-hpa"
SEVERITY = "error"
CATEGORY = "reliability"
TITLE = "Static replicas next to an autoscaler"
RATIONALE = """The HPA writes `spec.replicas`; the manifest in git says something else. Every sync
(Argo CD self-heal, Flux, kubectl apply) resets the count to the manifest's value and the HPA
raises it again: pods are killed and started in a loop, under load exactly when scaling
matters."""
FIX = """Remove `spec.replicas` from the workload and let the HPA's `minReplicas` set the floor
(or tell the GitOps tool to ignore the field)."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for (kind, namespace, name), hpa in context.hpa_targets.items():
        workload = context.find(kind, namespace, name)
        if workload is None or dig(workload.obj.data, "spec", "replicas") is None:
            continue
        yield finding(workload.obj, ("spec", "replicas"),
                      f"{workload.obj.ref} sets replicas although {hpa.obj.ref} scales it; "
                      "each sync fights the autoscaler")
