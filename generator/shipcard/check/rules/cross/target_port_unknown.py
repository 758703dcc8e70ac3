'''A Service sends traffic to a port name its pods do not declare.

A named `targetPort` is resolved in each selected pod's container ports. Reported
when a workload the Service selects declares no container port of that name.

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
          ports:
            - {name: web, containerPort: 8080}
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
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, as_dict, as_list, finding, iter_named

ID = "target-port-unknown"
SEVERITY = "error"
CATEGORY = "cross-object"
TITLE = "Service targetPort names a port the pods do not have"
RATIONALE = """When a named targetPort matches no container port of a selected pod, that pod is
left out of the Service's endpoints: traffic goes nowhere although pods are running and
ready."""
FIX = "Use the name of a container port (`ports[].name`) of the selected pods, or its number."


def _port_names(workload: Prepared) -> set[str]:
    names = set()
    for c in workload.containers:
        if c.group == "ephemeralContainers":
            continue
        for port in as_list(c.data.get("ports")):
            if isinstance(port, dict) and port.get("name"):
                names.add(str(port["name"]))
    return names


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for svc in context.of_kind("Service"):
        spec = as_dict(svc.obj.data.get("spec"))
        selector = as_dict(spec.get("selector"))
        if not selector or not any(isinstance(p.get("targetPort"), str) and not p["targetPort"].isdigit()
                                   for _, p in iter_named(spec.get("ports"))):
            continue
        selected = context.select_workloads(svc.namespace, selector, plain=True)
        if not selected:
            continue
        names: dict[int, set[str]] = {}
        for index, port in iter_named(spec.get("ports")):
            target = port.get("targetPort")
            if not isinstance(target, str) or target.isdigit():
                continue
            missing = [w for w in selected if target not in names.setdefault(id(w), _port_names(w))]
            if missing:
                yield finding(svc.obj, ("spec", "ports", index, "targetPort"),
                              f'{svc.obj.ref} targets port "{target}", which {missing[0].obj.ref} does not declare'
                              + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""))
