"""Kubernetes objects from a ServiceSpec: pure functions, no I/O.

`service_objects(spec)` gives the objects every environment shares (the
Kustomize base); `environment_objects(env)` gives the complete, namespaced set
for one environment. Both formats (Kustomize, helmfile) render these same objects.

The objects are for the spec's target Kubernetes version (`kubernetesVersion` of
shipcard.yaml): a field that version's API server lacks, or drops because its feature
gate is off by default, is never rendered (`VERSIONED_FIELDS`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from shipcard.card.model import (
    NEVER_SCHEDULE,
    Environment,
    Job,
    Peer,
    Probe,
    Resources,
    SecretSource,
    ServiceSpec,
    TrafficRule,
    secret_sources,
)
from shipcard.card.network import NAME_LABEL, NAMESPACE_LABEL
from shipcard.patterns import IGNORE_ANNOTATION

Obj = dict[str, Any]

RUN_AS = 10001
TMP_VOLUME = "tmp"
SCRIPT_DIR = "/opt/shipcard"
SCRIPT_MODE = 0o555
SECRET_FILE_MODE = 0o400  # read-only for the owner; the pod's fsGroup lets its non-root user read them
SECRET_FILES_VOLUME = "secret-files"
# IRSA: the EKS Pod Identity Webhook gives the pods of a ServiceAccount with this annotation the role's
# web identity (docs/cards.md, "Cloud identity"); the pod template carries it too, so a new role rolls them,
# and those pods mount the Kubernetes API token (the rule service-account-token-automount knows why).
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AWS_ROLE_POD_ANNOTATION = "shipcard.io/aws-role"
JOB_TTL_SECONDS = 7 * 24 * 3600
HOOK_TTL_SECONDS = 24 * 3600
STARTING_DEADLINE_SECONDS = 300
HISTORY_LIMIT = 3
DEFAULT_TIME_ZONE = "Etc/UTC"
CONCURRENCY = {"forbid": "Forbid", "replace": "Replace", "allow": "Allow"}
PER_ENVIRONMENT_KINDS = {"ExternalSecret"}
MAX_DEREGISTRATION_DELAY = 3600  # seconds, the most an ALB target group takes

# Argo CD sync waves (docs/cards.md, "Jobs"): what the service's pods need first, healthy (its
# ServiceAccount, ConfigMaps, the ExternalSecret and so its Secret, the NetworkPolicies that isolate
# its pods), then the migration Job as a Sync hook, then everything else in the default wave 0.
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SETUP_WAVE = "-2"
MIGRATION_WAVE = "-1"

# A manual job (docs/auditing.md): its CronJob and every Job started from it are labelled manual and
# carry the card's owner; the CronJob also says how to start it.
MANUAL_LABEL = "shipcard.io/manual"
OWNER_ANNOTATION = "shipcard.io/owner"
DESCRIPTION_ANNOTATION = "shipcard.io/description"
RUN_ANNOTATION = "shipcard.io/run"

# What a card accepts on purpose (docs/cards.md, "Findings a card accepts") reaches `shipcard check` as
# its suppression annotation (shipcard.check.suppress), the rule and the card's reason: the finding is
# kept, marked suppressed with the reason, unless shipcard.yaml's `check.required` lists the rule.
SINGLE_REPLICA_RULE = "single-replica"
LIVENESS_RULE = "liveness-probe-missing"


@dataclass(frozen=True)
class VersionedField:
    """A field shipcard renders that older Kubernetes versions lack (or drop: feature gate off by default)."""

    name: str  # its key under the helm chart's `kubernetes` values
    field: str  # where it sits, for people
    since: tuple[int, int]  # the first version whose API server takes it by default


# The sleep action is in the 1.29 schemas behind the alpha gate PodLifecycleSleepAction, beta (on) in 1.30.
SLEEP_ACTION = VersionedField("preStopSleepAction", "lifecycle.preStop.sleep", (1, 30))
# In the 1.26 schemas behind the alpha gate PDBUnhealthyPodEvictionPolicy, beta (on) in 1.27.
UNHEALTHY_POD_EVICTION_POLICY = VersionedField(
    "unhealthyPodEvictionPolicy", "PodDisruptionBudget spec.unhealthyPodEvictionPolicy", (1, 27))
VERSIONED_FIELDS = (SLEEP_ACTION, UNHEALTHY_POD_EVICTION_POLICY)


def renders(spec: ServiceSpec, versioned: VersionedField) -> bool:
    """Whether the spec's target Kubernetes takes the field (no target: the newest does)."""
    return spec.kubernetes_version is None or spec.kubernetes_version >= versioned.since


