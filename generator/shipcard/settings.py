"""`shipcard.yaml`: the settings of one GitOps repository, parsed and validated once, and its root.

The repository root is the nearest directory holding `shipcard.yaml` (looking no higher than
the git work tree). Everything is optional: without the file every card must say its own
`gitops.repoURL` and `environments`, as the example cards do. `kubernetesVersion` is the
target of `render` and, unless `--kubernetes-version` says otherwise, of `check`. The
`check:` section holds the checker's settings (docs/check.md); `shipcard.check.suppress`
applies them. Every mistake is one line `file:line:col: field: message`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from shipcard.errors import InputError, Location
from shipcard.patterns import (
    CLUSTER_URL,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    KUBERNETES_VERSION,
    LABEL_VALUE,
    NAMESPACE_TEMPLATE,
    qualified_name_problem,
)
from shipcard.validation import Schema, field_name, raise_first, schema_key
from shipcard.yamlio.read import PathKey, UnreadableFileError, read_text, real_path

REPO_FILE = "shipcard.yaml"
API_VERSION = "shipcard/v1"
KIND = "Repository"
DEFAULT_ARGOCD_NAMESPACE = "argocd"
SERVICE_PLACEHOLDER = "{service}"
# The oldest Kubernetes shipcard renders for: the oldest whose schemas kubernetes-validate ships,
# so every rendered object can be checked against its target's schemas.
OLDEST_KUBERNETES = (1, 25)
FAIL_ON_CHOICES = ("error", "warning", "info")
# The namespace the ingress-nginx chart installs the controller in: where a fresh repository's
# Ingresses send traffic from, unless network.ingressController says otherwise.
DEFAULT_INGRESS_NAMESPACE = "ingress-nginx"
# Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")

KubernetesVersion = tuple[int, int]
_Fail = Callable[[PathKey, str], InputError]

# The providers a card's secrets come from (card.schema), and the kinds of ESO store an ExternalSecret reads.
SECRET_PROVIDERS = ("aws-secrets-manager", "aws-parameter-store", "vault")
STORE_KINDS = ("ClusterSecretStore", "SecretStore")
DEFAULT_STORE_KIND = STORE_KINDS[0]
STORE_NAME = {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253}

_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
CUTOVER_SIDES = ("old", "new")
CUTOVER_SUFFIX = "-next"  # the new side's default name: <env>-next
_CUTOVER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to", "schedules"],
    "properties": {
        "to": {"type": "string", "pattern": CLUSTER_URL},
        "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 30, "not": {"const": "projects"}},
        "schedules": {"enum": list(CUTOVER_SIDES)},
        "finished": {"type": "boolean"},
    },
}
_ENVIRONMENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cluster": {"type": "string", "pattern": CLUSTER_URL},
        "namespace": {"type": "string", "pattern": NAMESPACE_TEMPLATE, "maxLength": 63,
                      "description": "A namespace, where {service} stands for the service name."},
        "cutover": _CUTOVER,
    },
}
_IGNORE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rule": {"type": "string", "minLength": 1},
        "rules": {**_STRINGS, "minItems": 1},
        "path": _STRING, "kind": _STRING, "name": _STRING, "namespace": _STRING, "reason": _STRING,
        "expires": {},  # a YAML date or an ISO date string: checked after the schema
    },
}
_RULE = {
    "anyOf": [{"type": "null"}, {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "extends": {"type": "string", "minLength": 1},
            "severity": {"enum": ["error", "warning", "info"]},
            "enabled": {"type": "boolean"},
            "params": {"anyOf": [{"type": "null"}, {"type": "object"}]},  # checked against the rule's PARAMS
        },
    }],
}
_CHECK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rules": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": _RULE},
        "fail-on": {"enum": list(FAIL_ON_CHOICES)},
        "strict-kinds": {"type": "boolean"},
        "policy-dirs": _STRINGS,
        "crd-dirs": _STRINGS,
        "required": _STRINGS,
        "ignore": {"type": "array", "items": _IGNORE},
    },
}
# Pod labels a NetworkPolicy peer selects (keys: checked by qualified_name_problem after the schema).
POD_LABELS = {"type": "object", "minProperties": 1, "propertyNames": {"minLength": 1, "maxLength": 317},
              "additionalProperties": {"type": "string", "pattern": LABEL_VALUE, "maxLength": 63}}
_NETWORK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ingressController": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"namespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
                           "podLabels": POD_LABELS},
        },
        "vpcCIDR": {"type": "string", "minLength": 1, "maxLength": 43,
                    "description": "The VPC's address block: where an ALB (target-type ip) connects from."},
    },
}
# `secrets.stores.<provider>`: the ESO store every card's values of that provider read unless they name one.
_SECRETS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stores": {"type": "object", "propertyNames": {"enum": list(SECRET_PROVIDERS)},
                   "additionalProperties": {
                       "type": "object", "additionalProperties": False, "required": ["name"],
                       "properties": {"name": STORE_NAME, "kind": {"enum": list(STORE_KINDS)}}}},
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
        "kubernetesVersion": {"type": "string", "pattern": KUBERNETES_VERSION},
        "blueprintVersion": {"type": "string", "minLength": 1},
        "podSecurity": {"enum": list(POD_SECURITY_LEVELS)},
        "environments": {"type": "object", "minProperties": 1,
                         "propertyNames": {"pattern": DNS_LABEL, "maxLength": 30,
                                           "not": {"const": "projects"}},  # argocd/projects/: AppProjects
                         "additionalProperties": {"anyOf": [{"type": "null"}, _ENVIRONMENT]}},
        "network": _NETWORK,
        "secrets": _SECRETS,
        "check": _CHECK,
    },
}


@dataclass(frozen=True)
class Cutover:
    """An environment moving to another cluster (docs/cutover.md): the new side is one more destination,
    named `name`, until `finished` drops the old one; only the `schedules` side runs the CronJobs."""

    to: str
    name: str
    schedules: str  # "old" or "new"
    finished: bool = False

    def suspends(self, side: str) -> bool:
        """Whether the side ("old" or "new") renders every CronJob suspended."""
        return side != self.schedules


@dataclass(frozen=True)
class EnvironmentDefaults:
    cluster: str | None = None
    namespace: str | None = None  # may hold {service}
    cutover: Cutover | None = None

    def namespace_for(self, service: str) -> str | None:
        return self.namespace.replace(SERVICE_PLACEHOLDER, service) if self.namespace else None


@dataclass(frozen=True)
class NetworkSettings:
    """`network:`: where the services' Ingress traffic comes from (docs/repository.md)."""

    ingress_namespace: str = DEFAULT_INGRESS_NAMESPACE  # the ingress controller's namespace
    ingress_pod_labels: tuple[tuple[str, str], ...] = ()  # its pods there; none: every pod of the namespace
    vpc_cidr: str | None = None  # ALB target-type ip: the ALB connects from its addresses in the VPC


