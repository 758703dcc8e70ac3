"""helmfile format: one shared chart (`charts/service/`), values per environment, a helmfile.yaml.

The values are a structured copy of the card's `ServiceSpec` (`values_for`); the chart's
templates build from them the same objects as `shipcard.k8s.objects`. Per card:

* `<path>/values/common.yaml`: the values of the card's base service;
* `<path>/values/<env>.yaml`: only what differs in that environment (a deep diff: mappings
  merge as in helm, lists replace whole, `null` removes a key common.yaml set);
* `<path>/helmfile.yaml`: the environments, and per environment one release of the chart
  in its namespace, enabled by the `<env>.enabled` state value that only that environment
  sets to true (plain YAML, no templating: helmfile 1.x only templates files named `*.gotmpl`);
* `argocd/<env>/<name>.yaml`: an Application using Argo CD's own Helm support on the chart,
  with the two values files (in the same repository, so one source is enough).

Extension point the user owns (docs/repository.md): `<path>/values/<env>.custom.yaml`, applied
last. helmfile.yaml and the Application name it only while it exists (helm fails on a missing
values file); the Application also sets `ignoreMissingValueFiles` so that deleting it before the
next render does not break a sync.
"""

from __future__ import annotations

import posixpath
from typing import Any

from shipcard.card.model import (
    Card,
    Environment,
    Job,
    Peer,
    Port,
    Probe,
    Resources,
    Secrets,
    SecretValue,
    ServiceSpec,
    TrafficRule,
)
from shipcard.errors import ShipcardError
from shipcard.images import parse_reference
from shipcard.k8s.objects import VERSIONED_FIELDS, Obj, renders, service_objects
from shipcard.settings import DEFAULT_STORE_KIND
from shipcard.writers.argocd import ARGOCD_NAMESPACE, application, application_path
from shipcard.writers.chart import CHART_DIR
from shipcard.yamlio.dump import dump, dump_all

COMMON = "common"
CONFIG_HASH_ANNOTATION = "shipcard.io/config-hash"

Values = dict[str, Any]


def helmfile_files(card: Card, present: frozenset[str] = frozenset(),
                   namespace: str = ARGOCD_NAMESPACE) -> dict[str, str]:
    """Every file of the card's helmfile tree and its Applications (no headers yet; the chart is separate).

    `present`: which of `extension_files(card)` exist; `namespace`: Argo CD's namespace.
    """
    root = card.gitops.path
    clash = [env.name for env in card.environments if env.name == COMMON]
    if clash:
        raise ShipcardError(f"{card.source}: an environment named {COMMON!r} would overwrite values/{COMMON}.yaml "
                            "in the helmfile format; rename it")
    common = values_for(card.base)
    files = {f"{root}/values/{COMMON}.yaml": dump(common), f"{root}/helmfile.yaml": helmfile_yaml(card, present)}
    for env in card.environments:
        files[f"{root}/values/{env.name}.yaml"] = dump(overrides(common, values_for(env.spec)))
        files[application_path(card, env)] = dump(helm_application(card, env, present, namespace))
    return files


def values_files(env: Environment, card: Card | None = None, present: frozenset[str] = frozenset()) -> list[str]:
    """The values files of one environment, relative to the card's directory, in helm's order."""
    files = [f"values/{COMMON}.yaml", f"values/{env.name}.yaml"]
    if card is not None and f"{card.gitops.path}/{custom_values(env)}" in present:
        files.append(custom_values(env))
    return files


def custom_values(env: Environment) -> str:
    """The user's values of the environment, for both sides of a cut-over."""
    return f"values/{env.environment}.custom.yaml"


def extension_files(card: Card) -> list[str]:
    """The user's values files whose presence changes what helmfile.yaml and the Applications name."""
    return sorted({f"{card.gitops.path}/{custom_values(env)}" for env in card.environments})


# --------------------------------------------------------------------------- helmfile.yaml and Argo CD