def service_objects(spec: ServiceSpec) -> list[Obj]:
    """Every object of the service, without namespace and without per-environment kinds."""
    objects: list[Obj] = [service_account(spec)]
    if spec.env:
        objects.append(env_config_map(spec))
    if any(job.script for job in spec.jobs):
        objects.append(scripts_config_map(spec))
    if spec.has_server:
        if spec.ports:
            objects.append(service(spec))
        objects.append(deployment(spec))
        if spec.autoscaling:
            objects.append(horizontal_pod_autoscaler(spec))
        if _minimum_replicas(spec) >= 2:
            objects.append(pod_disruption_budget(spec))
        if spec.ingress:
            objects.append(ingress(spec))
    objects.extend(network_policies(spec))
    for job in spec.jobs:
        objects.append(hook_job(spec, job) if job.kind == "hook" else cron_job(spec, job))
    return objects


def environment_objects(env: Environment) -> list[Obj]:
    """The complete object set of one environment, namespaced."""
    objects = service_objects(env.spec)
    objects[1:1] = external_secrets(env.spec)
    for obj in objects:
        obj["metadata"] = {"name": obj["metadata"]["name"], "namespace": env.namespace,
                           **{k: v for k, v in obj["metadata"].items() if k != "name"}}
    return objects


# --------------------------------------------------------------------------- names and labels


def labels(spec: ServiceSpec, component: str) -> dict[str, str]:
    result = {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "shipcard",
    }
    if spec.team:
        result["app.kubernetes.io/part-of"] = spec.team
    return result


def selector(spec: ServiceSpec, component: str = "server") -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/component": component}


def _setup_wave() -> dict[str, str]:
    return {SYNC_WAVE: SETUP_WAVE}


def _meta(name: str, spec: ServiceSpec, component: str, annotations: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": labels(spec, component)}
    if annotations:
        meta["annotations"] = annotations
    return meta


def env_config_map_name(spec: ServiceSpec) -> str:
    return f"{spec.name}-env"


def scripts_config_map_name(spec: ServiceSpec) -> str:
    return f"{spec.name}-scripts"


def job_object_name(spec: ServiceSpec, job: Job) -> str:
    return f"{spec.name}-{job.name}"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _minimum_replicas(spec: ServiceSpec) -> int:
    return spec.autoscaling.min if spec.autoscaling else spec.replicas


# --------------------------------------------------------------------------- objects


def service_account(spec: ServiceSpec) -> Obj:
    """The pods' identity. It mounts no Kubernetes API token itself: a pod that needs one (an IAM role) says so."""
    annotations = _setup_wave()
    if spec.service_account.aws_role:
        annotations[IRSA_ROLE_ANNOTATION] = spec.service_account.aws_role
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": _meta(spec.name, spec, "identity", annotations), "automountServiceAccountToken": False}


def env_config_map(spec: ServiceSpec) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(env_config_map_name(spec), spec, "config", _setup_wave()), "data": dict(spec.env)}


def scripts_config_map(spec: ServiceSpec) -> Obj:
    data = {f"{job.name}.sh": job.script for job in spec.jobs if job.script}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(scripts_config_map_name(spec), spec, "config", _setup_wave()), "data": data}


# ESO's defaults, written out so the live object equals the desired one (no OutOfSync): the
# served v1 CRD defaults target.creationPolicy/deletionPolicy, v1beta1 also these remoteRef fields.
_REMOTE_REF_DEFAULTS: Obj = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}


