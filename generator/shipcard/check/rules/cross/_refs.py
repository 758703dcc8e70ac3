"""What pod specs reference by name and what the input provides, for the `ref-missing-*` rules.

References (of every workload's pod spec): `serviceAccountName` (the `serviceAccount` alias
is folded into it by `kube.normalise`), `imagePullSecrets[].name`, `volumes[]` `configMap`,
`secret` and `projected.sources[]`, and each container's (init and ephemeral too)
`env[].valueFrom.*KeyRef` and `envFrom[]`. A reference marked `optional: true` is skipped,
as is the `default` ServiceAccount, which every namespace has.

Providers, in the same namespace: objects of the kind itself; for Secrets also an
ExternalSecret (external-secrets.io; `spec.target.name`, else its own name; not with
`creationPolicy` Merge or None, which create nothing), a SealedSecret (bitnami.com;
`spec.template.metadata.name`, else its own name) and a cert-manager Certificate
(`spec.secretName`). A ClusterExternalSecret's target name counts in every namespace.

Scoping: a reference is judged only when its namespace has at least one provider of that
kind among the checked objects. A lone `deploy.yaml` (or a namespace whose ConfigMaps the
cluster holds) is not reported; a name with no provider where the input manages that kind
for the namespace is the typo or forgotten file the rules are for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shipcard.check.model import Finding
from shipcard.check.rules.kube import Context, Prepared, as_dict, dig, finding, iter_named
from shipcard.yamlio.read import PathKey

SERVICE_ACCOUNT, CONFIG_MAP, SECRET = "ServiceAccount", "ConfigMap", "Secret"
# ExternalSecret creation policies that leave the target Secret to someone else.
NOT_CREATING = frozenset({"Merge", "None"})
PROVIDED_BY = {
    SERVICE_ACCOUNT: "ServiceAccount",
    CONFIG_MAP: "ConfigMap",
    SECRET: "Secret, ExternalSecret, SealedSecret or Certificate",
}


@dataclass(frozen=True)
class Ref:
    """A pod spec's reference to an object by name."""

    workload: Prepared
    kind: str  # ServiceAccount | ConfigMap | Secret
    name: str
    path: PathKey  # of the field holding the name
    where: str  # for the message: `container "web" env DATABASE_URL`, `volume "config"`, ...
    container: str | None = None


@dataclass
class RefIndex:
    """Providers by (kind, namespace, name), namespaces with a provider, and every reference."""

    provided: set[tuple[str, str, str]]
    cluster_wide: set[tuple[str, str]]  # (kind, name) provided in every namespace
    managed: set[tuple[str, str]]  # (kind, namespace) with at least one provider in the input
    refs: list[Ref]

    def is_missing(self, ref: Ref) -> bool:
        ns = ref.workload.namespace
        return ((ref.kind, ns) in self.managed and (ref.kind, ns, ref.name) not in self.provided
                and (ref.kind, ref.name) not in self.cluster_wide)


def ref_index(context: Context) -> RefIndex:
    """The index, built once per Context and shared by the three rules."""
    index: RefIndex = context.shared("ref-missing", _build)
    return index


def missing_findings(context: Context, kind: str) -> Iterator[Finding]:
    """A finding for each reference to a `kind` that no object of the input provides (see the module doc)."""
    index = ref_index(context)
    for ref in index.refs:
        if ref.kind == kind and index.is_missing(ref):
            ns = ref.workload.namespace
            scope = f" in namespace {ns!r}" if ns else ""
            yield finding(ref.workload.obj, ref.path,
                          f"{ref.workload.obj.ref} {ref.where}: {kind} {ref.name!r} is not provided by any "
                          f"{PROVIDED_BY[kind]} of the checked input{scope}", container=ref.container)


def _build(context: Context) -> RefIndex:
    index = RefIndex(set(), set(), set(), [])
    for p in context.prepared or []:
        for kind, name in _provides(p):
            index.provided.add((kind, p.namespace, name))
            index.managed.add((kind, p.namespace))
        if p.kind == "ClusterExternalSecret" and _group(p) == "external-secrets.io":
            spec = as_dict(dig(p.obj.data, "spec"))
            target = as_dict(dig(spec, "externalSecretSpec", "target"))
            if target.get("creationPolicy") not in NOT_CREATING:
                name = _name(target.get("name")) or _name(spec.get("externalSecretName")) or p.obj.name
                index.cluster_wide.add((SECRET, name))
        if p.pod_spec is not None and p.pod_path is not None:
            index.refs.extend(_references(p, p.pod_spec, p.pod_path))
    return index


