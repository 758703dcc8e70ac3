"""One Argo CD Application per environment, pointing at that environment's tree."""

from __future__ import annotations

from shipcard.card.model import Card, Environment
from shipcard.k8s.objects import Obj
from shipcard.yamlio.dump import dump

ARGOCD_NAMESPACE = "argocd"


def application_path(card: Card, env: Environment) -> str:
    return f"argocd/{env.name}/{card.name}.yaml"


def application(card: Card, env: Environment, source_path: str, namespace: str = ARGOCD_NAMESPACE) -> Obj:
    """The Application of one environment; `namespace` is where Argo CD runs (shipcard.yaml's argocdNamespace)."""
    gitops = card.gitops
    sync: Obj = {}
    if gitops.auto_sync:
        sync["automated"] = {"prune": gitops.prune, "selfHeal": gitops.self_heal}
    sync["syncOptions"] = ["CreateNamespace=true"]
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
                "shipcard.io/environment": env.name,
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
