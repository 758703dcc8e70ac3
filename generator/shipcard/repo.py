"""`shipcard.yaml`: the settings of one GitOps repository, and the defaults cards take from them.

The repository root is the nearest directory holding `shipcard.yaml` (looking no higher than
the git work tree). Everything is optional: without the file every card must say its own
`gitops.repoURL` and `environments`, as the example cards do. The `check:` section belongs to
`shipcard check` (generator/shipcard/check/suppress.py) and is passed through untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from shipcard.card.schema import CLUSTER_URL, DNS_LABEL, END
from shipcard.errors import InputError, Location
from shipcard.yamlio.read import read_text
from shipcard.yamlio.roundtrip import load_roundtrip, locate, to_plain

REPO_FILE = "shipcard.yaml"
API_VERSION = "shipcard/v1"
KIND = "Repository"
DEFAULT_ARGOCD_NAMESPACE = "argocd"
SERVICE_PLACEHOLDER = "{service}"

_ENVIRONMENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cluster": {"type": "string", "pattern": CLUSTER_URL},
        "namespace": {"type": "string", "pattern": r"^([a-z0-9-]|\{service\})+" + END, "maxLength": 63,
                      "description": "A namespace, where {service} stands for the service name."},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "shipcard repository settings (shipcard.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
        "repoURL": {"type": "string", "minLength": 1},
        "targetRevision": {"type": "string", "minLength": 1},
        "project": {"type": "string", "pattern": DNS_LABEL},
        "argocdNamespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
        "kubernetesVersion": {"type": "string", "pattern": r"^v?[0-9]+\.[0-9]+" + END},
        "blueprintVersion": {"type": "string", "minLength": 1},
        "environments": {"type": "object", "minProperties": 1,
                         "propertyNames": {"pattern": DNS_LABEL, "maxLength": 30},
                         "additionalProperties": {"anyOf": [{"type": "null"}, _ENVIRONMENT]}},
        "check": {"description": "Settings of `shipcard check` (see docs/check.md)."},
    },
}


@dataclass(frozen=True)
class EnvironmentDefaults:
    cluster: str | None = None
    namespace: str | None = None  # may hold {service}

    def namespace_for(self, service: str) -> str | None:
        return self.namespace.replace(SERVICE_PLACEHOLDER, service) if self.namespace else None


@dataclass(frozen=True)
class RepoSettings:
    """What shipcard.yaml says; `RepoSettings()` is a repository without one."""

    file: Path | None = None
    repo_url: str | None = None
    target_revision: str | None = None
    project: str | None = None
    argocd_namespace: str = DEFAULT_ARGOCD_NAMESPACE
    kubernetes_version: str | None = None
    blueprint_version: str | None = None
    environments: dict[str, EnvironmentDefaults] = field(default_factory=dict)
    fingerprint: str = ""  # changes whenever a setting that shapes rendered files changes

    def card_defaults(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The card's plain data with the repository's defaults filled in where the card is silent."""
        if not isinstance(raw, dict):
            return raw
        raw = dict(raw)
        gitops = raw.get("gitops")
        if gitops is None or isinstance(gitops, dict):
            gitops = dict(gitops or {})
            for key, value in (("repoURL", self.repo_url), ("targetRevision", self.target_revision),
                               ("project", self.project)):
                if value is not None and key not in gitops:
                    gitops[key] = value
            if gitops or "gitops" in raw:
                raw["gitops"] = gitops
        if "environments" not in raw and self.environments:
            raw["environments"] = {name: {} for name in self.environments}
        environments = raw.get("environments")
        if isinstance(environments, dict) and self.environments:
            name = raw.get("name") if isinstance(raw.get("name"), str) else ""
            filled = {}
            for env_name, overrides in environments.items():
                defaults = self.environments.get(env_name)
                if defaults is None or not (overrides is None or isinstance(overrides, dict)):
                    filled[env_name] = overrides
                    continue
                merged = dict(overrides or {})
                if defaults.cluster and "cluster" not in merged:
                    merged["cluster"] = defaults.cluster
                namespace = defaults.namespace_for(name)
                if namespace and "namespace" not in merged:
                    merged["namespace"] = namespace
                filled[env_name] = merged
            raw["environments"] = filled
        return raw

    def unknown_environments(self, raw: dict[str, Any]) -> list[str]:
        """Environments a card names that shipcard.yaml does not declare (none when it declares none)."""
        environments = raw.get("environments") if isinstance(raw, dict) else None
        if not self.environments or not isinstance(environments, dict):
            return []
        return [name for name in environments if name not in self.environments]


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding shipcard.yaml, not looking past the git work tree."""
    current = start.resolve()
    if not current.is_dir():
        current = current.parent
    for directory in (current, *current.parents):
        if (directory / REPO_FILE).is_file():
            return directory
        if (directory / ".git").exists():
            return None
    return None


def load_repo(root: Path | None) -> RepoSettings:
    """The settings in `root/shipcard.yaml`; empty settings when there is no such file."""
    if root is None or not (root / REPO_FILE).is_file():
        return RepoSettings()
    path = root / REPO_FILE
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def settings_for_card(card_path: Path) -> RepoSettings:
    """The settings of the repository a card lives in (its nearest shipcard.yaml)."""
    return load_repo(find_repo_root(card_path.parent))


@cache
def _schema() -> Any:
    from shipcard.card.load import Schema

    return Schema(SCHEMA, compile_after=0)  # small: compiling costs less than importing jsonschema


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> RepoSettings:
    del mtime_ns, size  # part of the cache key only: an edited file is read again
    return parse_repo(read_text(Path(path)), Path(path))


def parse_repo(text: str, path: Path) -> RepoSettings:
    """Validate shipcard.yaml's text; every problem is `file:line:col: field: message`."""
    from shipcard.card.load import raise_first_error  # the card loader explains schema errors

    shown = str(path)
    doc = load_roundtrip(text, shown)
    if doc is None:
        return RepoSettings(file=path, fingerprint=_fingerprint({}))
    if not isinstance(doc, dict):
        raise InputError(Location(shown, *locate(doc, ())), "", f"{REPO_FILE} must be a YAML mapping")
    raw = to_plain(doc)
    version = raw.get("kubernetesVersion")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        raise InputError(Location(shown, *locate(doc, ("kubernetesVersion",))), "kubernetesVersion",
                         f"write the version as a string, such as \"{version}\" (a number loses trailing zeros)")
    raise_first_error(_schema(), raw, doc, shown)
    environments = {name: EnvironmentDefaults(**(value or {})) for name, value in
                    (raw.get("environments") or {}).items()}
    shaping = {k: v for k, v in raw.items() if k != "check"}
    return RepoSettings(
        file=path,
        repo_url=raw.get("repoURL"),
        target_revision=raw.get("targetRevision"),
        project=raw.get("project"),
        argocd_namespace=raw.get("argocdNamespace", DEFAULT_ARGOCD_NAMESPACE),
        kubernetes_version=_kubernetes_version(raw),
        blueprint_version=raw.get("blueprintVersion"),
        environments=environments,
        fingerprint=_fingerprint(shaping),
    )


def _kubernetes_version(raw: dict[str, Any]) -> str | None:
    """The repository's target version; the checker's own `check.kubernetes-version` wins when set."""
    check = raw.get("check")
    if isinstance(check, dict) and isinstance(check.get("kubernetes-version"), str):
        return str(check["kubernetes-version"])
    version = raw.get("kubernetesVersion")
    return re.sub(r"^v", "", version) if isinstance(version, str) else None


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