def external_secrets(spec: ServiceSpec) -> list[Obj]:
    """One ExternalSecret per store (and per env or files): never a Secret with values in git."""
    return [external_secret(spec, source) for source in secret_sources(spec.name, spec.secrets)]


def external_secret(spec: ServiceSpec, source: SecretSource) -> Obj:
    assert spec.secrets is not None
    data = []
    for secret_key, value in source.data:
        ref: Obj = {"key": value.key}
        if value.property:
            ref["property"] = value.property
        if value.version:
            ref["version"] = value.version
        data.append({"secretKey": secret_key, "remoteRef": {**ref, **_REMOTE_REF_DEFAULTS}})
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(source.name, spec, "secrets", {"shipcard.io/provider": source.provider, **_setup_wave()}),
        "spec": {
            "refreshInterval": spec.secrets.refresh,
            "secretStoreRef": {"kind": source.store_kind, "name": source.store},
            "target": {"name": source.secret, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": data,
        },
    }


def secret_file_directories(spec: ServiceSpec) -> list[str]:
    """The directories of `secrets.files`, sorted: one read-only volume each (`secret-files-<index>`)."""
    return sorted({str(PurePosixPath(path).parent) for path, _ in (spec.secrets.files if spec.secrets else ())})


def _secret_file_volumes(spec: ServiceSpec) -> list[Obj]:
    by_store = {source.store: source.secret for source in secret_sources(spec.name, spec.secrets) if source.files}
    volumes = []
    for index, directory in enumerate(secret_file_directories(spec)):
        sources = []
        for path, value in spec.secrets.files if spec.secrets else ():
            pure = PurePosixPath(path)
            if str(pure.parent) == directory:
                sources.append({"secret": {"name": by_store[value.store],
                                           "items": [{"key": pure.name, "path": pure.name}]}})
        volumes.append({"name": f"{SECRET_FILES_VOLUME}-{index}",
                        "projected": {"defaultMode": SECRET_FILE_MODE, "sources": sources}})
    return volumes


def service(spec: ServiceSpec) -> Obj:
    ports = []
    for port in spec.ports:
        entry: Obj = {"name": port.name, "port": port.exposed_port, "targetPort": port.name, "protocol": "TCP"}
        if port.protocol == "grpc":
            entry["appProtocol"] = "kubernetes.io/h2c"
        elif port.protocol == "http":
            entry["appProtocol"] = "http"
        ports.append(entry)
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec.name, spec, "server"),
            "spec": {"type": "ClusterIP", "selector": selector(spec), "ports": ports}}


def deployment(spec: ServiceSpec) -> Obj:
    body: Obj = {}
    if not spec.autoscaling:
        body["replicas"] = spec.replicas  # with an HPA the autoscaler owns replicas, not git
    body.update({
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector(spec)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": _pod_template(spec, "server", _server_container(spec), restart_policy=None,
                                  grace_period=spec.grace_period),
    })
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _meta(spec.name, spec, "server", accepted_findings(spec)), "spec": body}


def accepted_findings(spec: ServiceSpec) -> dict[str, str]:
    """The Deployment's suppression annotations for what the card accepts: one pod, no liveness probe."""
    annotations = {}
    if spec.single_replica:
        annotations[IGNORE_ANNOTATION] = f"{SINGLE_REPLICA_RULE}: {spec.single_replica}"
    if spec.liveness_none:
        annotations[f"{IGNORE_ANNOTATION}.{spec.name}"] = f"{LIVENESS_RULE}: {spec.liveness_none}"
    return annotations


def horizontal_pod_autoscaler(spec: ServiceSpec) -> Obj:
    assert spec.autoscaling is not None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec.name, spec, "server"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.autoscaling.min,
            "maxReplicas": spec.autoscaling.max,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": spec.autoscaling.cpu}}}],
        },
    }


def pod_disruption_budget(spec: ServiceSpec) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec.name, spec, "server"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(spec)},
                 # Older clusters keep their default (IfHealthyBudget): a crash-looping pod can block a drain.
                 **({"unhealthyPodEvictionPolicy": "AlwaysAllow"} if renders(spec, UNHEALTHY_POD_EVICTION_POLICY)
                    else {})},
    }


