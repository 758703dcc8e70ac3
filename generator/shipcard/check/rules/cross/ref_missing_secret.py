'''A workload references a Secret that no object of the checked input provides.

References: `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`, `volumes[].secret`,
`volumes[].projected.sources[].secret` (every container, init and ephemeral ones too) and
`imagePullSecrets`; a reference with `optional: true` is not reported. Providers in the
workload's namespace: a Secret, an ExternalSecret's target (`spec.target.name`, else its
name; not with `creationPolicy: Merge` or `None`, which create nothing), a SealedSecret's
(`spec.template.metadata.name`, else its name) and a cert-manager Certificate's
`spec.secretName`; a ClusterExternalSecret's target counts in every namespace. Scoping:
only namespaces in which the checked input has at least one such provider are judged, so a
single manifest, or an application whose Secrets are created out of band, reports nothing.
Warning: the cluster may have the Secret.

```yaml pass
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: web
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target:
    name: web-secrets
  data:
    - secretKey: DATABASE_URL
      remoteRef: {key: web/prod, property: database_url}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: registry
spec:
  encryptedData:
    .dockerconfigjson: AgBy3i4OJSWK
  template:
    type: kubernetes.io/dockerconfigjson
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
      imagePullSecrets:
        - name: registry
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: web-secrets, key: DATABASE_URL}
```

```yaml fail
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: web
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target:
    name: web-secrets
  data:
    - secretKey: DATABASE_URL
      remoteRef: {key: web/prod, property: database_url}
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
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: web, key: DATABASE_URL}
```

```yaml fail
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
type: kubernetes.io/tls
data:
  tls.crt: ""
  tls.key: ""
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
      imagePullSecrets:
        - name: registry
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._refs import SECRET, missing_findings
from shipcard.check.rules.kube import Context

ID = "ref-missing-secret"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Workload references a Secret nothing provides"
RATIONALE = """A pod whose environment or volume names a Secret that does not exist is never started
(`CreateContainerConfigError` or `ContainerCreating`), and a missing image pull secret makes a
private image fail with `ImagePullBackOff`: the rollout hangs until its progress deadline.
An ExternalSecret or SealedSecret whose target name differs from the reference is the
usual cause."""
FIX = """Provide the Secret (a Secret, ExternalSecret or SealedSecret with that target name), correct the
name, or mark the reference `optional: true` if the pod can start without it."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    return missing_findings(context or Context(objects), SECRET)
