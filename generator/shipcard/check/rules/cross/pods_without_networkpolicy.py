'''Pods that no ingress NetworkPolicy selects.

A pod is covered when a NetworkPolicy of its namespace selects it (an empty podSelector
selects all) and governs ingress (`policyTypes` contains Ingress, or is absent).

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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
```

```yaml fail
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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: egress-only
spec:
  podSelector: {}
  policyTypes: [Egress]
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, as_list, finding

ID = "pods-without-networkpolicy"
SEVERITY = "warning"
CATEGORY = "exposure"
TITLE = "Pods are not covered by any NetworkPolicy"
RATIONALE = """Kubernetes networking is allow-all by default: a pod that no NetworkPolicy selects
accepts connections from every pod in every namespace, so one compromised workload can reach
all others directly."""
FIX = """Add a default-deny ingress NetworkPolicy for the namespace (or the application) and
policies that allow only the expected callers."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    covered: set[int] = set()
    for policy in context.of_kind("NetworkPolicy"):
        spec = as_dict(policy.obj.data.get("spec"))
        types = as_list(spec.get("policyTypes"))
        if types and "Ingress" not in types:
            continue
        for workload in context.select_workloads(policy.namespace, spec.get("podSelector")):
            covered.add(id(workload))
    for workload in context.workloads:
        if id(workload) not in covered:
            yield finding(workload.obj, workload.template_labels_path,
                          f"no ingress NetworkPolicy selects the pods of {workload.obj.ref}")