def helmfile_yaml(card: Card, present: frozenset[str] = frozenset()) -> str:
    """Environments first, then (in a second part, as helmfile asks) one release per environment.

    helmfile evaluates every release's `condition: <env>.enabled` in the selected environment and
    fails on a key it does not find, so the state values start with every environment's switch off
    (the root `values:`, helmfile's defaults) and each environment turns on only its own.
    """
    chart = posixpath.relpath(CHART_DIR, card.gitops.path)
    switches_off = {env.name: {"enabled": False} for env in card.environments}
    environments = {env.name: {"values": [{env.name: {"enabled": True}}]} for env in card.environments}
    releases = []
    for env in card.environments:
        release = {"name": card.name, "namespace": env.namespace, "chart": chart,
                   "condition": f"{env.name}.enabled", "values": values_files(env, card, present)}
        if custom_values(env) in release["values"]:
            release["missingFileHandler"] = "Warn"  # the user's file may go before the next render
        releases.append(release)
    return dump_all([{"values": [switches_off], "environments": environments}, {"releases": releases}])


def helm_application(card: Card, env: Environment, present: frozenset[str] = frozenset(),
                     namespace: str = ARGOCD_NAMESPACE) -> Obj:
    """The environment's Application: the shared chart, rendered by Argo CD with the card's values files."""
    app = application(card, env, CHART_DIR, namespace)
    app["spec"]["source"]["helm"] = {
        "releaseName": card.name,
        "valueFiles": [posixpath.relpath(f"{card.gitops.path}/{rel}", CHART_DIR)
                       for rel in values_files(env, card, present)],
        "ignoreMissingValueFiles": True,
    }
    return app


# --------------------------------------------------------------------------- values


def values_for(spec: ServiceSpec) -> Values:
    """The chart's values for one service (see charts/service/README.md); absent keys take the chart defaults."""
    values: Values = {"name": spec.name}
    if spec.team:
        values["team"] = spec.team
    if spec.description:
        values["description"] = spec.description
    values["image"] = image_values(spec.image)
    if spec.command:
        values["command"] = list(spec.command)
    if spec.args:
        values["args"] = list(spec.args)
    if spec.ports:
        values["ports"] = [_port(p) for p in spec.ports]
    if spec.env:
        values["env"] = [{"name": name, "value": value} for name, value in spec.env]
        values["configHash"] = config_hash(spec)
    if spec.secrets:
        values["secrets"] = _secrets(spec.secrets)
    if spec.service_account.aws_role:
        values["serviceAccount"] = {"awsRole": spec.service_account.aws_role}
    values["resources"] = _resources(spec.resources)
    values["replicas"] = spec.replicas
    if spec.single_replica:
        values["singleReplica"] = spec.single_replica
    if spec.autoscaling:
        values["autoscaling"] = {"min": spec.autoscaling.min, "max": spec.autoscaling.max, "cpu": spec.autoscaling.cpu}
    probes = {kind: _probe(probe) for kind, probe in (("liveness", spec.liveness), ("readiness", spec.readiness),
                                                       ("startup", spec.startup)) if probe}
    if spec.liveness_none:
        probes["liveness"] = {"type": "none", "reason": spec.liveness_none}
    if probes:
        values["probes"] = probes
    values["shutdown"] = {"preStopSleep": spec.pre_stop_sleep, "gracePeriod": spec.grace_period}
    if spec.ingress:
        ingress: Values = {"host": spec.ingress.host, "path": spec.ingress.path}
        if spec.ingress.class_name:
            ingress["className"] = spec.ingress.class_name
        ingress["tls"] = spec.ingress.tls
        if spec.ingress.group:
            ingress["group"] = spec.ingress.group
        values["ingress"] = ingress
    if spec.jobs:
        values["jobs"] = [_job(job, spec) for job in spec.jobs]
    network: Values = {}
    if spec.ingress_rules:
        network["ingress"] = [_traffic_rule(rule) for rule in spec.ingress_rules]
    if spec.egress_rules is not None:
        network["egress"] = [_traffic_rule(rule) for rule in spec.egress_rules]
    if network:
        values["network"] = network
    if spec.suspend_schedules:
        values["suspendSchedules"] = True
    lacking = {versioned.name: False for versioned in VERSIONED_FIELDS if not renders(spec, versioned)}
    if lacking:
        values["kubernetes"] = lacking
    return values


