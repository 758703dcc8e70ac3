"""Kubernetes structure the rules share: where pod specs live, containers, selectors, an index.

Everything here is computed once per object (`Prepared`) or once per evaluation
(`Context`), never once per rule: data rules and Python rules both read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from shipcard.check.model import Finding, K8sObject, finding_for
from shipcard.git import normalise_repo_url, remote_urls
from shipcard.yamlio.read import PathKey

# Where the pod spec sits in each pod-bearing kind (from the object root).
POD_SPEC_PATHS: dict[str, PathKey] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
POD_KINDS = frozenset(POD_SPEC_PATHS)
# Kinds whose pods are meant to keep running (probes, graceful shutdown, replicas matter).
LONG_RUNNING_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
# Kinds with a `spec.replicas` (default 1).
REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})
JOB_SPEC_PATHS: dict[str, PathKey] = {"Job": ("spec",), "CronJob": ("spec", "jobTemplate", "spec")}
CONTAINER_GROUPS = ("initContainers", "containers", "ephemeralContainers")

# Pod-level securityContext fields a container inherits unless it sets them itself.
INHERITED_SECURITY_FIELDS = ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "seccompProfile",
                             "appArmorProfile", "windowsOptions")

ARGOCD_HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"


def dig(data: Any, *path: str | int) -> Any:
    """`data[p0][p1]...`, or None as soon as a step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        else:
            if step not in data:
                return None
        data = data[step]
    return data


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass
class Container:
    """One container of a pod spec, with its path and its effective securityContext."""

    name: str
    group: str  # containers | initContainers | ephemeralContainers
    path: PathKey  # from the object root
    data: dict[str, Any]  # as written
    effective: dict[str, Any]  # as written, with the inherited pod-level securityContext fields filled in
    inherited: frozenset[str]  # securityContext keys that came from the pod


@dataclass
class Prepared:
    """An object with its pod spec, containers and job spec located once."""

    obj: K8sObject
    kind: str
    pod_path: PathKey | None = None
    pod_spec: dict[str, Any] | None = None
    containers: list[Container] = field(default_factory=list)
    job_path: PathKey | None = None
    job_spec: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return self.obj.namespace or ""

    @cached_property
    def message_fields(self) -> dict[str, str]:
        """The placeholders of data rules' messages that name the object (rules.data), worked out once."""
        return {"ref": self.obj.ref, "kind": self.kind, "name": self.obj.name, "namespace": self.obj.namespace or ""}

    @cached_property
    def template_labels(self) -> dict[str, Any]:
        """Labels of the pods this object makes (a Pod's own labels)."""
        if self.kind == "Pod":
            return self.obj.labels
        if self.pod_path is None:
            return {}
        return as_dict(dig(self.obj.data, *self.pod_path[:-1], "metadata", "labels"))

    @property
    def template_labels_path(self) -> PathKey:
        if self.kind == "Pod" or self.pod_path is None:
            return ("metadata", "labels")
        return (*self.pod_path[:-1], "metadata", "labels")

    @property
    def is_hook(self) -> bool:
        ann = self.obj.annotations
        return ARGOCD_HOOK in ann or HELM_HOOK in ann


# --------------------------------------------------------------------------- normalisation


def normalise(obj: K8sObject) -> K8sObject:
    """`obj` as the API server would store it, which is what every rule reads.

    A key whose value is null is unset (at any depth; list items are kept, so paths and
    line numbers stay valid), and the pod spec's deprecated `serviceAccount` fills in an
    unset `serviceAccountName`, as the API server's conversion does. Nothing else is
    defaulted, and empty mappings stay: `seccompProfile: {}` is a schema error, not unset.
    The object itself is never changed; the original document still gives the positions.
    """
    data = without_nulls(obj.data)
    pod_path = POD_SPEC_PATHS.get(obj.kind)
    if pod_path is not None:
        spec = dig(data, *pod_path)
        if isinstance(spec, dict) and "serviceAccountName" not in spec and isinstance(spec.get("serviceAccount"), str):
            data = _replaced(data, pod_path, {**spec, "serviceAccountName": spec["serviceAccount"]})
    return obj if data is obj.data else replace(obj, data=data)


def without_nulls(value: Any) -> Any:
    """`value` without the mapping keys whose value is None, recursively; `value` itself when it has none."""
    # Called on every object before the rules: scalars are not recursed into, and nothing is
    # copied unless a null turns up.
    if type(value) is dict:
        result: dict[Any, Any] | None = None
        for key, item in value.items():
            if item is None:
                if result is None:
                    result = dict(value)
                del result[key]
            elif type(item) is dict or type(item) is list:
                cleaned = without_nulls(item)
                if cleaned is not item:
                    if result is None:
                        result = dict(value)
                    result[key] = cleaned
        return value if result is None else result
    if type(value) is list:
        changed: list[Any] | None = None
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                cleaned = without_nulls(item)
                if cleaned is not item:
                    if changed is None:
                        changed = list(value)
                    changed[index] = cleaned
        return value if changed is None else changed
    return value