def deregistration_delay(spec: ServiceSpec) -> int:
    """The ALB target group's deregistration delay: the pods' termination grace (the ALB allows 0-3600 s)."""
    return min(spec.grace_period, MAX_DEREGISTRATION_DELAY)


def ingress(spec: ServiceSpec) -> Obj:
    assert spec.ingress is not None
    ing = spec.ingress
    port = spec.ingress_port
    annotations: dict[str, str] = {}
    if ing.class_name == "alb":
        annotations["alb.ingress.kubernetes.io/scheme"] = "internet-facing"
        annotations["alb.ingress.kubernetes.io/target-type"] = "ip"
        if ing.tls:
            annotations["alb.ingress.kubernetes.io/listen-ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
            annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
        if spec.readiness and spec.readiness.kind == "http" and spec.readiness.path:
            annotations["alb.ingress.kubernetes.io/healthcheck-path"] = spec.readiness.path
        # Draining a target longer than its pod may live is useless, shorter cuts requests it could finish.
        annotations["alb.ingress.kubernetes.io/target-group-attributes"] = (
            f"deregistration_delay.timeout_seconds={deregistration_delay(spec)}")
        if ing.group:
            annotations["alb.ingress.kubernetes.io/group.name"] = ing.group
    body: Obj = {}
    if ing.class_name:
        body["ingressClassName"] = ing.class_name
    if ing.tls:
        # The AWS Load Balancer Controller finds the ACM certificate from the hosts; others need a Secret.
        body["tls"] = [{"hosts": [ing.host]} if ing.class_name == "alb"
                       else {"hosts": [ing.host], "secretName": f"{spec.name}-tls"}]
    body["rules"] = [{"host": ing.host, "http": {"paths": [{
        "path": ing.path, "pathType": "Prefix",
        "backend": {"service": {"name": spec.name, "port": {"name": port.name}}},
    }]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(spec.name, spec, "server", annotations or None), "spec": body}


def network_policies(spec: ServiceSpec) -> list[Obj]:
    """Deny all ingress to the service's pods, then admit its callers; restrict egress when the card lists it.

    The rules come resolved from the card (`shipcard.card.network`): no rule, no `-allow-ports` policy,
    and the default deny holds.
    """
    pods = {"matchLabels": {NAME_LABEL: spec.name}}
    policies = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": _meta(f"{spec.name}-default-deny", spec, "network", _setup_wave()),
                 "spec": {"podSelector": pods, "policyTypes": ["Ingress"]}}]
    if spec.has_server and spec.ingress_rules:
        policies.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": _meta(f"{spec.name}-allow-ports", spec, "network", _setup_wave()),
                         "spec": {"podSelector": {"matchLabels": selector(spec)}, "policyTypes": ["Ingress"],
                                  "ingress": [_traffic_rule(rule, "from") for rule in spec.ingress_rules]}})
    if spec.egress_rules is not None:
        policies.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": _meta(f"{spec.name}-allow-egress", spec, "network", _setup_wave()),
                         "spec": {"podSelector": pods, "policyTypes": ["Egress"],
                                  "egress": [_traffic_rule(rule, "to") for rule in spec.egress_rules]}})
    return policies


def _traffic_rule(rule: TrafficRule, side: str) -> Obj:
    body: Obj = {}
    if rule.peers:
        body[side] = [_peer(peer) for peer in rule.peers]
    if rule.ports:
        body["ports"] = [{"port": port, "protocol": protocol} for port, protocol in rule.ports]
    return body


def _peer(peer: Peer) -> Obj:
    if peer.cidr:
        return {"ipBlock": {"cidr": peer.cidr}}
    found: Obj = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: peer.namespace}}}
    if peer.pod_labels:
        found["podSelector"] = {"matchLabels": dict(peer.pod_labels)}
    return found


def run_hint(spec: ServiceSpec, job: Job) -> str:
    """The command that starts a manual job (`shipcard run`, docs/auditing.md)."""
    return f"shipcard run {job.name} --card {spec.name}"