def overrides(base: Values, target: Values) -> Values:
    """What `target` changes in `base` when helm merges it on top: changed keys, `None` for removed ones."""
    result: Values = {}
    for key, value in target.items():
        if key not in base:
            result[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            changed = overrides(base[key], value)
            if changed:
                result[key] = changed
        elif value != base[key]:
            result[key] = value
    for key in base:
        if key not in target:
            result[key] = None
    return result


def image_values(image: str) -> Values:
    ref = parse_reference(image)
    values: Values = {"repository": ref.name}
    if ref.tag:
        values["tag"] = ref.tag
    if ref.digest:
        values["digest"] = ref.digest
    return values


def config_hash(spec: ServiceSpec) -> str:
    """The model's config-hash pod annotation, read from its objects so that both formats agree."""
    for obj in service_objects(spec):
        for template in _pod_templates(obj):
            found = template.get("metadata", {}).get("annotations", {}).get(CONFIG_HASH_ANNOTATION)
            if found:
                return str(found)
    raise AssertionError(f"{spec.name}: the model gave no {CONFIG_HASH_ANNOTATION} annotation")


def _pod_templates(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return [spec["template"]] if "template" in spec else []


def _port(port: Port) -> Values:
    values: Values = {"name": port.name, "port": port.port, "protocol": port.protocol}
    if port.service_port:
        values["servicePort"] = port.service_port
    return values


def _secrets(secrets: Secrets) -> Values:
    """The defaults, then each value: a provider and store only where they are not the defaults."""
    values: Values = {"provider": secrets.provider}
    if secrets.store:
        values["store"] = secrets.store
    kinds = {value.store: value.store_kind for _, value in (*secrets.env, *secrets.files)
             if value.store_kind != DEFAULT_STORE_KIND}
    if kinds:  # the stores that are not ClusterSecretStores
        values["storeKinds"] = dict(sorted(kinds.items()))
    values["refresh"] = secrets.refresh
    for section, entries, field in (("env", secrets.env, "name"), ("files", secrets.files, "path")):
        if entries or section == "env":
            values[section] = [_secret(field, name, value, secrets) for name, value in entries]
    return values


def _secret(field: str, name: str, value: SecretValue, secrets: Secrets) -> Values:
    values: Values = {field: name, "key": value.key}
    if value.property:
        values["property"] = value.property
    if value.version:
        values["version"] = value.version
    if value.provider != secrets.provider:
        values["provider"] = value.provider
    if value.store != secrets.store:
        values["store"] = value.store
    return values


def _resources(resources: Resources) -> Values:
    limits: Values = {"memory": resources.limit_memory or resources.memory}
    if resources.limit_cpu:
        limits["cpu"] = resources.limit_cpu
    return {"requests": {"cpu": resources.cpu, "memory": resources.memory}, "limits": limits}


def _probe(probe: Probe) -> Values:
    values: Values = {"type": probe.kind}
    if probe.port is not None:
        values["port"] = probe.port
    if probe.path:
        values["path"] = probe.path
    if probe.service:
        values["service"] = probe.service
    if probe.command:
        values["command"] = list(probe.command)
    for key, value in (("initialDelaySeconds", probe.initial_delay), ("periodSeconds", probe.period),
                       ("failureThreshold", probe.failure_threshold)):
        if value is not None:
            values[key] = value
    return values


def _traffic_rule(rule: TrafficRule) -> Values:
    values: Values = {}
    if rule.peers:
        values["peers"] = [_peer(peer) for peer in rule.peers]
    if rule.ports:
        values["ports"] = [{"port": port, "protocol": protocol} for port, protocol in rule.ports]
    return values


def _peer(peer: Peer) -> Values:
    if peer.cidr:
        return {"cidr": peer.cidr}
    values: Values = {"namespace": peer.namespace}
    if peer.pod_labels:
        values["podLabels"] = dict(peer.pod_labels)
    return values


def _job_default_resources(spec: ServiceSpec) -> Resources:
    """What a job gets without resources of its own: the service's requests, memory limited to them."""
    return Resources(cpu=spec.resources.cpu, memory=spec.resources.memory, limit_memory=spec.resources.memory)


def _job(job: Job, spec: ServiceSpec) -> Values:
    values: Values = {"name": job.name, "kind": job.kind}
    if job.schedule:
        values["schedule"] = job.schedule
    if job.time_zone:
        values["timeZone"] = job.time_zone
    if job.command:
        values["command"] = list(job.command)
    if job.args:
        values["args"] = list(job.args)
    if job.script:
        values["script"] = job.script
    # Like the card, a job without its own image or resources follows the service's (per environment too).
    if job.image != spec.image:
        values["image"] = image_values(job.image)
    if job.resources != _job_default_resources(spec):
        values["resources"] = _resources(job.resources)
    values.update({"concurrency": job.concurrency, "timeoutSeconds": job.timeout_seconds, "retries": job.retries})
    if job.suspend:
        values["suspend"] = True
    return values
