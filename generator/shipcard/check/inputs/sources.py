"""Releases a helmfile declares and the in-repository sources of Argo CD Applications, as targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard.check.inputs.kustomize import strings
from shipcard.check.inputs.paths import MANIFEST_SUFFIXES, display, kustomization_file
from shipcard.check.inputs.reach import Reach
from shipcard.check.inputs.targets import Plan, Target, add_chart, add_kustomize
from shipcard.errors import InputError
from shipcard.git import normalise_repo_url, remote_urls
from shipcard.settings import repository_root
from shipcard.yamlio.dump import dump
from shipcard.yamlio.read import load_documents, read_text, real_path


@dataclass
class Release:
    name: str
    chart: Path
    values: tuple[Path, ...]
    namespace: str


def helmfile_releases(path: Path) -> list[Release]:
    """Releases of local charts in a helmfile (plain YAML only; templated helmfiles are not read)."""
    items: list[Any] = []
    try:
        for document in load_documents(read_text(path), str(path)):
            if isinstance(document.data, dict) and isinstance(document.data.get("releases"), list):
                items += document.data["releases"]
    except InputError:
        return []
    releases = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("chart"), str):
            continue
        chart = real_path(path.parent / item["chart"])
        if not (chart / "Chart.yaml").is_file():
            continue
        values = tuple(real_path(path.parent / v) for v in strings(item.get("values"))
                       if (path.parent / v).is_file())
        releases.append(Release(str(item.get("name") or chart.name), chart, values,
                                str(item.get("namespace") or "")))
    return releases


def add_argocd_sources(plan: Plan, reach: Reach | None = None) -> None:
    """Render the in-repository source of every Argo CD Application among the manifests (with `reach`,
    also of those found without a target, when they may deploy what changed)."""
    remotes: dict[Path, set[str]] = {}  # each repository's config read once
    files = [target.path for target in plan.targets if target.kind == "manifest"]
    for path in files + (plan.unchanged if reach is not None else []):
        try:
            text = read_text(path)
        except InputError:
            continue
        if "argoproj.io" not in text or "Application" not in text:
            continue
        if reach is not None and not reach.application_may_reach(path, text, _root_of(path)):
            continue
        try:
            documents = list(load_documents(text, str(path)))
        except InputError:
            continue
        for document in documents:
            data = document.data
            if isinstance(data, dict) and data.get("kind") == "Application" \
                    and str(data.get("apiVersion", "")).startswith("argoproj.io/"):
                _add_application_sources(plan, path, data, remotes)


def _root_holding(app_file: Path, sources: list[dict[str, Any]]) -> Path | None:
    """Outside a repository: the nearest directory above the Application that holds its source paths."""
    paths = [s["path"] for s in sources if isinstance(s.get("path"), str) and not s.get("chart")]
    if not paths:
        return None
    for directory in real_path(app_file).parents:
        if all((directory / p).exists() for p in paths):
            return directory
    return None


def _root_of(app_file: Path) -> Path:
    """The repository an Application's source paths are relative to (see `_add_application_sources`)."""
    return repository_root(app_file) or real_path(Path.cwd())


def _add_application_sources(plan: Plan, app_file: Path, app: dict[str, Any],
                             remotes_of: dict[Path, set[str]]) -> None:
    spec: dict[str, Any] = app["spec"] if isinstance(app.get("spec"), dict) else {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    name = str((app.get("metadata") or {}).get("name") or app_file.stem)
    namespace = str((spec.get("destination") or {}).get("namespace") or "")
    root = repository_root(app_file) or _root_holding(app_file, sources) or real_path(Path.cwd())
    if root not in remotes_of:
        remotes_of[root] = remote_urls(root)
    remotes = remotes_of[root]
    for source in sources:
        path = source.get("path")
        if not isinstance(path, str) or source.get("chart"):
            continue
        repo_url = source.get("repoURL")
        if remotes and isinstance(repo_url, str) and normalise_repo_url(repo_url) not in remotes:
            plan.notes.append(f"{display(app_file)}: Application {name} deploys from {repo_url}, "
                              "another repository: not rendered")
            continue
        directory = real_path(root / path)
        if not directory.is_dir() or root not in (directory, *directory.parents):
            continue  # argocd-source-path-missing (policy pack) reports it
        reason = f"source of Argo CD Application {name} ({display(app_file)})"
        if kustomization_file(directory):
            add_kustomize(plan, directory, reason)
        elif (directory / "Chart.yaml").is_file():
            helm: dict[str, Any] = source["helm"] if isinstance(source.get("helm"), dict) else {}
            values = tuple(real_path(directory / v) for v in strings(helm.get("valueFiles"))
                           if (directory / v).is_file())
            inline = helm.get("valuesObject") if isinstance(helm.get("valuesObject"), dict) else None
            inline_text = dump(inline) if inline else (helm["values"] if isinstance(helm.get("values"), str) else "")
            add_chart(plan, directory, values, reason, release=str(helm.get("releaseName") or name),
                      namespace=namespace, inline_values=inline_text, extra_inputs={app_file})
        else:
            recurse = bool(((source.get("directory") or {}) if isinstance(source.get("directory"), dict)
                            else {}).get("recurse"))
            pattern = "**/*" if recurse else "*"
            for file in sorted(directory.glob(pattern)):
                if file.is_file() and file.name.endswith(MANIFEST_SUFFIXES) and not file.name.startswith("."):
                    plan.add(Target("manifest", file, [reason], inputs=frozenset({file})))