@dataclass(frozen=True)
class SecretStore:
    """`secrets.stores.<provider>`: the ESO store (its name and kind) a provider's values read by default."""

    name: str
    kind: str = DEFAULT_STORE_KIND


@dataclass(frozen=True)
class IgnoreSetting:
    """One `check.ignore` entry: which findings it suppresses, and why (no reason: it suppresses nothing)."""

    rules: tuple[str, ...]
    reason: str
    line: int
    path: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    expires: dt.date | None = None


@dataclass(frozen=True)
class RuleSetting:
    """One `check.rules.<id>` entry; `where` locates the entry and each of its keys, for errors found
    once the rules are loaded (an unknown ID, an undeclared parameter)."""

    rule: str
    extends: str | None = None  # a new rule with this rule's logic (and its own severity, params)
    severity: str | None = None
    enabled: bool = True
    params: tuple[tuple[str, Any], ...] = ()
    where: tuple[tuple[str, Location], ...] = ()

    def location(self, key: str = "") -> tuple[Location, str]:
        """Where `key` ("" the entry, "severity", "params.NAME") is written, and its field name."""
        found = dict(self.where)
        field_path = f"check.rules.{self.rule}" + (f".{key}" if key else "")
        return found.get(key, found[""]), field_path


@dataclass(frozen=True)
class CheckSettings:
    """The `check:` section; directories resolved against the repository root."""

    fail_on: str | None = None
    strict_kinds: bool = False
    policy_dirs: tuple[Path, ...] = ()
    crd_dirs: tuple[Path, ...] = ()
    required: frozenset[str] = frozenset()
    ignores: tuple[IgnoreSetting, ...] = ()
    rules: tuple[RuleSetting, ...] = ()


