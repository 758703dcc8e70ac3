'''Pods get a Kubernetes API token they do not need.

A pod passes when its spec sets `automountServiceAccountToken: false`, or leaves it
unset while its ServiceAccount (found among the checked objects) sets it to false.

A pod also passes when it mounts the token because its ServiceAccount (found among the
checked objects) has an IAM role through IRSA, the annotation `eks.amazonaws.com/role-arn`;
shipcard's pods do whenever the card sets `serviceAccount.awsRole`. Why: the AWS SDKs'
default credential chain takes a web identity from `AWS_ROLE_ARN` and the file
`AWS_WEB_IDENTITY_TOKEN_FILE` names, which the EKS Pod Identity Webhook injects with a
projected token of its own (volume `aws-iam-token`, audience `sts.amazonaws.com`); but
workloads that also read the Kubernetes token at its default path have been reported to fail
with it switched off (Helm charts patched to mount it for IRSA and EKS Pod Identity), so a
role is taken as the reason to mount it. The residual risk: that token still authenticates
to the Kubernetes API server as the ServiceAccount, so give a ServiceAccount with a role no
Role or ClusterRole binding. A pod that mounts the token without a role still gets the
finding, and so does one whose role comes from an EKS Pod Identity association: it is made
outside the cluster and leaves nothing to see. When neither the pod nor the ServiceAccount names
a namespace, the role counts only if both come from one render (a Kustomize build, a Helm release,
one directory of manifests): two Applications may deploy them to two namespaces, and a pod never
gets a ServiceAccount of another namespace.

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

```yaml pass
apiVersion: v1
kind: ServiceAccount
metadata:
  name: uploader
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/uploader
automountServiceAccountToken: false
---
apiVersion: batch/v1
kind: Job
metadata:
  name: upload
spec:
  template:
    spec:
      serviceAccountName: uploader
      automountServiceAccountToken: true
      restartPolicy: Never
      containers:
        - name: upload
          image: ghcr.io/example/uploader:1.0.0
```

```yaml fail
apiVersion: v1
kind: ServiceAccount
metadata:
  name: uploader
automountServiceAccountToken: false
---
apiVersion: batch/v1
kind: Job
metadata:
  name: upload
spec:
  template:
    spec:
      serviceAccountName: uploader
      automountServiceAccountToken: true
      restartPolicy: Never
      containers:
        - name: upload
          image: ghcr.io/example/uploader:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, finding

IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

ID = "service-account-token-automount"
SEVERITY = "warning"
CATEGORY = "security"
TITLE = "Service account token is mounted into the pod"
RATIONALE = """Unless automounting is switched off, every container gets a token for the Kubernetes
API at /var/run/secrets/kubernetes.io/serviceaccount. Most applications never call the API;
for them the token only helps an attacker who gets code execution to explore and attack
the cluster with the pod's identity. An IAM role through IRSA is accepted as a reason to mount it:
the webhook adds the web identity token the AWS SDKs read, but workloads have been reported to fail
with the API token off. The token still authenticates to the API server, so give such a
ServiceAccount no RBAC."""
FIX = """Set `automountServiceAccountToken: false` in the pod spec (or on its ServiceAccount); pods
that do call the API can mount a projected token volume with a short lifetime instead. A pod that
mounts it for an IAM role passes once its ServiceAccount has `eks.amazonaws.com/role-arn`."""


def _surely_the_pods(workload: Prepared, account: Prepared) -> bool:
    """Whether the ServiceAccount found is the one the pods get: both name one namespace, or neither names
    one and both come from one render (one build, one release, one directory of plain manifests), so one
    Application puts them in one namespace. Two files of no namespace anywhere else may be deployed to two
    namespaces, where the pods' account of that name has no role."""
    return bool(workload.namespace) or _render(workload.obj) == _render(account.obj)


def _render(obj: K8sObject) -> str:
    return obj.origin or str(PurePosixPath(obj.file).parent)


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
        if sa is not None and sa.obj.annotations.get(IRSA_ROLE_ANNOTATION) and _surely_the_pods(workload, sa):
            continue  # mounted for its IAM role (IRSA): see the module's docstring
        path = (*(workload.pod_path or ()), "automountServiceAccountToken") if setting is not None \
            else (workload.pod_path or ())
        yield finding(workload.obj, path,
                      f'pods of {workload.obj.ref} get a Kubernetes API token (ServiceAccount "{account}")')
