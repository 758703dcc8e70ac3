"""`shipcard import ecs FILE`: the service container of an ECS task definition as one card.

FILE is what `aws ecs describe-task-definition` prints (`{"taskDefinition": {…}}`) or a task definition
alone (the input of `aws ecs register-task-definition`), in JSON or the CLI's YAML. Mapped: image,
entryPoint/command, environment, secrets (Parameter Store and Secrets Manager references), portMappings,
healthCheck, stopTimeout, cpu/memory/memoryReservation (the container's, else the task's), taskRoleArn.
Everything else, and every other container of the task, is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard.importers.result import (
    PARAMETER_STORE,
    SECRETS_MANAGER,
    CardBuilder,
    ImportResult,
    Origin,
    Source,
    read_sources,
    service_name,
    shaped,
)
from shipcard.patterns import AWS_ROLE_ARN, MEANING, PORT_NAME
from shipcard.settings import REPO_FILE

MAPPED = {"name", "image", "essential", "entryPoint", "command", "environment", "secrets", "portMappings",
          "healthCheck", "stopTimeout", "cpu", "memory", "memoryReservation"}
TASK_MAPPED = {"family", "containerDefinitions", "taskRoleArn", "cpu", "memory"}
# What describe-task-definition says about the registration, and what only places an ECS task: no meaning here.
TASK_IGNORED = {"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt",
                "registeredBy", "deregisteredAt", "requiresCompatibilities"}
REASONS = {
    "environmentFiles": "environment files in S3 are not fetched: add their variables to env (or secrets)",
    "logConfiguration": "the pod's standard output goes to the cluster's log agent: the log configuration (and "
                        "its secretOptions) is not imported",
    "mountPoints": "a volume has no card field: not imported (the root file system is read-only, /tmp writable)",
    "volumes": "a volume has no card field: not imported (the root file system is read-only, /tmp writable)",
    "user": "the pods run as UID 10001 (the restricted Pod Security Standard): the image must allow it",
    "privileged": "the namespace enforces the restricted Pod Security Standard: a privileged container is refused",
    "readonlyRootFilesystem": "the root file system is read-only with a writable /tmp: the app must write nowhere "
                              "else",
    "executionRoleArn": "the execution role pulled the image and read the secrets for ECS: on Kubernetes the "
                        "nodes pull the image, and the External Secrets Operator reads the secrets with its "
                        "ClusterSecretStore's identity, which needs that role's read access",
    "runtimePlatform": "has no card field: the pods run on the cluster's nodes, whose CPU architecture must be the "
                       "image's",
    "networkMode": "pods have their own IP address (as in awsvpc mode): host and bridge networking do not carry "
                   "over",
}
_ARN = re.compile(r"^arn:([a-z-]+):([a-z0-9-]*):([a-z0-9-]*):([0-9]*):(.*)$")
# Secrets Manager appends `-` and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"^(.+)-[A-Za-z0-9]{6}$")
_TASK_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(vcpu)?$", re.IGNORECASE)
_TASK_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(gb)?$", re.IGNORECASE)


@dataclass(frozen=True)
class SecretRef:
    """Where ECS read one secret: a provider's key (`name[#property]`) at a version (ESO's `remoteRef.version`;
    None: the current one), and what the card cannot say."""

    provider: str
    key: str
    place: str  # "region us-east-1 of account 123456789012", or the task's own region for a bare name
    notes: tuple[str, ...] = ()
    version: str | None = None


def read_ecs(path: Path, name: str | None = None, container: str | None = None) -> ImportResult:
    """One card from the task definition in `path`: its service container (`container`, or the one
    that is essential and has ports), named `name` or after the task's family."""
    sources = read_sources(path)
    if len(sources) != 1 or not isinstance(sources[0].data, dict):
        raise Origin(str(path), 1, "").error("expected the JSON of `aws ecs describe-task-definition` (one object)")
    source = sources[0]
    where: tuple[str, ...] = ("taskDefinition",) if "taskDefinition" in source.data else ()
    task = source.data.get("taskDefinition") if where else source.data
    if not isinstance(task, dict) or not isinstance(task.get("containerDefinitions"), list) or \
            not task["containerDefinitions"]:
        raise source.at(*where).error("a task definition needs a containerDefinitions list (the JSON of `aws "
                                      "ecs describe-task-definition`, or a task definition)")
    result = ImportResult()
    with shaped(source.at(*where)):
        _task(source, where, task, name, container, result)
    result.notes.sort(key=lambda note: note.line)  # in the order of the file
    return result


