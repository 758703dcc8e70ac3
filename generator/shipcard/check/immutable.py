"""`api-immutable-field-changed`: in `--base REF` mode, fields the API server refuses to update.

Each object read from a plain manifest file that changed is compared with the object of the same
identity (API group, kind, namespace, name) read from the changed manifest files as they were at the
merge base of REF and HEAD, with the same YAML loader. The update validation mirrored
(k8s.io/kubernetes `pkg/apis/apps/validation`, `pkg/apis/batch/validation`,
`pkg/apis/core/validation`):

* Deployment, ReplicaSet, DaemonSet: `spec.selector` (`ValidateDeploymentUpdate`, …);
* StatefulSet: `spec` except `replicas`, `ordinals`, `template`, `updateStrategy`,
  `revisionHistoryLimit`, `persistentVolumeClaimRetentionPolicy`, `minReadySeconds`
  (`ValidateStatefulSetUpdate`);
* Job: `spec.selector`, `spec.completionMode`, `spec.podFailurePolicy` and `spec.template`; of a
  suspended Job, the template's scheduling fields may change (`ValidateJobSpecUpdate`);
* Service: `spec.clusterIP`, when both sides set one and neither is ExternalName (`ValidateServiceUpdate`);
* PersistentVolumeClaim: `spec` except `resources.requests` and `volumeAttributesClassName`, and a
  `volumeName` the base did not set (`ValidatePersistentVolumeClaimUpdate`);
* ConfigMap and Secret marked `immutable: true` in the base: `data`, `binaryData` (`stringData` of a
  Secret) and `immutable` itself; a Secret's `type` always (`ValidateConfigMapUpdate`,
  `ValidateSecretUpdate`).

Skipped: Argo CD and Helm hooks and objects synced with `Force=true,Replace=true` (Argo CD deletes
and recreates them), and objects without a name. Not covered: objects rendered by Kustomize or Helm
(building the base revision's tree would mean rendering repository content a second time), objects
whose base file was a symbolic link, and objects moved to a file that did not change. The base content
is repository content too: it is only parsed, never rendered, followed out of the repository or fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from shipcard.check.inputs.paths import CARD_SUFFIX, MANIFEST_SUFFIXES, display
from shipcard.check.model import Finding, K8sObject, RuleInfo
from shipcard.check.rules.kube import as_dict, without_nulls
from shipcard.errors import InputError, ToolError
from shipcard.yamlio.read import PathKey, load_documents

if TYPE_CHECKING:
    from shipcard.check.base import Changes

ID = "api-immutable-field-changed"
FIX = ("Keep the field as it was, or give the object a new name (the old one is pruned and the new one "
       "created), or annotate it `argocd.argoproj.io/sync-options: Force=true,Replace=true` so Argo CD "
       "deletes and recreates it (`Replace=true` alone replaces in place, which is refused the same way).")
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
HOOKS = ("argocd.argoproj.io/hook", "helm.sh/hook")  # recreated on each sync (BeforeHookCreation by default)

Identity = tuple[str, str, str, str]  # (API group, kind, namespace, name)

_SELECTOR_ONLY = {"Deployment", "ReplicaSet", "DaemonSet"}
_STATEFULSET_MUTABLE = {"replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}
_JOB_IMMUTABLE = ("selector", "completionMode", "podFailurePolicy")
_SUSPENDED_JOB_MUTABLE = {"nodeSelector", "affinity", "tolerations", "schedulingGates"}
# Defaults the API server fills in: writing one out is no change.
_SPEC_DEFAULTS = {"StatefulSet": {"podManagementPolicy": "OrderedReady"}, "Job": {"completionMode": "NonIndexed"},
                  "PersistentVolumeClaim": {"volumeMode": "Filesystem"}}


def immutable_rule_infos() -> list[RuleInfo]:
    """RuleInfo for the finding of this layer (listed by `shipcard rules`)."""
    return [RuleInfo(
        ID, "error", "A change to a field the API server refuses to update", "api",
        "Only in `shipcard check --base REF`: compared with the same object (API group, kind, namespace, "
        "name) in the plain manifest files at the merge base, the change touches a field Kubernetes "
        "keeps immutable (a workload's selector, most of a StatefulSet's or PersistentVolumeClaim's "
        "spec, a Job's template, a Service's clusterIP, the data of an immutable ConfigMap or Secret, "
        "a Secret's type). Argo CD's sync then fails with \"field is immutable\".",
        FIX, source="shipcard/check/immutable.py")]


def check_immutable(objects: list[K8sObject], changes: Changes) -> list[Finding]:
    """Findings for objects of changed plain manifest files whose immutable fields differ from the base."""
    if changes.unknown:
        return []  # select_changed already said why everything is checked
    manifests = [p for p in changes.paths if p.name.endswith(MANIFEST_SUFFIXES) and not p.name.endswith(CARD_SUFFIX)]
    shown = {display(p) for p in manifests}
    current = [o for o in objects if o.origin is None and o.document is not None and o.file in shown]
    if not current:
        return []
    try:
        contents = changes.base_contents(manifests)
    except ToolError:
        return []  # select_changed already said why everything is checked
    before: dict[Identity, dict[str, Any]] = {}
    for path, content in contents.items():
        for data in _documents(content, display(path)):
            before.setdefault(_identity(data), data)
    findings: list[Finding] = []
    for obj in current:
        if _recreated(obj):
            continue
        old = before.get(_identity(obj.data))
        if old is not None:
            findings += [_finding(obj, path, field) for path, field in _changes(obj.kind, old, obj.data)]
    return findings


def _recreated(obj: K8sObject) -> bool:
    """Whether Argo CD deletes and recreates the object instead of updating it: a hook, or
    `Force=true,Replace=true`; an object without a name (`generateName`) is always created anew."""
    options = {o.strip() for o in str(obj.annotations.get(SYNC_OPTIONS) or "").split(",")}
    return not obj.name or any(h in obj.annotations for h in HOOKS) or {"Force=true", "Replace=true"} <= options


def _documents(content: bytes, shown: str) -> Iterator[dict[str, Any]]:
    """The mappings of a base file; nothing when it is not UTF-8 or not valid YAML (the base is not checked)."""
    try:
        text = content.decode("utf-8")
        documents = [d.data for d in load_documents(text, shown)]
    except (UnicodeDecodeError, InputError):
        return
    yield from (d for d in documents if isinstance(d, dict))


def _identity(data: dict[str, Any]) -> Identity:
    api = str(data.get("apiVersion") or "")
    meta = as_dict(data.get("metadata"))
    group = api.rpartition("/")[0]
    return group, str(data.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _changes(kind: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """(where in `new`, the field as messages name it) for each immutable field that changed."""
    old_spec, new_spec = without_nulls(as_dict(old.get("spec"))), without_nulls(as_dict(new.get("spec")))
    for key, default in _SPEC_DEFAULTS.get(kind, {}).items():
        old_spec.setdefault(key, default)
        new_spec.setdefault(key, default)
    if kind in _SELECTOR_ONLY:
        yield from _compare(old_spec, new_spec, ("spec",), ("selector",))
    elif kind == "StatefulSet":
        keys = sorted((set(old_spec) | set(new_spec)) - _STATEFULSET_MUTABLE)
        yield from _compare(old_spec, new_spec, ("spec",), keys)
    elif kind == "Job":
        yield from _compare(old_spec, new_spec, ("spec",), _JOB_IMMUTABLE)
        old_template, new_template = as_dict(old_spec.get("template")), as_dict(new_spec.get("template"))
        if new_spec.get("suspend") is True:
            old_template, new_template = _unscheduled(old_template), _unscheduled(new_template)
        if old_template != new_template:
            yield ("spec", "template", *_first_difference(old_template, new_template)), "spec.template"
    elif kind == "Service":
        old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
        external = "ExternalName" in (old_spec.get("type"), new_spec.get("type"))
        if old_ip and new_ip and old_ip != new_ip and not external:
            yield ("spec", "clusterIP"), "spec.clusterIP"
    elif kind == "PersistentVolumeClaim":
        old_claim, new_claim = _claim(old_spec), _claim(new_spec)
        if "volumeName" not in old_claim:
            new_claim.pop("volumeName", None)
        keys = sorted(set(old_claim) | set(new_claim))
        yield from _compare(old_claim, new_claim, ("spec",), keys)
    elif kind in ("ConfigMap", "Secret"):
        yield from _immutable_data(kind, without_nulls(old), without_nulls(new))


def _compare(old: dict[str, Any], new: dict[str, Any], prefix: PathKey,
             keys: Iterable[str]) -> Iterator[tuple[PathKey, str]]:
    """Each of `keys` whose value differs between `old` and `new` (both the mapping at `prefix`)."""
    for key in keys:
        if old.get(key) != new.get(key):
            field = ".".join([*map(str, prefix), key])
            if key in new:
                yield (*prefix, key, *_first_difference(old.get(key), new[key])), field
            else:
                yield prefix, field


def _first_difference(old: Any, new: Any) -> PathKey:
    """The path (inside `new`) of the first place where `new` differs from `old`, as deep as `new` goes."""
    if isinstance(new, dict) and not isinstance(old, dict):
        old = {}  # everything of `new` is added: its first key
    if isinstance(old, dict) and isinstance(new, dict):
        for key in new:
            if key not in old:
                return (key,)
            if old[key] != new[key]:
                return (key, *_first_difference(old[key], new[key]))
        return ()
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                return (index, *_first_difference(a, b))
        return (len(old),) if len(new) > len(old) else ()
    return ()


def _unscheduled(template: dict[str, Any]) -> dict[str, Any]:
    """A Job's pod template without what a suspended Job may change: scheduling fields and template metadata."""
    spec = {k: v for k, v in as_dict(template.get("spec")).items() if k not in _SUSPENDED_JOB_MUTABLE}
    return {**{k: v for k, v in template.items() if k not in ("metadata", "spec")}, "spec": spec}


