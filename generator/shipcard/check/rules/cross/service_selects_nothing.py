'''A Service selects no pods.

Reported only when the Service's namespace has pod-creating objects among the checked
manifests (otherwise its pods may simply live elsewhere). Services without a selector
(manually managed endpoints) and ExternalName Services are not reported.

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
          ports:
            - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
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
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web-frontend}
  ports:
    - {name: http, port: 80, targetPort: 8080}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, finding

ID = "service-selects-nothing"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Service selects no pods"
RATIONALE = """A Service whose selector matches no pod template has no endpoints: every connection
to it is refused, although the Service itself looks healthy. A label renamed on one side
only is the usual cause."""
FIX = "Make the Service's `spec.selector` match the labels of the workload's pod template."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for svc in context.of_kind("Service"):
        spec = as_dict(svc.obj.data.get("spec"))
        selector = as_dict(spec.get("selector"))
        if not selector or spec.get("type") == "ExternalName" or not context.workloads_in(svc.namespace):
            continue
        if not context.select_workloads(svc.namespace, selector, plain=True):
            yield finding(svc.obj, ("spec", "selector"),
                          f"{svc.obj.ref} selects no pods: no workload's pod template has labels "
                          + ", ".join(f"{k}={v}" for k, v in selector.items()))