def _replaced(data: dict[str, Any], path: PathKey, value: Any) -> dict[str, Any]:
    """A copy of `data` with `value` at `path` (string keys), sharing everything off the path."""
    head, *rest = path
    inner = value if not rest else _replaced(data[str(head)], tuple(rest), value)
    return {**data, str(head): inner}


def prepare(obj: K8sObject) -> Prepared:
    """`obj` normalised (see `normalise`), with its pod spec, containers and job spec located."""
    obj = normalise(obj)
    data = obj.data
    kind = obj.kind
    prepared = Prepared(obj, kind)
    pod_path = POD_SPEC_PATHS.get(kind)
    if pod_path is not None:
        spec = dig(data, *pod_path)
        if isinstance(spec, dict):
            prepared.pod_path = pod_path
            prepared.pod_spec = spec
            prepared.containers = _containers(spec, pod_path)
    job_path = JOB_SPEC_PATHS.get(kind)
    if job_path is not None:
        spec = dig(data, *job_path)
        if isinstance(spec, dict):
            prepared.job_path, prepared.job_spec = job_path, spec
    return prepared


def _containers(spec: dict[str, Any], pod_path: PathKey) -> list[Container]:
    pod_sc = spec.get("securityContext")
    inheritable = {k: pod_sc[k] for k in INHERITED_SECURITY_FIELDS if k in pod_sc} if isinstance(pod_sc, dict) else {}
    result = []
    for group in CONTAINER_GROUPS:
        items = spec.get(group)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if not isinstance(container, dict):
                continue
            effective, inherited = container, frozenset[str]()
            if inheritable:
                own = container.get("securityContext")
                own = own if isinstance(own, dict) else {}
                missing = {k: v for k, v in inheritable.items() if k not in own}
                if missing:
                    effective = {**container, "securityContext": {**missing, **own}}
                    inherited = frozenset(missing)
            result.append(Container(str(container.get("name") or f"#{index}"), group,
                                    (*pod_path, group, index), container, effective, inherited))
    return result


# --------------------------------------------------------------------------- label selectors


def selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels; an empty selector matches all."""
    if not isinstance(selector, dict):
        return False
    for key, value in as_dict(selector.get("matchLabels")).items():
        if str(labels.get(key)) != str(value) or key not in labels:
            return False
    for expr in as_list(selector.get("matchExpressions")):
        if not isinstance(expr, dict):
            return False
        expr_key, op = expr.get("key"), expr.get("operator")
        values = {str(v) for v in as_list(expr.get("values"))}
        present = isinstance(expr_key, str) and expr_key in labels
        value_there = str(labels[str(expr_key)]) if present else None
        if op == "In" and value_there not in values:
            return False
        if op == "NotIn" and present and value_there in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def map_selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A plain `key: value` selector (Service, ReplicationController); an empty one matches nothing here."""
    return bool(selector) and all(k in labels and str(labels[k]) == str(v) for k, v in selector.items())


# --------------------------------------------------------------------------- the shared index