@dataclass(frozen=True)
class RepoSettings:
    """What shipcard.yaml says; `RepoSettings()` is a repository without one."""

    file: Path | None = None
    repo_url: str | None = None
    target_revision: str | None = None
    project: str | None = None
    argocd_namespace: str = DEFAULT_ARGOCD_NAMESPACE
    kubernetes_version: KubernetesVersion | None = None  # None: the newest
    pod_security: str = POD_SECURITY_LEVELS[0]  # the level the services' namespaces enforce
    environments: dict[str, EnvironmentDefaults] = field(default_factory=dict)
    network: NetworkSettings = NetworkSettings()
    secret_stores: dict[str, SecretStore] = field(default_factory=dict)  # provider → its default store
    check: CheckSettings = CheckSettings()
    fingerprint: str = ""  # changes whenever a setting that shapes rendered files changes

    @property
    def root(self) -> Path:
        """The repository root (the working directory without a settings file)."""
        return self.file.parent if self.file else real_path(Path.cwd())

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
            name: str = raw["name"] if isinstance(raw.get("name"), str) else ""
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

    def secret_defaults(self, fields: Any) -> Any:
        """A service's fields (the card's, or an environment's merged ones) with the store of each secrets
        provider that `secrets.stores` names filled in where the card names none: `secrets.store` for the
        card's own provider, `store` of a value with a provider of its own."""
        secrets = fields.get("secrets") if isinstance(fields, dict) else None
        if not self.secret_stores or not isinstance(secrets, dict):
            return fields
        secrets = dict(secrets)
        provider = secrets.get("provider", "none")
        if "store" not in secrets and provider in self.secret_stores:
            secrets["store"] = self.secret_stores[provider].name
        for section in ("env", "files"):
            entries = secrets.get(section)
            if not isinstance(entries, dict):
                continue
            filled = {}
            for key, entry in entries.items():
                own = entry.get("provider", provider) if isinstance(entry, dict) else provider
                if isinstance(entry, dict) and own != provider and "store" not in entry and own in self.secret_stores:
                    entry = {**entry, "store": self.secret_stores[own].name}
                filled[key] = entry
            secrets[section] = filled
        return {**fields, "secrets": secrets}

    def store_kind(self, provider: str, store: str) -> str:
        """The kind of ESO store `store` of `provider` is: `secrets.stores` says, else a ClusterSecretStore."""
        setting = self.secret_stores.get(provider)
        return setting.kind if setting is not None and setting.name == store else DEFAULT_STORE_KIND

    def unknown_environments(self, raw: dict[str, Any]) -> list[str]:
        """Environments a card names that shipcard.yaml does not declare (none when it declares none)."""
        environments = raw.get("environments") if isinstance(raw, dict) else None
        if not self.environments or not isinstance(environments, dict):
            return []
        return [name for name in environments if name not in self.environments]


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding shipcard.yaml or `.git`: the repository's top.

    Anything named shipcard.yaml counts (a FIFO, a directory, a dangling link): `load_repo` then
    refuses it, rather than rendering as if the repository had no settings.
    """
    current = start if start.is_dir() else start.parent
    for directory in (current, *current.parents):
        if os.path.lexists(directory / REPO_FILE) or (directory / ".git").exists():
            return directory
    return None


def find_repo_root(start: Path) -> Path | None:
    """The repository top of `start` when it holds shipcard.yaml (never looking past the git work tree)."""
    start = Path(os.path.abspath(start))
    # A file (a link to elsewhere too) belongs to the repository of its directory; realpath never raises.
    root = repository_root(Path(os.path.realpath(start if start.is_dir() else start.parent)))
    return root if root is not None and os.path.lexists(root / REPO_FILE) else None


def load_repo(root: Path | None) -> RepoSettings:
    """The settings in `root/shipcard.yaml`; empty settings when there is no such file.

    The file is repository content: a symbolic link leading out of `root` is refused, not followed.
    """
    if root is None or not os.path.lexists(root / REPO_FILE):
        return RepoSettings()
    path = root / REPO_FILE
    refuse_link_out_of(path, root)
    return load_settings(path)


LINK_OUT = "a symbolic link leads outside the repository; shipcard does not follow it"


def leads_out_of(path: Path, root: Path) -> bool:
    """Whether `path`, lying in `root` as written, leads out of it through a symbolic link.

    A path named outside `root` is not the repository's (a card named on the command line) and a
    link loop stays inside (reading it fails on its own): neither counts.
    """
    if not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root)):
        return False
    return not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def refuse_link_out_of(path: Path, root: Path) -> None:
    """One line naming `path` when it is repository content that leads out of the repository `root`."""
    if leads_out_of(path, root):
        raise UnreadableFileError(Location(str(path)), "", LINK_OUT)


def load_settings(path: Path) -> RepoSettings:
    """The settings in one file (read again only when it changed); one line when it cannot be read."""
    try:
        stat = path.stat()
    except OSError as exc:  # a dangling link, a link loop
        raise UnreadableFileError(Location(str(path)), "", f"cannot read: {exc.strerror}") from None
    return _load_cached(str(real_path(path)), stat.st_mtime_ns, stat.st_size)


def settings_for_card(card_path: Path) -> RepoSettings:
    """The settings of the repository a card lives in (its nearest shipcard.yaml)."""
    return load_repo(find_repo_root(card_path.parent))


def version_text(version: KubernetesVersion) -> str:
    return f"{version[0]}.{version[1]}"


@cache
def _schema() -> Schema:
    return Schema(SCHEMA, label="shipcard.yaml", cache_key="settings|" + schema_key(SCHEMA), compile_after=0)


@cache
def _load_cached(path: str, mtime_ns: int, size: int) -> RepoSettings:
    del mtime_ns, size  # part of the cache key only: an edited file is read again
    return parse_repo(read_text(Path(path)), Path(path))


def _number_as_written(text: str, doc: Any, number: float) -> str:
    """`kubernetesVersion: 1.30` as the user wrote it (`1.30`), which the parsed float (1.3) is not."""
    from shipcard.yamlio.roundtrip import locate

    line, _ = locate(doc, ("kubernetesVersion",))
    lines = text.splitlines()
    _, _, rest = lines[line - 1].partition(":") if 0 < line <= len(lines) else ("", "", "")
    written = rest.split("#", 1)[0].strip()
    try:
        return written if float(written) == number else str(number)
    except ValueError:
        return str(number)


def parse_repo(text: str, path: Path) -> RepoSettings:
    """Validate shipcard.yaml's text; every problem is `file:line:col: field: message`."""
    # ruamel.yaml (8 ms to import) only when there is a shipcard.yaml to read.
    from shipcard.yamlio.roundtrip import load_roundtrip, locate, to_plain

    shown = str(path)
    doc = load_roundtrip(text, shown)
    if doc is None:
        return RepoSettings(file=path, fingerprint=_fingerprint({}))

    def fail(where: PathKey, message: str) -> InputError:
        return InputError(Location(shown, *locate(doc, where)), field_name(where), message)

    if not isinstance(doc, dict):
        raise fail((), f"{REPO_FILE} must be a YAML mapping")
    raw = to_plain(doc)
    version = raw.get("kubernetesVersion")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        written = _number_as_written(text, doc, version)
        raise fail(("kubernetesVersion",), f"write the version as a string, such as \"{written}\" "
                                           "(a number loses trailing zeros)")
    if isinstance(raw.get("check"), dict) and "kubernetes-version" in raw["check"]:
        raise fail(("check", "kubernetes-version"), "set kubernetesVersion at the top of shipcard.yaml instead "
                                                    "(render and check share it)")
    raise_first(_schema(), raw, shown, lambda where: locate(doc, where))
    target = _kubernetes_version(raw.get("kubernetesVersion"))
    if target is not None and target < OLDEST_KUBERNETES:
        raise fail(("kubernetesVersion",), f"shipcard renders for Kubernetes {version_text(OLDEST_KUBERNETES)} "
                                           "and newer")
    root = real_path(path.parent)
    check = _check_settings(raw.get("check") or {}, root, doc, fail, shown)
    environments = _environments(raw.get("environments") or {}, fail)
    network = _network(raw.get("network") or {}, fail)
    secret_stores = _secret_stores((raw.get("secrets") or {}).get("stores") or {}, fail)
    shaping = {k: v for k, v in raw.items() if k != "check"}
    return RepoSettings(
        file=path,
        repo_url=raw.get("repoURL"),
        target_revision=raw.get("targetRevision"),
        project=raw.get("project"),
        argocd_namespace=raw.get("argocdNamespace", DEFAULT_ARGOCD_NAMESPACE),
        kubernetes_version=target,
        pod_security=raw.get("podSecurity", POD_SECURITY_LEVELS[0]),
        environments=environments,
        network=network,
        secret_stores=secret_stores,
        check=check,
        fingerprint=_fingerprint(shaping),
    )


