"""Issue 14, item 6: the real CRDs of Argo CD v3.5.1 and ESO v2.9.0 are the reference.

`../shared/crds/` holds the CustomResourceDefinitions as their projects publish them (test data,
never copied into the package). Each served version's `openAPIV3Schema` is turned into JSON Schema
by `shipcard.check.schema.structural_to_json_schema` (what `--crd-dir` uses), as strict as the API server: a structural schema prunes (or, with
strict field validation, rejects) unknown fields, so an object schema with `properties` and neither
`additionalProperties` nor `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`.
`format` is not evaluated. The converter leaves out the CEL rules (`x-kubernetes-validations`) too;
the tests evaluate the ones ESO's store CRDs carry with `cel_holds`, a tiny evaluator of exactly their
shapes (`has(self.f)`, `'k' in self`, `!`, `&&`, `||`, `==`, `!=`, `<=` and
`[...].filter(x,x==true).size()`), so a probe's verdict from the real CRD follows the rule's text.

What must hold:

- every custom resource shipcard generates validates: the examples' Applications and AppProjects in
  both formats, their ExternalSecrets (kustomize files; the chart renders the same objects, which
  tests/test_helmfile.py holds) and the blueprint's ApplicationSet `argocd/root.yaml`;
- the probe set (valid and invalid objects of every bundled kind) gets the same verdict from
  shipcard's bundled schemas, through `SchemaValidator`, as from the real CRD;
- versions a CRD no longer serves are `crd-version-not-served` errors in `shipcard check`.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from shipcard.check.schema import SchemaValidator, structural_to_json_schema
from shipcard.schemas import crd_schema
from shipcard.yamlio.read import load_plain_all
from tests.conftest import ROOT, example_cards, run_cli
from tests.test_crd_schemas import (
    APPLICATIONSET,
    APPPROJECT,
    CLUSTERSECRETSTORE,
    FULL_APPLICATION,
    FULL_EXTERNALSECRET,
    RENDERED_APPLICATION,
    RENDERED_EXTERNALSECRET,
    SECRETSTORE,
)
from tests.test_helmfile import LEDGER, LEDGER_CARD

CRD_DIR = ROOT.parent / "shared" / "crds"
CRD_FILES = sorted(CRD_DIR.glob("*.yaml"))

if not CRD_FILES and os.environ.get("CI"):  # CI has shared/ beside the clone: a missing reference is a failure
    pytest.fail(f"{CRD_DIR} holds no CRD", pytrace=False)
pytestmark = pytest.mark.skipif(not CRD_FILES, reason="../shared/crds/ is not checked out")

# --------------------------------------------------------------------------- the real CRDs as JSON Schema

# What the API server checks in every object's metadata (ObjectMeta), whatever the CRD says.
_OBJECT_META = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "generateName": {"type": "string"}, "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
}


@cache
def openapi_schemas() -> dict[tuple[str, str], dict[str, Any] | None]:
    """(apiVersion, kind) → `openAPIV3Schema` of every version the CRDs define; None: defined, not served."""
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for path in CRD_FILES:
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["spec"]
        for version in spec["versions"]:
            key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            found[key] = version["schema"]["openAPIV3Schema"] if version["served"] else None
    return found


@cache
def real_crds() -> dict[tuple[str, str], dict[str, Any] | None]:
    """(apiVersion, kind) → JSON Schema of every version the CRDs define; None: defined, not served."""
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for key, openapi in openapi_schemas().items():
        if openapi is None:
            found[key] = None
            continue
        schema = structural_to_json_schema(openapi)
        schema["properties"]["metadata"] = _OBJECT_META
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        schema["properties"]["apiVersion"] = {"const": key[0]}
        schema["properties"]["kind"] = {"const": key[1]}
        schema["additionalProperties"] = False
        found[key] = schema
    return found


@cache
def _real_validator(api_version: str, kind: str) -> Draft202012Validator:
    schema = real_crds()[(api_version, kind)]
    assert schema is not None, f"{kind} {api_version} is not served"
    return Draft202012Validator(schema)


def real_problems(doc: dict[str, Any]) -> list[str]:
    """What the real CRD rejects in `doc`, its CEL rules included, one `path: message` line each."""
    validator = _real_validator(doc["apiVersion"], doc["kind"])
    openapi = openapi_schemas()[(doc["apiVersion"], doc["kind"])]
    assert openapi is not None
    return sorted([f"{error.json_path}: {error.message}" for error in validator.iter_errors(doc)]
                  + [f"{path}: CEL {rule}" for path, rule, holds in cel_verdicts(openapi, doc) if not holds])


# One token of the CEL the store CRDs use, and its Python; anything else is not this evaluator's business.
_CEL = re.compile(r"\s+|has\(self\.(?P<has>\w+)\)|'(?P<key>\w+)' in self|(?P<count>\.filter\(x,x==true\)\.size\(\))"
                  r"|(?P<op>&&|\|\||!=|==|<=|!|\[|\]|,|\(|\)|\d+)")
_CEL_PYTHON = {"&&": " and ", "||": " or ", "!": " not ", "[": " sum([", "]": "]"}


def cel_to_python(rule: str) -> str:
    """The rule as a Python expression over `self` (a mapping); ValueError for a shape this does not know."""
    out, at = [], 0
    while at < len(rule):
        match = _CEL.match(rule, at)
        if match is None:
            raise ValueError(f"CEL outside the known shapes at {rule[at:]!r}")
        if match["has"] or match["key"]:
            out.append(f"({(match['has'] or match['key'])!r} in self)")
        elif match["count"]:
            out.append(")")
        elif match["op"]:
            out.append(_CEL_PYTHON.get(match["op"], match["op"]))
        else:
            out.append(" ")
        at = match.end()
    return "".join(out)


def cel_holds(rule: str, value: dict[str, Any]) -> bool:
    """Whether `value` satisfies the CEL `rule`."""
    return bool(eval(cel_to_python(rule), {"__builtins__": {}, "sum": sum}, {"self": value}))


def cel_verdicts(node: dict[str, Any], doc: Any, path: str = "$") -> list[tuple[str, str, bool]]:
    """(path, rule, holds) for every CEL rule of `node` that applies somewhere in `doc`."""
    found: list[tuple[str, str, bool]] = []
    if isinstance(doc, dict):
        found += [(path, rule["rule"], cel_holds(rule["rule"], doc)) for rule in node.get("x-kubernetes-validations", [])]
        for name, sub in node.get("properties", {}).items():
            if name in doc:
                found += cel_verdicts(sub, doc[name], f"{path}.{name}")
    elif isinstance(doc, list) and "items" in node:
        for index, item in enumerate(doc):
            found += cel_verdicts(node["items"], item, f"{path}[{index}]")
    return found


def test_the_cel_evaluator_follows_the_rule_shapes():
    assert cel_to_python("has(self.a) != has(self.b)") == "('a' in self) != ('b' in self)"
    assert cel_holds("[has(self.a),has(self.b)].filter(x,x==true).size() <= 1", {"a": 1})
    assert not cel_holds("[has(self.a),has(self.b)].filter(x,x==true).size() <= 1", {"a": 1, "b": 2})
    assert cel_holds("(has(self.a) && !has(self.b)) || (!has(self.a) && has(self.b))", {"b": 1})
    assert not cel_holds("(has(self.a) && !has(self.b)) || (!has(self.a) && has(self.b))", {})
    assert not cel_holds("!('k' in self) && !('j' in self)", {"j": "x"})
    with pytest.raises(ValueError, match="outside the known shapes"):
        cel_to_python("self.size() > 0")


def test_every_crd_file_was_read_and_eso_serves_only_v1():
    assert {kind for _, kind in real_crds()} == {
        "Application", "ApplicationSet", "AppProject", "ExternalSecret", "ClusterExternalSecret", "SecretStore",
        "ClusterSecretStore"}
    served = sorted(key for key, schema in real_crds().items() if schema is not None)
    assert [v for v, _ in served if v.startswith("external-secrets.io/")] == ["external-secrets.io/v1"] * 4
    assert real_crds()[("external-secrets.io/v1beta1", "ExternalSecret")] is None


def test_the_converter_makes_pruned_fields_errors_and_keeps_preserved_ones():
    schema = structural_to_json_schema({
        "type": "object",
        "properties": {
            "strict": {"type": "object", "properties": {"a": {"type": "string"}}},
            "loose": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                      "properties": {"a": {"type": "string"}}},
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "maybe": {"type": "string", "nullable": True},
        },
    })
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"strict": {"a": "x"}, "loose": {"b": 1}, "port": "http", "maybe": None})
    assert validator.is_valid({"port": 8080})
    assert not validator.is_valid({"strict": {"b": "x"}})
    assert not validator.is_valid({"other": 1})
    assert not validator.is_valid({"port": 1.5})


# --------------------------------------------------------------------------- (a) generated objects

CRD_KINDS = {"Application", "ApplicationSet", "AppProject", "ExternalSecret"}


def _custom_resources(tree: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(tree.rglob("*.yaml")):
        if ".shipcard-state" in path.parts or "charts" in path.parts:
            continue
        for doc in load_plain_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") in CRD_KINDS and "/" in str(doc.get("apiVersion")):
                found.append((str(path.relative_to(tree)), doc))
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    """Every custom resource of the examples and LEDGER_CARD (a store per provider, files) rendered in both
    formats, and of a fresh `init`."""
    objects = []
    cards = [str(p) for p in example_cards()]
    # Sync flags turned off, which Argo CD's types drop when false (test_argo_cd_round_trips_*).
    variants = tmp_path_factory.mktemp("variants")
    web = next(p for p in example_cards() if p.name == "web-frontend.service.yaml").read_text()
    for name, flags in (("web-no-prune", "  prune: false\n  selfHeal: false\n"), ("web-manual", "  autoSync: false\n")):
        card = variants / f"{name}.service.yaml"
        card.write_text(web.replace("name: web-frontend\n", f"name: {name}\n").replace(
            "ingress:\n  host: shop.example.com\n", "") + flags)
        cards.append(str(card))
    ledger = tmp_path_factory.mktemp("cards") / LEDGER
    ledger.write_text(LEDGER_CARD, encoding="utf-8")
    cards.append(str(ledger))
    for fmt in ("kustomize", "helmfile"):
        out = tmp_path_factory.mktemp(fmt)
        result = run_cli("render", *cards, "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        objects += [(f"{fmt}: {name}", doc) for name, doc in _custom_resources(out)]
    base = tmp_path_factory.mktemp("init")
    result = run_cli("init", str(base / "gitops"), "--no-git", "--no-input")
    assert result.exit_code == 0, result.output
    objects += [(f"init: {name}", doc) for name, doc in _custom_resources(base / "gitops")]
    return objects


def test_generated_custom_resources_validate_against_the_real_crds(generated):
    kinds = {doc["kind"] for _, doc in generated}
    assert kinds == CRD_KINDS
    failures = [f"{name} ({doc['kind']}): {problem}" for name, doc in generated for problem in real_problems(doc)]
    assert failures == []


def test_generated_external_secrets_spell_out_every_default_the_crd_sets(generated):
    """ESO's CRD defaults target.creationPolicy/deletionPolicy: written, Argo CD sees no drift."""
    secrets = [doc for _, doc in generated if doc["kind"] == "ExternalSecret"]
    assert secrets
    for doc in secrets:
        assert doc["spec"]["target"]["creationPolicy"] == "Owner"
        assert doc["spec"]["target"]["deletionPolicy"] == "Retain"
        assert doc["spec"]["refreshInterval"]
        for entry in doc["spec"]["data"]:
            assert {k: entry["remoteRef"][k] for k in ("conversionStrategy", "decodingStrategy", "metadataPolicy")} \
                == {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}
        openapi = openapi_schemas()[("external-secrets.io/v1", "ExternalSecret")]
        assert openapi is not None
        assert defaults_missing(openapi, doc) == []


