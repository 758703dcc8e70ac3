"""Trees that shipcard generated and nobody touched, built in this process instead of by kubectl or helm.

A Kustomize overlay qualifies when its kustomization's header names a card of the repository
(`services/<name>.service.yaml` above the overlay), that card was checked in this run and its
tree compared with what it renders (`Cards.drift_findings`, with the very settings the card was
validated with), and every file the overlay is built from (kustomization, patches, the base and
its resources) is one of that card's rendered files, found exactly as rendered (so its header
digest holds). So no user file takes part (`custom/` components, a hand-written resource), and
the overlay builds to `environment_objects(env)` (writers/kustomize.py), emitted in kustomize's
legacy order.

A chart release qualifies when its chart is the vendored `charts/service/` holding exactly the
files `render` vendors, each found as vendored, and its values files are exactly an
environment's `values/common.yaml` and `values/<env>.yaml` of such a card (no
`<env>.custom.yaml`), with the card's name as release and the environment's namespace: helm then
renders `environment_objects(env)` too (writers/helmfile.py), each from the template below, in
helm's install order.

Both equalities are proved with the real tools in tests/test_render_kustomize.py and
tests/test_helmfile.py, and tests/check/test_in_process.py compares every tree a check builds
here with the tool's output on every run. Anything else gets None: the caller runs the tool.
"""

from __future__ import annotations

import marshal
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipcard.check.inputs.cards import Cards
from shipcard.check.inputs.kustomize import KustomizeTree
from shipcard.check.inputs.paths import display, kustomization_file
from shipcard.check.inputs.targets import Target
from shipcard.check.model import K8sObject
from shipcard.errors import InputError
from shipcard.settings import leads_out_of
from shipcard.writers.tree import header_source
from shipcard.yamlio.read import read_text

if TYPE_CHECKING:
    from shipcard.card.model import Card, Environment

_CARD_SOURCE = re.compile(r"services/[^/]+\.service\.yaml")

# kustomize's legacy output order (kyaml resid/gvk.go): these kinds first, in this order, those last,
# every other kind between them; then by group, version and kind, then by namespace and name.
_ORDER_FIRST = ("Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
                "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
                "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
                "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget")
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_KIND_RANK = {**{kind: index - len(_ORDER_FIRST) for index, kind in enumerate(_ORDER_FIRST)},
              **{kind: index + 1 for index, kind in enumerate(_ORDER_LAST)}}


# helm's install order (pkg/release/util/kind_sorter.go): these kinds in this order, then any other
# kind, alphabetically; objects of one kind in the order of their templates' paths, then within one.
_INSTALL_ORDER = ("PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
                  "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
                  "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
                  "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
                  "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
                  "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
                  "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration",
                  "ValidatingWebhookConfiguration")
_INSTALL_RANK = {kind: index for index, kind in enumerate(_INSTALL_ORDER)}
# The vendored chart's template of each kind it renders (writers/chart/service/templates/).
_TEMPLATES = {"ServiceAccount": "serviceaccount.yaml", "ExternalSecret": "externalsecret.yaml",
              "Service": "service.yaml", "Deployment": "deployment.yaml", "HorizontalPodAutoscaler": "hpa.yaml",
              "PodDisruptionBudget": "pdb.yaml", "Ingress": "ingress.yaml", "NetworkPolicy": "networkpolicy.yaml",
              "Job": "jobs.yaml", "CronJob": "jobs.yaml"}

Built = list[dict[str, Any]]
Templated = list[tuple[Path, dict[str, Any]]]  # (template, object)


