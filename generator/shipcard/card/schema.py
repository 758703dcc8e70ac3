"""The JSON Schema of the service card, format shipcard/v1.

Built here once so that the environment-override variant (every field optional,
`null` removes) is derived from the same definitions instead of written twice.
The shipped copies (`generator/shipcard/card/card-v1.schema.json`, `docs/card-v1.schema.json`)
are this dict serialised; a test keeps them identical.

The patterns are shared ones (`shipcard.patterns`, which says why they end in `(?!\n)$`).
Limits follow what the Kubernetes API accepts for the field each value ends up in
(tests/hardening/test_properties.py checks rendered objects against those rules).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from shipcard.patterns import (
    AWS_ROLE_ARN,
    CLUSTER_URL,
    CRON,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    DURATION,
    ENV_VAR,
    HOST,
    LABEL_VALUE,
    NO_SPACE,
    PORT_NAME,
    QUANTITY,
    REASON,
    SECRET_FILE_PATH,
    SECRET_VERSION,
    SERVICE_NAME,
    TEXT,
    URL_PATH,
)
from shipcard.settings import POD_LABELS, SECRET_PROVIDERS, STORE_NAME

API_VERSION = "shipcard/v1"
SCHEMA_ID = "https://shipcard.dev/schemas/card-v1.schema.json"
FORMATS = ("kustomize", "helmfile")  # what `gitops.format` names: the trees a card renders into
# The AWS Load Balancer Controller's IngressGroup names: lower-case alphanumerics, '-' and '.', at most 63.
ALB_GROUP = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"

INT32 = 2147483647

_text = {"type": "string", "pattern": TEXT}
_string_list = {"type": "array", "items": _text}
_port_number = {"type": "integer", "minimum": 1, "maximum": 65535}
# Numbers are allowed (cpu: 0.5); negative and infinite ones are not quantities Kubernetes takes.
_quantity = {"type": ["string", "number"], "pattern": QUANTITY, "minimum": 0, "maximum": 1e15}
_seconds = {"type": "integer", "minimum": 0, "maximum": INT32}
_count = {"type": "integer", "minimum": 1, "maximum": INT32}


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


# A readiness path becomes the ALB's health check path (an annotation), which AWS limits to 1024 characters.
_probe_path = {"type": "string", "pattern": URL_PATH, "maxLength": 1024}
# Env variable names are ConfigMap and Secret keys, which the API server limits to 253 characters.
_env_names = {"pattern": ENV_VAR, "maxLength": 253}

_PROBE_SHAPES = ("A path string probes HTTP on the first port; or one of {http: port, path}, {grpc: port}, "
                 "{tcp: port}, {exec: [...]}.")
PROBE: dict[str, Any] = {
    "description": _PROBE_SHAPES,
    "anyOf": [
        _probe_path,
        _obj({"http": {"type": ["integer", "string"]}, "path": _probe_path,
              "initialDelay": _seconds, "period": _count,
              "failureThreshold": _count}, ["http"]),
        _obj({"grpc": _port_number, "service": _text,
              "initialDelay": _seconds, "period": _count,
              "failureThreshold": _count}, ["grpc"]),
        _obj({"tcp": {"type": ["integer", "string"]},
              "initialDelay": _seconds, "period": _count,
              "failureThreshold": _count}, ["tcp"]),
        _obj({"exec": {**_string_list, "minItems": 1},
              "initialDelay": _seconds, "period": _count,
              "failureThreshold": _count}, ["exec"]),
    ],
}
# A finding the card accepts on purpose says why, in one line (docs/cards.md, "Findings a card accepts").
_reason = {"type": "string", "pattern": REASON, "maxLength": 1024}
# Liveness may also be none, with the reason: `liveness-probe-missing` is then suppressed with it.
LIVENESS = {
    "description": _PROBE_SHAPES + " Or {none: reason}: no liveness probe, on purpose.",
    "anyOf": [*PROBE["anyOf"], _obj({"none": {**_reason, "description": "Why the process needs no liveness "
                                                                         "probe, in one line."}}, ["none"])],
}

# A provider's value: `remote-key[#property]` ({env} and {name} expand per environment), read from the
# secrets' own provider and store, or (the mapping) from a provider and store of its own.
_store = STORE_NAME
_remote_key = {"type": "string", "minLength": 1, "pattern": TEXT}
# One schema for both forms rather than anyOf, so that an error names what is wrong in the form written
# (string keywords apply to strings only, object keywords to mappings only).
# A version the provider keeps of the value (ESO's remoteRef.version): for Secrets Manager a version stage
# (AWSPREVIOUS) or `uuid/<version id>`, for Parameter Store a parameter version (3) or label, for Vault a
# KV v2 version. Without one the provider's current version is read.
_version = {"type": "string", "pattern": SECRET_VERSION, "maxLength": 256,
            "description": "The provider's version of the value (Secrets Manager: a version stage, or "
                           "uuid/<version id>; Parameter Store: a version number or label); the current one "
                           "when left out."}
_secret_value = {
    **_obj({"key": _remote_key, "provider": {"enum": list(SECRET_PROVIDERS)}, "store": _store, "version": _version},
           ["key"]),
    "type": ["string", "object"], "minLength": 1, "pattern": TEXT,
    "description": "A remote key[#property], or {key, provider, store, version} to read it from another store "
                   "or at a version.",
}

RESOURCES = _obj({
    "cpu": _quantity,
    "memory": _quantity,
    "limits": _obj({"cpu": _quantity, "memory": _quantity}),
}, description="Requests (cpu, memory); the memory limit defaults to the memory request.")

# NetworkPolicy peers (docs/cards.md, "Callers and egress"): another card's pods, a namespace's pods,
# an address block; callers may also be the repository's ingress controller, or anyone.
_cidr = {"type": "string", "pattern": NO_SPACE, "maxLength": 43, "description": "An address block, 10.0.0.0/16."}
_to_service = _obj({"service": {"type": "string", "pattern": SERVICE_NAME, "maxLength": 63,
                                "description": "A card of this repository: its pods in its namespace of the "
                                               "same environment."}}, ["service"])
_to_namespace = _obj({"namespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
                      "podLabels": POD_LABELS}, ["namespace"])
_to_block = _obj({"cidr": _cidr}, ["cidr"])
ALLOW_FROM = {"type": "array", "items": {
    "description": "One caller: {service}, {namespace, podLabels}, {cidr}, {ingressController: true} or "
                   "{anywhere: true}.",
    "anyOf": [_to_service, _to_namespace, _to_block,
              _obj({"ingressController": {"const": True}}, ["ingressController"]),
              _obj({"anywhere": {"const": True,
                                 "description": "Every source, inside the cluster and out (shipcard/v1 before "
                                                "allowFrom)."}}, ["anywhere"])]}}
_egress_ports = {"type": "array", "minItems": 1, "items": _port_number,
                 "description": "TCP ports; every port when left out."}
EGRESS_TO = {"type": "array", "items": {
    "description": "One destination: {service}, {namespace, podLabels} or {cidr}, each with optional ports.",
    "anyOf": [{**entry, "properties": {**entry["properties"], "ports": _egress_ports}}
              for entry in (_to_service, _to_namespace, _to_block)]}}

SERVICE_FIELDS: dict[str, Any] = {
    "team": {"type": "string", "pattern": LABEL_VALUE, "maxLength": 63},
    "description": _text,
    "image": {"type": "string", "minLength": 1, "description": "registry/repository:tag or …@sha256:digest"},
    "command": {**_string_list, "minItems": 1},
    "args": _string_list,
    "port": {**_port_number, "description": "Shorthand for one HTTP port named http."},
    "ports": {"type": "array", "minItems": 1, "items": _obj({
        "name": {"type": "string", "pattern": PORT_NAME, "maxLength": 15},
        "port": _port_number,
        "servicePort": _port_number,
        "protocol": {"enum": ["http", "grpc", "tcp"]},
    }, ["name", "port"])},
    "env": {"type": "object", "propertyNames": _env_names,
            "additionalProperties": {"type": ["string", "number", "boolean"], "pattern": TEXT},
            "description": "Literal, non-secret values; secrets go under secrets.env."},
    "resources": RESOURCES,
    "secrets": _obj({
        "provider": {"enum": [*SECRET_PROVIDERS, "none"]},
        "store": _store,
        "refresh": {"type": "string", "pattern": DURATION, "maxLength": 64},
        "env": {"type": "object", "propertyNames": _env_names, "additionalProperties": _secret_value,
                "description": "VARIABLE: remote-key[#property] or {key, provider, store, version}"},
        "files": {"type": "object", "propertyNames": {"pattern": SECRET_FILE_PATH, "maxLength": 1024},
                  "additionalProperties": _secret_value,
                  "description": "/absolute/path: remote-key[#property] or {key, provider, store, version}: a "
                                 "read-only file"},
    }),
    "serviceAccount": _obj({
        "awsRole": {"type": "string", "pattern": AWS_ROLE_ARN, "maxLength": 2048,
                    "description": "IRSA: the IAM role the pods assume (eks.amazonaws.com/role-arn)."},
    }),
    "replicas": {"type": "integer", "minimum": 0, "maximum": 1000},
    "singleReplica": {**_reason, "description": "Why one pod is enough, in one line: replicas is 1 (its "
                                                "default then) and `single-replica` is suppressed with it."},
    "autoscaling": _obj({
        "min": {"type": "integer", "minimum": 1, "maximum": 100000},
        "max": {"type": "integer", "minimum": 1, "maximum": 100000},
        "cpu": {"type": "integer", "minimum": 1, "maximum": 100},
    }, ["max"]),
    "health": _obj({"liveness": LIVENESS, "readiness": PROBE, "startup": PROBE}),
    "shutdown": _obj({
        "preStopSleep": {"type": "integer", "minimum": 0, "maximum": 3600},
        "gracePeriod": {"type": "integer", "minimum": 0, "maximum": 86400},
    }),
    "ingress": _obj({
        "host": {"type": "string", "pattern": HOST, "maxLength": 253},
        "path": {"type": "string", "pattern": URL_PATH},
        "className": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253},
        "tls": {"type": "boolean"},
        "group": {"type": "string", "pattern": ALB_GROUP, "maxLength": 63,
                  "description": "className alb only: the IngressGroup whose one ALB this Ingress shares."},
    }, ["host"], **{"if": {"required": ["group"]},
                    "then": {"required": ["className"], "properties": {"className": {"const": "alb"}}}}),
    "allowFrom": ALLOW_FROM,
    "egressTo": EGRESS_TO,
    "jobs": {"type": "array", "items": _obj({
        "name": {"type": "string", "pattern": DNS_LABEL},
        "schedule": {"type": "string", "pattern": CRON},
        "timeZone": {"type": "string", "pattern": r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"},
        "hook": {"enum": ["pre-sync"]},
        "manual": {"const": True},
        "command": {**_string_list, "minItems": 1},
        "args": _string_list,
        "script": {"type": "string", "minLength": 1, "pattern": TEXT},
        "image": {"type": "string", "minLength": 1},
        "resources": RESOURCES,
        "concurrency": {"enum": ["forbid", "replace", "allow"]},
        "timeout": {"type": "string", "pattern": DURATION, "maxLength": 64},
        "retries": {"type": "integer", "minimum": 0, "maximum": 100},
        "suspend": {"type": "boolean"},
    }, ["name"])},
}

ENVIRONMENT_ONLY: dict[str, Any] = {
    "cluster": {"type": "string", "pattern": CLUSTER_URL, "description": "Argo CD destination server."},
    "namespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
}

GITOPS = _obj({
    "format": {"enum": list(FORMATS)},
    "repoURL": {"type": "string", "pattern": NO_SPACE},
    "targetRevision": {"type": "string", "pattern": NO_SPACE},
    "path": {"type": "string", "minLength": 1},
    "project": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
    "autoSync": {"type": "boolean"},
    "prune": {"type": "boolean"},
    "selfHeal": {"type": "boolean"},
}, ["repoURL"])


def _as_override(schema: Any) -> Any:
    """The same schema with nothing required and `null` allowed at the top: an environment patch."""
    schema = copy.deepcopy(schema)

    def relax(node: Any) -> None:
        if isinstance(node, dict):
            if "anyOf" in node:  # a probe is replaced whole, never merged: keep its alternatives strict
                return
            node.pop("required", None)
            node.pop("if", None)  # a condition across fields: the merged environment is checked for it
            node.pop("then", None)
            for value in node.values():
                relax(value)
        elif isinstance(node, list):
            for value in node:
                relax(value)

    relax(schema)
    items = schema.get("items") if isinstance(schema, dict) else None
    if isinstance(items, dict) and "name" in items.get("properties", {}):
        items["required"] = ["name"]  # list entries merge by name
    return {"anyOf": [{"type": "null"}, schema]}


def build_schema() -> dict[str, Any]:
    """The whole card schema as a dict (draft 2020-12)."""
    environment = _obj({**{k: _as_override(v) for k, v in SERVICE_FIELDS.items()}, **ENVIRONMENT_ONLY},
                       description="Overrides of service fields for one environment (deep merge; null removes).")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "shipcard service card (shipcard/v1)",
        **_obj({
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": "Service"},
            "name": {"type": "string", "pattern": SERVICE_NAME, "maxLength": 63},
            **SERVICE_FIELDS,
            "environments": {"type": "object", "minProperties": 1,
                             "propertyNames": {"pattern": DNS_LABEL, "maxLength": 30,
                                           "not": {"const": "projects"}},  # argocd/projects/: AppProjects
                             "additionalProperties": {"anyOf": [{"type": "null"}, environment]}},
            "gitops": GITOPS,
        }, ["apiVersion", "kind", "name", "image", "environments", "gitops"]),
    }


def service_schema() -> dict[str, Any]:
    """Schema of one resolved environment's service fields (used after merging overrides)."""
    return _obj(dict(SERVICE_FIELDS), ["image"])


@cache
def shipped_schema() -> dict[str, Any]:
    """The schema file shipped inside the package (what editors and `check` use)."""
    from importlib import resources

    text = resources.files("shipcard.card").joinpath("card-v1.schema.json").read_text(encoding="utf-8")
    return json.loads(text)
