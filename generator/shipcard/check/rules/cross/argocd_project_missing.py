'''An Argo CD Application names a project that is neither `default` nor defined.

The project must be an AppProject among the checked objects or, when the check knows the
repository root, the file shipcard renders it to (`argocd/projects/<project>.yaml`), so that
`check --base` on a changed Application alone does not report it. ApplicationSet templates
count as Applications; a project with template parameters is not checked.

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
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: storefront
  namespace: argocd
spec:
  sourceRepos: [https://github.com/example/gitops.git]
  destinations:
    - {server: https://kubernetes.default.svc, namespace: web}
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
    path: apps/web/overlays/prod
  destination:
    server: https://kubernetes.default.svc
    namespace: web
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, dig, finding
from shipcard.errors import InputError
from shipcard.yamlio.read import load_documents, read_text

ID = "argocd-project-missing"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Argo CD Application names a project nothing defines"
RATIONALE = """Argo CD refuses to sync an Application whose project does not exist: it shows
"application references project X which does not exist" and deploys nothing. The
project is usually created by hand once, so a new cluster, or a renamed project, breaks every
Application naming it."""
FIX = ("Define the AppProject in the repository (`shipcard render` writes `argocd/projects/<project>.yaml` "
       "for the projects cards name), or use Argo CD's `default` project on purpose.")
DEFAULT_PROJECT = "default"
PROJECTS_DIR = "argocd/projects"  # where shipcard renders them (shipcard.writers.argocd)


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    defined = {p.obj.name for p in context.of_kind("AppProject") if p.obj.api_version.startswith("argoproj.io/")}
    for app in context.of_kind("Application", "ApplicationSet"):
        if not app.obj.api_version.startswith("argoproj.io/"):
            continue
        where: tuple[str, ...] = ("spec", "template", "spec", "project") if app.kind == "ApplicationSet" \
            else ("spec", "project")
        project = dig(app.obj.data, *where)
        if not isinstance(project, str) or project in ("", DEFAULT_PROJECT, *defined) or "{{" in project:
            continue
        if _rendered(context, project):
            continue
        yield finding(app.obj, where, f'{app.obj.ref}: project "{project}" is not defined (no AppProject '
                                      f'"{project}" among the checked objects) and is not "default"')


def _rendered(context: Context, project: str) -> bool:
    """Whether the repository holds the AppProject file shipcard renders the project to.

    Only a regular file inside the repository (no linked component) whose document is that AppProject
    counts; outside a repository (no `shipcard.yaml` or `.git` at the root) nothing does.
    """
    root = context.root
    if root is None or "/" in project or project.startswith(".") \
            or not ((root / ".git").exists() or (root / "shipcard.yaml").is_file()):
        return False
    path = root / PROJECTS_DIR / f"{project}.yaml"
    steps = [root.joinpath(*path.relative_to(root).parts[:n]) for n in range(1, len(path.relative_to(root).parts) + 1)]
    if any(step.is_symlink() for step in steps):
        return False  # a link on the way may lead anywhere
    try:
        documents = load_documents(read_text(path), str(path))
    except InputError:
        return False
    return any(isinstance(d.data, dict) and d.data.get("kind") == "AppProject"
               and as_dict(d.data.get("metadata")).get("name") == project for d in documents)