ARGO_CD_KINDS = {"Application": "argoproj.io/v1alpha1", "AppProject": "argoproj.io/v1alpha1",
                 "ApplicationSet": "argoproj.io/v1alpha1"}


def test_argo_cd_crds_default_nothing_on_the_paths_generated_objects_use(generated):
    """Argo CD v3.5.1's CRDs carry no `default:` on the paths of the Applications, AppProjects and the root
    ApplicationSet shipcard writes (the API server fills nothing in); the walk ESO's test uses, for when they do."""
    argo = [(name, doc) for name, doc in generated if doc["kind"] in ARGO_CD_KINDS]
    assert {doc["kind"] for _, doc in argo} == set(ARGO_CD_KINDS)
    for name, doc in argo:
        openapi = openapi_schemas()[(doc["apiVersion"], doc["kind"])]
        assert openapi is not None
        assert defaults_missing(openapi, doc) == [], name


# What Argo CD's Go types (argo-cd v3.5.1, pkg/apis/application/v1alpha1: types.go, app_project_types.go,
# applicationset_types.go) make of the fields shipcard writes: (kind, omitempty, what is inside). The
# application controller starts every sync with argo.SetAppOperation (util/argo/argo.go), which reads the
# Application into those types and updates the whole object with them, so the live Application is the
# round trip of the file: a zero value of an `omitempty` field vanishes, a missing field that is not
# `omitempty` appears as its zero value, an unknown field is dropped. The root Application comparing the
# file with the live object then shows it OutOfSync for ever (argoproj/argo-cd#16758, #19043 for
# `syncPolicy: {}`). `struct` values are never omitted, omitempty or not (encoding/json).
GoField = tuple[str, bool, Any]


def _go(kind: str, omitempty: bool = True, inside: Any = None) -> GoField:
    return (kind, omitempty, inside)


_STR, _BOOL, _INT = _go("string"), _go("bool"), _go("int")
_GO_OBJECT_META = {"name": _STR, "namespace": _STR, "labels": _go("map"), "annotations": _go("map"),
                "finalizers": _go("list", True, _STR)}
_DESTINATION = {"server": _STR, "namespace": _STR, "name": _STR}
_APPLICATION_SPEC = {
    "project": _go("string", False),
    "destination": _go("struct", False, _DESTINATION),
    "source": _go("pointer", True, {
        "repoURL": _go("string", False), "path": _STR, "targetRevision": _STR, "chart": _STR,
        "helm": _go("pointer", True, {"releaseName": _STR, "valueFiles": _go("list", True, _STR),
                                      "ignoreMissingValueFiles": _BOOL, "passCredentials": _BOOL,
                                      "skipCrds": _BOOL})}),
    "syncPolicy": _go("pointer", True, {
        "automated": _go("pointer", True, {"prune": _BOOL, "selfHeal": _BOOL, "allowEmpty": _BOOL,
                                           "enabled": _go("pointer")}),
        "syncOptions": _go("list", True, _STR),
        "retry": _go("pointer", True, {"limit": _INT, "refresh": _BOOL, "backoff": _go("pointer", True, {
            "duration": _STR, "factor": _go("pointer"), "maxDuration": _STR})}),
        "managedNamespaceMetadata": _go("pointer", True, {"labels": _go("map"), "annotations": _go("map")})}),
}
_TEMPLATE = _go("struct", True, {"metadata": _go("struct", False, _GO_OBJECT_META),
                                 "spec": _go("struct", False, _APPLICATION_SPEC)})
GO_TYPES: dict[str, dict[str, GoField]] = {
    "Application": {"spec": _go("struct", False, _APPLICATION_SPEC)},
    "AppProject": {"spec": _go("struct", False, {
        "description": _STR, "sourceRepos": _go("list", True, _STR),
        "destinations": _go("list", True, _go("struct", False, _DESTINATION)),
        "clusterResourceWhitelist": _go("list", True, _go("struct", False, {
            "group": _go("string", False), "kind": _go("string", False), "name": _STR}))})},
    "ApplicationSet": {"spec": _go("struct", False, {
        "goTemplate": _BOOL, "goTemplateOptions": _go("list", True, _STR),
        "generators": _go("list", False, _go("struct", False, {"git": _go("pointer", True, {
            "repoURL": _go("string", False), "revision": _go("string", False),
            "directories": _go("list", True, _go("struct", False, {"path": _go("string", False), "exclude": _BOOL})),
            "template": _TEMPLATE})})),
        "syncPolicy": _go("pointer", True, {"preserveResourcesOnDeletion": _BOOL, "applicationsSync": _go("pointer")}),
        "template": _go("struct", False, {"metadata": _go("struct", False, _GO_OBJECT_META),
                                          "spec": _go("struct", False, _APPLICATION_SPEC)})})},
}
_ZERO = {"string": "", "bool": False, "int": 0}


def go_round_trip(fields: dict[str, GoField], value: dict[str, Any]) -> dict[str, Any]:
    """`value` read into a Go struct with these fields and written back by encoding/json."""
    out: dict[str, Any] = {}
    for name, (kind, omitempty, inside) in fields.items():
        present = name in value
        item = value.get(name)
        if kind == "struct":
            out[name] = go_round_trip(inside, item if isinstance(item, dict) else {})
        elif kind == "pointer":
            if present and item is not None:
                out[name] = go_round_trip(inside, item) if inside is not None else item
        elif kind in ("list", "map"):
            if item:
                out[name] = [_element(inside, entry) for entry in item] if kind == "list" else item
            elif not omitempty:
                out[name] = item if present else None
        else:
            item = item if present else _ZERO[kind]
            if not (omitempty and item == _ZERO[kind]):
                out[name] = item
    return out


def _element(field: GoField, entry: Any) -> Any:
    kind, _, inside = field
    return go_round_trip(inside, entry) if kind == "struct" else entry


def stored_by_argo_cd(doc: dict[str, Any]) -> dict[str, Any]:
    """The object as Argo CD writes it back: TypeMeta and ObjectMeta (every field omitempty) and the spec."""
    fields = {"apiVersion": _STR, "kind": _STR, "metadata": _go("struct", False, _GO_OBJECT_META), **GO_TYPES[doc["kind"]]}
    return go_round_trip(fields, doc)


def test_the_go_round_trip_model_drops_false_flags_and_fills_in_what_is_not_omitempty():
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
           "spec": {"source": {"path": "x"}, "syncPolicy": {"automated": {"prune": False, "selfHeal": True}},
                    "unknown": 1}}
    assert stored_by_argo_cd(app) == {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
        "spec": {"project": "", "destination": {}, "source": {"repoURL": "", "path": "x"},
                 "syncPolicy": {"automated": {"selfHeal": True}}}}


def test_argo_cd_round_trips_the_generated_applications_and_projects_unchanged(generated):
    """Documented behaviour encoded (argo-cd v3.5.1 source, see GO_TYPES): what Argo CD stores of a generated
    Application or AppProject is the file itself, so the root Application never shows one OutOfSync. A card
    with `prune: false` / `selfHeal: false` writes only the flags that are on (`automated: {}` when none)."""
    argo = [(name, doc) for name, doc in generated if doc["kind"] in ("Application", "AppProject")]
    assert argo
    changed = [name for name, doc in argo if stored_by_argo_cd(doc) != doc]
    assert changed == []
    automated = {doc["metadata"]["name"]: doc["spec"]["syncPolicy"].get("automated") for _, doc in argo
                 if doc["kind"] == "Application" and doc["metadata"]["name"].startswith("web-")}
    assert automated == {"web-frontend-prod": {"prune": True, "selfHeal": True}, "web-no-prune-prod": {},
                         "web-manual-prod": None}


def test_the_root_application_set_differs_from_what_argo_cd_stores_only_where_nothing_compares_it(generated):
    """The blueprint's argocd/root.yaml is applied once with kubectl and no Application syncs it, so Argo CD
    never compares it. Stored through its types it gains only the git generator's zero `template` (a struct,
    never omitted by encoding/json); the Applications its template makes are the ApplicationSet controller's."""
    [root] = [doc for name, doc in generated if doc["kind"] == "ApplicationSet"]
    stored = stored_by_argo_cd(root)
    generator_template = stored["spec"]["generators"][0]["git"].pop("template")
    assert generator_template == {"metadata": {}, "spec": {"project": "", "destination": {}}}
    assert stored == root


def defaults_missing(node: dict[str, Any], doc: Any, path: str = "") -> list[str]:
    """Paths in `doc` where the API server would fill in a default of the CRD: a field Argo CD shows drifting."""
    missing: list[str] = []
    if isinstance(doc, dict):
        for name, sub in node.get("properties", {}).items():
            if name in doc:
                missing += defaults_missing(sub, doc[name], f"{path}.{name}")
            elif "default" in sub:
                missing.append(f"{path}.{name}")
    elif isinstance(doc, list) and "items" in node:
        for index, item in enumerate(doc):
            missing += defaults_missing(node["items"], item, f"{path}[{index}]")
    return missing


# --------------------------------------------------------------------------- (b) probes


