"""The service card as typed data, with every default applied.

A `Card` holds the service as written (`base`) and one fully resolved
`ServiceSpec` per environment. Nothing here reads files; `load.py` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from shipcard.settings import DEFAULT_STORE_KIND, Cutover

StoreKind = Callable[[str, str], str]  # (provider, store) → the kind of ESO store it is

DEFAULT_CLUSTER = "https://kubernetes.default.svc"
DEFAULT_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_REPLICAS = 2
DEFAULT_PRE_STOP_SLEEP = 5
DEFAULT_GRACE_PERIOD = 30
DEFAULT_JOB_TIMEOUT = "1h"
NEVER_SCHEDULE = "0 0 31 2 *"  # 31 February: a manual job's CronJob never fires by itself


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    protocol: str = "http"
    service_port: int | None = None

    @property
    def exposed_port(self) -> int:
        return self.service_port or self.port


@dataclass(frozen=True)
class Probe:
    """kind: http | grpc | tcp | exec."""

    kind: str
    port: int | str | None = None
    path: str | None = None
    command: tuple[str, ...] = ()
    service: str | None = None
    initial_delay: int | None = None
    period: int | None = None
    failure_threshold: int | None = None


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str
    limit_cpu: str | None = None
    limit_memory: str | None = None


@dataclass(frozen=True)
class SecretValue:
    """One value a provider holds: `key` (placeholders expanded) and its `property`, in ClusterSecretStore `store`,
    at the provider's `version` of it (None: the current one)."""

    key: str
    property: str | None
    provider: str
    store: str
    version: str | None = None
    store_kind: str = DEFAULT_STORE_KIND  # ClusterSecretStore, or a SecretStore of the namespace


@dataclass(frozen=True)
class Secrets:
    """`secrets`: every value resolved to its provider and store; `provider`/`store` are the card's defaults."""

    provider: str
    store: str | None
    refresh: str
    env: tuple[tuple[str, SecretValue], ...]  # (VARIABLE, value), in card order
    files: tuple[tuple[str, SecretValue], ...] = ()  # (absolute path, value), in card order


@dataclass(frozen=True)
class SecretSource:
    """One ExternalSecret: the values of one store for env (envFrom) or for files (a volume)."""

    name: str  # the ExternalSecret
    secret: str  # the Secret it writes
    provider: str
    store: str
    files: bool
    data: tuple[tuple[str, SecretValue], ...]  # (Secret key: the variable, or the file's name; value)
    store_kind: str = DEFAULT_STORE_KIND


@dataclass(frozen=True)
class ServiceAccount:
    """`serviceAccount`: the IAM role (IRSA) the pods assume, if any."""

    aws_role: str | None = None


@dataclass(frozen=True)
class Autoscaling:
    min: int
    max: int
    cpu: int


@dataclass(frozen=True)
class Ingress:
    host: str
    path: str
    class_name: str | None
    tls: bool
    group: str | None = None  # alb.ingress.kubernetes.io/group.name: one ALB for several Ingresses


@dataclass(frozen=True)
class Peer:
    """One side of a NetworkPolicy rule: pods of a namespace (all, or those with `pod_labels`), or an address block."""

    namespace: str | None = None
    pod_labels: tuple[tuple[str, str], ...] = ()
    cidr: str | None = None


@dataclass(frozen=True)
class TrafficRule:
    """One NetworkPolicy ingress or egress rule. No peers: any source (or destination); no ports: every port."""

    peers: tuple[Peer, ...]
    ports: tuple[tuple[int, str], ...] = ()  # (port, protocol)


@dataclass(frozen=True)
class Job:
    """kind: cron (schedule), hook (pre-sync) or manual (suspended CronJob)."""

    name: str
    kind: str
    schedule: str | None
    time_zone: str | None
    command: tuple[str, ...]
    args: tuple[str, ...]
    script: str | None
    image: str
    resources: Resources
    concurrency: str
    timeout_seconds: int
    retries: int
    suspend: bool = False