@dataclass
class GeneratedTrees:
    """The in-process builds of one check run; `cards` must have compared its trees already."""

    cards: Cards
    _trees: dict[Path, frozenset[Path] | None] = field(default_factory=dict)  # the vendored chart, listed once

    def overlay(self, target: Target, tree: KustomizeTree) -> Built | None:
        """The objects `kubectl kustomize` would print for `target`, in its order; None when only kubectl can tell."""
        if target.kind != "kustomize" or target.broken or target.remote or tree.broken or tree.remote:
            return None
        kustomization = kustomization_file(target.path)
        if kustomization is None or kustomization.name != "kustomization.yaml":
            return None
        found = self._card(kustomization)
        if found is None:
            return None
        out, card, files = found
        if not tree.files <= files or not all(path.exists() for path in tree.named):
            return None
        overlay = target.path.relative_to(out).as_posix()
        env = next((env for env in card.environments if overlay == f"{card.gitops.path}/overlays/{env.name}"), None)
        if env is None:
            return None
        return sorted(_plain(_environment_objects(env)), key=_legacy_order)

    def release(self, target: Target) -> Templated | None:
        """The objects `helm template` would print for `target` with the template each comes from, in its
        order; None when only helm can tell."""
        from shipcard.k8s.objects import scripts_config_map_name
        from shipcard.writers.chart import CHART_DIR
        from shipcard.writers.helmfile import values_files

        if target.kind != "helm" or target.broken or target.remote or target.inline_values or not target.values:
            return None
        found = self._card(target.values[0])
        if found is None:
            return None
        out, card, files = found
        chart = self.cards.verified_chart(out)
        if chart is None or target.path != out / CHART_DIR:
            return None
        if target.path not in self._trees:
            self._trees[target.path] = _files_under(target.path)
        if self._trees[target.path] != chart:
            return None
        env = next((env for env in card.environments if target.values == tuple(
            out / card.gitops.path / rel for rel in values_files(env))), None)
        if env is None or not set(target.values) <= files or (target.release, target.namespace) != (card.name,
                                                                                                      env.namespace):
            return None
        templated: Templated = []
        for obj in _plain(_environment_objects(env)):
            kind = obj["kind"]
            name = _TEMPLATES.get(kind) if kind != "ConfigMap" else \
                "configmap-scripts.yaml" if obj["metadata"]["name"] == scripts_config_map_name(env.spec) \
                else "configmap-env.yaml"
            if name is None:
                return None
            templated.append((target.path / "templates" / name, obj))
        order = {id(obj): index for index, (_, obj) in enumerate(templated)}
        return sorted(templated, key=lambda pair: (*_install_order(pair[1]["kind"]), str(pair[0]), order[id(pair[1])]))

    def _card(self, generated: Path) -> tuple[Path, Card, frozenset[Path]] | None:
        """The repository, card and verified files of the card a generated file's header names."""
        try:
            source = header_source(read_text(generated))
        except InputError:
            return None
        if source is None or _CARD_SOURCE.fullmatch(source) is None:
            return None
        out = next((parent for parent in generated.parents if (parent / source).is_file()), None)
        if out is None or leads_out_of(out / source, out):
            return None
        verified = self.cards.verified_tree(out / source)
        return (out, *verified) if verified is not None else None


def current_output(cards: Cards) -> list[K8sObject]:
    """The objects each card `Cards.current_output` names renders now, every environment's (what `render`
    would write, and kubectl or helm would build from it), placed at the start of the card: the card is
    what changed, and its tree does not hold them yet. Their origin says so."""
    objects = []
    for path, document, card in cards.current_output():
        shown = display(path)
        for env in card.environments:
            origin = f"{shown} as it renders now for {env.name} (its tree is stale: run `shipcard render`)"
            objects += [K8sObject(data, shown, document, origin) for data in _plain(_environment_objects(env))]
    return objects


def _environment_objects(env: Environment) -> list[dict[str, Any]]:
    from shipcard.k8s.objects import environment_objects

    return environment_objects(env)


def _plain(objects: list[dict[str, Any]]) -> Built:
    """A deep copy: plain lists and dicts that share nothing, as parsing a tool's output gives (marshal copies
    JSON's types twice as fast as a JSON round trip; objects hold nothing else, as tests/check/test_in_process.py
    asserts)."""
    copied: Built = marshal.loads(marshal.dumps(objects))
    return copied


def _files_under(directory: Path) -> frozenset[Path] | None:
    """Every file below `directory`; None when a symbolic link or anything but a file or directory is there."""
    found: set[Path] = set()
    for root, dirs, names in os.walk(directory):
        for name in dirs + names:
            path = Path(root, name)
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                return None
            if name in names:
                found.add(path)
    return frozenset(found)


def _install_order(kind: str) -> tuple[int, str]:
    rank = _INSTALL_RANK.get(kind)
    return (rank, "") if rank is not None else (len(_INSTALL_ORDER), kind)


def _legacy_order(obj: dict[str, Any]) -> tuple[int, str, str, str]:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    kind = str(obj.get("kind", ""))
    gvk = "_".join((group or "~G", version or "~V", kind or "~K"))
    metadata = obj.get("metadata") or {}
    return _KIND_RANK.get(kind, 0), gvk, str(metadata.get("namespace") or "~X"), str(metadata.get("name") or "")