def load(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def edited(text: str, path: str, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    """The object of `text` with the dotted `path` set (or deleted); digits index lists."""
    doc = load(text)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    key: Any = int(last) if last.isdigit() else last
    if delete:
        del node[key]
    else:
        node[key] = copy.deepcopy(value)
    return doc


def generator(spec: dict[str, Any]) -> dict[str, Any]:
    """An ApplicationSet whose only generator is `spec`."""
    return edited(APPLICATIONSET, "spec.generators", [spec])


def provider(store: str, spec: dict[str, Any]) -> dict[str, Any]:
    return edited(store, "spec.provider", spec)


VALID, INVALID = True, False
SKS = {"name": "store-credentials", "key": "value"}  # a secretKeySelector
CA = {"type": "Secret", "name": "ca", "key": "ca.crt", "namespace": "security"}  # a caProvider
GIT = {"repoURL": "https://github.com/example/gitops.git", "revision": "main"}

PROBES: list[tuple[str, dict[str, Any], bool]] = [
    # Application
    ("app rendered", load(RENDERED_APPLICATION), VALID),
    ("app full multi-source", load(FULL_APPLICATION), VALID),
    ("app destination by name", edited(RENDERED_APPLICATION, "spec.destination", {"name": "prod", "namespace": "b"}),
     VALID),
    ("app source hydrator", edited(RENDERED_APPLICATION, "spec.sourceHydrator", {
        "drySource": {"repoURL": "https://github.com/example/gitops.git", "targetRevision": "main", "path": "a"},
        "syncSource": {"targetBranch": "env/prod", "path": "a"}}), VALID),
    ("app managedNamespaceMetadata", edited(RENDERED_APPLICATION, "spec.syncPolicy.managedNamespaceMetadata",
                                            {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}), VALID),
    ("app helm valuesObject", edited(RENDERED_APPLICATION, "spec.source.helm",
                                     {"valuesObject": {"a": {"b": [1, 2]}}, "releaseName": "x"}), VALID),
    ("app kustomize images", edited(RENDERED_APPLICATION, "spec.source.kustomize",
                                    {"images": ["a=b:1"], "namespace": "x"}), VALID),
    ("app retry", edited(RENDERED_APPLICATION, "spec.syncPolicy.retry",
                         {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}), VALID),
    ("app ignoreDifferences", edited(RENDERED_APPLICATION, "spec.ignoreDifferences",
                                     [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]),
     VALID),
    ("app typo destination.sever", edited(RENDERED_APPLICATION, "spec.destination.sever", "https://x"), INVALID),
    ("app typo spec.sourc", edited(RENDERED_APPLICATION, "spec.sourc", {}), INVALID),
    ("app typo automated.selfheal", edited(RENDERED_APPLICATION, "spec.syncPolicy.automated.selfheal", True),
     INVALID),
    ("app typo syncOption", edited(RENDERED_APPLICATION, "spec.syncPolicy.syncOption", ["Validate=false"]), INVALID),
    ("app typo repoUrl", edited(RENDERED_APPLICATION, "spec.source.repoUrl", "https://x"), INVALID),
    ("app typo helm.valueFile", edited(RENDERED_APPLICATION, "spec.source.helm", {"valueFile": ["v.yaml"]}),
     INVALID),
    ("app typo kustomize.namePrefx", edited(RENDERED_APPLICATION, "spec.source.kustomize", {"namePrefx": "p-"}),
     INVALID),
    ("app typo retry.backof", edited(RENDERED_APPLICATION, "spec.syncPolicy.retry", {"limit": 2, "backof": {}}),
     INVALID),
    ("app prune string", edited(RENDERED_APPLICATION, "spec.syncPolicy.automated.prune", "yes"), INVALID),
    ("app revisionHistoryLimit string", edited(RENDERED_APPLICATION, "spec.revisionHistoryLimit", "10"), INVALID),
    ("app valueFiles string", edited(RENDERED_APPLICATION, "spec.source.helm", {"valueFiles": "v.yaml"}), INVALID),
    ("app helm values object", edited(RENDERED_APPLICATION, "spec.source.helm", {"values": {"a": 2}}), INVALID),
    ("app helm parameter int", edited(RENDERED_APPLICATION, "spec.source.helm",
                                      {"parameters": [{"name": "a", "value": 1}]}), INVALID),
    ("app syncOptions string", edited(RENDERED_APPLICATION, "spec.syncPolicy.syncOptions", "CreateNamespace=true"),
     INVALID),
    ("app retry limit string", edited(RENDERED_APPLICATION, "spec.syncPolicy.retry", {"limit": "five"}), INVALID),
    ("app label bool", edited(RENDERED_APPLICATION, "metadata.labels", {"team": True}), INVALID),
    ("app project int", edited(RENDERED_APPLICATION, "spec.project", 7), INVALID),
    ("app no destination", edited(RENDERED_APPLICATION, "spec.destination", delete=True), INVALID),
    ("app no project", edited(RENDERED_APPLICATION, "spec.project", delete=True), INVALID),
    ("app no repoURL", edited(RENDERED_APPLICATION, "spec.source.repoURL", delete=True), INVALID),
    ("app no spec", edited(RENDERED_APPLICATION, "spec", delete=True), INVALID),
    ("app no metadata.name", edited(RENDERED_APPLICATION, "metadata.name", delete=True), INVALID),
    ("app replicas without count", edited(FULL_APPLICATION, "spec.sources.2.kustomize.replicas.0",
                                          {"name": "storefront"}), INVALID),
    ("app unknown top-level field", edited(RENDERED_APPLICATION, "specs", {}), INVALID),
    # ApplicationSet: every generator type
    ("appset full", load(APPLICATIONSET), VALID),
    ("appset list", generator({"list": {"elements": [{"env": "prod"}]}}), VALID),
    ("appset list elementsYaml", generator({"list": {"elementsYaml": "- env: prod"}}), VALID),
    ("appset clusters", generator({"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": {"a": "b"}}}),
     VALID),
    ("appset git directories", generator({"git": {**GIT, "directories": [{"path": "apps/*"}]}}), VALID),
    ("appset git files", generator({"git": {**GIT, "files": [{"path": "a/config.json"}]}}), VALID),
    ("appset matrix", generator({"matrix": {"generators": [{"git": {**GIT, "directories": [{"path": "*"}]}},
                                                           {"clusters": {}}]}}), VALID),
    ("appset merge", generator({"merge": {"mergeKeys": ["server"], "generators": [{"clusters": {}},
                                                                                   {"list": {"elements": []}}]}}),
     VALID),
    ("appset scm github", generator({"scmProvider": {"github": {"organization": "example", "allBranches": True},
                                                     "cloneProtocol": "https"}}), VALID),
    ("appset scm gitlab", generator({"scmProvider": {"gitlab": {"group": "example", "includeSubgroups": True}}}),
     VALID),
    ("appset pullRequest github", generator({"pullRequest": {"github": {"owner": "example", "repo": "r"}}}), VALID),
    ("appset pullRequest gitlab", generator({"pullRequest": {"gitlab": {"project": "1", "pullRequestState":
                                                                        "opened"}}}), VALID),
    ("appset clusterDecisionResource", generator({"clusterDecisionResource": {"configMapRef": "ocm", "name": "p"}}),
     VALID),
    ("appset plugin", generator({"plugin": {"configMapRef": {"name": "p"}, "input": {"parameters": {"k": "v"}}}}),
     VALID),
    ("appset git without revision", generator({"git": {"repoURL": "https://github.com/example/gitops.git",
                                                       "directories": [{"path": "*"}]}}), INVALID),
    ("appset git without repoURL", generator({"git": {"revision": "main", "files": [{"path": "a"}]}}), INVALID),
    ("appset typo git.repoUrl", generator({"git": {**GIT, "repoUrl": "https://x"}}), INVALID),
    ("appset typo git.directory", generator({"git": {**GIT, "directory": [{"path": "*"}]}}), INVALID),
    ("appset typo list.element", generator({"list": {"element": []}}), INVALID),
    ("appset typo clusters.selecter", generator({"clusters": {"selecter": {}}}), INVALID),
    ("appset typo scm github.organisation", generator({"scmProvider": {"github": {"organisation": "e"}}}), INVALID),
    ("appset typo pullRequest github.ownr", generator({"pullRequest": {"github": {"ownr": "e", "repo": "r"}}}),
     INVALID),
    ("appset pullRequest github without repo", generator({"pullRequest": {"github": {"owner": "e"}}}), INVALID),
    ("appset typo matrix.generator", generator({"matrix": {"generator": []}}), INVALID),
    ("appset typo plugin.configMapRefs", generator({"plugin": {"configMapRefs": {"name": "p"}}}), INVALID),
    ("appset typo clusterDecisionResource.labelselector", generator(
        {"clusterDecisionResource": {"configMapRef": "ocm", "labelselector": {}}}), INVALID),
    ("appset matrix git without revision", generator({"matrix": {"generators": [
        {"git": {"repoURL": "https://github.com/example/gitops.git", "files": [{"path": "a"}]}}, {"clusters": {}}]}}),
     INVALID),
    ("appset matrix typo in nested list", generator({"matrix": {"generators": [
        {"list": {"elemnts": []}}, {"clusters": {}}]}}), INVALID),
    ("appset merge without mergeKeys", generator({"merge": {"generators": [{"clusters": {}}]}}), INVALID),
    ("appset typo lists", edited(APPLICATIONSET, "spec.generators.0", {"lists": {"elements": []}}), INVALID),
    ("appset typo template.metadata.labelz", edited(APPLICATIONSET, "spec.template.metadata.labelz", {}), INVALID),
    ("appset applicationsSync bogus", edited(APPLICATIONSET, "spec.syncPolicy.applicationsSync", "create-all"),
     INVALID),
    ("appset goTemplate string", edited(APPLICATIONSET, "spec.goTemplate", "true"), INVALID),
    ("appset mergeKeys string", edited(APPLICATIONSET, "spec.generators.2.merge.mergeKeys", "server"), INVALID),
    ("appset no generators", edited(APPLICATIONSET, "spec.generators", delete=True), INVALID),
    ("appset no template", edited(APPLICATIONSET, "spec.template", delete=True), INVALID),
    ("appset template without project", edited(APPLICATIONSET, "spec.template.spec.project", delete=True), INVALID),
    ("appset typo spec.generatorz", edited(APPLICATIONSET, "spec.generatorz", []), INVALID),
    # AppProject
    ("project full", load(APPPROJECT), VALID),
    ("project minimal", edited(APPPROJECT, "spec", {"sourceRepos": ["*"],
                                                     "destinations": [{"server": "*", "namespace": "*"}]}), VALID),
    ("project empty spec", edited(APPPROJECT, "spec", {}), VALID),
    ("project role without policies", edited(APPPROJECT, "spec.roles", [{"name": "read"}]), VALID),
    ("project role with groups", edited(APPPROJECT, "spec.roles", [{"name": "r", "groups": ["g"],
                                                                     "policies": ["p, a, b, c, d, allow"]}]), VALID),
    ("project typo sourceRepo", edited(APPPROJECT, "spec.sourceRepo", ["*"]), INVALID),
    ("project typo destinations.sever", edited(APPPROJECT, "spec.destinations.0.sever", "https://x"), INVALID),
    ("project policies string", edited(APPPROJECT, "spec.roles.0.policies", "p, x"), INVALID),
    ("project jwt iat string", edited(APPPROJECT, "spec.roles.0.jwtTokens.0.iat", "yesterday"), INVALID),
    ("project whitelist without kind", edited(APPPROJECT, "spec.clusterResourceWhitelist.0", {"group": ""}),
     INVALID),
    ("project role without name", edited(APPPROJECT, "spec.roles.0", {"description": "no name"}), INVALID),
    ("project orphanedResources.warn string", edited(APPPROJECT, "spec.orphanedResources.warn", "true"), INVALID),
    ("project typo roles.policy", edited(APPPROJECT, "spec.roles.0.policy", ["p"]), INVALID),
    ("project syncWindows typo", edited(APPPROJECT, "spec.syncWindows.0.durations", "1h"), INVALID),
    ("project sourceRepos string", edited(APPPROJECT, "spec.sourceRepos", "*"), INVALID),
    ("project signatureKey without keyID", edited(APPPROJECT, "spec.signatureKeys", [{"id": "4AEE"}]), INVALID),
    ("project typo blacklist knd", edited(APPPROJECT, "spec.clusterResourceBlacklist", [{"group": "", "knd": "Node"}]),
     INVALID),
    ("project destination service account", edited(APPPROJECT, "spec.destinationServiceAccounts", [
        {"server": "*", "namespace": "billing", "defaultServiceAccount": "deployer"}]), VALID),
    # ExternalSecret
    ("es rendered", load(RENDERED_EXTERNALSECRET), VALID),
    ("es full", load(FULL_EXTERNALSECRET), VALID),
    ("es creationPolicy CreateOrMerge", edited(RENDERED_EXTERNALSECRET, "spec.target.creationPolicy",
                                               "CreateOrMerge"), VALID),
    ("es creationPolicy Orphan", edited(RENDERED_EXTERNALSECRET, "spec.target.creationPolicy", "Orphan"), VALID),
    ("es nullBytePolicy", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef.nullBytePolicy", "Fail"), VALID),
    ("es refreshInterval 0s", edited(RENDERED_EXTERNALSECRET, "spec.refreshInterval", "0s"), VALID),
    ("es refreshPolicy OnChange", edited(RENDERED_EXTERNALSECRET, "spec.refreshPolicy", "OnChange"), VALID),
    ("es dataFrom extract", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                   [{"extract": {"key": "a", "conversionStrategy": "Unicode"}}]), VALID),
    ("es dataFrom find tags", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                     [{"find": {"tags": {"env": "prod"}, "conversionStrategy": "Default"}}]), VALID),
    ("es dataFrom rewrite regexp", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                          [{"extract": {"key": "a"},
                                            "rewrite": [{"regexp": {"source": "^x", "target": "y"}}]}]), VALID),
    ("es no data at all", edited(RENDERED_EXTERNALSECRET, "spec.data", delete=True), VALID),
    ("es target template", edited(RENDERED_EXTERNALSECRET, "spec.target.template",
                                  {"engineVersion": "v2", "type": "Opaque", "data": {"a": "{{ .b }}"}}), VALID),
    ("es find nullBytePolicy", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                      [{"find": {"path": "a", "nullBytePolicy": "Ignore"}}]), VALID),
    ("es rewrite merge priorityPolicy", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                               [{"extract": {"key": "a"}, "rewrite": [{"merge": {
                                                   "priorityPolicy": "IgnoreNotFound", "strategy": "JSON"}}]}]),
     VALID),
    ("es typo remoteRef.propery", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef.propery", "x"), INVALID),
    ("es secretStoreRef.kind bogus", edited(RENDERED_EXTERNALSECRET, "spec.secretStoreRef.kind", "Store"), INVALID),
    ("es secretStoreRef.namespace", edited(RENDERED_EXTERNALSECRET, "spec.secretStoreRef.namespace", "x"), INVALID),
    ("es creationPolicy lower-case", edited(RENDERED_EXTERNALSECRET, "spec.target.creationPolicy", "owner"),
     INVALID),
    ("es deletionPolicy bogus", edited(RENDERED_EXTERNALSECRET, "spec.target.deletionPolicy", "Keep"), INVALID),
    ("es immutable string", edited(RENDERED_EXTERNALSECRET, "spec.target.immutable", "yes"), INVALID),
    ("es typo target.nmae", edited(RENDERED_EXTERNALSECRET, "spec.target.nmae", "x"), INVALID),
    ("es refreshInterval int", edited(RENDERED_EXTERNALSECRET, "spec.refreshInterval", 3600), INVALID),
    ("es refreshPolicy bogus", edited(RENDERED_EXTERNALSECRET, "spec.refreshPolicy", "Always"), INVALID),
    ("es decodingStrategy lower-case", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef.decodingStrategy",
                                              "base64"), INVALID),
    ("es nullBytePolicy bogus", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef.nullBytePolicy", "Drop"),
     INVALID),
    ("es secretKey with space", edited(RENDERED_EXTERNALSECRET, "spec.data.0.secretKey", "A B"), INVALID),
    ("es data not a list", edited(RENDERED_EXTERNALSECRET, "spec.data", {"secretKey": "A", "remoteRef": {"key": "b"}}),
     INVALID),
    ("es data sourceRef empty", edited(RENDERED_EXTERNALSECRET, "spec.data.0.sourceRef", {}), INVALID),
    ("es store name upper-case", edited(RENDERED_EXTERNALSECRET, "spec.secretStoreRef.name", "Aws_Secrets"), INVALID),
    ("es engineVersion v1", edited(RENDERED_EXTERNALSECRET, "spec.target.template", {"engineVersion": "v1"}),
     INVALID),
    ("es data without remoteRef", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef", delete=True), INVALID),
    ("es remoteRef without key", edited(RENDERED_EXTERNALSECRET, "spec.data.0.remoteRef.key", delete=True), INVALID),
    ("es data without secretKey", edited(RENDERED_EXTERNALSECRET, "spec.data.0.secretKey", delete=True), INVALID),
    ("es typo dataFrom extract.kye", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom", [{"extract": {"kye": "a"}}]),
     INVALID),
    ("es rewrite merge strategy bogus", edited(RENDERED_EXTERNALSECRET, "spec.dataFrom",
                                               [{"extract": {"key": "a"},
                                                 "rewrite": [{"merge": {"strategy": "YAML"}}]}]), INVALID),
    # SecretStore / ClusterSecretStore: several providers
    ("store vault", load(SECRETSTORE), VALID),
    ("store aws jwt", load(CLUSTERSECRETSTORE), VALID),
    ("store refreshInterval string", edited(CLUSTERSECRETSTORE, "spec.refreshInterval", "5m"), VALID),
    ("store aws ParameterStore", provider(SECRETSTORE, {"aws": {"service": "ParameterStore", "region": "x"}}), VALID),
    ("store gcpsm", provider(SECRETSTORE, {"gcpsm": {"projectID": "acme", "auth": {
        "workloadIdentity": {"clusterLocation": "europe-west1", "clusterName": "c",
                             "serviceAccountRef": {"name": "eso"}}}}}), VALID),
    ("store azurekv", provider(SECRETSTORE, {"azurekv": {"vaultUrl": "https://a.vault.azure.net",
                                                         "authType": "WorkloadIdentity"}}), VALID),
    ("store kubernetes", provider(SECRETSTORE, {"kubernetes": {"remoteNamespace": "shared", "server": {
        "caProvider": {"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt"}},
        "auth": {"serviceAccount": {"name": "eso"}}}}), VALID),
    ("store fake", provider(SECRETSTORE, {"fake": {"data": [{"key": "a", "value": "b"}]}}), VALID),
    ("store webhook", provider(SECRETSTORE, {"webhook": {"url": "https://h.example.com/{{ .remoteRef.key }}",
                                                         "result": {"jsonPath": "$.value"}}}), VALID),
    ("store doppler", provider(SECRETSTORE, {"doppler": {"auth": {"secretRef": {"dopplerToken": {
        "name": "doppler", "key": "token"}}}}}), VALID),
    ("store gitlab", provider(SECRETSTORE, {"gitlab": {"projectID": "1", "auth": {"SecretRef": {"accessToken": {
        "name": "gl", "key": "token"}}}}}), VALID),
    ("store aws CertificateManager", provider(SECRETSTORE, {"aws": {"service": "CertificateManager",
                                                                    "region": "x"}}), VALID),
    ("store vault appRole", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"appRole": {
        "path": "approle", "roleId": "r", "secretRef": {"name": "vault", "key": "secret-id"}}}}}), VALID),
    ("store webhook ntlm", provider(SECRETSTORE, {"webhook": {"url": "https://h", "auth": {"ntlm": {
        "usernameSecret": {"name": "n", "key": "u"}, "passwordSecret": {"name": "n", "key": "p"}}}}}), VALID),
    # The providers typed field by field since issue 14's last stop: gitlab, doppler, onepassword.
    ("store gitlab groups", provider(SECRETSTORE, {"gitlab": {
        "url": "https://gitlab.example.com", "groupIDs": ["7"], "inheritFromGroups": True, "environment": "prod",
        "auth": {"SecretRef": {"accessToken": {"name": "gl", "key": "token"}}}}}), VALID),
    ("store gitlab caProvider", provider(CLUSTERSECRETSTORE, {"gitlab": {
        "projectID": "1", "caProvider": {"type": "Secret", "name": "ca", "key": "ca.crt", "namespace": "gitlab"},
        "auth": {"SecretRef": {"accessToken": {"name": "gl", "key": "token"}}}}}), VALID),
    ("store doppler project and config", provider(SECRETSTORE, {"doppler": {
        "project": "billing", "config": "prd", "nameTransformer": "lower-snake", "format": "json",
        "auth": {"secretRef": {"dopplerToken": {"name": "doppler", "key": "token"}}}}}), VALID),
    ("store doppler oidc", provider(CLUSTERSECRETSTORE, {"doppler": {"auth": {"oidcConfig": {
        "identity": "sa-1", "serviceAccountRef": {"name": "eso", "namespace": "eso"},
        "expirationSeconds": 600}}}}), VALID),
    ("store onepassword", provider(SECRETSTORE, {"onepassword": {
        "connectHost": "https://op.example.com", "vaults": {"production": 1, "shared": 2},
        "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}}), VALID),
    ("store gitlab without auth", provider(SECRETSTORE, {"gitlab": {"projectID": "1"}}), INVALID),
    ("store gitlab auth secretRef lower case", provider(SECRETSTORE, {"gitlab": {"projectID": "1", "auth": {
        "secretRef": {"accessToken": {"name": "gl", "key": "token"}}}}}), INVALID),
    ("store typo gitlab.projectId", provider(CLUSTERSECRETSTORE, {"gitlab": {"projectId": "1", "auth": {
        "SecretRef": {"accessToken": {"name": "gl", "key": "token"}}}}}), INVALID),
    ("store gitlab groupIDs string", provider(SECRETSTORE, {"gitlab": {"groupIDs": "7", "auth": {
        "SecretRef": {"accessToken": {"name": "gl", "key": "token"}}}}}), INVALID),
    ("store doppler without auth", provider(SECRETSTORE, {"doppler": {"project": "billing"}}), INVALID),
    ("store doppler nameTransformer bogus", provider(SECRETSTORE, {"doppler": {"nameTransformer": "snake", "auth": {
        "secretRef": {"dopplerToken": {"name": "doppler"}}}}}), INVALID),
    ("store doppler format bogus", provider(CLUSTERSECRETSTORE, {"doppler": {"format": "toml", "auth": {
        "secretRef": {"dopplerToken": {"name": "doppler"}}}}}), INVALID),
    ("store doppler secretRef without token", provider(SECRETSTORE, {"doppler": {"auth": {"secretRef": {}}}}),
     INVALID),
    ("store doppler oidc without identity", provider(SECRETSTORE, {"doppler": {"auth": {"oidcConfig": {
        "serviceAccountRef": {"name": "eso"}}}}}), INVALID),
    ("store onepassword without vaults", provider(SECRETSTORE, {"onepassword": {"connectHost": "https://op", "auth": {
        "secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}}), INVALID),
    ("store onepassword vault order string", provider(CLUSTERSECRETSTORE, {"onepassword": {
        "connectHost": "https://op", "vaults": {"production": "1"},
        "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}}), INVALID),
    ("store onepassword without connectHost", provider(SECRETSTORE, {"onepassword": {"vaults": {"production": 1},
        "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}}), INVALID),
    ("store typo onepassword connectToken", provider(SECRETSTORE, {"onepassword": {
        "connectHost": "https://op", "vaults": {"production": 1},
        "auth": {"secretRef": {"connectToken": {"name": "op", "key": "token"}}}}}), INVALID),
    ("store kubernetes two auth methods", provider(SECRETSTORE, {"kubernetes": {"auth": {
        "serviceAccount": {"name": "a"}, "token": {"bearerToken": {"name": "t", "key": "k"}}}}}), INVALID),
    ("store vault appRole without secretRef", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {
        "appRole": {"path": "approle"}}}}), INVALID),
    ("store typo vault tokenSecretRef.nmae", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {
        "tokenSecretRef": {"nmae": "t"}}}}), INVALID),
    ("store two providers", edited(CLUSTERSECRETSTORE, "spec.provider.vault", {"server": "https://v"}), INVALID),
    ("store no provider", edited(CLUSTERSECRETSTORE, "spec.provider", {}), INVALID),
    ("store typo provider awss", provider(CLUSTERSECRETSTORE, {"awss": {"service": "SecretsManager", "region": "x"}}),
     INVALID),
    ("store aws service bogus", edited(CLUSTERSECRETSTORE, "spec.provider.aws.service", "SSM"), INVALID),
    ("store aws without service", provider(CLUSTERSECRETSTORE, {"aws": {"region": "eu-west-1"}}), INVALID),
    ("store typo aws.regin", provider(SECRETSTORE, {"aws": {"service": "SecretsManager", "region": "x",
                                                             "regin": "y"}}), INVALID),
    ("store retry maxRetries string", edited(CLUSTERSECRETSTORE, "spec.retrySettings.maxRetries", "5"), INVALID),
    ("store conditions typo", edited(CLUSTERSECRETSTORE, "spec.conditions.0.namespace", ["billing"]), INVALID),
    ("store vault without server", provider(SECRETSTORE, {"vault": {"path": "secret"}}), INVALID),
    ("store vault version v3", edited(SECRETSTORE, "spec.provider.vault.version", "v3"), INVALID),
    ("store typo vault.auth.kubernetes.rol", edited(SECRETSTORE, "spec.provider.vault.auth.kubernetes.rol", "x"),
     INVALID),
    ("store typo gcpsm.projectId", provider(SECRETSTORE, {"gcpsm": {"projectId": "acme"}}), INVALID),
    ("store typo azurekv.vaultURL", provider(SECRETSTORE, {"azurekv": {"vaultURL": "https://a"}}), INVALID),
    ("store azurekv authType bogus", provider(SECRETSTORE, {"azurekv": {"vaultUrl": "https://a",
                                                                        "authType": "Password"}}), INVALID),
    ("store kubernetes caProvider type bogus", provider(SECRETSTORE, {"kubernetes": {"server": {
        "caProvider": {"type": "File", "name": "x"}}}}), INVALID),
    ("store fake data typo", provider(SECRETSTORE, {"fake": {"data": [{"kye": "a", "value": "b"}]}}), INVALID),
    ("store webhook without url", provider(SECRETSTORE, {"webhook": {"result": {"jsonPath": "$"}}}), INVALID),
    # Every other provider, typed field by field for issue 14, item 6: a valid store and mistakes each.
    ("store vault iam", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"iam": {
        "vaultRole": "eso", "region": "eu-west-1", "jwt": {"serviceAccountRef": {"name": "eso"}}}}}}), VALID),
    ("store typo vault iam.vaultrole", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"iam": {
        "vaultRole": "eso", "vaultrole": "eso"}}}}), INVALID),
    ("store vault gcp", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"gcp": {
        "role": "eso", "workloadIdentity": {"clusterLocation": "eu", "serviceAccountRef": {"name": "eso"}}}}}}), VALID),
    ("store typo vault gcp.projectId", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"gcp": {
        "role": "eso", "projectId": "acme"}}}}), INVALID),
    ("store vault jwt serviceAccountToken", provider(SECRETSTORE, {"vault": {"server": "https://v", "auth": {"jwt": {
        "path": "jwt", "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "eso"},
                                                          "expirationSeconds": 600}}}}}), VALID),
    ("store vault jwt serviceAccountToken without serviceAccountRef", provider(SECRETSTORE, {"vault": {
        "server": "https://v", "auth": {"jwt": {"path": "jwt", "kubernetesServiceAccountToken": {
            "audiences": ["vault"]}}}}}), INVALID),
    ("store gcpsm workloadIdentityFederation", provider(SECRETSTORE, {"gcpsm": {"projectID": "acme", "auth": {
        "workloadIdentityFederation": {"audience": "//iam.googleapis.com/projects/1/pools/p/providers/k",
                                       "credConfig": {"name": "wif", "key": "config.json"}}}}}), VALID),
    ("store gcpsm workloadIdentityFederation credConfig without key", provider(SECRETSTORE, {"gcpsm": {"auth": {
        "workloadIdentityFederation": {"credConfig": {"name": "wif"}}}}}), INVALID),
    ("store alibaba is gone", provider(SECRETSTORE, {"alibaba": {"regionID": "x"}}), INVALID),
    ("store device42 is gone", provider(SECRETSTORE, {"device42": {"host": "x"}}), INVALID),
    ("store kubernetes empty auth", provider(SECRETSTORE, {"kubernetes": {"auth": {}}}), INVALID),
    ("store akeyless", provider(SECRETSTORE, {"akeyless": {"akeylessGWApiURL": "https://gw.example.com/api/v2",
        "authSecretRef": {"secretRef": {"accessID": SKS, "accessType": SKS, "accessTypeParam": SKS}}}}), VALID),
    ("store akeyless kubernetesAuth", provider(CLUSTERSECRETSTORE, {"akeyless": {
        "akeylessGWApiURL": "https://gw", "caProvider": CA, "authSecretRef": {"kubernetesAuth": {
            "accessID": "p-1", "k8sConfName": "k8s", "serviceAccountRef": {"name": "eso"}}}}}), VALID),
    ("store akeyless without akeylessGWApiURL", provider(SECRETSTORE, {"akeyless": {"authSecretRef": {
        "serviceAccountRef": {"name": "eso"}}}}), INVALID),
    ("store typo akeyless kubernetesAuth.accessId", provider(SECRETSTORE, {"akeyless": {
        "akeylessGWApiURL": "https://gw", "authSecretRef": {"kubernetesAuth": {"accessId": "p", "k8sConfName": "k"}}}}),
     INVALID),
    ("store barbican", provider(SECRETSTORE, {"barbican": {"authURL": "https://keystone/v3", "tenantName": "t",
        "auth": {"username": {"value": "eso"}, "password": {"secretRef": SKS}}}}), VALID),
    ("store barbican username twice", provider(SECRETSTORE, {"barbican": {"auth": {
        "username": {"value": "eso", "secretRef": SKS}, "password": {"secretRef": SKS}}}}), INVALID),
    ("store typo barbican.authUrl", provider(SECRETSTORE, {"barbican": {"authUrl": "https://k", "auth": {
        "username": {"value": "eso"}, "password": {"secretRef": SKS}}}}), INVALID),
    ("store beyondtrust", provider(SECRETSTORE, {"beyondtrust": {
        "server": {"apiUrl": "https://bt/api", "verifyCA": True, "retrievalType": "SECRET", "decrypt": False},
        "auth": {"apiKey": {"secretRef": SKS}, "clientId": {"value": "id"}}}}), VALID),
    ("store beyondtrust without verifyCA", provider(SECRETSTORE, {"beyondtrust": {"server": {"apiUrl": "https://bt"},
                                                                                 "auth": {}}}), INVALID),
    ("store beyondtrust timeout string", provider(SECRETSTORE, {"beyondtrust": {"auth": {}, "server": {
        "apiUrl": "https://bt", "verifyCA": True, "clientTimeOutSeconds": "30"}}}), INVALID),
    ("store beyondtrustworkloadcredentials", provider(SECRETSTORE, {"beyondtrustworkloadcredentials": {
        "server": {"apiUrl": "https://bt", "siteId": "s1"}, "auth": {"apikey": {"token": SKS}}}}), VALID),
    ("store typo beyondtrustworkloadcredentials auth.apiKey", provider(SECRETSTORE, {
        "beyondtrustworkloadcredentials": {"server": {"apiUrl": "https://bt", "siteId": "s1"},
                                           "auth": {"apiKey": {"token": SKS}}}}), INVALID),
    ("store bitwardensecretsmanager", provider(SECRETSTORE, {"bitwardensecretsmanager": {
        "organizationID": "o", "projectID": "p", "caProvider": CA,
        "auth": {"secretRef": {"credentials": SKS}}}}), VALID),
    ("store bitwardensecretsmanager without projectID", provider(SECRETSTORE, {"bitwardensecretsmanager": {
        "organizationID": "o", "auth": {"secretRef": {"credentials": SKS}}}}), INVALID),
    ("store typo bitwardensecretsmanager.organizationId", provider(SECRETSTORE, {"bitwardensecretsmanager": {
        "organizationId": "o", "projectID": "p", "auth": {"secretRef": {"credentials": SKS}}}}), INVALID),
    ("store chef", provider(SECRETSTORE, {"chef": {"serverUrl": "https://chef/organizations/acme/", "username": "eso",
        "auth": {"secretRef": {"privateKeySecretRef": SKS}}}}), VALID),
    ("store typo chef privateKey", provider(SECRETSTORE, {"chef": {"serverUrl": "https://chef", "username": "eso",
        "auth": {"secretRef": {"privateKey": SKS}}}}), INVALID),
    ("store cloudrusm", provider(SECRETSTORE, {"cloudrusm": {"projectID": "p", "auth": {"secretRef": {
        "accessKeyIDSecretRef": SKS, "accessKeySecretSecretRef": SKS}}}}), VALID),
    ("store cloudrusm without the key secret", provider(SECRETSTORE, {"cloudrusm": {"auth": {"secretRef": {
        "accessKeyIDSecretRef": SKS}}}}), INVALID),
    ("store conjur apikey", provider(SECRETSTORE, {"conjur": {"url": "https://conjur", "auth": {"apikey": {
        "account": "acme", "userRef": SKS, "apiKeyRef": SKS}}}}), VALID),
    ("store conjur jwt", provider(CLUSTERSECRETSTORE, {"conjur": {"url": "https://conjur", "caBundle": "LS0t",
        "auth": {"jwt": {"account": "acme", "serviceID": "k8s", "serviceAccountRef": {"name": "eso"}}}}}), VALID),
    ("store conjur two auth methods", provider(SECRETSTORE, {"conjur": {"url": "https://c", "auth": {
        "apikey": {"account": "a", "userRef": SKS, "apiKeyRef": SKS},
        "jwt": {"account": "a", "serviceID": "k8s"}}}}), INVALID),
    ("store conjur cert without serviceID", provider(SECRETSTORE, {"conjur": {"url": "https://c", "auth": {
        "cert": {"account": "a", "clientCertRef": SKS, "clientKeyRef": SKS}}}}), INVALID),
    ("store typo conjur.URL", provider(SECRETSTORE, {"conjur": {"URL": "https://c", "auth": {
        "jwt": {"account": "a", "serviceID": "k8s"}}}}), INVALID),
    ("store crd", provider(SECRETSTORE, {"crd": {"resource": {"group": "example.com", "version": "v1", "kind": "Config"},
        "auth": {"serviceAccount": {"name": "eso"}},
        "whitelist": {"rules": [{"name": "app-.*", "properties": ["spec.password"]}]}}}), VALID),
    ("store crd authRef", provider(CLUSTERSECRETSTORE, {"crd": {"resource": {"group": "", "version": "v1",
                                                                             "kind": "ConfigMap"},
        "authRef": {"name": "kubeconfig", "key": "config"}, "server": {"url": "https://k8s", "caProvider": CA}}}),
     VALID),
    # CEL (CRD: has(self.auth) || has(self.authRef), and at most one of them)
    ("store crd without auth or authRef", provider(SECRETSTORE, {"crd": {"resource": {
        "group": "g", "version": "v1", "kind": "K"}}}), INVALID),
    ("store crd auth and authRef", provider(SECRETSTORE, {"crd": {"resource": {"group": "g", "version": "v1",
                                                                               "kind": "K"},
        "auth": {"serviceAccount": {"name": "eso"}}, "authRef": SKS}}), INVALID),
    ("store crd empty kind", provider(SECRETSTORE, {"crd": {"resource": {"group": "g", "version": "v1", "kind": ""},
                                                            "authRef": SKS}}), INVALID),
    ("store crd resource without group", provider(SECRETSTORE, {"crd": {"resource": {"version": "v1", "kind": "K"},
                                                                        "authRef": SKS}}), INVALID),
    ("store crd whitelist properties string", provider(SECRETSTORE, {"crd": {"authRef": SKS, "resource": {
        "group": "g", "version": "v1", "kind": "K"}, "whitelist": {"rules": [{"properties": "spec"}]}}}), INVALID),
    ("store delinea", provider(SECRETSTORE, {"delinea": {"tenant": "acme", "tld": "eu", "clientId": {"value": "id"},
                                                         "clientSecret": {"secretRef": SKS}}}), VALID),
    ("store delinea without tenant", provider(SECRETSTORE, {"delinea": {"clientId": {"value": "id"},
                                                                        "clientSecret": {"secretRef": SKS}}}), INVALID),
    ("store typo delinea clientId.values", provider(SECRETSTORE, {"delinea": {"tenant": "t",
        "clientId": {"values": "id"}, "clientSecret": {"secretRef": SKS}}}), INVALID),
    ("store dvls", provider(SECRETSTORE, {"dvls": {"serverUrl": "https://dvls", "vault": "v", "insecure": False,
                                                   "auth": {"secretRef": {"appId": SKS, "appSecret": SKS}}}}), VALID),
    ("store dvls insecure string", provider(SECRETSTORE, {"dvls": {"serverUrl": "https://dvls", "insecure": "true",
        "auth": {"secretRef": {"appId": SKS, "appSecret": SKS}}}}), INVALID),
    ("store fortanix", provider(SECRETSTORE, {"fortanix": {"apiUrl": "https://sdkms", "apiKey": {"secretRef": SKS}}}),
     VALID),
    ("store fortanix apiKey without secretRef", provider(SECRETSTORE, {"fortanix": {"apiKey": SKS}}), INVALID),
    ("store github", provider(SECRETSTORE, {"github": {"appID": 123, "installationID": 456, "organization": "acme",
        "repository": "billing", "orgSecretVisibility": "private", "auth": {"privateKey": SKS}}}), VALID),
    ("store github appID string", provider(SECRETSTORE, {"github": {"appID": "123", "installationID": 456,
        "organization": "acme", "auth": {"privateKey": SKS}}}), INVALID),
    ("store github orgSecretVisibility bogus", provider(SECRETSTORE, {"github": {"appID": 1, "installationID": 2,
        "organization": "acme", "orgSecretVisibility": "public", "auth": {"privateKey": SKS}}}), INVALID),
    ("store ibm", provider(SECRETSTORE, {"ibm": {"serviceUrl": "https://sm.example.com", "auth": {
        "secretRef": {"secretApiKeySecretRef": SKS}}}}), VALID),
    ("store ibm containerAuth", provider(CLUSTERSECRETSTORE, {"ibm": {"auth": {"containerAuth": {
        "profile": "eso", "tokenLocation": "/var/run/secrets/tokens/sa-token"}}}}), VALID),
    ("store ibm two auth methods", provider(SECRETSTORE, {"ibm": {"auth": {"containerAuth": {"profile": "p"},
                                                                           "secretRef": {}}}}), INVALID),
    ("store ibm containerAuth without profile", provider(SECRETSTORE, {"ibm": {"auth": {"containerAuth": {}}}}),
     INVALID),
    ("store infisical", provider(SECRETSTORE, {"infisical": {"hostAPI": "https://app.infisical.com/api",
        "secretsScope": {"projectSlug": "billing", "environmentSlug": "prod", "recursive": True},
        "auth": {"universalAuthCredentials": {"clientId": SKS, "clientSecret": SKS}}}}), VALID),
    ("store infisical oci", provider(CLUSTERSECRETSTORE, {"infisical": {
        "secretsScope": {"projectSlug": "p", "environmentSlug": "e"}, "auth": {"ociAuthCredentials": {
            "identityId": SKS, "fingerprint": SKS, "privateKey": SKS, "region": SKS, "tenancyId": SKS,
            "userId": SKS}}}}), VALID),
    ("store infisical without secretsScope", provider(SECRETSTORE, {"infisical": {"auth": {
        "awsAuthCredentials": {"identityId": SKS}}}}), INVALID),
    ("store infisical ldap without password", provider(SECRETSTORE, {"infisical": {
        "secretsScope": {"projectSlug": "p", "environmentSlug": "e"},
        "auth": {"ldapAuthCredentials": {"identityId": SKS, "ldapUsername": SKS}}}}), INVALID),
    ("store typo infisical secretsScope.projectslug", provider(SECRETSTORE, {"infisical": {
        "secretsScope": {"projectslug": "p", "environmentSlug": "e"}, "auth": {}}}), INVALID),
    ("store infisical recursive string", provider(SECRETSTORE, {"infisical": {"auth": {},
        "secretsScope": {"projectSlug": "p", "environmentSlug": "e", "recursive": "yes"}}}), INVALID),
    ("store keepersecurity", provider(SECRETSTORE, {"keepersecurity": {"authRef": SKS, "folderID": "f1",
                                                                       "getByTitleFallback": True}}), VALID),
    ("store keepersecurity without folderID", provider(SECRETSTORE, {"keepersecurity": {"authRef": SKS}}), INVALID),
    ("store nebiusmysterybox", provider(SECRETSTORE, {"nebiusmysterybox": {"apiDomain": "api.eu.nebius.cloud",
        "auth": {"tokenSecretRef": SKS}, "caProvider": {"certSecretRef": SKS}}}), VALID),
    ("store nebiusmysterybox both credentials", provider(SECRETSTORE, {"nebiusmysterybox": {"apiDomain": "a",
        "auth": {"tokenSecretRef": SKS, "serviceAccountCredsSecretRef": SKS}}}), VALID),
    # CEL (nebiusmysterybox.auth: has(self.serviceAccountCredsSecretRef) || has(self.tokenSecretRef))
    ("store nebiusmysterybox empty auth", provider(SECRETSTORE, {"nebiusmysterybox": {"apiDomain": "a", "auth": {}}}),
     INVALID),
    ("store typo nebiusmysterybox caProvider.certSecret", provider(SECRETSTORE, {"nebiusmysterybox": {
        "apiDomain": "a", "auth": {"tokenSecretRef": SKS}, "caProvider": {"certSecret": SKS}}}), INVALID),
    ("store ngrok", provider(SECRETSTORE, {"ngrok": {"vault": {"name": "prod"}, "auth": {"apiKey": {
        "secretRef": SKS}}}}), VALID),
    ("store ngrok empty auth", provider(SECRETSTORE, {"ngrok": {"vault": {"name": "prod"}, "auth": {}}}), INVALID),
    ("store ngrok vault string", provider(SECRETSTORE, {"ngrok": {"vault": "prod", "auth": {"apiKey": {
        "secretRef": SKS}}}}), INVALID),
    ("store onboardbase", provider(SECRETSTORE, {"onboardbase": {"apiHost": "https://public.onboardbase.com/api/v1/",
        "project": "billing", "environment": "production", "auth": {"apiKeyRef": SKS, "passcodeRef": SKS}}}), VALID),
    ("store onboardbase without project", provider(SECRETSTORE, {"onboardbase": {"apiHost": "https://o",
        "environment": "production", "auth": {"apiKeyRef": SKS, "passcodeRef": SKS}}}), INVALID),
    ("store typo onboardbase auth.passcode", provider(SECRETSTORE, {"onboardbase": {"apiHost": "https://o",
        "project": "p", "environment": "e", "auth": {"apiKeyRef": SKS, "passcode": SKS}}}), INVALID),
    ("store onepasswordSDK", provider(SECRETSTORE, {"onepasswordSDK": {"vault": "production",
        "cache": {"ttl": "10m", "maxSize": 50}, "auth": {"serviceAccountSecretRef": SKS}}}), VALID),
    ("store onepasswordSDK environment", provider(CLUSTERSECRETSTORE, {"onepasswordSDK": {"environment": "prod",
        "integrationInfo": {"name": "shipcard"}, "auth": {"serviceAccountSecretRef": SKS}}}), VALID),
    # CEL (onepasswordSDK: at most one of vault and environment)
    ("store onepasswordSDK vault and environment", provider(SECRETSTORE, {"onepasswordSDK": {"vault": "v",
        "environment": "e", "auth": {"serviceAccountSecretRef": SKS}}}), INVALID),
    ("store onepasswordSDK empty auth", provider(SECRETSTORE, {"onepasswordSDK": {"vault": "v", "auth": {}}}),
     INVALID),
    ("store onepasswordSDK cache maxSize 0", provider(SECRETSTORE, {"onepasswordSDK": {"vault": "v",
        "cache": {"maxSize": 0}, "auth": {"serviceAccountSecretRef": SKS}}}), INVALID),
    ("store openBao token", provider(SECRETSTORE, {"openBao": {"server": "https://bao.example.com", "path": "secret",
        "version": "v2", "caProvider": CA, "auth": {"tokenSecretRef": SKS}}}), VALID),
    ("store openBao appRole", provider(CLUSTERSECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "namespace": "team", "appRole": {"path": "approle", "roleRef": SKS, "secretRef": SKS}}}}), VALID),
    ("store openBao userPass", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "userPass": {"path": "userpass", "username": "eso", "secretRef": SKS}}}}), VALID),
    # CEL (openBao: at most one of caBundle and caProvider; auth: exactly one of appRole, tokenSecretRef and
    # userPass; auth.appRole: exactly one of roleId and roleRef)
    ("store openBao caBundle and caProvider", provider(SECRETSTORE, {"openBao": {"server": "https://bao",
        "caBundle": "LS0t", "caProvider": CA}}), INVALID),
    ("store openBao auth without a method", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "namespace": "team"}}}), INVALID),
    ("store openBao two auth methods", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "tokenSecretRef": SKS, "userPass": {"path": "userpass", "username": "eso"}}}}), INVALID),
    ("store openBao appRole roleId and roleRef", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "appRole": {"path": "approle", "roleId": "r", "roleRef": SKS, "secretRef": SKS}}}}), INVALID),
    ("store openBao appRole without a role", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "auth": {
        "appRole": {"path": "approle", "secretRef": SKS}}}}), INVALID),
    ("store openBao version v3", provider(SECRETSTORE, {"openBao": {"server": "https://bao", "version": "v3"}}),
     INVALID),
    ("store openBao without server", provider(SECRETSTORE, {"openBao": {"path": "secret"}}), INVALID),
    ("store oracle", provider(SECRETSTORE, {"oracle": {"vault": "ocid1.vault.oc1..x", "region": "eu-frankfurt-1",
        "principalType": "UserPrincipal", "auth": {"tenancy": "ocid1.tenancy", "user": "ocid1.user",
                                                   "secretRef": {"privatekey": SKS, "fingerprint": SKS}}}}), VALID),
    ("store oracle workload", provider(CLUSTERSECRETSTORE, {"oracle": {"vault": "v", "region": "r",
        "principalType": "Workload", "serviceAccountRef": {"name": "eso", "namespace": "eso"}}}), VALID),
    ("store oracle principalType bogus", provider(SECRETSTORE, {"oracle": {"vault": "v", "region": "r",
                                                                          "principalType": "User"}}), INVALID),
    ("store typo oracle secretRef.privateKey", provider(SECRETSTORE, {"oracle": {"vault": "v", "region": "r",
        "auth": {"tenancy": "t", "user": "u", "secretRef": {"privateKey": SKS, "fingerprint": SKS}}}}), INVALID),
    ("store ovh", provider(SECRETSTORE, {"ovh": {"server": "https://eu-west-rbx.okms.ovh.net", "okmsid": "id",
        "okmsTimeout": 10, "auth": {"mtls": {"certSecretRef": SKS, "keySecretRef": SKS, "caProvider": CA}}}}), VALID),
    ("store ovh token", provider(CLUSTERSECRETSTORE, {"ovh": {"server": "https://okms", "okmsid": "id",
        "casRequired": True, "auth": {"token": {"tokenSecretRef": SKS}}}}), VALID),
    ("store ovh okmsTimeout 0", provider(SECRETSTORE, {"ovh": {"server": "https://okms", "okmsid": "id",
        "okmsTimeout": 0, "auth": {"token": {"tokenSecretRef": SKS}}}}), INVALID),
    ("store ovh mtls without keySecretRef", provider(SECRETSTORE, {"ovh": {"server": "https://okms", "okmsid": "id",
        "auth": {"mtls": {"certSecretRef": SKS}}}}), INVALID),
    ("store passbolt", provider(SECRETSTORE, {"passbolt": {"host": "https://passbolt.example.com", "auth": {
        "passwordSecretRef": SKS, "privateKeySecretRef": SKS}}}), VALID),
    ("store passbolt without privateKeySecretRef", provider(SECRETSTORE, {"passbolt": {"host": "https://p", "auth": {
        "passwordSecretRef": SKS}}}), INVALID),
    ("store passworddepot", provider(SECRETSTORE, {"passworddepot": {"host": "pd.example.com", "database": "ops",
        "auth": {"secretRef": {"credentials": SKS}}}}), VALID),
    ("store typo passworddepot.databse", provider(SECRETSTORE, {"passworddepot": {"host": "pd", "databse": "ops",
        "auth": {"secretRef": {"credentials": SKS}}}}), INVALID),
    ("store previder", provider(SECRETSTORE, {"previder": {"baseUri": "https://portal.previder.nl/api/",
        "auth": {"secretRef": {"accessToken": SKS}}}}), VALID),
    ("store previder secretRef without accessToken", provider(SECRETSTORE, {"previder": {"auth": {
        "secretRef": {}}}}), INVALID),
    ("store pulumi", provider(SECRETSTORE, {"pulumi": {"organization": "acme", "project": "billing",
        "environment": "prod", "auth": {"accessToken": {"secretRef": SKS}}}}), VALID),
    ("store pulumi oidc", provider(CLUSTERSECRETSTORE, {"pulumi": {"organization": "acme", "project": "billing",
        "environment": "prod", "auth": {"oidcConfig": {"organization": "acme", "expirationSeconds": 900,
                                                       "serviceAccountRef": {"name": "eso"}}}}}), VALID),
    ("store pulumi deprecated accessToken", provider(SECRETSTORE, {"pulumi": {"organization": "acme", "project": "b",
        "environment": "prod", "accessToken": {"secretRef": SKS}}}), VALID),
    # CEL (pulumi: exactly one of auth and accessToken; pulumi.auth: exactly one of accessToken and oidcConfig)
    ("store pulumi auth and accessToken", provider(SECRETSTORE, {"pulumi": {"organization": "a", "project": "b",
        "environment": "e", "accessToken": {"secretRef": SKS}, "auth": {"accessToken": {"secretRef": SKS}}}}), INVALID),
    ("store pulumi without credentials", provider(SECRETSTORE, {"pulumi": {"organization": "a", "project": "b",
                                                                          "environment": "e"}}), INVALID),
    ("store pulumi auth with both", provider(SECRETSTORE, {"pulumi": {"organization": "a", "project": "b",
        "environment": "e", "auth": {"accessToken": {"secretRef": SKS}, "oidcConfig": {
            "organization": "a", "serviceAccountRef": {"name": "eso"}}}}}), INVALID),
    ("store pulumi empty auth", provider(SECRETSTORE, {"pulumi": {"organization": "a", "project": "b",
                                                                 "environment": "e", "auth": {}}}), INVALID),
    ("store pulumi oidc expirationSeconds 60", provider(SECRETSTORE, {"pulumi": {"organization": "a", "project": "b",
        "environment": "e", "auth": {"oidcConfig": {"organization": "a", "expirationSeconds": 60,
                                                    "serviceAccountRef": {"name": "eso"}}}}}), INVALID),
    ("store scaleway", provider(SECRETSTORE, {"scaleway": {"region": "fr-par", "projectId": "p",
        "accessKey": {"value": "SCWXXXXXXXXXXXXXXXXX"}, "secretKey": {"secretRef": SKS}}}), VALID),
    ("store typo scaleway.projectID", provider(SECRETSTORE, {"scaleway": {"region": "fr-par", "projectID": "p",
        "accessKey": {"value": "a"}, "secretKey": {"secretRef": SKS}}}), INVALID),
    ("store secretserver token", provider(SECRETSTORE, {"secretserver": {"serverURL": "https://ss.example.com",
        "token": {"secretRef": SKS}}}), VALID),
    ("store secretserver username and password", provider(CLUSTERSECRETSTORE, {"secretserver": {
        "serverURL": "https://ss", "domain": "corp", "username": {"value": "eso"}, "password": {"secretRef": SKS}}}),
     VALID),
    # CEL (secretserver: a token, or both username and password; each: value != secretRef)
    ("store secretserver username only", provider(SECRETSTORE, {"secretserver": {"serverURL": "https://ss",
        "username": {"value": "eso"}}}), INVALID),
    ("store secretserver token value and secretRef", provider(SECRETSTORE, {"secretserver": {
        "serverURL": "https://ss", "token": {"value": "t", "secretRef": SKS}}}), INVALID),
    ("store secretserver empty username", provider(SECRETSTORE, {"secretserver": {"serverURL": "https://ss",
        "username": {}, "password": {"secretRef": SKS}}}), INVALID),
    ("store secretserver empty password", provider(SECRETSTORE, {"secretserver": {"serverURL": "https://ss",
        "username": {"value": "eso"}, "password": {}}}), INVALID),
    ("store secretserver without serverURL", provider(SECRETSTORE, {"secretserver": {"token": {"secretRef": SKS}}}),
     INVALID),
    ("store senhasegura", provider(SECRETSTORE, {"senhasegura": {"url": "https://senhasegura", "module": "DSM",
        "ignoreSslCertificate": False, "auth": {"clientId": "c", "clientSecretSecretRef": SKS}}}), VALID),
    ("store senhasegura ignoreSslCertificate string", provider(SECRETSTORE, {"senhasegura": {"url": "https://s",
        "module": "DSM", "ignoreSslCertificate": "no", "auth": {"clientId": "c", "clientSecretSecretRef": SKS}}}),
     INVALID),
    ("store volcengine", provider(SECRETSTORE, {"volcengine": {"region": "cn-beijing", "auth": {"secretRef": {
        "accessKeyID": SKS, "secretAccessKey": SKS}}}}), VALID),
    ("store typo volcengine secretRef.accessKeyId", provider(SECRETSTORE, {"volcengine": {"region": "cn-beijing",
        "auth": {"secretRef": {"accessKeyId": SKS, "secretAccessKey": SKS}}}}), INVALID),
    ("store yandexlockbox", provider(SECRETSTORE, {"yandexlockbox": {"auth": {"authorizedKeySecretRef": SKS},
        "fetching": {"byName": {"folderID": "b1g"}}, "caProvider": {"certSecretRef": SKS}}}), VALID),
    ("store yandexlockbox fetching two ways", provider(SECRETSTORE, {"yandexlockbox": {"auth": {},
        "fetching": {"byID": {}, "byName": {"folderID": "b1g"}}}}), INVALID),
    ("store yandexcertificatemanager", provider(CLUSTERSECRETSTORE, {"yandexcertificatemanager": {
        "apiEndpoint": "api.cloud.yandex.net:443", "auth": {"authorizedKeySecretRef": SKS},
        "fetching": {"byID": {}}}}), VALID),
    ("store yandexcertificatemanager without auth", provider(SECRETSTORE, {"yandexcertificatemanager": {
        "apiEndpoint": "api"}}), INVALID),
    ("store aws customSessionTags", provider(SECRETSTORE, {"aws": {"service": "SecretsManager", "region": "x",
        "sessionTagsPolicy": "Custom", "customSessionTags": {"team": "billing"}}}), VALID),
    # CEL (aws.customSessionTags: none of esoNamespace, esoStoreName, esoStoreKind)
    ("store aws customSessionTags esoStoreName", provider(SECRETSTORE, {"aws": {"service": "SecretsManager",
        "region": "x", "customSessionTags": {"esoStoreName": "mine"}}}), INVALID),
    # CEL (doppler.auth: exactly one of secretRef and oidcConfig)
    ("store doppler secretRef and oidcConfig", provider(SECRETSTORE, {"doppler": {"auth": {
        "secretRef": {"dopplerToken": SKS}, "oidcConfig": {"identity": "i", "serviceAccountRef": {"name": "eso"}}}}}),
     INVALID),
    ("store doppler empty auth", provider(SECRETSTORE, {"doppler": {"auth": {}}}), INVALID),
    # A typo or a wrong type for the providers whose mistakes above are only missing fields or bounds.
    ("store typo cloudrusm.projectId", provider(SECRETSTORE, {"cloudrusm": {"projectId": "p", "auth": {}}}), INVALID),
    ("store typo ibm containerAuth.iamEndPoint", provider(SECRETSTORE, {"ibm": {"auth": {"containerAuth": {
        "profile": "p", "iamEndPoint": "https://iam"}}}}), INVALID),
    ("store keepersecurity getByTitleFallback string", provider(SECRETSTORE, {"keepersecurity": {
        "authRef": SKS, "folderID": "f", "getByTitleFallback": "true"}}), INVALID),
    ("store onepasswordSDK cache maxSize string", provider(SECRETSTORE, {"onepasswordSDK": {"vault": "v",
        "cache": {"maxSize": "100"}, "auth": {"serviceAccountSecretRef": SKS}}}), INVALID),
    ("store typo openBao.serverURL", provider(SECRETSTORE, {"openBao": {"server": "https://b", "serverURL": "x"}}),
     INVALID),
    ("store ovh casRequired string", provider(SECRETSTORE, {"ovh": {"server": "https://okms", "okmsid": "id",
        "casRequired": "yes", "auth": {"token": {"tokenSecretRef": SKS}}}}), INVALID),
    ("store typo passbolt auth.passwordSecret", provider(SECRETSTORE, {"passbolt": {"host": "https://p", "auth": {
        "passwordSecret": SKS, "privateKeySecretRef": SKS}}}), INVALID),
    ("store typo previder.baseURI", provider(SECRETSTORE, {"previder": {"baseURI": "https://p", "auth": {}}}), INVALID),
    ("store typo pulumi.organisation", provider(SECRETSTORE, {"pulumi": {"organisation": "a", "organization": "a",
        "project": "b", "environment": "e", "auth": {"accessToken": {"secretRef": SKS}}}}), INVALID),
    ("store typo secretserver.serverUrl", provider(SECRETSTORE, {"secretserver": {"serverUrl": "https://ss",
        "serverURL": "https://ss", "token": {"secretRef": SKS}}}), INVALID),
    ("store typo yandexlockbox byName.folderId", provider(SECRETSTORE, {"yandexlockbox": {"auth": {},
        "fetching": {"byName": {"folderId": "b1g"}}}}), INVALID),
    ("store yandexcertificatemanager apiEndpoint int", provider(SECRETSTORE, {"yandexcertificatemanager": {
        "apiEndpoint": 443, "auth": {"authorizedKeySecretRef": SKS}}}), INVALID),
    ("store typo crd resource.Kind", provider(SECRETSTORE, {"crd": {"authRef": SKS, "resource": {
        "group": "g", "version": "v1", "Kind": "K"}}}), INVALID),
    ("store typo spec.providers", edited(SECRETSTORE, "spec.providers", {}), INVALID),
    ("store no spec", edited(SECRETSTORE, "spec", delete=True), VALID),
]