@dataclass(frozen=True)
class ServiceSpec:
    """Everything that shapes the Kubernetes objects of one service in one place."""

    name: str
    team: str | None
    description: str | None
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    ports: tuple[Port, ...]
    env: tuple[tuple[str, str], ...]
    resources: Resources
    secrets: Secrets | None
    replicas: int
    autoscaling: Autoscaling | None
    liveness: Probe | None
    readiness: Probe | None
    startup: Probe | None
    pre_stop_sleep: int
    grace_period: int
    ingress: Ingress | None
    jobs: tuple[Job, ...]
    kubernetes_version: tuple[int, int] | None = None  # the clusters' (shipcard.yaml); None: the newest
    service_account: ServiceAccount = ServiceAccount()
    suspend_schedules: bool = False  # every CronJob suspended: the side of a cut-over that does not run them
    ingress_rules: tuple[TrafficRule, ...] = ()  # who may connect to the server's ports; none: nobody
    egress_rules: tuple[TrafficRule, ...] | None = None  # where the pods may connect; None: anywhere
    # Findings the card accepts on purpose, each with its reason (docs/cards.md, "Findings a card accepts").
    liveness_none: str | None = None  # health.liveness: {none: reason}
    single_replica: str | None = None  # singleReplica: reason

    @property
    def ingress_port(self) -> Port:
        """The port an Ingress sends to: the first HTTP port, else the first."""
        return next((p for p in self.ports if p.protocol == "http"), self.ports[0])

    @property
    def has_server(self) -> bool:
        """A long-running process: it listens on a port, has a command, or is all the card does."""
        return bool(self.ports or self.command or not self.jobs)


@dataclass(frozen=True)
class Environment:
    """One destination of an environment: its overlay, values and Application are named `name`.

    `of` is the environment it deploys when that is not `name`: the new side of a cut-over.
    """

    name: str
    spec: ServiceSpec
    cluster: str
    namespace: str
    of: str | None = None

    @property
    def environment(self) -> str:
        """The environment this destination deploys (a cut-over has two destinations of one)."""
        return self.of or self.name


def cutover_sides(env: Environment, cutover: Cutover | None) -> list[Environment]:
    """The destinations of an environment: itself, or during a cut-over the old side (unless finished)
    and the new side, the one not running the schedules with every CronJob suspended."""
    if cutover is None:
        return [env]
    new = replace(env, name=cutover.name, cluster=cutover.to, of=env.name,
                  spec=replace(env.spec, suspend_schedules=cutover.suspends("new")))
    if cutover.finished:
        return [new]
    return [replace(env, spec=replace(env.spec, suspend_schedules=cutover.suspends("old"))), new]


@dataclass(frozen=True)
class GitOps:
    format: str
    repo_url: str
    target_revision: str
    path: str
    project: str
    auto_sync: bool
    prune: bool
    self_heal: bool
    pod_security: str = "restricted"  # the namespaces' Pod Security Standards level (shipcard.yaml's podSecurity)


@dataclass
class Card:
    """A loaded, validated card: the base service, its environments and GitOps settings."""

    name: str
    source: str  # how generated files name the card, e.g. services/billing-api.service.yaml
    base: ServiceSpec
    environments: list[Environment]
    gitops: GitOps
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