def _network(section: dict[str, Any], fail: _Fail) -> NetworkSettings:
    import ipaddress

    controller = section.get("ingressController") or {}
    for key in controller.get("podLabels") or {}:
        problem = qualified_name_problem(key)
        if problem:
            raise fail(("network", "ingressController", "podLabels", key), f"label key {key!r} {problem}")
    cidr = section.get("vpcCIDR")
    if cidr is not None:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise fail(("network", "vpcCIDR"), f"{cidr!r} is not an address block such as 10.0.0.0/16") from None
    return NetworkSettings(ingress_namespace=controller.get("namespace", DEFAULT_INGRESS_NAMESPACE),
                           ingress_pod_labels=tuple(sorted((controller.get("podLabels") or {}).items())),
                           vpc_cidr=cidr)


def _secret_stores(section: dict[str, Any], fail: _Fail) -> dict[str, SecretStore]:
    """`secrets.stores`: a store serves one provider, so two providers may not name the same store."""
    stores: dict[str, SecretStore] = {}
    for provider, entry in section.items():
        store = SecretStore(name=entry["name"], kind=entry.get("kind", DEFAULT_STORE_KIND))
        other = next((p for p, s in stores.items() if s.name == store.name), None)
        if other is not None:
            raise fail(("secrets", "stores", provider, "name"), f"store {store.name!r} is {other}'s already: "
                                                                "a store serves one provider")
        stores[provider] = store
    return stores


