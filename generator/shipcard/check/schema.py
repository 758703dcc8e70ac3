"""Layer 2 and 3 of `shipcard check`: Kubernetes and custom-resource schemas.

Built-in kinds use the strict JSON Schemas that kubernetes-validate ships and give the
same verdict as `kubernetes_validate.validate(obj, version, strict=True)`, fast:

* one `shipcard.validation.Schema` per (apiVersion, kind), built from a self-contained
  copy of the schema (its `$ref`s into `_definitions.json` rewritten to local `$defs`):
  compiled once, kept as bytecode across runs, with jsonschema (draft 2020-12, like
  kubernetes-validate) judging what the compiled check rejects and explaining it.

Custom resources are validated with, in this order: a CustomResourceDefinition from the
input or `--crd-dir` (its served versions' openAPIV3Schema, made strict), a schema bundled
in `shipcard.schemas`, and finally kubernetes-validate's own file naming (which is how
it treats any apiVersion). A kind with no schema is `unknown-kind`.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from shipcard.check.model import Finding, K8sObject, RuleInfo, finding_for
from shipcard.errors import ShipcardError
from shipcard.schemas import crd_schema
from shipcard.settings import KubernetesVersion, parse_kubernetes_version, version_text
from shipcard.validation import Schema, field_name, linear_pattern, problems, schema_key


def _package_dir() -> Path:
    """kubernetes-validate's package folder, found without importing it (the import costs 30 ms)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'kubernetes_validate'")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@cache
def package_version() -> str:
    """`kubernetes_validate.__version__`, read from its `version.py` (the fallback imports it)."""
    text = (PACKAGE_DIR / "version.py").read_text(encoding="utf-8")
    match = re.search(r"""^__version__ = ['"]([^'"]+)['"]""", text, re.MULTILINE)
    if match:
        return match[1]
    import kubernetes_validate

    return str(kubernetes_validate.__version__)


PACKAGE_DIR = _package_dir()
SCHEMA_ROOT = PACKAGE_DIR / "kubernetes-json-schema"
DEFINITIONS_FILE = "_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
MAX_ERRORS_PER_OBJECT = 20

Verdict = str  # "valid" | "invalid" | "no-schema"


# --------------------------------------------------------------------------- versions


def shipped_versions() -> list[tuple[int, int]]:
    """(major, minor) of every strict schema set kubernetes-validate ships, oldest first."""
    found = []
    for entry in SCHEMA_ROOT.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return sorted(found)


def parse_version(text: str) -> KubernetesVersion:
    """`--kubernetes-version`: `1.30`, `v1.30` or `1.30.2` → (1, 30); ShipcardError otherwise."""
    version = parse_kubernetes_version(text)
    if version is None:
        raise ShipcardError(f"--kubernetes-version {text!r}: expected MAJOR.MINOR such as 1.30")
    return version


def schema_version_for(target: tuple[int, int]) -> tuple[int, int]:
    """The newest shipped schema set not newer than `target` (the oldest one for older targets)."""
    versions = shipped_versions()
    if target > versions[-1]:
        raise ShipcardError(f"Kubernetes {version_text(target)}: the newest schemas shipped are for "
                            f"{version_text(versions[-1])} (upgrade kubernetes-validate)")
    older = [v for v in versions if v <= target]
    return older[-1] if older else versions[0]


def builtin_schema_name(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name: group without its domain, e.g. `deployment-apps-v1.json`."""
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{short}.json"


def is_kubernetes_group(api_version: str) -> bool:
    """Core (`v1`), unqualified (`apps/v1`) and `*.k8s.io` groups belong to Kubernetes itself."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io")


# --------------------------------------------------------------------------- schema sources


