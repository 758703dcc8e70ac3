"""Where Argo CD Applications deploy: a destination's cluster, and which checked render an Application's
source is (shared by duplicate-object and cronjob-on-several-clusters)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from shipcard.check.model import K8sObject
from shipcard.check.rules.kube import as_dict, dig

IN_CLUSTER = "https://kubernetes.default.svc"
Place = tuple[str, str, str]  # a repository-relative directory, a Helm release ("" for Kustomize), its namespace
KUSTOMIZE_PREFIX = "kubectl kustomize "  # the origins shipcard.check.inputs.tools gives renders
HELM_PREFIX = "helm template "


def cluster_of(destination: dict[str, Any]) -> str | None:
    """An Argo CD destination's cluster: its server URL (normalised) or its name; None when it has neither."""
    server, name = destination.get("server"), destination.get("name")
    if isinstance(server, str) and server.strip():
        url = server.strip().rstrip("/").lower()
        return "in-cluster" if url == IN_CLUSTER else url
    if isinstance(name, str) and name.strip():
        return name.strip()
    return None


def same_path(rendered: str, source_path: str) -> bool:
    """Whether a rendered directory (as findings show it) is an Application's repository-relative path."""
    rendered, source_path = rendered.replace("\\", "/").strip("/"), source_path.strip().strip("/")
    return bool(source_path) and (rendered == source_path or rendered.endswith("/" + source_path))


def deployed_by(origin: str, app: K8sObject, source: dict[str, Any], destination: dict[str, Any] | None = None) -> bool:
    """Whether the render `origin` is what `app` deploys from `source` (to `destination`, by default its own).

    A chart is matched by path, release name and namespace, not by its values files.
    """
    path = source.get("path")
    if not isinstance(path, str):
        return False
    words = origin.split()
    if origin.startswith(KUSTOMIZE_PREFIX):
        return same_path(origin.removeprefix(KUSTOMIZE_PREFIX), path)
    if origin.startswith(HELM_PREFIX) and len(words) >= 4:
        release = as_dict(source.get("helm")).get("releaseName") or app.name
        namespace = words[words.index("--namespace") + 1] if "--namespace" in words[:-1] else ""
        wanted = destination if destination is not None else as_dict(dig(app.data, "spec", "destination"))
        return same_path(words[3], path) and words[2] == release and namespace == str(wanted.get("namespace") or "")
    return False


def places(origin: str) -> list[Place]:
    """Where the render `origin` may be an Application's source: each trailing part of its directory (an
    Application's path names it from the repository root), with its release and namespace."""
    words = origin.split()
    if origin.startswith(KUSTOMIZE_PREFIX):
        directory, release, namespace = origin.removeprefix(KUSTOMIZE_PREFIX), "", ""
    elif origin.startswith(HELM_PREFIX) and len(words) >= 4:
        directory, release = words[3], words[2]
        namespace = words[words.index("--namespace") + 1] if "--namespace" in words[:-1] else ""
    else:
        return []
    parts = [part for part in directory.replace("\\", "/").split("/") if part]
    return [("/".join(parts[start:]), release, namespace) for start in range(len(parts))]


def application_places(app: K8sObject, source: dict[str, Any], destination: dict[str, Any]) -> list[Place]:
    """The `places` of the renders `deployed_by` may match for `app`'s `source` and `destination`: an index key,
    so that each Application is compared with a few renders, not all."""
    path = source.get("path")
    if not isinstance(path, str):
        return []
    path = str(PurePosixPath(path.strip().strip("/") or "."))
    release = str(as_dict(source.get("helm")).get("releaseName") or app.name)
    return [(path, "", ""), (path, release, str(destination.get("namespace") or ""))]