_KINDS_PROBED = {doc["kind"] for _, doc, _ in PROBES}


def test_the_probe_set_covers_every_bundled_kind_both_ways():
    assert {"Application", "ApplicationSet", "AppProject", "ExternalSecret", "SecretStore",
                             "ClusterSecretStore"} == _KINDS_PROBED
    for kind in _KINDS_PROBED - {"ClusterSecretStore"}:
        verdicts = [valid for _, doc, valid in PROBES if doc["kind"] == kind]
        assert verdicts.count(VALID) >= 5 and verdicts.count(INVALID) >= 10, kind
    assert len({name for name, _, _ in PROBES}) == len(PROBES)


def test_every_provider_has_a_valid_and_an_invalid_probe():
    real = openapi_schemas()[("external-secrets.io/v1", "SecretStore")]
    assert real is not None
    verdicts: dict[str, set[bool]] = {}
    for _, doc, valid in PROBES:
        if doc["kind"] in ("SecretStore", "ClusterSecretStore") and len(doc.get("spec", {}).get("provider", {})) == 1:
            verdicts.setdefault(next(iter(doc["spec"]["provider"])), set()).add(valid)
    providers = set(real["properties"]["spec"]["properties"]["provider"]["properties"])
    assert {name: verdicts.get(name) for name in providers} == {name: {VALID, INVALID} for name in providers}


