'''A NetworkPolicy selects no pods.

Reported only when the policy's namespace has pod-creating objects among the checked
manifests; a policy with an empty podSelector (all pods) is never reported.

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
  name: web-default-deny
spec:
  podSelector:
    matchLabels: {app: web}
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
  name: web-default-deny
spec:
  podSelector:
    matchLabels: {app: web-frontend}
  policyTypes: [Ingress]
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, dig, finding

ID = "networkpolicy-selects-nothing"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "NetworkPolicy selects no pods"
RATIONALE = """A NetworkPolicy whose podSelector matches no pod protects nothing: the pods it was
written for accept traffic from everywhere while the policy suggests otherwise."""
FIX = "Make `spec.podSelector` match the labels of the workload's pod template."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for policy in context.of_kind("NetworkPolicy"):
        selector = dig(policy.obj.data, "spec", "podSelector")
        if not isinstance(selector, dict) or not selector or not context.workloads_in(policy.namespace):
            continue
        if not context.select_workloads(policy.namespace, selector):
            yield finding(policy.obj, ("spec", "podSelector"),
                          f"{policy.obj.ref} selects no pods of the checked workloads")