def _task(source: Source, where: tuple[str, ...], task: dict[str, Any], name: str | None, container: str | None,
          result: ImportResult) -> None:
    containers = task["containerDefinitions"]
    for index, definition in enumerate(containers):
        if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
            raise source.at(*where, "containerDefinitions", index).error("a container definition needs a name")
    index = _service_container(source, where, containers, container, result)
    here: tuple[str | int, ...] = (*where, "containerDefinitions", index)
    definition = containers[index]
    if name is None:
        origin = source.at(*where, "family")
        card = CardBuilder(service_name(str(task.get("family") or ""), origin), origin, result)
    else:
        card = CardBuilder(service_name(name, Origin("the command line", 0, "--name")),
                           Origin("the command line", 0, "--name"), result)
    if not isinstance(definition.get("image"), str):
        raise source.at(*here).error("the container has no image")
    card.image(("image",), definition["image"], source.at(*here, "image"))
    for key, field in (("entryPoint", "command"), ("command", "args")):  # ECS's command replaces the image's CMD
        if definition.get(key):
            if not isinstance(definition[key], list):
                raise source.at(*here, key).error("is a list of strings in a task definition")
            card.set((field,), [str(word) for word in definition[key]], source.at(*here, key))
    _ports(source, here, definition.get("portMappings") or [], card)
    secrets = _secret_refs(source, here, definition.get("secrets") or [], _region(task))
    if secrets:
        card.secret_provider = secrets[0][1].provider  # the first secret's provider is the card's own
    for item, entry in enumerate(definition.get("environment") or []):
        card.env(str(entry["name"]), entry.get("value"), source.at(*here, "environment", item))
    _secrets(secrets, card)
    if isinstance(definition.get("healthCheck"), dict):
        _health(source, (*here, "healthCheck"), definition["healthCheck"], card)
    result.note(source.at(*where, "family") if "family" in task else source.at(*where),
                "the ECS service's desired count is not in the task definition: replicas keep shipcard's "
                "default (2)")
    _resources(source, where, task, index, card)
    if definition.get("stopTimeout") is not None:
        card.set(("shutdown", "gracePeriod"), int(definition["stopTimeout"]), source.at(*here, "stopTimeout"))
    if task.get("taskRoleArn"):
        _role(source, where, str(task["taskRoleArn"]), card)
    for key, value in definition.items():
        harmless = value is True if key == "readonlyRootFilesystem" else value is False  # `privileged: false`
        if key in MAPPED or _empty(value) or harmless:
            continue
        result.note(source.at(*here, key), REASONS.get(key, "has no card field: not imported"))
    for key, value in task.items():
        if key in TASK_MAPPED or key in TASK_IGNORED or _empty(value) or (key == "networkMode" and value == "awsvpc"):
            continue
        result.note(source.at(*where, key), REASONS.get(key, "has no card field: not imported"))
    for key, value in source.data.items():
        if where and key != "taskDefinition" and not _empty(value):
            result.note(source.at(key), "has no card field: not imported")
    card.finish()


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _service_container(source: Source, where: tuple[str, ...], containers: list[dict[str, Any]],
                       chosen: str | None, result: ImportResult) -> int:
    """The index of the service's container; every other container is reported."""
    names = [str(c["name"]) for c in containers]
    if chosen is not None:
        if chosen not in names:
            raise Origin("the command line", 0, "--container").error(
                f"the task has no container {chosen!r} (it has {', '.join(names)})")
        index = names.index(chosen)
    else:
        essential = [i for i, c in enumerate(containers)
                     if c.get("essential", True) is not False and not c.get("firelensConfiguration")]
        candidates = [i for i in essential if containers[i].get("portMappings")] or essential or \
            list(range(len(containers)))
        if len(candidates) > 1:
            raise source.at(*where, "containerDefinitions").error(
                f"the task has {len(candidates)} containers that could be the service "
                f"({', '.join(names[i] for i in candidates)}): pass --container NAME")
        index = candidates[0]
    for other, definition in enumerate(containers):
        if other != index:
            role = "a FireLens log router: the cluster's log agent does its work" \
                if definition.get("firelensConfiguration") else "a sidecar"
            result.note(source.at(*where, "containerDefinitions", other),
                        f"container {names[other]} is not imported ({role}; the card runs one container: pass "
                        "--container to import another)")
    return index