@dataclass
class Context:
    """What Python rules get besides the objects: the repository root and a shared index."""

    objects: list[K8sObject]
    root: Path | None = None
    repo_urls: set[str] | None = None  # normalised; None = read from root/.git/config
    prepared: list[Prepared] | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule ID -> effective parameters
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, build: Callable[[Context], Any]) -> Any:
        """An index that several rules read, built from this context once (by the first that asks)."""
        if key not in self._shared:
            self._shared[key] = build(self)
        return self._shared[key]

    def param(self, rule_id: str, declared: dict[str, dict[str, Any]], name: str) -> Any:
        """Parameter `name` of a Python rule as configured, else its declared default (rules.python: PARAMS)."""
        return self.params.get(rule_id, {}).get(name, declared[name]["default"])

    def __post_init__(self) -> None:
        if self.prepared is None:
            self.prepared = [prepare(o) for o in self.objects]
        self.objects = [p.obj for p in self.prepared]  # normalised, like the prepared ones

    # ------------------------------------------------------------------ lookups

    @cached_property
    def by_kind(self) -> dict[str, list[Prepared]]:
        index: dict[str, list[Prepared]] = {}
        for p in self.prepared or []:
            index.setdefault(p.kind, []).append(p)
        return index

    def of_kind(self, *kinds: str) -> list[Prepared]:
        if len(kinds) == 1:
            return self.by_kind.get(kinds[0], [])
        return [p for k in kinds for p in self.by_kind.get(k, [])]

    @cached_property
    def workloads(self) -> list[Prepared]:
        """Objects that make pods (and have a pod spec)."""
        return [p for p in self.prepared or [] if p.pod_spec is not None]

    @cached_property
    def _workloads_by_namespace(self) -> dict[str, list[Prepared]]:
        index: dict[str, list[Prepared]] = {}
        for p in self.workloads:
            index.setdefault(p.namespace, []).append(p)
        return index

    @cached_property
    def _workloads_by_label(self) -> dict[tuple[str, str, str], list[Prepared]]:
        index: dict[tuple[str, str, str], list[Prepared]] = {}
        for p in self.workloads:
            for key, value in p.template_labels.items():
                index.setdefault((p.namespace, str(key), str(value)), []).append(p)
        return index

    def workloads_in(self, namespace: str) -> list[Prepared]:
        return self._workloads_by_namespace.get(namespace, [])

    def select_workloads(self, namespace: str, selector: Any, *, plain: bool = False) -> list[Prepared]:
        """Workloads in `namespace` whose pod template labels match `selector` (memoised).

        `plain=True` for a `key: value` map (Service); otherwise a LabelSelector, where `{}` selects all.
        """
        try:
            key = (namespace, plain, _freeze(selector))
        except TypeError:
            return self._select(namespace, selector, plain)
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = self._select(namespace, selector, plain)
        return found

    @cached_property
    def _selections(self) -> dict[Any, list[Prepared]]:
        return {}

    def _select(self, namespace: str, selector: Any, plain: bool) -> list[Prepared]:
        if plain:
            sel = as_dict(selector)
            if not sel:
                return []
            candidates = self._smallest_candidates(namespace, sel)
            return [p for p in candidates if map_selector_matches(sel, p.template_labels)]
        if not isinstance(selector, dict):
            return []
        match_labels = as_dict(selector.get("matchLabels"))
        candidates = (self._smallest_candidates(namespace, match_labels) if match_labels
                      else self.workloads_in(namespace))
        return [p for p in candidates if selector_matches(selector, p.template_labels)]

    def _smallest_candidates(self, namespace: str, labels: dict[str, Any]) -> list[Prepared]:
        best: list[Prepared] | None = None
        for key, value in labels.items():
            found = self._workloads_by_label.get((namespace, str(key), str(value)), [])
            if best is None or len(found) < len(best):
                best = found
            if not best:
                break
        return best or []

    def find(self, kind: str, namespace: str, name: str) -> Prepared | None:
        return self._by_identity.get((kind, namespace, name))

    @cached_property
    def _by_identity(self) -> dict[tuple[str, str, str], Prepared]:
        index: dict[tuple[str, str, str], Prepared] = {}
        for p in self.prepared or []:
            index.setdefault((p.kind, p.namespace, p.obj.name), p)
        return index

    @cached_property
    def hpa_targets(self) -> dict[tuple[str, str, str], Prepared]:
        """(kind, namespace, name) of each HPA's scale target → the HPA."""
        index: dict[tuple[str, str, str], Prepared] = {}
        for hpa in self.of_kind("HorizontalPodAutoscaler"):
            ref = as_dict(dig(hpa.obj.data, "spec", "scaleTargetRef"))
            if ref.get("kind") and ref.get("name"):
                index.setdefault((str(ref["kind"]), hpa.namespace, str(ref["name"])), hpa)
        return index

    def hpa_for(self, workload: Prepared) -> Prepared | None:
        return self.hpa_targets.get((workload.kind, workload.namespace, workload.obj.name))

    def minimum_replicas(self, workload: Prepared) -> int | None:
        """The smallest number of pods a replicated workload runs: the HPA's floor, else spec.replicas (default 1)."""
        if workload.kind not in REPLICATED_KINDS:
            return None
        hpa = self.hpa_for(workload)
        if hpa is not None:
            value = dig(hpa.obj.data, "spec", "minReplicas")
            return value if isinstance(value, int) and not isinstance(value, bool) else 1
        value = dig(workload.obj.data, "spec", "replicas")
        if value is None:
            return 1
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @cached_property
    def remote_urls(self) -> set[str]:
        if self.repo_urls is not None:
            return {normalise_repo_url(u) for u in self.repo_urls}
        return remote_urls(self.root) if self.root else set()

    def is_this_repository(self, repo_url: Any) -> bool:
        """Whether an Argo CD source's repoURL is the checked repository (True when its remotes are unknown)."""
        if not self.remote_urls:
            return True
        return normalise_repo_url(str(repo_url or "")) in self.remote_urls


def _freeze(value: Any) -> Any:
    """A hashable copy of plain data, for memoising on selectors."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    hash(value)
    return value


# --------------------------------------------------------------------------- findings from Python rules


def finding(obj: K8sObject, path: PathKey, message: str, *, container: str | None = None) -> Finding:
    """A finding at `path` of `obj`; the rule runner fills in the rule ID, severity and fix hint."""
    return finding_for(obj, "", "error", message, tuple(path), container)


def iter_named(items: Any) -> Iterable[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(as_list(items)):
        if isinstance(item, dict):
            yield index, item