def _cel_rules(node: dict[str, Any], path: str = "$") -> set[tuple[str, str]]:
    """(path, rule) of every CEL rule in an openAPIV3Schema (no rule sits under an array or a map here)."""
    found = {(path, rule["rule"]) for rule in node.get("x-kubernetes-validations", [])}
    for name, sub in node.get("properties", {}).items():
        found |= _cel_rules(sub, f"{path}.{name}")
    return found


def test_every_cel_rule_of_the_store_crds_is_probed_both_ways() -> None:
    """Each of the store CRDs' 15 rules (the same in both) is met by a valid probe and is the one thing wrong with
    an invalid one, so the bundled schema's encoding of it (oneOf / anyOf / not / propertyNames) is tested by the
    verdicts above."""
    crds = {kind: openapi_schemas()[("external-secrets.io/v1", kind)] for kind in ("SecretStore", "ClusterSecretStore")}
    rules = {kind: _cel_rules(openapi) for kind, openapi in crds.items() if openapi is not None}
    assert len(rules["SecretStore"]) == 15 and rules["SecretStore"] == rules["ClusterSecretStore"]
    met, alone_broken = set(), set()
    for _, doc, valid in PROBES:
        openapi = crds.get(doc["kind"])
        if openapi is None:
            continue
        verdicts = cel_verdicts(openapi, doc)
        met |= {(path, rule) for path, rule, holds in verdicts if holds and valid}
        broken = [(path, rule) for path, rule, holds in verdicts if not holds]
        if len(broken) == 1 and len(real_problems(doc)) == 1:
            alone_broken.add(broken[0])
    assert sorted(rules["SecretStore"] - met) == []
    assert sorted(rules["SecretStore"] - alone_broken) == []