def _environments(section: dict[str, Any], fail: _Fail) -> dict[str, EnvironmentDefaults]:
    """The declared environments; a cut-over's new side may not take the name of any other environment."""
    environments = {}
    taken = dict.fromkeys(section, "an environment")
    for name, value in section.items():
        value = dict(value or {})
        cutover = value.pop("cutover", None)
        if cutover is not None:
            side = cutover.get("name", f"{name}{CUTOVER_SUFFIX}")
            where: PathKey = ("environments", name, "cutover", "name" if "name" in cutover else "to")
            if len(side) > 30:
                raise fail(where, f"the new side's name {side!r} is longer than 30 characters: set cutover.name")
            if side in taken:
                raise fail(where, f"the new side's name {side!r} is already {taken[side]}: set another cutover.name")
            taken[side] = f"the new side of {name}"
            if cutover.get("finished") and cutover["schedules"] != "new":
                raise fail(("environments", name, "cutover", "finished"),
                           "finish a cut-over once the new side runs the schedules (schedules: new)")
            cutover = Cutover(to=cutover["to"], name=side, schedules=cutover["schedules"],
                              finished=cutover.get("finished", False))
        environments[name] = EnvironmentDefaults(**value, cutover=cutover)
    return environments


def parse_kubernetes_version(text: str) -> KubernetesVersion | None:
    """`1.30`, `v1.30` or `1.30.2` → (1, 30); None when it is none of these."""
    parts = text.strip().removeprefix("v").split(".")
    if len(parts) not in (2, 3) or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _kubernetes_version(value: str | None) -> KubernetesVersion | None:
    return parse_kubernetes_version(value) if value is not None else None


