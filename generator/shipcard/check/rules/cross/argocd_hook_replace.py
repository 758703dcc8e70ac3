'''An Argo CD hook resource is synced with `Replace=true`.

Reported when an object carrying `argocd.argoproj.io/hook` has an
`argocd.argoproj.io/sync-options` annotation whose comma-separated options include
`Replace=true`. Argo CD then runs `kubectl replace`/`create` instead of `apply` for it
([sync options](https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#replace-resource-instead-of-applying-changes)),
which deletes and recreates the object; for a hook that Argo CD already creates anew each
sync ([resource hooks](https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/))
this only adds a failure mode (a replace of a hook still running fails), while
`argocd.argoproj.io/hook-delete-policy` is the documented way to recreate a hook.

```yaml pass
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
    argocd.argoproj.io/sync-options: Validate=false
spec:
  activeDeadlineSeconds: 600
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
    argocd.argoproj.io/sync-options: Validate=false, Replace=true
spec:
  activeDeadlineSeconds: 600
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
    argocd.argoproj.io/sync-options: Replace=true
spec:
  activeDeadlineSeconds: 120
  restartPolicy: Never
  containers:
    - name: smoke
      image: ghcr.io/example/smoke:1.0.0
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import ARGOCD_HOOK, Context, finding

ID = "argocd-hook-replace"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Argo CD hook is synced with Replace=true"
RATIONALE = """`Replace=true` makes Argo CD delete and recreate the object instead of applying it. A hook
is already created anew on every sync; replacing it as well makes a sync fail when the previous
hook run still exists or is still running, and hides the intended lifecycle, which
`argocd.argoproj.io/hook-delete-policy` expresses."""
FIX = """Remove `Replace=true` from the hook's `argocd.argoproj.io/sync-options` and set
`argocd.argoproj.io/hook-delete-policy: BeforeHookCreation` instead."""

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for prepared in context.prepared or []:
        annotations = prepared.obj.annotations
        if ARGOCD_HOOK not in annotations:
            continue
        options = annotations.get(SYNC_OPTIONS)
        if not isinstance(options, str):
            continue
        if any(option.strip() == "Replace=true" for option in options.split(",")):
            yield finding(prepared.obj, ("metadata", "annotations", SYNC_OPTIONS),
                          f"{prepared.obj.ref} is an Argo CD hook synced with Replace=true")