def _ports(source: Source, here: tuple[str | int, ...], mappings: list[dict[str, Any]], card: CardBuilder) -> None:
    seen: set[int] = set()
    for index, mapping in enumerate(mappings):
        origin = source.at(*here, "portMappings", index)
        if "containerPortRange" in mapping or not isinstance(mapping.get("containerPort"), int):
            card.result.note(origin, "a port range (or a mapping without containerPort) has no card field: not "
                                     "imported")
            continue
        port = mapping["containerPort"]
        if str(mapping.get("protocol", "tcp")).lower() != "tcp":
            card.result.note(origin, f"a {mapping['protocol']} port has no card field: not imported")
            continue
        if port in seen:
            continue
        seen.add(port)
        name = mapping.get("name")
        card.port(port, origin, protocol="grpc" if mapping.get("appProtocol") == "grpc" else
                  "http" if mapping.get("appProtocol") in ("http", "http2") else None,
                  name=name if isinstance(name, str) and len(name) <= 15 and re.match(PORT_NAME, name) else None)
        if mapping.get("hostPort") not in (None, 0, port):
            card.result.note(origin, f"hostPort {mapping['hostPort']} is the EC2 host's port (bridge mode): the "
                                     f"Service port is {port} inside the cluster")


def _region(task: dict[str, Any]) -> str:
    """Where a secret named without an ARN is: the task definition's region and account, when its ARN says."""
    arn = _ARN.match(str(task.get("taskDefinitionArn") or ""))
    return f"region {arn.group(3)} of account {arn.group(4)}" if arn and arn.group(3) else "the task's region"


def _secret_refs(source: Source, here: tuple[str | int, ...], secrets: list[dict[str, Any]],
                 region: str) -> list[tuple[str, SecretRef, Origin]]:
    refs = []
    for index, entry in enumerate(secrets):
        origin = source.at(*here, "secrets", index)
        if not isinstance(entry.get("name"), str) or not isinstance(entry.get("valueFrom"), str):
            raise origin.error("a secret needs a name and a valueFrom")
        refs.append((entry["name"], secret_ref(entry["valueFrom"], source.at(*here, "secrets", index, "valueFrom"),
                                               region), origin))
    return refs


def _secrets(refs: list[tuple[str, SecretRef, Origin]], card: CardBuilder) -> None:
    places: dict[str, tuple[Origin, set[str]]] = {}  # provider → where its first value is, the regions read
    for variable, ref, origin in refs:
        card.remote_secret(variable, ref.key, ref.provider, origin, ref.version)
        places.setdefault(ref.provider, (origin, set()))[1].add(ref.place)
        for reason in ref.notes:
            card.result.note(origin, f"{variable}: {reason}")
    for provider, (origin, regions) in places.items():
        several = " (one store reads one region: give some values a store of their own)" if len(regions) > 1 else ""
        store, placeholder = card.store(provider)
        read = " and ".join(sorted(regions))
        card.result.note(origin, f"store {store!r} stands for the ClusterSecretStore ({provider}) that reads {read}: "
                                 f"write its name{several}" if placeholder else
                                 f"store {store!r} ({REPO_FILE} secrets.stores.{provider}) must read {read}{several}")