def _check_settings(section: dict[str, Any], root: Path, doc: Any, fail: _Fail, doc_name: str) -> CheckSettings:
    from shipcard.yamlio.roundtrip import locate

    def directories(key: str) -> tuple[Path, ...]:
        found = []
        for index, value in enumerate(section.get(key, [])):
            directory = Path(os.path.realpath(root / value))  # a link loop stays a path, not an error
            if not directory.is_relative_to(root):
                raise fail(("check", key, index), "must be a directory inside the repository")
            found.append(directory)
        return tuple(found)

    ignores = []
    for index, entry in enumerate(section.get("ignore", [])):
        where: PathKey = ("check", "ignore", index)
        rules = [entry["rule"]] if "rule" in entry else entry.get("rules")
        if ("rule" in entry and "rules" in entry) or not rules:
            raise fail(where, "needs `rule:` or `rules:` (rule IDs, globs allowed)")
        ignores.append(IgnoreSetting(
            rules=tuple(rules), reason=entry.get("reason", "").strip(), line=locate(doc, where)[0],
            path=entry.get("path"), kind=entry.get("kind"), name=entry.get("name"),
            namespace=entry.get("namespace"), expires=_expiry(entry.get("expires"), (*where, "expires"), fail)))
    rules = []
    for rule_id, entry in (section.get("rules") or {}).items():
        entry = entry or {}  # `rule-id:` with nothing after it configures nothing
        entry_path: PathKey = ("check", "rules", rule_id)
        params = entry.get("params") or {}
        keys = ["", *(k for k in ("extends", "severity", "enabled") if k in entry), *(f"params.{k}" for k in params)]
        locations = tuple((key, Location(doc_name, *locate(doc, (*entry_path, *key.split(".", 1)) if key
                                                           else entry_path))) for key in keys)
        rules.append(RuleSetting(rule=rule_id, extends=entry.get("extends"), severity=entry.get("severity"),
                                 enabled=entry.get("enabled", True),
                                 params=tuple(params.items()), where=locations))
    return CheckSettings(fail_on=section.get("fail-on"), strict_kinds=section.get("strict-kinds", False),
                         policy_dirs=directories("policy-dirs"), crd_dirs=directories("crd-dirs"),
                         required=frozenset(section.get("required", [])), ignores=tuple(ignores),
                         rules=tuple(rules))


def _expiry(value: Any, where: PathKey, fail: _Fail) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(where, "must be a date such as 2026-06-30")


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