def _claim(spec: dict[str, Any]) -> dict[str, Any]:
    """A claim's spec without what may change: `resources.requests` (expansion), `volumeAttributesClassName`."""
    claim = {k: v for k, v in spec.items() if k != "volumeAttributesClassName"}
    resources = {k: v for k, v in as_dict(claim.get("resources")).items() if k != "requests"}
    claim.pop("resources", None)
    if resources:
        claim["resources"] = resources
    return claim


def _immutable_data(kind: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    if kind == "Secret" and old.get("type", "Opaque") != new.get("type", "Opaque"):
        yield ("type",) if "type" in new else (), "type"
    if old.get("immutable") is not True:
        return
    if new.get("immutable") is not True:
        yield ("immutable",) if "immutable" in new else (), "immutable"
    fields = ("data", "binaryData", "stringData") if kind == "Secret" else ("data", "binaryData")
    for key in fields:
        if old.get(key) != new.get(key):
            # the path only, never the value: a Secret's data is secret
            yield ((key, *_first_difference(old.get(key), new[key])) if key in new else ()), key


def _finding(obj: K8sObject, path: PathKey, field: str) -> Finding:
    line, column = obj.position(path)
    message = (f"{obj.ref}: {field} changed since the base revision, and the API server refuses to update it; "
               "Argo CD's sync will fail with \"field is immutable\"")
    return Finding(ID, "error", message, obj.file, line, column, object_ref=obj.ref, path=path, help=FIX)