def secret_ref(value_from: str, origin: Origin, region: str = "the task's region") -> SecretRef:
    """Where ECS reads a secret (`secrets[].valueFrom`), as the External Secrets Operator names it.

    A Parameter Store ARN `arn:…:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION]` (or a bare parameter name
    `NAME[:VERSION]`) gives the parameter's name, which ESO passes to GetParameter as it is: a name with a
    path starts with `/`, which the ARN leaves out. A parameter name has no `:`, so what follows one is a
    version number or label, which ESO appends to the name (`remoteRef.version`). A Secrets Manager ARN
    `arn:…:secretsmanager:…:secret:NAME-XXXXXX[:json-key:stage:id]` gives the secret's name (without the
    six characters Secrets Manager appends), the JSON key as `#property` and the version as ESO's AWS
    Secrets Manager provider reads `remoteRef.version`: a version stage as it is, a version id as
    `uuid/<id>`. `region` says where a bare parameter name is.
    """
    arn = _ARN.match(value_from)
    if not value_from.startswith("arn:"):
        name, version = _parameter_version(value_from, origin)
        return SecretRef(PARAMETER_STORE, name, region, version=version)
    if not arn:
        raise origin.error("not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
    service, region, account, resource = arn.group(2), arn.group(3), arn.group(4), arn.group(5)
    place = f"region {region} of account {account}"
    if service == "ssm":
        if not resource.startswith("parameter/") or resource == "parameter/":
            raise origin.error("a Parameter Store ARN names a parameter (…:parameter/NAME)")
        name, version = _parameter_version(resource.removeprefix("parameter/"), origin)
        if "/" in name:
            return SecretRef(PARAMETER_STORE, f"/{name}", place, version=version)
        return SecretRef(PARAMETER_STORE, name, place, (
            f"the ARN names parameter {name!r} (or {'/' + name!r}: both have this ARN); imported as {name!r}",),
            version)
    if service == "secretsmanager":
        parts = resource.removeprefix("secret:").split(":") if resource.startswith("secret:") else []
        if not parts or not parts[0] or len(parts) > 4:
            raise origin.error("a Secrets Manager ARN names a secret (…:secret:NAME[:json-key:version-stage:"
                               "version-id])")
        name, json_key, stage, version = (parts + ["", "", ""])[:4]
        notes = []
        suffix = _SECRET_SUFFIX.match(name)
        if suffix:
            notes.append(f"secret {suffix.group(1)!r}: the ARN's last six characters are taken for the suffix "
                         "Secrets Manager appends to a name; if they are part of the name (a partial ARN), "
                         "write the whole name as the key")
            name = suffix.group(1)
        if stage and version:
            notes.append(f"ECS read version id {version} (version stage {stage} must name the same version): the "
                         f"card reads it by its id, uuid/{version}")
        return SecretRef(SECRETS_MANAGER, f"{name}#{json_key}" if json_key else name, place, tuple(notes),
                         f"uuid/{version}" if version else stage or None)
    raise origin.error(f"names a {service or 'unknown'} resource: ECS reads secrets from Parameter Store "
                       "(arn:…:ssm:…:parameter/NAME, or a parameter name) or Secrets Manager "
                       "(arn:…:secretsmanager:…:secret:NAME)")


def _parameter_version(name: str, origin: Origin) -> tuple[str, str | None]:
    """A parameter's name and the version number or label after its `:` (a name has none), if any."""
    name, colon, version = name.partition(":")
    if colon and (not name or not version or ":" in version):
        raise origin.error("a parameter is NAME or NAME:VERSION (a version number or label)")
    return name, version or None


def _health(source: Source, here: tuple[str | int, ...], check: dict[str, Any], card: CardBuilder) -> None:
    command = check.get("command")
    if not isinstance(command, list) or not command:
        raise source.at(*here).error("a health check needs a command ([CMD-SHELL, …] or [CMD, …])")
    timing = {}
    for key, field in (("startPeriod", "initialDelay"), ("interval", "period"), ("retries", "failureThreshold")):
        if check.get(key) is not None:
            timing[field] = int(check[key])
    if "timeout" in check:
        card.result.note(source.at(*here, "timeout"), "has no card field: the probe keeps Kubernetes' default (1s)")
    card.health([str(word) for word in command], source.at(*here, "command"), source.at(*here), timing)


def _resources(source: Source, where: tuple[str, ...], task: dict[str, Any], index: int, card: CardBuilder) -> None:
    """The container's cpu (1024 units = 1 vCPU) as the CPU request, memoryReservation (MiB) as the memory
    request and memory as its limit; a task of one container without them gives the task's (describe prints
    `cpu: 0` for a container that sets none). Without either, shipcard's defaults apply."""
    here: tuple[str | int, ...] = (*where, "containerDefinitions", index)
    definition = task["containerDefinitions"][index]
    alone = len(task["containerDefinitions"]) == 1
    if definition.get("cpu"):
        card.set(("resources", "cpu"), _millicores(int(definition["cpu"])), source.at(*here, "cpu"))
    elif alone and task.get("cpu"):
        card.set(("resources", "cpu"), _task_cpu(task["cpu"], source.at(*where, "cpu")), source.at(*where, "cpu"))
    reservation, limit = definition.get("memoryReservation"), definition.get("memory")
    if reservation:
        card.set(("resources", "memory"), _mebibytes(int(reservation)), source.at(*here, "memoryReservation"))
    elif limit or (alone and task.get("memory")):
        origin = source.at(*here, "memory") if limit else source.at(*where, "memory")
        card.set(("resources", "memory"), _mebibytes(int(limit)) if limit else
                 _task_memory(task["memory"], origin), origin)
        card.result.note(origin, "no memoryReservation: the memory request is the limit")
    if limit:
        card.set(("resources", "limits", "memory"), _mebibytes(int(limit)), source.at(*here, "memory"))
    elif reservation:
        card.result.note(source.at(*here, "memoryReservation"), "no hard memory limit: the limit is the request")


def _millicores(units: int) -> str:
    return f"{max(round(units * 1000 / 1024), 1)}m"


def _mebibytes(mib: int) -> str:
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _task_cpu(value: Any, origin: Origin) -> str:
    """A task's `cpu`: CPU units (`"1024"`) or vCPUs (`"1 vCPU"`)."""
    match = _TASK_CPU.match(str(value).strip())
    if not match:
        raise origin.error("not a task CPU value (CPU units such as 1024, or 1 vCPU)")
    return _millicores(round(float(match.group(1)) * (1024 if match.group(2) else 1)))


def _task_memory(value: Any, origin: Origin) -> str:
    """A task's `memory`: MiB (`"2048"`) or GB (`"2 GB"`, which ECS reads as 1024 MiB each)."""
    match = _TASK_MEMORY.match(str(value).strip())
    if not match:
        raise origin.error("not a task memory value (MiB such as 2048, or 2 GB)")
    return _mebibytes(round(float(match.group(1)) * (1024 if match.group(2) else 1)))


def _role(source: Source, where: tuple[str, ...], arn: str, card: CardBuilder) -> None:
    origin = source.at(*where, "taskRoleArn")
    if not re.match(AWS_ROLE_ARN, arn):
        raise origin.error(f"not {MEANING[AWS_ROLE_ARN]}")
    card.set(("serviceAccount", "awsRole"), arn, origin)
    card.result.note(origin, "the role trusted ecs-tasks.amazonaws.com: for IRSA its trust policy must allow the "
                             "cluster's OIDC provider for system:serviceaccount:<namespace>:<name> in each "
                             "environment's namespace")