class BuiltinSchemas:
    """kubernetes-validate's strict schemas of one Kubernetes version, made self-contained on demand."""

    def __init__(self, version: tuple[int, int]) -> None:
        self.version = version
        self.directory = SCHEMA_ROOT / f"v{version[0]}.{version[1]}.0-local-strict"
        if not self.directory.is_dir():
            raise ShipcardError(f"kubernetes-validate has no strict schemas for {version[0]}.{version[1]}")
        self._names: set[str] | None = None

    @cached_property
    def definitions(self) -> dict[str, Any]:
        return json.loads((self.directory / DEFINITIONS_FILE).read_text(encoding="utf-8"))["$defs"]

    def has(self, file_name: str) -> bool:
        if self._names is None:
            self._names = {p.name for p in self.directory.iterdir()}
        return file_name in self._names

    def kind_schema(self, api_version: str, kind: str) -> KindSchema | None:
        name = builtin_schema_name(api_version, kind)
        if not self.has(name):
            return None
        schema = Schema(lambda: self.self_contained(self._read(name)), label=f"{kind} {api_version}",
                        cache_key=f"builtin|{package_version()}|{self.directory.name}|{name}",
                        compile_after=0)
        return KindSchema(schema, "kubernetes", f"Kubernetes {version_text(self.version)} ({name})")

    def _read(self, name: str) -> dict[str, Any]:
        return json.loads((self.directory / name).read_text(encoding="utf-8"))

    def self_contained(self, top: dict[str, Any], extra_refs: Iterable[str] = ()) -> dict[str, Any]:
        """`top` with every definition it reaches copied into its own `$defs` (refs made local)."""
        needed: set[str] = set(extra_refs)
        schema = _localise_refs(top, needed)
        schema.pop("$id", None)
        schema.pop("$schema", None)
        defs: dict[str, Any] = {}
        todo = list(needed)
        while todo:
            name = todo.pop()
            if name in defs:
                continue
            found: set[str] = set()
            defs[name] = _localise_refs(self.definitions[name], found)
            todo.extend(found - defs.keys())
        schema["$defs"] = defs
        return schema


def _localise_refs(node: Any, needed: set[str]) -> Any:
    """Copy of a schema with `…/_definitions.json#/$defs/X` and `#/$defs/X` refs turned into `#/$defs/X`.

    Descriptions are dropped (they make the generated code several times larger). Only a string
    `$ref` is a reference: JSONSchemaProps has a *property* called `$ref`.
    """
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                name = value.split("#/$defs/", 1)[1]
                needed.add(name)
                out[key] = f"#/$defs/{name}"
            elif key == "description" and isinstance(value, str):
                continue
            else:
                out[key] = _localise_refs(value, needed)
        return out
    if isinstance(node, list):
        return [_localise_refs(item, needed) for item in node]
    return node


# --------------------------------------------------------------------------- CRDs


@dataclass
class CrdVersion:
    api_version: str
    kind: str
    schema: dict[str, Any] | None  # openAPIV3Schema; None: the CRD gives none (anything goes)
    source: K8sObject


def crd_versions(crd: K8sObject) -> list[CrdVersion]:
    """Every served (apiVersion, kind) a CustomResourceDefinition defines, with its schema."""
    spec = crd.data.get("spec")
    if not isinstance(spec, dict):
        return []
    group = spec.get("group")
    names: dict[str, Any] = spec["names"] if isinstance(spec.get("names"), dict) else {}
    kind = names.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        return []
    shared = _dig(spec, "validation", "openAPIV3Schema")  # v1beta1: one schema for all versions
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        versions = [{"name": spec.get("version"), "served": True}] if spec.get("version") else []
    found = []
    for version in versions:
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            continue
        if version.get("served", True) is False:
            continue
        schema = _dig(version, "schema", "openAPIV3Schema") or shared
        found.append(CrdVersion(f"{group}/{version['name']}", kind, schema if isinstance(schema, dict) else None, crd))
    return found


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


_OPENAPI_KEYWORDS = ("required", "enum", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
                     "uniqueItems", "minProperties", "maxProperties", "multipleOf", "pattern")


