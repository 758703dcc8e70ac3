'''A workload references a ConfigMap that no object of the checked input provides.

References: `env[].valueFrom.configMapKeyRef`, `envFrom[].configMapRef`, `volumes[].configMap`
and `volumes[].projected.sources[].configMap` of every container (init and ephemeral ones
too); a reference with `optional: true` is not reported. Scoping: only namespaces in which
the checked input has at least one ConfigMap are judged, so checking a single manifest (or
a namespace whose ConfigMaps the cluster holds) reports nothing. Kustomize and Helm output
is checked after rendering, so a generated ConfigMap's hash suffix is already in both the
name and the references. Warning: the cluster may have the ConfigMap.

```yaml pass
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
data:
  LOG_LEVEL: info
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
          envFrom:
            - configMapRef:
                name: web-env
          env:
            - name: FEATURE_FLAGS
              valueFrom:
                configMapKeyRef: {name: web-flags, key: flags, optional: true}
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
data:
  LOG_LEVEL: info
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
          envFrom:
            - configMapRef:
                name: web-environment
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
data:
  LOG_LEVEL: info
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
          volumeMounts:
            - {name: config, mountPath: /etc/web}
      volumes:
        - name: config
          configMap:
            name: web-config
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._refs import CONFIG_MAP, missing_findings
from shipcard.check.rules.kube import Context

ID = "ref-missing-configmap"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Workload references a ConfigMap nothing provides"
RATIONALE = """A pod whose environment or volume names a ConfigMap that does not exist is never started: it
stays in `CreateContainerConfigError` (env) or `ContainerCreating` (volume), and the rollout
hangs until its progress deadline. A renamed or forgotten ConfigMap is the usual cause."""
FIX = """Add the ConfigMap to the manifests, correct the name, or mark the reference `optional: true` if
the pod can start without it."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    return missing_findings(context or Context(objects), CONFIG_MAP)
