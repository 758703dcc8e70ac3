"""Layer 4 of `shipcard check`: apiVersions deprecated or removed in the target Kubernetes version.

The table follows the Kubernetes "Deprecated API Migration Guide" (every API version that
stopped being served in 1.16 to 1.32) plus when each was deprecated. An object whose
apiVersion is removed in the target version is `removed-api` (error: the API server rejects
it); one deprecated but still served is `deprecated-api` (warning).

Custom resources have their own table: the versions the controllers' CRDs no longer serve
(`served: false` in the CRDs shipcard is tested against), `crd-version-not-served` (error,
whatever the Kubernetes version: the API server has no such resource).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shipcard.check.model import Finding, K8sObject, RuleInfo, finding_for


@dataclass(frozen=True)
class DeprecatedApi:
    api_version: str
    kinds: frozenset[str]
    deprecated_in: tuple[int, int]
    removed_in: tuple[int, int] | None  # None: deprecated, no removal scheduled
    replacement: str  # "apps/v1", or "" when there is none

    def status(self, target: tuple[int, int]) -> str | None:
        """"removed", "deprecated" or None for the target version."""
        if self.removed_in is not None and target >= self.removed_in:
            return "removed"
        if target >= self.deprecated_in:
            return "deprecated"
        return None


def _api(api_version: str, kinds: str, deprecated: str, removed: str | None, replacement: str) -> DeprecatedApi:
    def version(text: str) -> tuple[int, int]:
        major, minor = text.split(".")
        return int(major), int(minor)
    return DeprecatedApi(api_version, frozenset(kinds.split()), version(deprecated),
                         version(removed) if removed else None, replacement)


DEPRECATED_APIS: list[DeprecatedApi] = [
    # removed in 1.16
    _api("extensions/v1beta1", "Deployment DaemonSet ReplicaSet", "1.9", "1.16", "apps/v1"),
    _api("extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1"),
    _api("extensions/v1beta1", "PodSecurityPolicy", "1.11", "1.16", "policy/v1beta1"),
    _api("apps/v1beta1", "Deployment StatefulSet ReplicaSet", "1.9", "1.16", "apps/v1"),
    _api("apps/v1beta2", "Deployment StatefulSet ReplicaSet DaemonSet", "1.9", "1.16", "apps/v1"),
    # removed in 1.22
    _api("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration ValidatingWebhookConfiguration",
         "1.16", "1.22", "admissionregistration.k8s.io/v1"),
    _api("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.16", "1.22", "apiextensions.k8s.io/v1"),
    _api("apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1"),
    _api("authentication.k8s.io/v1beta1", "TokenReview", "1.19", "1.22", "authentication.k8s.io/v1"),
    _api("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview SelfSubjectAccessReview SubjectAccessReview",
         "1.19", "1.22", "authorization.k8s.io/v1"),
    _api("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.19", "1.22", "certificates.k8s.io/v1"),
    _api("coordination.k8s.io/v1beta1", "Lease", "1.19", "1.22", "coordination.k8s.io/v1"),
    _api("extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1"),
    _api("networking.k8s.io/v1beta1", "Ingress IngressClass", "1.19", "1.22", "networking.k8s.io/v1"),
    _api("rbac.authorization.k8s.io/v1beta1", "ClusterRole ClusterRoleBinding Role RoleBinding", "1.17", "1.22",
         "rbac.authorization.k8s.io/v1"),
    _api("scheduling.k8s.io/v1beta1", "PriorityClass", "1.17", "1.22", "scheduling.k8s.io/v1"),
    _api("storage.k8s.io/v1beta1", "CSIDriver CSINode StorageClass VolumeAttachment", "1.19", "1.22",
         "storage.k8s.io/v1"),
    # removed in 1.25
    _api("batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1"),
    _api("discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1"),
    _api("events.k8s.io/v1beta1", "Event", "1.19", "1.25", "events.k8s.io/v1"),
    _api("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2"),
    _api("policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1"),
    _api("policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", ""),
    _api("node.k8s.io/v1beta1", "RuntimeClass", "1.22", "1.25", "node.k8s.io/v1"),
    # removed in 1.26
    _api("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema PriorityLevelConfiguration", "1.23", "1.26",
         "flowcontrol.apiserver.k8s.io/v1"),
    _api("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2"),
    # removed in 1.27
    _api("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1"),
    # removed in 1.29
    _api("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema PriorityLevelConfiguration", "1.26", "1.29",
         "flowcontrol.apiserver.k8s.io/v1"),
    # removed in 1.32
    _api("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema PriorityLevelConfiguration", "1.29", "1.32",
         "flowcontrol.apiserver.k8s.io/v1"),
    # deprecated, still served
    _api("v1", "Endpoints", "1.33", None, "discovery.k8s.io/v1 EndpointSlice"),
]

@dataclass(frozen=True)
class UnservedCrdVersion:
    api_version: str
    kinds: frozenset[str]
    not_served: str  # the message's "…is not served <this>": who stopped serving it, and since when
    replacement: str


_ESO_KINDS = frozenset({"ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret"})

UNSERVED_CRD_VERSIONS: list[UnservedCrdVersion] = [
    UnservedCrdVersion("external-secrets.io/v1beta1", _ESO_KINDS, "by External Secrets Operator since 0.17",
                       "external-secrets.io/v1"),
    UnservedCrdVersion("external-secrets.io/v1alpha1", _ESO_KINDS - {"ClusterExternalSecret"},
                       "by External Secrets Operator (v2.9.0 serves only v1)", "external-secrets.io/v1"),
]

_UNSERVED: dict[tuple[str, str], UnservedCrdVersion] = {
    (crd.api_version, kind): crd for crd in UNSERVED_CRD_VERSIONS for kind in crd.kinds}

_BY_KEY: dict[tuple[str, str], DeprecatedApi] = {
    (api.api_version, kind): api for api in DEPRECATED_APIS for kind in api.kinds}


def lookup(api_version: str, kind: str) -> DeprecatedApi | None:
    return _BY_KEY.get((api_version, kind))


def is_removed(obj: K8sObject, target: tuple[int, int]) -> bool:
    """The API server of the target version does not serve this object's apiVersion at all."""
    if (obj.api_version, obj.kind) in _UNSERVED:
        return True
    api = lookup(obj.api_version, obj.kind)
    return api is not None and api.status(target) == "removed"