def structural_to_json_schema(node: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """A CRD's OpenAPI v3 structural schema as draft 2020-12 JSON Schema.

    Strict like `kubectl apply --validate=strict`: an object schema listing `properties`
    rejects other fields unless it has `x-kubernetes-preserve-unknown-fields`. `nullable`,
    `x-kubernetes-int-or-string` and OpenAPI's boolean `exclusiveMinimum/Maximum` are
    translated; CEL rules (`x-kubernetes-validations`) and formats are not checked.
    """
    out: dict[str, Any] = {}
    for key in _OPENAPI_KEYWORDS:
        if key in node:
            out[key] = node[key]
    if "pattern" in out and not _compiles(out["pattern"]):
        del out["pattern"]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True and bound in node:
            out[exclusive] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    elif isinstance(node.get("type"), str):
        out["type"] = node["type"]
    if isinstance(node.get("properties"), dict):
        out["properties"] = {name: structural_to_json_schema(sub, strict=strict)
                             for name, sub in node["properties"].items() if isinstance(sub, dict)}
    if isinstance(node.get("items"), dict):
        out["items"] = structural_to_json_schema(node["items"], strict=strict)
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = structural_to_json_schema(additional, strict=strict)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif (strict and "properties" in out and not node.get("x-kubernetes-preserve-unknown-fields")
          and not node.get("x-kubernetes-embedded-resource")):
        out["additionalProperties"] = False
    for combinator in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(combinator), list) and combinator not in out:
            out[combinator] = [_value_validations(s) for s in node[combinator] if isinstance(s, dict)]
    if isinstance(node.get("not"), dict):
        out["not"] = _value_validations(node["not"])
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "anyOf" in out and node.get("x-kubernetes-int-or-string"):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def _value_validations(node: dict[str, Any]) -> dict[str, Any]:
    """Inside allOf/anyOf/oneOf/not, structural schemas only constrain values: no strictness there."""
    return structural_to_json_schema(node, strict=False)


def _compiles(pattern: Any) -> bool:
    """A CRD's pattern is kept only when RE2 compiles it: matched in linear time, as the API server
    (Go's regexp, RE2 syntax) matches it; one it cannot express the API server refuses anyway."""
    return isinstance(pattern, str) and linear_pattern(pattern) is not None


# --------------------------------------------------------------------------- the layer


@dataclass
class KindSchema:
    schema: Schema | None  # None: known kind without a schema (a CRD without one)
    origin: str  # "kubernetes" | "crd" | "bundled"
    source: str = ""  # the CRD or file it came from, for messages