def _group(p: Prepared) -> str:
    return str(p.obj.data.get("apiVersion") or "").partition("/")[0]


def _name(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _provides(p: Prepared) -> Iterator[tuple[str, str]]:
    """(kind, name) of what `p` puts into its namespace."""
    data = p.obj.data
    if p.kind in (SERVICE_ACCOUNT, CONFIG_MAP, SECRET) and "/" not in str(data.get("apiVersion") or "v1"):
        if p.obj.name:
            yield p.kind, p.obj.name
    elif p.kind == "ExternalSecret" and _group(p) == "external-secrets.io":
        target = as_dict(dig(data, "spec", "target"))
        if target.get("creationPolicy") not in NOT_CREATING:
            yield SECRET, _name(target.get("name")) or p.obj.name
    elif p.kind == "SealedSecret" and _group(p) == "bitnami.com":
        yield SECRET, _name(dig(data, "spec", "template", "metadata", "name")) or p.obj.name
    elif p.kind == "Certificate" and _group(p) == "cert-manager.io":
        secret = _name(dig(data, "spec", "secretName"))
        if secret:
            yield SECRET, secret


def _optional(ref: Any) -> bool:
    return as_dict(ref).get("optional") is True


def _references(p: Prepared, spec: dict[str, Any], pod: PathKey) -> Iterator[Ref]:
    account = _name(spec.get("serviceAccountName"))
    if account and account != "default":
        # Written as the `serviceAccount` alias alone: point at the line that names it. (Only a spec holding
        # both can have had the alias alone in its source; the source document is not read otherwise.)
        written = as_dict(dig(p.obj.document.data, *pod)) if p.obj.document and "serviceAccount" in spec else spec
        key = "serviceAccountName" if written.get("serviceAccountName") is not None else "serviceAccount"
        yield Ref(p, SERVICE_ACCOUNT, account, (*pod, key), "serviceAccountName")
    for i, item in iter_named(spec.get("imagePullSecrets")):
        if _name(item.get("name")):
            yield Ref(p, SECRET, item["name"], (*pod, "imagePullSecrets", i, "name"), f"imagePullSecrets[{i}]")
    for i, volume in iter_named(spec.get("volumes")):
        where = f"volume {_name(volume.get('name')) or i!r}"
        config_map, secret = as_dict(volume.get("configMap")), as_dict(volume.get("secret"))
        if _name(config_map.get("name")) and not _optional(config_map):
            yield Ref(p, CONFIG_MAP, config_map["name"], (*pod, "volumes", i, "configMap", "name"), where)
        if _name(secret.get("secretName")) and not _optional(secret):
            yield Ref(p, SECRET, secret["secretName"], (*pod, "volumes", i, "secret", "secretName"), where)
        for j, source in iter_named(dig(volume, "projected", "sources")):
            for key, kind in (("configMap", CONFIG_MAP), ("secret", SECRET)):
                ref = as_dict(source.get(key))
                if _name(ref.get("name")) and not _optional(ref):
                    yield Ref(p, kind, ref["name"], (*pod, "volumes", i, "projected", "sources", j, key, "name"),
                              where)
    for c in p.containers:
        for i, env in iter_named(c.data.get("env")):
            value_from = as_dict(env.get("valueFrom"))
            for key, kind in (("configMapKeyRef", CONFIG_MAP), ("secretKeyRef", SECRET)):
                ref = as_dict(value_from.get(key))
                if _name(ref.get("name")) and not _optional(ref):
                    yield Ref(p, kind, ref["name"], (*c.path, "env", i, "valueFrom", key, "name"),
                              f"container {c.name!r} env {_name(env.get('name')) or i}", c.name)
        for i, source in iter_named(c.data.get("envFrom")):
            for key, kind in (("configMapRef", CONFIG_MAP), ("secretRef", SECRET)):
                ref = as_dict(source.get(key))
                if _name(ref.get("name")) and not _optional(ref):
                    yield Ref(p, kind, ref["name"], (*c.path, "envFrom", i, key, "name"),
                              f"container {c.name!r} envFrom[{i}]", c.name)
