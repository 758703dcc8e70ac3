'''An Argo CD hook Job or Pod has no `activeDeadlineSeconds`.

Reported for a Job or Pod carrying `argocd.argoproj.io/hook` whose
`spec.activeDeadlineSeconds` is unset (or not a positive integer). Argo CD waits for a
hook to finish before it continues the sync
([resource hooks](https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/),
[sync waves](https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/)); a hook
that hangs (a migration waiting on a lock, a pod stuck pulling an image) holds the
whole sync until someone terminates the operation. For a Job `backoffLimit` bounds
retries but not time; `spec.activeDeadlineSeconds` of the Job (or of the Pod) bounds both.

```yaml pass
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  activeDeadlineSeconds: 600
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/migrate:1.0.0
```

```yaml fail
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/migrate:1.0.0
```

```yaml fail
apiVersion: v1
kind: Pod
metadata:
  name: smoke
  annotations:
    argocd.argoproj.io/hook: PostSync
spec:
  restartPolicy: Never
  containers:
    - name: smoke
      image: ghcr.io/example/smoke:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import ARGOCD_HOOK, Context, dig, finding

ID = "argocd-hook-deadline-missing"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Argo CD hook Job or Pod has no activeDeadlineSeconds"
RATIONALE = """Argo CD does not move past a running hook. A hook without a deadline that hangs keeps the
sync (and every later wave and every later sync of the Application) waiting until someone
terminates the operation by hand."""
FIX = """Set `spec.activeDeadlineSeconds` on the hook Job (or Pod) to the longest run you accept,
for example 600 for a migration."""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for hook in context.of_kind("Job", "Pod"):
        if ARGOCD_HOOK not in hook.obj.annotations:
            continue
        deadline = dig(hook.obj.data, "spec", "activeDeadlineSeconds")
        if isinstance(deadline, int) and not isinstance(deadline, bool) and deadline > 0:
            continue
        yield finding(hook.obj, ("spec",),
                      f"{hook.obj.ref} is an Argo CD hook without spec.activeDeadlineSeconds")