# A part starts after a unit (or at the start): a run of digits is tried once, not from each of its digits.
_DURATION_PART = re.compile(r"(?<![0-9.])([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def duration_seconds(text: str) -> int:
    """`2h`, `1h30m`, `45s` → whole seconds (at least 1)."""
    total = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    return max(1, int(total))


def build_spec(name: str, fields: dict[str, Any], kubernetes_version: tuple[int, int] | None = None,
               environment: str | None = None, store_kind: StoreKind | None = None) -> ServiceSpec:
    """Turn validated, merged card fields into a ServiceSpec with defaults applied, for a target Kubernetes.

    In an `environment`, the placeholders of remote keys are expanded; without one (the card's
    base service) they stay as written. `store_kind(provider, store)` says which kind of ESO store a
    secrets store is (the repository's settings; every one a ClusterSecretStore without it). Its
    NetworkPolicy rules are the loader's to add (`card.network`): they need the repository's other cards.
    """
    ports = _ports(fields)
    resources = _resources(fields.get("resources"), DEFAULT_RESOURCES)
    image = str(fields["image"])
    autoscaling = None
    if fields.get("autoscaling"):
        a = fields["autoscaling"]
        # With an HPA a Deployment's replicas are ignored; a replicas value the card sets is the floor instead.
        floor = max(int(a.get("min", 2)), int(fields.get("replicas", 0)))
        autoscaling = Autoscaling(min=min(floor, int(a["max"])), max=int(a["max"]), cpu=int(a.get("cpu", 80)))
    health = fields.get("health") or {}
    first_port = ports[0].name if ports else None
    readiness = _probe(health.get("readiness"), first_port)
    if readiness is None and ports:
        readiness = Probe(kind="tcp", port=ports[0].name)
    shutdown = fields.get("shutdown") or {}
    ingress = None
    if fields.get("ingress"):
        i = fields["ingress"]
        ingress = Ingress(host=i["host"], path=i.get("path", "/"), class_name=i.get("className"),
                          tls=bool(i.get("tls", True)), group=i.get("group"))
    return ServiceSpec(
        name=name,
        team=fields.get("team"),
        description=fields.get("description"),
        image=image,
        command=tuple(fields.get("command") or ()),
        args=tuple(fields.get("args") or ()),
        ports=ports,
        env=tuple((k, env_literal(v)) for k, v in (fields.get("env") or {}).items()),
        resources=resources,
        secrets=resolve_secrets(fields.get("secrets"), {"name": name, "env": environment} if environment else None,
                                store_kind),
        replicas=int(fields.get("replicas", 1 if "singleReplica" in fields else DEFAULT_REPLICAS)),
        autoscaling=autoscaling,
        liveness=_probe(health.get("liveness"), first_port),
        readiness=readiness,
        startup=_probe(health.get("startup"), first_port),
        pre_stop_sleep=int(shutdown.get("preStopSleep", DEFAULT_PRE_STOP_SLEEP if ports else 0)),
        grace_period=int(shutdown.get("gracePeriod", DEFAULT_GRACE_PERIOD)),
        ingress=ingress,
        jobs=tuple(_job(j, image, resources) for j in fields.get("jobs") or ()),
        kubernetes_version=kubernetes_version,
        service_account=ServiceAccount(aws_role=(fields.get("serviceAccount") or {}).get("awsRole")),
        liveness_none=liveness.get("none") if isinstance(liveness := health.get("liveness"), dict) else None,
        single_replica=fields.get("singleReplica"),
    )


def _whole(value: Any) -> Any:
    """An integer written as `5.0` (which JSON Schema counts as an integer) as the int 5.

    The Kubernetes API refuses `5.0` for an integer field, so no float reaches a manifest.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def env_literal(value: Any) -> str:
    """An env value as the ConfigMap holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ports(fields: dict[str, Any]) -> tuple[Port, ...]:
    if fields.get("ports"):
        return tuple(Port(name=p["name"], port=int(p["port"]), protocol=p.get("protocol", "http"),
                          service_port=_whole(p.get("servicePort"))) for p in fields["ports"])
    if fields.get("port"):
        return (Port(name="http", port=int(fields["port"])),)
    return ()


def _resources(raw: dict[str, Any] | None, default: dict[str, Any]) -> Resources:
    raw = raw or {}
    limits = raw.get("limits") or {}
    memory = str(raw.get("memory", default["memory"]))
    return Resources(cpu=str(raw.get("cpu", default["cpu"])), memory=memory,
                     limit_cpu=str(limits["cpu"]) if "cpu" in limits else None,
                     limit_memory=str(limits.get("memory", memory)))


PLACEHOLDERS = ("env", "name")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholder_problem(remote: str) -> str | None:
    """Why a remote key's placeholders cannot be expanded (the key is not quoted: it may say too much), or None."""
    names = _PLACEHOLDER.findall(remote)
    if any(name not in PLACEHOLDERS for name in names):
        return "has an unknown placeholder: only {env} and {name} are expanded"
    if "{" in _PLACEHOLDER.sub("", remote) or "}" in _PLACEHOLDER.sub("", remote):
        return "has an unbalanced '{' or '}': placeholders are {env} and {name}"
    return None


def expand(remote: str, values: dict[str, str] | None) -> str:
    """`{env}` and `{name}` replaced by `values` (a checked key); None keeps them as written."""
    if values is None:
        return remote
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], remote)


def secret_entry(raw: dict[str, Any], entry: Any) -> tuple[str, str, str | None]:
    """(remote key, provider, store) of a `secrets.env` or `secrets.files` value, with the secrets' defaults.

    An entry with a provider of its own has no default store: a ClusterSecretStore serves one provider.
    """
    default_provider = str(raw.get("provider", "none"))
    if isinstance(entry, dict):
        provider = str(entry.get("provider", default_provider))
        store = entry.get("store", raw.get("store") if provider == default_provider else None)
        return str(entry["key"]), provider, store
    return str(entry), default_provider, raw.get("store")


