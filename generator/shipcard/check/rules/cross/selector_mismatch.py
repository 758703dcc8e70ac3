'''A workload's selector does not match its own pod template.

Checked for Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers
and Jobs that set a selector.

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
      labels: {app: web, tier: frontend}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
```

```yaml fail
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web-frontend}
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
from shipcard.check.rules.kube import Context, as_dict, dig, finding, map_selector_matches, selector_matches

ID = "selector-mismatch"
SEVERITY = "error"
CATEGORY = "cross-object"
TITLE = "Workload selector does not match its pod template"
RATIONALE = """The API server rejects a Deployment, StatefulSet, DaemonSet or ReplicaSet whose selector
does not select its own template's labels, so the sync fails; where it is accepted, the
controller cannot find the pods it creates and keeps creating more."""
FIX = "Make `spec.selector` a subset of `spec.template.metadata.labels`."

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for workload in context.of_kind(*KINDS):
        selector = dig(workload.obj.data, "spec", "selector")
        if selector is None:
            continue
        labels = workload.template_labels
        if workload.kind == "ReplicationController":
            ok = map_selector_matches(as_dict(selector), labels)
        else:
            ok = isinstance(selector, dict) and bool(selector) and selector_matches(selector, labels)
        if not ok:
            yield finding(workload.obj, ("spec", "selector"),
                          f"{workload.obj.ref}: spec.selector does not match the pod template's labels")