def check_deprecations(objects: Iterable[K8sObject], target: tuple[int, int]) -> list[Finding]:
    """`removed-api`, `deprecated-api` and `crd-version-not-served` findings, at each apiVersion line."""
    version = f"{target[0]}.{target[1]}"
    findings = []
    for obj in objects:
        crd = _UNSERVED.get((obj.api_version, obj.kind))
        if crd is not None:
            findings.append(finding_for(obj, "crd-version-not-served", "error",
                                        f"{obj.kind} {obj.api_version} is not served {crd.not_served}: "
                                        f"use {crd.replacement}", ("apiVersion",)))
            continue
        api = _BY_KEY.get((obj.api_version, obj.kind))
        status = api.status(target) if api else None
        if api is None or status is None:
            continue
        instead = f"use {api.replacement}" if api.replacement else "it has no replacement"
        if status == "removed":
            removed = f"{api.removed_in[0]}.{api.removed_in[1]}" if api.removed_in else "?"
            findings.append(finding_for(obj, "removed-api", "error",
                                        f"{obj.kind} {obj.api_version} is no longer served since Kubernetes "
                                        f"{removed} (target {version}): {instead}", ("apiVersion",)))
        else:
            since = f"{api.deprecated_in[0]}.{api.deprecated_in[1]}"
            until = (f", removed in {api.removed_in[0]}.{api.removed_in[1]}" if api.removed_in
                     else "")
            findings.append(finding_for(obj, "deprecated-api", "warning",
                                        f"{obj.kind} {obj.api_version} is deprecated since Kubernetes {since}"
                                        f"{until}: {instead}", ("apiVersion",)))
    return findings


def deprecation_rule_infos() -> list[RuleInfo]:
    """RuleInfo for the three findings this layer produces (listed by `shipcard rules`)."""
    cronjob = ("apiVersion: {api}\nkind: CronJob\nmetadata:\n  name: report\nspec:\n  schedule: \"0 3 * * *\"\n"
               "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n"
               "          containers:\n            - name: report\n              image: example/report:1.0\n")
    endpoints = "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: legacy-db\nsubsets:\n  - addresses:\n" \
                "      - ip: 10.0.0.12\n    ports:\n      - port: 5432\n"
    slice_ = ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: legacy-db\n"
              "  labels:\n    kubernetes.io/service-name: legacy-db\naddressType: IPv4\nendpoints:\n"
              "  - addresses: [10.0.0.12]\nports:\n  - port: 5432\n")
    store = ("apiVersion: {api}\nkind: SecretStore\nmetadata:\n  name: aws\nspec:\n  provider:\n"
             "    aws:\n      service: SecretsManager\n      region: eu-west-1\n")
    return [
        RuleInfo(
            id="removed-api", severity="error", title="apiVersion no longer served by the target Kubernetes version",
            category="hygiene",
            rationale="The API server of the target version (--kubernetes-version) rejects objects of an "
                      "apiVersion it has stopped serving: the sync fails, for every object of the file. "
                      "The table follows the Kubernetes Deprecated API Migration Guide (removals 1.16-1.32).",
            fix="Move the object to the replacement apiVersion named in the message and adjust the fields "
                "that changed (the migration guide lists them).",
            pass_examples=[cronjob.format(api="batch/v1")],
            fail_examples=[cronjob.format(api="batch/v1beta1")],
            source="shipcard/check/deprecations.py"),
        RuleInfo(
            id="deprecated-api", severity="warning",
            title="apiVersion deprecated in the target Kubernetes version",
            category="hygiene",
            rationale="A deprecated apiVersion still works but will be removed in a later release; moving "
                      "before the upgrade avoids a failed sync on upgrade day.",
            fix="Move the object to the replacement apiVersion named in the message.",
            pass_examples=[slice_],
            fail_examples=[endpoints],
            source="shipcard/check/deprecations.py"),
        RuleInfo(
            id="crd-version-not-served", severity="error",
            title="Custom resource version its controller's CRD no longer serves",
            category="hygiene",
            rationale="A CustomResourceDefinition marks old versions `served: false` (External Secrets "
                      "Operator's v1beta1 since 0.17, v1alpha1 earlier): the API server rejects objects of "
                      "such a version, whatever the Kubernetes version, and the sync fails.",
            fix="Move the object to the version named in the message; for External Secrets, v1 has the same "
                "fields as v1beta1 (https://external-secrets.io/latest/introduction/stability-support/).",
            pass_examples=[store.format(api="external-secrets.io/v1")],
            fail_examples=[store.format(api="external-secrets.io/v1beta1")],
            source="shipcard/check/deprecations.py"),
    ]