class SchemaValidator:
    """Validates objects against the schema of their (apiVersion, kind), each compiled once."""

    def __init__(self, target: KubernetesVersion | None = None, *, strict_kinds: bool = False) -> None:
        """`target`: the Kubernetes version to validate for (default: the newest shipped)."""
        target = target or shipped_versions()[-1]
        self.target = target
        self.schema_version = schema_version_for(target)
        self.builtin = BuiltinSchemas(self.schema_version)
        self.strict_kinds = strict_kinds
        self._crds: dict[tuple[str, str], CrdVersion] = {}
        self._kinds: dict[tuple[str, str], KindSchema | None] = {}

    @property
    def version(self) -> str:
        return version_text(self.target)

    # -- CRDs -------------------------------------------------------------------------------

    def register_crds(self, crds: Iterable[K8sObject]) -> None:
        """Make the custom resources of these CRDs known (the first definition of a kind wins)."""
        for crd in crds:
            for version in crd_versions(crd):
                key = (version.api_version, version.kind)
                if key not in self._crds:
                    self._crds[key] = version
                    self._kinds.pop(key, None)

    def _crd_schema(self, version: CrdVersion) -> KindSchema:
        if version.schema is None:
            return KindSchema(None, "crd")
        structural = structural_to_json_schema(version.schema)
        properties = structural.setdefault("properties", {})
        properties["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        structural["type"] = "object"
        if not version.schema.get("x-kubernetes-preserve-unknown-fields"):
            structural["additionalProperties"] = False
        builtin = self.builtin
        schema = Schema(lambda: builtin.self_contained(structural, extra_refs=[OBJECT_META]),
                        label=f"{version.kind} {version.api_version}",
                        cache_key=f"crd|{builtin.directory.name}|{schema_key(structural)}", compile_after=0)
        return KindSchema(schema, "crd", f"CRD in {version.source.file}")

    # -- lookup -----------------------------------------------------------------------------

    def schema_for(self, api_version: str, kind: str) -> KindSchema | None:
        key = (api_version, kind)
        if key not in self._kinds:
            self._kinds[key] = self._find(api_version, kind)
        return self._kinds[key]

    def _find(self, api_version: str, kind: str) -> KindSchema | None:
        if not is_kubernetes_group(api_version):
            crd = self._crds.get((api_version, kind))
            if crd is not None:
                return self._crd_schema(crd)
            bundled = crd_schema(api_version, kind)
            if bundled is not None:
                schema = copy.deepcopy(bundled)
                return KindSchema(Schema(schema, label=f"{kind} {api_version}",
                                         cache_key=f"bundled|{schema_key(schema)}", compile_after=0),
                                  "bundled", "shipcard's bundled schema")
        builtin = self.builtin.kind_schema(api_version, kind)
        if builtin is not None:
            return builtin
        crd = self._crds.get((api_version, kind))  # a CRD may also claim an unqualified group
        return self._crd_schema(crd) if crd is not None else None

    # -- validation -------------------------------------------------------------------------

    def verdict(self, data: Any) -> Verdict:
        """valid / invalid / no-schema, the way kubernetes-validate decides (for tests and benchmarks)."""
        if not isinstance(data, dict) or not isinstance(data.get("apiVersion"), str) \
                or not isinstance(data.get("kind"), str):
            return "invalid"
        found = self.schema_for(data["apiVersion"], data["kind"])
        if found is None:
            return "no-schema"
        if found.schema is None:
            return "valid"
        return "valid" if found.schema.passes(data) else "invalid"

    def validate(self, obj: K8sObject) -> list[Finding]:
        """Findings for one object: not an object, unknown kind, or every schema error with its line."""
        data = obj.data
        missing = [f for f in ("apiVersion", "kind") if not isinstance(data.get(f), str) or not data.get(f)]
        if missing:
            return [finding_for(obj, "schema", "error",
                                f"not a Kubernetes object: {' and '.join(missing)} missing", ())]
        found = self.schema_for(obj.api_version, obj.kind)
        if found is None:
            return [finding_for(obj, "unknown-kind", "error" if self.strict_kinds else "warning",
                                f"no schema for {obj.kind} {obj.api_version} in Kubernetes {self.version}: "
                                "add its CustomResourceDefinition to the input or to --crd-dir", ("kind",))]
        if found.schema is None or found.schema.passes(data):
            return []
        return self._error_findings(obj, found.schema, found.source)

    def _error_findings(self, obj: K8sObject, schema: Schema, source: str) -> list[Finding]:
        findings: list[Finding] = []
        for error in schema.errors(obj.data):
            findings.extend(finding_for(obj, "schema", "error", f"{dotted(p.path)}: {p.message}", p.path)
                            for p in problems(error))
            if len(findings) >= MAX_ERRORS_PER_OBJECT:
                break
        if not findings:  # cannot happen when passes() said no; keep the verdict honest anyway
            findings.append(finding_for(obj, "schema", "error", f"does not match the schema ({source})", ()))
        return findings[:MAX_ERRORS_PER_OBJECT]


# --------------------------------------------------------------------------- messages


def dotted(path: Iterable[Any]) -> str:
    """`spec.template.spec.containers[0].image` from a path of keys and indexes."""
    return field_name(path) or "(object)"


# --------------------------------------------------------------------------- rule docs


def schema_rule_infos() -> list[RuleInfo]:
    """Documentation of the findings this layer produces."""
    return [
        RuleInfo(
            id="schema", severity="error", title="Object does not match its Kubernetes or custom-resource schema",
            category="schema",
            rationale="The API server rejects (or, for unknown fields, silently drops) what its schema does not "
                      "allow; a misspelled field is a setting that never takes effect. Schemas are strict: an "
                      "unknown field is an error, like `kubectl apply --validate=strict`.",
            fix="Correct the field at the reported line; the message suggests the closest known field name.",
            pass_examples=[_EXAMPLE_CONFIGMAP],
            fail_examples=[_EXAMPLE_CONFIGMAP.replace("data:", "dta:")],
            source="shipcard/check/schema.py"),
        RuleInfo(
            id="unknown-kind", severity="warning", title="No schema is known for this apiVersion and kind",
            category="schema",
            rationale="Without a schema nothing about the object is validated. Custom resources are validated "
                      "when their CustomResourceDefinition is part of the input or of --crd-dir, or when shipcard "
                      "bundles their schema (Argo CD, External Secrets, Sealed Secrets). An error with "
                      "--strict-kinds.",
            fix="Add the CRD to the checked paths or to --crd-dir, or fix a misspelled apiVersion or kind.",
            pass_examples=[_EXAMPLE_CONFIGMAP],
            fail_examples=["apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"],
            source="shipcard/check/schema.py"),
    ]


_EXAMPLE_CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  LOG_LEVEL: info\n"
