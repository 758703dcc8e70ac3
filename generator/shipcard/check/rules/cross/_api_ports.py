"""Port numbers and port names where the API server validates them, for the `api-invalid-port*` rules.

Mirrors Kubernetes' `k8s.io/apimachinery/pkg/util/validation` (`IsValidPortNum`,
`IsValidPortName`, `IsDNS1123Label`) as `pkg/apis/core/validation` applies them:
`validateContainerPorts` (containerPort, hostPort, name), `validateServicePort` (port,
targetPort, nodePort, name) and `ValidatePortNumOrName` (probe and lifecycle handler ports).
A value of the wrong type is left to the schema layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from shipcard.check.model import K8sObject
from shipcard.check.rules.kube import Context, as_dict, dig, iter_named
from shipcard.yamlio.read import PathKey

# What a field holds: a port number, an IANA service name (container ports), either of them
# (an int-or-string port), or a DNS-1123 label (the name of a Service port).
FieldKind = Literal["number", "name", "number-or-name", "label"]

MAX_PORT_NAME = 15  # IANA service names (RFC 6335)
MAX_LABEL = 63
_PORT_NAME_CHARSET = re.compile(r"[-a-z0-9]+")  # fullmatch: `$` would let a final newline through
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SERVICE_PORT_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("name", "label"), ("port", "number"), ("targetPort", "number-or-name"), ("nodePort", "number"))
CONTAINER_PORT_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("containerPort", "number"), ("hostPort", "number"), ("name", "name"))
HANDLER_PORTS: tuple[tuple[str, FieldKind], ...] = (
    ("httpGet", "number-or-name"), ("tcpSocket", "number-or-name"), ("grpc", "number"))
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
HOOKS = ("postStart", "preStop")


Problem = Callable[[Any, FieldKind], "str | None"]


@dataclass(frozen=True)
class PortProblem:
    """A port-valued field the API server would refuse, and why."""

    obj: K8sObject
    path: PathKey
    value: Any
    problem: str
    container: str | None = None


def port_problems(context: Context, problem: Problem) -> Iterator[PortProblem]:
    """Every port number and port name of Services and pod specs that `problem` finds fault with."""
    for svc in context.of_kind("Service"):
        for index, port in iter_named(dig(svc.obj.data, "spec", "ports")):
            for key, kind in SERVICE_PORT_FIELDS:
                value = port.get(key)
                why = None if value is None or (key == "nodePort" and value == 0) else problem(value, kind)
                if why is not None:
                    yield PortProblem(svc.obj, ("spec", "ports", index, key), value, why)
    for workload in context.workloads:
        for c in workload.containers:
            for index, port in iter_named(c.data.get("ports")):
                for key, kind in CONTAINER_PORT_FIELDS:
                    value = port.get(key)
                    why = None if value is None or (key == "hostPort" and value == 0) else problem(value, kind)
                    if why is not None:
                        yield PortProblem(workload.obj, (*c.path, "ports", index, key), value, why, c.name)
            handlers: list[tuple[PathKey, Any]] = [((probe,), c.data.get(probe)) for probe in PROBES]
            lifecycle = c.data.get("lifecycle")
            if isinstance(lifecycle, dict):
                handlers += [(("lifecycle", hook), lifecycle.get(hook)) for hook in HOOKS]
            for where, handler in handlers:
                if not isinstance(handler, dict):
                    continue
                for action, kind in HANDLER_PORTS:
                    value = as_dict(handler.get(action)).get("port")
                    why = None if value is None else problem(value, kind)
                    if why is not None:
                        yield PortProblem(workload.obj, (*c.path, *where, action, "port"), value, why, c.name)


def number_problem(value: Any, kind: FieldKind) -> str | None:
    """Why a port number is refused (`IsValidPortNum`: 1 to 65535), or None."""
    if kind in ("number", "number-or-name") and isinstance(value, int) and not isinstance(value, bool) \
            and not 1 <= value <= 65535:
        return f"{value} is not a port number: must be between 1 and 65535, inclusive"
    return None


def name_problem(value: Any, kind: FieldKind) -> str | None:
    """Why a port name is refused (`IsValidPortName`, or `IsDNS1123Label` for a Service port), or None."""
    if not isinstance(value, str) or not value or kind not in ("name", "number-or-name", "label"):
        return None  # an empty name is unset (a Service's targetPort then defaults to its port)
    return _string_problem(value, kind)


@lru_cache(maxsize=4096)  # the same few names recur in every object
def _string_problem(value: str, kind: FieldKind) -> str | None:
    if kind == "label":
        if len(value) > MAX_LABEL:
            return f"must be no more than {MAX_LABEL} characters (a DNS-1123 label)"
        if not _DNS_LABEL.fullmatch(value):
            return "must be a DNS-1123 label: lower case letters, digits and '-', starting and ending " \
                   "with a letter or digit"
        return None
    problems = []
    if len(value) > MAX_PORT_NAME:
        problems.append(f"must be no more than {MAX_PORT_NAME} characters")
    if not _PORT_NAME_CHARSET.fullmatch(value):
        problems.append("must contain only lower case letters, digits and '-'")
    if not re.search("[a-z]", value):
        problems.append("must contain at least one letter")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return "; ".join(problems) or None
