"""What the checker passes around: Kubernetes objects with their origin, rules, findings.

Shared by the engine (inputs, schema layer, suppression, reporters) and the
policy pack (`shipcard.check.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from shipcard.yamlio.read import Document, PathKey

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass
class K8sObject:
    """One Kubernetes object as read or rendered, and where it came from.

    `file` is the path shown to people (relative to the checked root where possible);
    `document` gives line numbers when the object was read from that file as it is.
    For objects rendered by kustomize or helm, `origin` says how (for example
    "kubectl kustomize apps/web/overlays/prod") and `document` points into the
    rendered text, or is None.
    """

    data: dict[str, Any]
    file: str
    document: Document | None = None
    origin: str | None = None
    values: tuple[str, ...] = ()  # a helm render's values files, resolved: which Application deploys it

    @cached_property
    def kind(self) -> str:
        return str(self.data.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion") or "")

    @cached_property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @cached_property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @cached_property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def annotations(self) -> dict[str, Any]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def labels(self) -> dict[str, Any]:
        lab = self.metadata.get("labels")
        return lab if isinstance(lab, dict) else {}

    @cached_property
    def ref(self) -> str:
        """`Kind/namespace/name` (or `Kind/name` without a namespace), for messages."""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"

    def position(self, path: PathKey = ()) -> tuple[int, int]:
        """1-based line and column of `path` inside this object; (0, 0) when unknown."""
        return self.document.line_of(path) if self.document else (0, 0)


@dataclass
class Suppression:
    """Why a finding does not count: the annotation or config entry and its reason."""

    source: str  # "annotation" | "config"
    reason: str
    expires: str | None = None


@dataclass(frozen=True, order=True)
class Via:
    """One render a finding came through: how (`origin`, as on K8sObject) and the object it rendered."""

    origin: str
    object_ref: str


@dataclass
class Finding:
    """One problem: which rule, where, and whether it was suppressed."""

    rule: str
    severity: Severity
    message: str
    file: str
    line: int = 0
    column: int = 0
    object_ref: str = ""
    path: PathKey = ()
    container: str | None = None
    suppression: Suppression | None = None
    help: str = ""
    origin: str | None = None  # how the object was rendered ("kubectl kustomize apps/web/overlays/prod"), if it was
    via: tuple[Via, ...] = ()  # every render of this source place, when rendered (shipcard.check.once)

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None


def finding_for(obj: K8sObject, rule: str, severity: Severity, message: str, path: PathKey = (),
                container: str | None = None) -> Finding:
    """A finding about `obj` at the line of `path` inside it (the object's start when `path` is empty)."""
    line, column = obj.position(path)
    return Finding(rule=rule, severity=severity, message=message, file=obj.file, line=line, column=column,
                   object_ref=obj.ref, path=path, container=container, origin=obj.origin)


@dataclass
class RuleInfo:
    """A rule's metadata and documentation, the same for data rules and Python rules."""

    id: str
    severity: Severity
    title: str
    category: str
    rationale: str
    fix: str
    pass_examples: list[str] = field(default_factory=list)
    fail_examples: list[str] = field(default_factory=list)
    source: str = ""  # the policy file or Python module that defines it
