'''An Application of an app-of-apps set has no sync wave while others of the set have one.

The set is the Argo CD `Application`s (`argoproj.io/...`) of the checked input in one
namespace (Argo CD's, usually `argocd`): in the app-of-apps pattern a parent Application
syncs them together ([cluster bootstrapping](https://argo-cd.readthedocs.io/en/stable/operator-manual/cluster-bootstrapping/)).
When at least one of them has `argocd.argoproj.io/sync-wave`, the author ordered them; one
without the annotation is in wave 0
([sync waves](https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/)), so it may
sync before an Application in a later wave that it depends on (a CRD, an operator, a
database), or after one that waits for it. Reported once per Application without a wave,
at `metadata.annotations` (or `metadata` when it has no annotations). A set where no
Application has a wave is not reported: nothing was ordered.

```yaml pass
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cert-manager
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  project: default
  source: {repoURL: https://git.example.com/platform.git, path: cert-manager}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  project: default
  source: {repoURL: https://git.example.com/platform.git, path: shop}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: tools
  namespace: tools
spec:
  project: default
  source: {repoURL: https://git.example.com/platform.git, path: tools}
  destination: {server: https://kubernetes.default.svc, namespace: tools}
```

```yaml fail
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cert-manager
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  project: default
  source: {repoURL: https://git.example.com/platform.git, path: cert-manager}
  destination: {server: https://kubernetes.default.svc, namespace: cert-manager}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: argocd
spec:
  project: default
  source: {repoURL: https://git.example.com/platform.git, path: shop}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, finding

ID = "argocd-app-wave-missing"
SEVERITY = "warning"
CATEGORY = "reliability"
TITLE = "Application without a sync wave in an app-of-apps set that has waves"
RATIONALE = """Sync waves order the Applications that one parent syncs. An Application without
`argocd.argoproj.io/sync-wave` is in wave 0, so when its siblings are ordered it may sync before
an Application it depends on, or after one that depends on it, and the first sync of a new
cluster fails or flaps."""
FIX = """Give every Application of the set an `argocd.argoproj.io/sync-wave` annotation (`"0"` for one
that has no dependency), so the order is written down."""

SYNC_WAVE = "argocd.argoproj.io/sync-wave"


def _has_wave(app: Prepared) -> bool:
    wave = app.obj.annotations.get(SYNC_WAVE)
    return wave is not None and str(wave).strip() != ""


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    sets: dict[str, list[Prepared]] = {}
    for app in context.of_kind("Application"):
        if app.obj.api_version.startswith("argoproj.io/"):
            sets.setdefault(app.namespace, []).append(app)
    for apps in sets.values():
        waved = [app for app in apps if _has_wave(app)]
        if not waved or len(waved) == len(apps):
            continue
        for app in apps:
            if _has_wave(app):
                continue
            obj = app.obj
            path = ("metadata", "annotations") if obj.metadata.get("annotations") else ("metadata",)
            yield finding(obj, path, f"{obj.ref} has no {SYNC_WAVE} while {waved[0].obj.ref} of the "
                                     f"same app-of-apps set has one")