def owner_annotations(spec: ServiceSpec) -> dict[str, str]:
    """Who owns the service, as the card says: its team and description."""
    found = {}
    if spec.team:
        found[OWNER_ANNOTATION] = spec.team
    if spec.description:
        found[DESCRIPTION_ANNOTATION] = spec.description
    return found


def cron_job(spec: ServiceSpec, job: Job) -> Obj:
    """A scheduled job, or (manual) a suspended CronJob that people start with `shipcard run`.

    `kubectl create job --from=cronjob/…` copies the job template's labels and annotations onto
    the Job it creates, so a manual run carries the manual label and the owner annotations too.

    The side of a cut-over that does not run the schedules (`spec.suspend_schedules`) suspends it too.
    """
    manual = job.kind == "manual"
    job_labels = labels(spec, "job")
    template_meta: Obj = {"labels": job_labels}
    if manual:
        job_labels[MANUAL_LABEL] = "true"
        if owner_annotations(spec):
            template_meta["annotations"] = owner_annotations(spec)
    body: Obj = {
        "schedule": NEVER_SCHEDULE if manual else job.schedule,
        "timeZone": job.time_zone or DEFAULT_TIME_ZONE,
        "concurrencyPolicy": CONCURRENCY[job.concurrency],
        "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
        "suspend": manual or job.suspend or spec.suspend_schedules,
        "successfulJobsHistoryLimit": HISTORY_LIMIT,
        "failedJobsHistoryLimit": HISTORY_LIMIT,
        "jobTemplate": {"metadata": template_meta, "spec": _job_spec(spec, job, JOB_TTL_SECONDS)},
    }
    meta = _meta(job_object_name(spec, job), spec, "job",
                 {RUN_ANNOTATION: run_hint(spec, job), **owner_annotations(spec)} if manual else None)
    if manual:
        meta["labels"][MANUAL_LABEL] = "true"
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": body}


def hook_job(spec: ServiceSpec, job: Job) -> Obj:
    """A migration: an Argo CD Sync hook run at every sync, after the setup wave, before the Deployment rolls."""
    annotations = {"argocd.argoproj.io/hook": "Sync",
                   "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                   SYNC_WAVE: MIGRATION_WAVE}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": _meta(job_object_name(spec, job), spec, "job", annotations),
            "spec": _job_spec(spec, job, HOOK_TTL_SECONDS)}


def _job_spec(spec: ServiceSpec, job: Job, ttl: int) -> Obj:
    return {
        "backoffLimit": job.retries,
        "activeDeadlineSeconds": job.timeout_seconds,
        "ttlSecondsAfterFinished": ttl,
        "template": _pod_template(spec, "job", _job_container(spec, job), restart_policy="Never",
                                  grace_period=spec.grace_period, script_job=job if job.script else None),
    }


# --------------------------------------------------------------------------- pods and containers


def _pod_template(spec: ServiceSpec, component: str, container: Obj, *, restart_policy: str | None,
                  grace_period: int, script_job: Job | None = None) -> Obj:
    annotations = {}
    if spec.env:
        annotations["shipcard.io/config-hash"] = _short_hash(repr(spec.env))
    if script_job:
        annotations["shipcard.io/script-hash"] = _short_hash(script_job.script or "")
    if spec.service_account.aws_role:
        annotations[AWS_ROLE_POD_ANNOTATION] = spec.service_account.aws_role
    meta: Obj = {"labels": labels(spec, component)}
    if annotations:
        meta["annotations"] = annotations
    volumes: list[Obj] = [{"name": TMP_VOLUME, "emptyDir": {}}, *_secret_file_volumes(spec)]
    if script_job:
        volumes.append({"name": "script", "configMap": {
            "name": scripts_config_map_name(spec), "defaultMode": SCRIPT_MODE,
            "items": [{"key": f"{script_job.name}.sh", "path": script_job.name}]}})
    pod: Obj = {
        "serviceAccountName": spec.name,
        "automountServiceAccountToken": bool(spec.service_account.aws_role),
        "enableServiceLinks": False,
    }
    if restart_policy:
        pod["restartPolicy"] = restart_policy
    pod.update({
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": grace_period,
        "containers": [container],
        "volumes": volumes,
    })
    return {"metadata": meta, "spec": pod}


