'''A Job that is not an Argo CD hook has a fixed name, but its pod template is immutable.

A Job's `spec.template` cannot be changed once the Job exists. Argo CD applies a plain Job
like any other object, so when the template changes (a new image tag, a new argument) the
apply fails with `field is immutable` and the sync stops, until the name changes or the Job
is replaced ([sync options](https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/)).

Reported for a `Job` (not a CronJob: its controller creates the Jobs) when none of these hold:

* it is a hook: it has `argocd.argoproj.io/hook`, or `helm.sh/hook`, which Argo CD maps to
  its hooks ([resource hooks](https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/));
  Argo CD creates hooks anew;
* its `argocd.argoproj.io/sync-options` include `Force=true` (usually with `Replace=true`):
  the Job is deleted and recreated instead of patched. `Replace=true` alone is not enough:
  `kubectl replace` of a Job whose template changed is refused as well (an update is an
  update, whether patch or put), which is why Argo CD documents `Force=true,Replace=true`;
* it has `metadata.generateName` and no `metadata.name`: every sync creates a new Job;
* its name is *hash-suffixed*: the last dash-separated segment is either 5 to 10 characters
  of `[a-z0-9]` holding at least one digit (`migrate-7f3c9d2`, `seed-20240601`), or
  version-like, `v` then a digit then `[a-z0-9.]` (`seed-v2`, `seed-v1.4.0`). Such a
  name is taken to change with the template (a Kustomize `configMapGenerator`-style hash, a
  release tag that CI writes).

The name heuristic cannot see whether the suffix really follows the template: a suffix
written once and never updated passes, and a suffix of other shapes (`seed-abcdef`, letters
only; `seed-1`, too short) is reported. `ttlSecondsAfterFinished` is not enough: the Job
exists until it finishes and its TTL ends, and a sync in that window still fails.

```yaml pass
apiVersion: batch/v1
kind: Job
metadata:
  name: seed-7f3c9d2
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
```

```yaml pass
apiVersion: batch/v1
kind: Job
metadata:
  name: seed
  annotations:
    argocd.argoproj.io/sync-options: Force=true,Replace=true
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
```

```yaml pass
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-upgrade
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
  name: seed
  annotations:
    argocd.argoproj.io/sync-options: Validate=false
spec:
  ttlSecondsAfterFinished: 300
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
```

```yaml fail
apiVersion: batch/v1
kind: Job
metadata:
  name: seed
  annotations:
    argocd.argoproj.io/sync-options: Replace=true
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
```

```yaml fail
apiVersion: batch/v1
kind: Job
metadata:
  name: seed-abcdef
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: seed
          image: ghcr.io/example/seed:1.0.0
```
'''

from __future__ import annotations

import re
from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, finding

ID = "argocd-job-immutable-name"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Job outside Argo CD hooks has a name that does not change with its template"
RATIONALE = """A Job's pod template is immutable. Argo CD applies a Job that is not a hook like any object:
when the template changes, the apply fails with `field is immutable` and the sync stops until
someone deletes the Job by hand."""
FIX = """Make the Job an Argo CD hook (`argocd.argoproj.io/hook: Sync` with
`argocd.argoproj.io/hook-delete-policy: BeforeHookCreation`), give it a name whose last segment
changes with the template (`seed-<hash>`, `seed-v2`), or set
`argocd.argoproj.io/sync-options: Force=true,Replace=true`."""

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
RECREATING_OPTION = "Force=true"
HASH_SEGMENT = re.compile(r"(?=[a-z]*[0-9])[a-z0-9]{5,10}")
VERSION_SEGMENT = re.compile(r"v[0-9][a-z0-9.]*")


def hash_suffixed(name: str) -> bool:
    """The last dash-separated segment of `name` looks like a hash or a version (see the docstring)."""
    if "-" not in name:
        return False
    last = name.rsplit("-", 1)[1]
    return bool(HASH_SEGMENT.fullmatch(last) or VERSION_SEGMENT.fullmatch(last))


def _recreated(options: object) -> bool:
    return isinstance(options, str) and any(o.strip() == RECREATING_OPTION for o in options.split(","))


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for job in context.of_kind("Job"):
        obj = job.obj
        if job.is_hook or _recreated(obj.annotations.get(SYNC_OPTIONS)):
            continue
        name = obj.metadata.get("name")
        if not isinstance(name, str) or not name:
            if isinstance(obj.metadata.get("generateName"), str):
                continue
            name = ""
        if hash_suffixed(name):
            continue
        yield finding(obj, ("metadata", "name") if name else ("metadata",),
                      f"{obj.ref} is a Job outside Argo CD hooks whose name does not change with its "
                      "immutable template")
