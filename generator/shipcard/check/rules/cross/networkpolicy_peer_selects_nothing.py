'''A NetworkPolicy peer's `podSelector` matches no pod of the checked workloads.

Reported for an entry of `spec.ingress[].from` or `spec.egress[].to` that has a
non-empty `podSelector` and no `namespaceSelector` (so it means pods of the policy's own
namespace) when no pod template of a workload in that namespace matches it. Scoping: the
rule only reports when the policy's namespace has workloads among the checked objects, so
a partial `check` of one file (a lone policy) reports nothing; peers with a
`namespaceSelector` may name pods of other namespaces and are not judged. An empty
`podSelector: {}` selects every pod and is not reported. Each distinct selector is
matched once through the context's label index, so the rule is linear in the input.

```yaml pass
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
  name: api-from-web
spec:
  podSelector:
    matchLabels: {app: api}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: web}
        - namespaceSelector:
            matchLabels: {team: ops}
          podSelector:
            matchLabels: {app: prometheus}
  egress:
    - to:
        - podSelector: {}
```

```yaml fail
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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-from-web
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: web-frontend}
```

```yaml fail
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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-to-db
spec:
  podSelector:
    matchLabels: {app: api}
  policyTypes: [Egress]
  egress:
    - to:
        - podSelector:
            matchExpressions:
              - {key: app, operator: In, values: [postgres]}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, as_list, dig, finding

ID = "networkpolicy-peer-selects-nothing"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "NetworkPolicy peer selects no pods"
RATIONALE = """A `from`/`to` peer whose podSelector matches no pod allows nothing: the traffic the rule
was written for (usually after a workload's labels were renamed) is dropped once the policy
isolates the pods, and the rollout fails with timeouts rather than an error."""
FIX = """Make the peer's `podSelector` match the pod template labels of the workload it means, or add a
`namespaceSelector` if the pods live in another namespace."""

DIRECTIONS = (("ingress", "from"), ("egress", "to"))


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for policy in context.of_kind("NetworkPolicy"):
        if not context.workloads_in(policy.namespace):
            continue
        for direction, peers_key in DIRECTIONS:
            for i, rule in enumerate(as_list(dig(policy.obj.data, "spec", direction))):
                for j, peer in enumerate(as_list(as_dict(rule).get(peers_key))):
                    peer = as_dict(peer)
                    selector = peer.get("podSelector")
                    if "namespaceSelector" in peer or not isinstance(selector, dict) or not selector:
                        continue
                    if not context.select_workloads(policy.namespace, selector):
                        yield finding(policy.obj, ("spec", direction, i, peers_key, j, "podSelector"),
                                      f"{policy.obj.ref} spec.{direction}[{i}].{peers_key}[{j}] selects"
                                      " no pods of the checked workloads")
