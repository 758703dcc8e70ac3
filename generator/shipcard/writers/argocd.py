"""One Argo CD Application per environment, pointing at that environment's tree; the AppProjects they name.

Written as Argo CD stores them, so the root's comparison with the live objects shows no difference
after a clean sync: the v3.5.1 CRDs default nothing, but Argo CD re-marshals an Application through
its Go types whenever it starts a sync (the whole object is updated), so no field is written with
the zero value of an `omitempty` field (it would vanish) and every field that is not `omitempty`
is written (it would appear). docs/repository.md lists them; tests/test_real_crds.py holds them.

Argo CD refuses to sync an Application whose project does not exist, so every project an
Application names, Argo CD's own `default` aside, gets an AppProject in `argocd/projects/`: the
sources and destinations its Applications use and, cluster-scoped, Namespaces only (for
`CreateNamespace=true`). The root ApplicationSet's `argocd/*` generator syncs that directory too.
"""

from __future__ import annotations

from collections.abc import Iterable

from shipcard.card.model import DEFAULT_CLUSTER, Card, Environment
from shipcard.k8s.objects import Obj
from shipcard.settings import RepoSettings
from shipcard.writers.tree import with_header
from shipcard.yamlio.dump import dump

ARGOCD_NAMESPACE = "argocd"
PROJECTS_DIR = "argocd/projects"
DEFAULT_PROJECT = "default"  # Argo CD's own project, always there


def application_path(card: Card, env: Environment) -> str:
    return f"argocd/{env.name}/{card.name}.yaml"


def namespace_labels(card: Card, env: Environment) -> dict[str, str]:
    """The labels Argo CD gives the namespace it creates: Pod Security Standards, ALB readiness gates."""
    version = env.spec.kubernetes_version
    labels = {"pod-security.kubernetes.io/enforce": card.gitops.pod_security,
              # The target's version of the standard, not the cluster's newest: an upgrade changes no verdict.
              "pod-security.kubernetes.io/enforce-version": f"v{version[0]}.{version[1]}" if version else "latest"}
    if env.spec.ingress and env.spec.ingress.class_name == "alb":
        # The AWS Load Balancer Controller then holds a pod's readiness until its ALB target is healthy.
        labels["elbv2.k8s.aws/pod-readiness-gate-inject"] = "enabled"
    return labels


def application(card: Card, env: Environment, source_path: str, namespace: str = ARGOCD_NAMESPACE) -> Obj:
    """The Application of one environment; `namespace` is where Argo CD runs (shipcard.yaml's argocdNamespace)."""
    gitops = card.gitops
    sync: Obj = {}
    if gitops.auto_sync:
        # Only the flags that are on: Argo CD writes every sync back through its Go types, where a
        # false `prune` or `selfHeal` (omitempty) disappears, and the root would see the file differ.
        sync["automated"] = {flag: True for flag, on in (("prune", gitops.prune), ("selfHeal", gitops.self_heal))
                             if on}
    sync["syncOptions"] = ["CreateNamespace=true"]
    sync["managedNamespaceMetadata"] = {"labels": namespace_labels(card, env)}
    sync["retry"] = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{card.name}-{env.name}",
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": card.name,
                "app.kubernetes.io/managed-by": "shipcard",
                # The environment, both sides of a cut-over alike: cronjob-on-several-clusters groups by it.
                "shipcard.io/environment": env.environment,
            },
            # Deleting the Application deletes what it deployed, instead of orphaning it.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": gitops.project,
            "source": {"repoURL": gitops.repo_url, "targetRevision": gitops.target_revision, "path": source_path},
            "destination": {"server": env.cluster, "namespace": env.namespace},
            "syncPolicy": sync,
        },
    }


def application_files(card: Card, namespace: str = ARGOCD_NAMESPACE) -> dict[str, str]:
    """`argocd/<env>/<name>.yaml` for every environment of a Kustomize-format card."""
    return {application_path(card, env): dump(application(card, env, f"{card.gitops.path}/overlays/{env.name}",
                                                          namespace))
            for env in card.environments}


def project_path(name: str) -> str:
    return f"{PROJECTS_DIR}/{name}.yaml"


def app_project(name: str, namespace: str, repos: Iterable[str], destinations: Iterable[tuple[str, str]]) -> Obj:
    """The AppProject `name`: only these repositories, only these (server, namespace) destinations."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "shipcard"}},
        "spec": {
            "description": f"The Applications of project {name}, as shipcard renders them",
            "sourceRepos": sorted(set(repos)),
            "destinations": [{"server": server, "namespace": ns} for server, ns in sorted(set(destinations))],
            # Cluster-scoped, only what CreateNamespace=true creates.
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        },
    }


def project_files(applications: Iterable[Obj], repo: RepoSettings) -> dict[str, str]:
    """`argocd/projects/<project>.yaml`, with headers, for every project the Applications (and the root) name."""
    repos: dict[str, set[str]] = {}
    destinations: dict[str, set[tuple[str, str]]] = {}

    def use(project: str, repo_url: str, server: str, namespace: str) -> None:
        if project != DEFAULT_PROJECT:
            repos.setdefault(project, set()).add(repo_url)
            destinations.setdefault(project, set()).add((server, namespace))

    for app in applications:
        spec = app["spec"]
        use(spec["project"], spec["source"]["repoURL"], spec["destination"]["server"],
            spec["destination"]["namespace"])
    if repo.project and repo.repo_url:  # argocd/root.yaml's Applications: the Applications of argocd/<env>/
        use(repo.project, repo.repo_url, DEFAULT_CLUSTER, repo.argocd_namespace)
    return {project_path(name): with_header(f"the Applications of project {name}",
                                            dump(app_project(name, repo.argocd_namespace, repos[name],
                                                             destinations[name])))
            for name in sorted(repos)}
