'''A PodDisruptionBudget allows no voluntary disruption at all.

Reported when `maxUnavailable` is 0 or 0%, `minAvailable` is 100%, or `minAvailable` is
at least the minimum number of pods of a workload it selects (its replicas, or its HPA's
minReplicas). A percentage is scaled as the disruption controller does
(`getExpectedPodCount` in pkg/controller/disruption: `GetScaledValueFromIntOrPercent(...,
roundUp=true)` for both fields): `minAvailable: 90%` of 3 pods is 3 and blocks, while any
`maxUnavailable` above 0% rounds up to at least one pod and does not.

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
  minAvailable: 2
  selector:
    matchLabels: {app: web}
```

```yaml fail
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 0
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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: "90%"
  selector:
    matchLabels: {app: web}
```

```yaml fail
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
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: web}
```
'''

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, finding

ID = "pdb-blocks-eviction"
SEVERITY = "error"
CATEGORY = "reliability"
TITLE = "PodDisruptionBudget blocks every eviction"
RATIONALE = """A budget that allows zero disruptions makes every node drain hang: cluster upgrades,
node autoscaling and spot replacements stall until someone deletes the budget or the pods by
hand, which is worse than the disruption the budget was meant to prevent."""
FIX = """Allow at least one pod to be down: `maxUnavailable: 1` (or a percentage that rounds to at
least 1), or `minAvailable` below the number of replicas."""


def _is_zero(value: Any) -> bool:
    return value == 0 or (isinstance(value, str) and value.strip() in ("0", "0%"))


def _percent(value: Any) -> int | None:
    """The N of an `N%` string (the only string form the API server accepts), else None."""
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return None


def _scaled(value: Any, pods: int) -> int | None:
    """An int-or-percent as a pod count, rounding a percentage up like the disruption controller."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    percent = _percent(value)
    return None if percent is None else -(-percent * pods // 100)


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for pdb in context.of_kind("PodDisruptionBudget"):
        spec = as_dict(pdb.obj.data.get("spec"))
        if "maxUnavailable" in spec and _is_zero(spec["maxUnavailable"]):
            yield finding(pdb.obj, ("spec", "maxUnavailable"),
                          f"{pdb.obj.ref} sets maxUnavailable to {spec['maxUnavailable']}: no pod may ever be evicted")
            continue
        if "minAvailable" not in spec:
            continue
        minimum = spec["minAvailable"]
        if isinstance(minimum, str) and minimum.strip() == "100%":
            yield finding(pdb.obj, ("spec", "minAvailable"),
                          f"{pdb.obj.ref} requires 100% of the pods available: no pod may ever be evicted")
            continue
        if _scaled(minimum, 1) is None:
            continue
        for workload in context.select_workloads(pdb.namespace, spec.get("selector")):
            replicas = context.minimum_replicas(workload)
            required = _scaled(minimum, replicas or 0)
            if replicas is not None and required is not None and 0 < replicas <= required:
                shown = f"{minimum} ({required} of {replicas})" if isinstance(minimum, str) else str(minimum)
                yield finding(pdb.obj, ("spec", "minAvailable"),
                              f"{pdb.obj.ref} requires {shown} pods available but {workload.obj.ref} "
                              f"runs {replicas}: no pod may ever be evicted")
                break