def _server_container(spec: ServiceSpec) -> Obj:
    container = _container(spec, spec.name, spec.image, spec.command, spec.args, spec.resources)
    if spec.ports:
        container["ports"] = [{"name": p.name, "containerPort": p.port, "protocol": "TCP"} for p in spec.ports]
    for field, probe in (("startupProbe", spec.startup), ("readinessProbe", spec.readiness),
                         ("livenessProbe", spec.liveness)):
        if probe:
            container[field] = _probe(probe, spec)
    if spec.pre_stop_sleep:
        container["lifecycle"] = {"preStop": _pre_stop_hook(spec)}
    return _with_security(container)


def _pre_stop_hook(spec: ServiceSpec) -> Obj:
    """Wait before SIGTERM; before the sleep action, by running the image's own `sleep` (docs/cards.md)."""
    if renders(spec, SLEEP_ACTION):
        return {"sleep": {"seconds": spec.pre_stop_sleep}}
    return {"exec": {"command": ["sleep", str(spec.pre_stop_sleep)]}}


def _job_container(spec: ServiceSpec, job: Job) -> Obj:
    command: tuple[str, ...] = job.command
    if job.script:
        path = f"{SCRIPT_DIR}/{job.name}"
        command = (path,) if job.script.startswith("#!") else ("/bin/sh", path)
    container = _container(spec, job.name, job.image, command, job.args, job.resources)
    if job.script:
        container["volumeMounts"] = container["volumeMounts"] + [
            {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True}]
    return _with_security(container)


def _container(spec: ServiceSpec, name: str, image: str, command: tuple[str, ...], args: tuple[str, ...],
               resources: Resources) -> Obj:
    container: Obj = {"name": name, "image": image}
    if command:
        container["command"] = list(command)
    if args:
        container["args"] = list(args)
    env_from = []
    if spec.env:
        env_from.append({"configMapRef": {"name": env_config_map_name(spec)}})
    env_from.extend({"secretRef": {"name": source.secret}} for source in secret_sources(spec.name, spec.secrets)
                    if not source.files)
    if env_from:
        container["envFrom"] = env_from
    limits: Obj = {"memory": resources.limit_memory or resources.memory}
    if resources.limit_cpu:
        limits["cpu"] = resources.limit_cpu
    container["resources"] = {"requests": {"cpu": resources.cpu, "memory": resources.memory}, "limits": limits}
    container["volumeMounts"] = [{"name": TMP_VOLUME, "mountPath": "/tmp"}] + [
        {"name": f"{SECRET_FILES_VOLUME}-{index}", "mountPath": directory, "readOnly": True}
        for index, directory in enumerate(secret_file_directories(spec))]
    return container


# The restricted profile's container settings every generated container gets.
CONTAINER_SECURITY: Obj = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def _with_security(container: Obj) -> Obj:
    container["securityContext"] = {**CONTAINER_SECURITY, "capabilities": {"drop": ["ALL"]}}
    return container


def _probe(probe: Probe, spec: ServiceSpec) -> Obj:
    port = probe.port
    if isinstance(port, int):  # name the port when the card declared it, so probes follow port changes
        port = next((p.name for p in spec.ports if p.port == port), port)
    if probe.kind == "http":
        body: Obj = {"httpGet": {"path": probe.path or "/", "port": port}}
    elif probe.kind == "grpc":
        body = {"grpc": {"port": int(str(probe.port))}}  # gRPC probes take a number, not a port name
        if probe.service:
            body["grpc"]["service"] = probe.service
    elif probe.kind == "tcp":
        body = {"tcpSocket": {"port": port}}
    else:
        body = {"exec": {"command": list(probe.command)}}
    for field, value in (("initialDelaySeconds", probe.initial_delay), ("periodSeconds", probe.period),
                         ("failureThreshold", probe.failure_threshold)):
        if value is not None:
            body[field] = value
    return body
