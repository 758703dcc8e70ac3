'''A workload runs as a ServiceAccount that no object of the checked input provides.

The pod spec's `serviceAccountName` (or the deprecated `serviceAccount` alias when that is
unset) is compared with the ServiceAccounts of the workload's namespace; `default` exists
in every namespace and is not reported (see `default-service-account`). Scoping: only
namespaces in which the checked input has at least one ServiceAccount are judged, so
checking a single manifest (or using accounts the platform creates) reports nothing.
Warning: the cluster may have the account.

```yaml pass
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
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
      serviceAccountName: web
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
```

```yaml fail
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
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
      serviceAccountName: web-frontend
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
```

```yaml fail
apiVersion: v1
kind: ServiceAccount
metadata:
  name: worker
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      serviceAccount: migrator
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/migrate:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._refs import SERVICE_ACCOUNT, missing_findings
from shipcard.check.rules.kube import Context

ID = "ref-missing-service-account"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Workload runs as a ServiceAccount nothing provides"
RATIONALE = """The API server refuses to create a pod whose ServiceAccount does not exist: the ReplicaSet or
Job controller retries with `FailedCreate` events, no pod appears, and the sync looks
successful while the rollout never starts."""
FIX = "Add the ServiceAccount to the manifests or correct `serviceAccountName`."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    return missing_findings(context or Context(objects), SERVICE_ACCOUNT)
