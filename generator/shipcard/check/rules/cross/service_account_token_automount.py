'''Pods get a Kubernetes API token they do not need.

A pod passes when its spec sets `automountServiceAccountToken: false`, or leaves it
unset while its ServiceAccount (found among the checked objects) sets it to false.

An IAM role for the ServiceAccount (IRSA, annotation `eks.amazonaws.com/role-arn`) is no reason
to mount the token: the EKS Pod Identity Webhook adds a projected volume of its own
(`aws-iam-token`, audience `sts.amazonaws.com`) and the AWS SDKs read that one, whatever
`automountServiceAccountToken` says; so does EKS Pod Identity. The finding says so when the
ServiceAccount has the annotation.

```yaml pass
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
automountServiceAccountToken: false
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
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, finding

IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

ID = "service-account-token-automount"
SEVERITY = "warning"
CATEGORY = "security"
TITLE = "Service account token is mounted into the pod"
RATIONALE = """Unless automounting is switched off, every container gets a token for the Kubernetes
API at /var/run/secrets/kubernetes.io/serviceaccount. Most applications never call the API;
for them the token only helps an attacker who gets code execution to explore and attack
the cluster with the pod's identity. An IAM role (IRSA or EKS Pod Identity) does not need it: its
webhook mounts a token of its own."""
FIX = """Set `automountServiceAccountToken: false` in the pod spec (or on its ServiceAccount); pods
that do call the API can mount a projected token volume with a short lifetime instead."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for workload in context.workloads:
        spec = workload.pod_spec or {}
        setting = spec.get("automountServiceAccountToken")
        if setting is False:
            continue
        account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        sa = context.find("ServiceAccount", workload.namespace, account)
        if setting is None and sa is not None and sa.obj.data.get("automountServiceAccountToken") is False:
            continue
        path = (*(workload.pod_path or ()), "automountServiceAccountToken") if setting is not None \
            else (workload.pod_path or ())
        irsa = ("; its IAM role (eks.amazonaws.com/role-arn) does not need it: the EKS Pod Identity Webhook "
                "mounts a token of its own") if sa is not None and sa.obj.annotations.get(IRSA_ROLE_ANNOTATION) else ""
        yield finding(workload.obj, path,
                      f'pods of {workload.obj.ref} get a Kubernetes API token (ServiceAccount "{account}"){irsa}')
