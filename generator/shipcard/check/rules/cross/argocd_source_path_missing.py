'''An Argo CD Application points at a path that does not exist in this repository.

Checked when the check knows the repository root (the engine passes it) and the
source's repoURL is one of the repository's git remotes (or the remotes are unknown).
Chart sources and paths with ApplicationSet template parameters are not checked.

```yaml pass
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-prod
  namespace: argocd
spec:
  project: storefront
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/web/overlays/prod
  destination:
    server: https://kubernetes.default.svc
    namespace: web
---
# file: apps/web/overlays/prod/kustomization.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
```

```yaml fail
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-prod
  namespace: argocd
spec:
  project: storefront
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/web-frontend/overlays/prod
  destination:
    server: https://kubernetes.default.svc
    namespace: web
---
# file: apps/web/overlays/prod/kustomization.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
```
'''

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, dig, finding, iter_named

ID = "argocd-source-path-missing"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Argo CD source path does not exist"
RATIONALE = """An Application whose source path is missing from the repository fails to generate
manifests; with automated sync and pruning, a renamed or deleted directory can also make
Argo CD consider every deployed resource orphaned. The mistake only shows after merge."""
FIX = "Fix `spec.source.path` (or the ApplicationSet template's path) to the directory that holds the manifests."


def sources(obj: K8sObject) -> Iterable[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(path to the source, source) of an Application or an ApplicationSet template."""
    base: tuple[str | int, ...] = ("spec", "template", "spec") if obj.kind == "ApplicationSet" else ("spec",)
    spec = as_dict(dig(obj.data, *base))
    if isinstance(spec.get("source"), dict):
        yield (*base, "source"), spec["source"]
    for index, source in iter_named(spec.get("sources")):
        yield (*base, "sources", index), source


def _inside(root: Path, rel: str) -> Path | None:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        return None
    return root.joinpath(*pure.parts) if pure.parts else root


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    root = context.root
    if root is None:
        return
    for app in context.of_kind("Application", "ApplicationSet"):
        if not app.obj.api_version.startswith("argoproj.io/"):
            continue
        for where, source in sources(app.obj):
            path = source.get("path")
            if not isinstance(path, str) or "chart" in source or "{{" in path:
                continue
            if not context.is_this_repository(source.get("repoURL")):
                continue
            target = _inside(root, path.strip().strip("/") if path.strip() not in ("", ".") else "")
            if target is None or not target.is_dir():
                yield finding(app.obj, (*where, "path"),
                              f'{app.obj.ref}: source path "{path}" does not exist in the repository')