@pytest.mark.parametrize(("name", "doc", "valid"), PROBES, ids=[name for name, _, _ in PROBES])
def test_the_real_crd_gives_the_probes_verdict(name: str, doc: dict[str, Any], valid: bool) -> None:
    problems = real_problems(doc)
    assert (problems == []) is valid, problems


@pytest.fixture(scope="module")
def bundled() -> SchemaValidator:
    return SchemaValidator()


@pytest.mark.parametrize(("name", "doc", "valid"), PROBES, ids=[name for name, _, _ in PROBES])
def test_the_bundled_schema_agrees_with_the_real_crd(bundled: SchemaValidator, name: str, doc: dict[str, Any],
                                                     valid: bool) -> None:
    found = bundled.schema_for(doc["apiVersion"], doc["kind"])
    assert found is not None and found.origin == "bundled"
    assert bundled.verdict(doc) == ("valid" if valid else "invalid"), json.dumps(doc)


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`schema`, its `$ref`s followed."""
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _field_names(real: dict[str, Any], bundled: dict[str, Any], defs: dict[str, Any], prefix: str) -> set[str]:
    """The field paths one schema names and the other does not, wherever the bundled one is strict."""
    bundled = _resolved(bundled, defs)
    if real.get("type") == "array":
        return _field_names(real.get("items", {}), bundled.get("items", {}), defs, prefix + "[]")
    if "properties" not in bundled:  # a loose object: anything goes, where the real CRD has no fields either
        return {f"{prefix}* (loose in bundled)"} if real.get("properties") else set()
    real_fields, bundled_fields = real.get("properties", {}), bundled["properties"]
    differ = {f"{prefix}{name} (only {'the real CRD' if name in real_fields else 'bundled'})"
              for name in set(real_fields) ^ set(bundled_fields)}
    for name in set(real_fields) & set(bundled_fields):
        differ |= _field_names(real_fields[name], bundled_fields[name], defs, f"{prefix}{name}.")
    return differ


@pytest.mark.parametrize("kind", ["SecretStore", "ClusterSecretStore"])
def test_every_provider_typed_field_by_field_names_the_real_crds_fields(kind: str) -> None:
    """Only the verdicts of the probes are compared above; this compares the field names of every provider
    with the real CRD's (their types are the probes' business): the same providers, each typed strictly."""
    real = openapi_schemas()[("external-secrets.io/v1", kind)]
    bundled = crd_schema("external-secrets.io/v1", kind)
    assert real is not None and bundled is not None
    real_providers = real["properties"]["spec"]["properties"]["provider"]["properties"]
    providers = bundled["$defs"]["provider"]["properties"]
    assert sorted(providers) == sorted(real_providers)
    assert {name: sorted(_field_names(real_providers[name], schema, bundled["$defs"], ""))
            for name, schema in providers.items()} == {name: [] for name in providers}


# --------------------------------------------------------------------------- (c) versions not served


@pytest.mark.parametrize("kind", ["ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret"])
def test_versions_the_crds_no_longer_serve_are_errors(tmp_path: Path, kind: str) -> None:
    assert real_crds()[("external-secrets.io/v1beta1", kind)] is None
    (tmp_path / "old.yaml").write_text(f"apiVersion: external-secrets.io/v1beta1\nkind: {kind}\n"
                                       "metadata:\n  name: old\nspec: {}\n", encoding="utf-8")
    result = run_cli("check", str(tmp_path / "old.yaml"), "--format", "json")
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["severity"], f["line"], f["message"]) for f in findings] == [
        ("crd-version-not-served", "error", 1,
         f"{kind} external-secrets.io/v1beta1 is not served by External Secrets Operator since 0.17: "
         "use external-secrets.io/v1")]
