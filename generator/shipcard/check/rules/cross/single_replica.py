'''A Deployment or StatefulSet runs a single pod.

The minimum counts: `spec.replicas` (default 1), or the `minReplicas` of the
HorizontalPodAutoscaler that scales it. Workloads scaled to 0 on purpose are not reported.

```yaml pass
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
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
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1.0.0
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 10
```

```yaml fail
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, dig, finding

ID = "single-replica"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Workload runs a single replica"
RATIONALE = """With one pod, every rollout, node drain, eviction or crash is an outage of the service,
and a PodDisruptionBudget cannot protect it without blocking node maintenance."""
FIX = """Run at least 2 replicas (`spec.replicas`, or the HPA's `minReplicas`) spread over nodes,
or suppress the finding with the reason (a dev environment, a singleton by design); a service
card says it with `singleReplica: <reason>`."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for workload in context.of_kind("Deployment", "StatefulSet"):
        if workload.is_hook:
            continue
        minimum = context.minimum_replicas(workload)
        if minimum != 1:
            continue
        hpa = context.hpa_for(workload)
        if hpa is not None:
            has_min = dig(hpa.obj.data, "spec", "minReplicas") is not None
            yield finding(hpa.obj, ("spec", "minReplicas") if has_min else ("spec",),
                          f"{workload.obj.ref} can scale down to a single pod ({hpa.obj.ref} minReplicas is 1)")
        else:
            has_replicas = dig(workload.obj.data, "spec", "replicas") is not None
            default = "" if has_replicas else " (replicas defaults to 1)"
            yield finding(workload.obj, ("spec", "replicas") if has_replicas else ("spec",),
                          f"{workload.obj.ref} runs a single pod{default}")
