'''A replicated workload has no PodDisruptionBudget.

Reported for Deployments and StatefulSets that run at least `min-replicas` pods (a parameter,
default 2; their replicas, or their HPA's minReplicas) when no PodDisruptionBudget in the
namespace selects their pods.

```yaml pass
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
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
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
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, dig, finding, selector_matches

ID = "pdb-missing"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Replicated workload has no PodDisruptionBudget"
RATIONALE = """Node drains (upgrades, autoscaler scale-down, spot reclaims) evict pods without
regard for the service unless a PodDisruptionBudget limits how many may be down at once; all
replicas of a Deployment can be evicted together."""
FIX = """Add a PodDisruptionBudget selecting the pods, usually `maxUnavailable: 1`."""
PARAMS = {"min-replicas": {"default": 2, "schema": {"type": "integer", "minimum": 1},
                           "description": "Workloads running at least this many pods need a budget."}}


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    budgets = context.of_kind("PodDisruptionBudget")
    threshold = context.param(ID, PARAMS, "min-replicas")
    for workload in context.of_kind("Deployment", "StatefulSet"):
        minimum = context.minimum_replicas(workload)
        if minimum is None or minimum < threshold or workload.is_hook:
            continue
        labels = workload.template_labels
        if any(b.namespace == workload.namespace and selector_matches(dig(b.obj.data, "spec", "selector"), labels)
               for b in budgets):
            continue
        yield finding(workload.obj, ("metadata", "name"),
                      f"{workload.obj.ref} runs {minimum}+ pods but no PodDisruptionBudget selects them")