def resolve_secrets(raw: dict[str, Any] | None, placeholders: dict[str, str] | None,
                    store_kind: StoreKind | None = None) -> Secrets | None:
    """A checked `secrets` section as Secrets (None without any value); `placeholders` expands remote keys,
    `store_kind` gives each store's kind (see build_spec)."""
    if not raw:
        return None

    def values(section: str) -> tuple[tuple[str, SecretValue], ...]:
        resolved = []
        for name, entry in (raw.get(section) or {}).items():
            remote, provider, store = secret_entry(raw, entry)
            if provider == "none" or store is None:
                continue  # a card error (load.py), or no provider at all
            key, _, prop = expand(remote, placeholders).partition("#")
            version = entry.get("version") if isinstance(entry, dict) else None
            kind = store_kind(provider, store) if store_kind else DEFAULT_STORE_KIND
            resolved.append((str(name), SecretValue(key=key, property=prop or None, provider=provider, store=store,
                                                    version=version, store_kind=kind)))
        return tuple(resolved)

    env, files = values("env"), values("files")
    if not env and not files:
        return None
    return Secrets(provider=raw.get("provider", "none"), store=raw.get("store"), refresh=raw.get("refresh", "1h"),
                   env=env, files=files)


def env_secret_name(base: str) -> str:
    """The Secret an env ExternalSecret makes: `<service>-secrets` for the card's own store (`base` is the
    service's name), `<service>-<store>-secrets` for another (`base` is `<service>-<store>`)."""
    return f"{base}-secrets"


def secret_sources(service: str, secrets: Secrets | None) -> tuple[SecretSource, ...]:
    """The ExternalSecrets of `secrets`, one per store for env, then one per store for files, in card order.

    The card's own store keeps the names it always had (`<service>`, Secret `<service>-secrets`); another
    store S gets `<service>-S` (Secret `<service>-S-secrets`); files go to `<service>[-S]-files` (both).
    """
    if secrets is None:
        return ()
    sources: dict[tuple[bool, str], list[tuple[str, SecretValue]]] = {}
    for is_file, entries in ((False, secrets.env), (True, secrets.files)):
        for secret_key, value in entries:
            sources.setdefault((is_file, value.store), []).append(
                (PurePosixPath(secret_key).name if is_file else secret_key, value))
    result = []
    for (is_file, store), data in sources.items():
        base = service if store == secrets.store else f"{service}-{store}"
        name = f"{base}-files" if is_file else base
        result.append(SecretSource(name=name, secret=name if is_file else env_secret_name(base),
                                   provider=data[0][1].provider, store=store, files=is_file, data=tuple(data),
                                   store_kind=data[0][1].store_kind))
    return tuple(result)


def _probe(raw: Any, first_port: str | None) -> Probe | None:
    if raw is None or isinstance(raw, dict) and "none" in raw:
        return None
    if isinstance(raw, str):
        return Probe(kind="http", port=first_port, path=raw)
    timing = {"initial_delay": _whole(raw.get("initialDelay")), "period": _whole(raw.get("period")),
              "failure_threshold": _whole(raw.get("failureThreshold"))}
    if "http" in raw:
        return Probe(kind="http", port=_whole(raw["http"]), path=raw.get("path", "/"), **timing)
    if "grpc" in raw:
        return Probe(kind="grpc", port=int(raw["grpc"]), service=raw.get("service"), **timing)
    if "tcp" in raw:
        return Probe(kind="tcp", port=_whole(raw["tcp"]), **timing)
    return Probe(kind="exec", command=tuple(raw["exec"]), **timing)


def _job(raw: dict[str, Any], service_image: str, service_resources: Resources) -> Job:
    if raw.get("schedule"):
        kind = "cron"
    elif raw.get("hook"):
        kind = "hook"
    else:
        kind = "manual"
    default_resources = {"cpu": service_resources.cpu, "memory": service_resources.memory}
    return Job(
        name=raw["name"],
        kind=kind,
        schedule=raw.get("schedule"),
        time_zone=raw.get("timeZone"),
        command=tuple(raw.get("command") or ()),
        args=tuple(raw.get("args") or ()),
        script=raw.get("script"),
        image=str(raw.get("image") or service_image),
        resources=_resources(raw.get("resources"), default_resources),
        concurrency=raw.get("concurrency", "forbid"),
        timeout_seconds=duration_seconds(raw.get("timeout", DEFAULT_JOB_TIMEOUT)),
        retries=int(raw.get("retries", 0 if kind == "manual" else 2)),
        suspend=bool(raw.get("suspend", False)),
    )
