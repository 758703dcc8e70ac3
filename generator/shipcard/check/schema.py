"""Layer 2 and 3 of `shipcard check`: Kubernetes and custom-resource schemas.

Built-in kinds use the strict JSON Schemas that kubernetes-validate ships and give the
same verdict as `kubernetes_validate.validate(obj, version, strict=True)`, fast:

* one validator per (apiVersion, kind), compiled once by fastjsonschema from a
  self-contained copy of the schema (its `$ref`s into `_definitions.json` rewritten to
  local `$defs`), and kept as bytecode in a cache directory across runs;
* the fast validator only says yes or no; an object it rejects is validated again by
  jsonschema (draft 2020-12, like kubernetes-validate) for every error with its path,
  so messages and verdicts are jsonschema's.

Custom resources are validated with, in this order: a CustomResourceDefinition from the
input or `--crd-dir` (its served versions' openAPIV3Schema, made strict), a schema bundled
in `shipcard.schemas`, and finally kubernetes-validate's own file naming (which is how
it treats any apiVersion). A kind with no schema is `unknown-kind`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.util
import json
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import fastjsonschema
import kubernetes_validate

from shipcard.check.model import Finding, K8sObject, RuleInfo, finding_for
from shipcard.errors import ShipcardError
from shipcard.yamlio.dump import write_bytes_atomic
from shipcard.yamlio.read import PathKey

SCHEMA_ROOT = Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"
DEFINITIONS_FILE = "_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
MAX_ERRORS_PER_OBJECT = 20
CODEGEN_VERSION = "1"  # bump when the generated validators change shape

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


def parse_version(text: str) -> tuple[int, int]:
    """`1.30`, `v1.30` or `1.30.2` → (1, 30); ShipcardError otherwise."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise ShipcardError(f"--kubernetes-version {text!r}: expected MAJOR.MINOR such as 1.30")
    return int(match[1]), int(match[2])


def schema_version_for(target: tuple[int, int]) -> tuple[int, int]:
    """The newest shipped schema set not newer than `target` (the oldest one for older targets)."""
    versions = shipped_versions()
    if target > versions[-1]:
        raise ShipcardError(f"--kubernetes-version {target[0]}.{target[1]}: the newest schemas shipped are for "
                            f"{versions[-1][0]}.{versions[-1][1]} (upgrade kubernetes-validate)")
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


# --------------------------------------------------------------------------- compiled validators


def cache_dir() -> Path | None:
    """Where compiled validators are kept: $SHIPCARD_CACHE_DIR, else the user cache directory."""
    configured = os.environ.get("SHIPCARD_CACHE_DIR")
    if configured:
        return Path(configured) / "schemas"
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "shipcard" / "schemas"


_CACHE_MAGIC = b"shipcard-schema:" + importlib.util.MAGIC_NUMBER


@dataclass
class CompiledSchema:
    """One kind's schema: a fast yes/no validator and, built on demand, a detailed one."""

    label: str
    build: Callable[[], dict[str, Any]]  # the self-contained JSON Schema
    cache_key: str | None  # None: do not compile with fastjsonschema (use jsonschema only)
    source: str = ""  # the CRD or file it came from, for messages
    _fast: Callable[[Any], Any] | None = field(default=None, init=False, repr=False)
    _fast_failed: bool = field(default=False, init=False, repr=False)

    @cached_property
    def schema(self) -> dict[str, Any]:
        return self.build()

    @cached_property
    def detailed(self) -> Any:
        from jsonschema import Draft202012Validator  # imported only when an object fails
        return Draft202012Validator(self.schema)

    def is_valid(self, data: Any) -> bool:
        fast = self._fast_validator()
        if fast is None:
            return self.detailed.is_valid(data)
        try:
            fast(data)
            return True
        except fastjsonschema.JsonSchemaValueException:
            # jsonschema has the last word, so that verdicts are exactly kubernetes-validate's.
            return self.detailed.is_valid(data)
        except (RecursionError, TypeError, ValueError):
            return self.detailed.is_valid(data)

    def errors(self, data: Any) -> list[Any]:
        return sorted(self.detailed.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])

    def _fast_validator(self) -> Callable[[Any], Any] | None:
        if self._fast is None and not self._fast_failed and self.cache_key is not None:
            try:
                self._fast = _load_or_compile(self.cache_key, self.label, lambda: self.schema)
            except Exception:  # a schema fastjsonschema cannot compile: jsonschema alone still works
                self._fast_failed = True
        return self._fast


def _load_or_compile(cache_key: str, label: str, schema: Callable[[], dict[str, Any]]) -> Callable[[Any], Any]:
    key = hashlib.sha256(f"{CODEGEN_VERSION}|{fastjsonschema.VERSION}|{sys.version}|{cache_key}".encode()).hexdigest()
    directory = cache_dir()
    path = directory / f"{key}.bin" if directory else None
    code = None
    if path is not None:
        try:
            blob = path.read_bytes()
            if blob.startswith(_CACHE_MAGIC):
                code = marshal.loads(blob[len(_CACHE_MAGIC):])
        except (OSError, ValueError, EOFError, TypeError):
            code = None
    if code is None:
        source = fastjsonschema.compile_to_code(schema(), use_formats=False, use_default=False)
        code = compile(source, f"<schema {label}>", "exec")
        if path is not None:
            try:
                write_bytes_atomic(path, _CACHE_MAGIC + marshal.dumps(code))
            except OSError:
                pass  # a read-only home is fine: compile again next time
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["validate"]


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

    def compiled(self, api_version: str, kind: str) -> CompiledSchema | None:
        name = builtin_schema_name(api_version, kind)
        if not self.has(name):
            return None
        version = f"{self.version[0]}.{self.version[1]}"
        return CompiledSchema(
            label=f"{kind} {api_version}", build=lambda: self.self_contained(self._read(name)),
            cache_key=f"builtin|{kubernetes_validate.__version__}|{self.directory.name}|{name}",
            source=f"Kubernetes {version} ({name})")

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


def bundled_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """A schema shipped in `shipcard.schemas` (Argo CD, External Secrets, Sealed Secrets), if any."""
    try:
        from shipcard.schemas import crd_schema
    except ImportError:
        return None
    return crd_schema(api_version, kind)


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
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
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
    try:
        re.compile(pattern)
        return True
    except (re.error, TypeError):
        return False


# --------------------------------------------------------------------------- the layer


@dataclass
class KindSchema:
    compiled: CompiledSchema | None  # None: known kind without a schema (a CRD without one)
    origin: str  # "kubernetes" | "crd" | "bundled"


class SchemaValidator:
    """Validates objects against the schema of their (apiVersion, kind), each compiled once."""

    def __init__(self, kubernetes_version: str | None = None, *, strict_kinds: bool = False) -> None:
        target = parse_version(kubernetes_version) if kubernetes_version else shipped_versions()[-1]
        self.target = target
        self.schema_version = schema_version_for(target)
        self.builtin = BuiltinSchemas(self.schema_version)
        self.strict_kinds = strict_kinds
        self._crds: dict[tuple[str, str], CrdVersion] = {}
        self._kinds: dict[tuple[str, str], KindSchema | None] = {}

    @property
    def version(self) -> str:
        return f"{self.target[0]}.{self.target[1]}"

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
        digest = hashlib.sha256(json.dumps(structural, sort_keys=True, default=str).encode()).hexdigest()
        builtin = self.builtin
        compiled = CompiledSchema(
            label=f"{version.kind} {version.api_version}",
            build=lambda: builtin.self_contained(structural, extra_refs=[OBJECT_META]),
            cache_key=f"crd|{builtin.directory.name}|{digest}", source=f"CRD in {version.source.file}")
        return KindSchema(compiled, "crd")

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
            bundled = bundled_schema(api_version, kind)
            if bundled is not None:
                schema = copy.deepcopy(bundled)
                return KindSchema(CompiledSchema(label=f"{kind} {api_version}", build=lambda: schema, cache_key=None,
                                                 source="shipcard's bundled schema"), "bundled")
        compiled = self.builtin.compiled(api_version, kind)
        if compiled is not None:
            return KindSchema(compiled, "kubernetes")
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
        if found.compiled is None:
            return "valid"
        return "valid" if found.compiled.is_valid(data) else "invalid"

    def validate(self, obj: K8sObject) -> list[Finding]:
        """Findings for one object: not an object, unknown kind, or every schema error with its line."""
        data = obj.data
        missing = [f for f in ("apiVersion", "kind") if not isinstance(data.get(f), str) or not data.get(f)]
        if missing:
            return [finding_for(obj, "schema", "error",
                                f"not a Kubernetes object: {' and '.join(missing)} missing", ())]
        found = self.schema_for(obj.api_version, obj.kind)
        if found is None:
            severity = "error" if self.strict_kinds else "warning"
            return [finding_for(obj, "unknown-kind", severity,
                                f"no schema for {obj.kind} {obj.api_version} in Kubernetes {self.version}: "
                                "add its CustomResourceDefinition to the input or to --crd-dir", ("kind",))]
        if found.compiled is None or found.compiled.is_valid(data):
            return []
        return self._error_findings(obj, found.compiled)

    def _error_findings(self, obj: K8sObject, compiled: CompiledSchema) -> list[Finding]:
        findings: list[Finding] = []
        for error in compiled.errors(obj.data):
            findings.extend(_describe(obj, error))
            if len(findings) >= MAX_ERRORS_PER_OBJECT:
                break
        if not findings:  # cannot happen when is_valid said no; keep the verdict honest anyway
            findings.append(finding_for(obj, "schema", "error", f"does not match the schema ({compiled.source})", ()))
        return findings[:MAX_ERRORS_PER_OBJECT]


# --------------------------------------------------------------------------- messages


def dotted(path: Iterable[Any]) -> str:
    """`spec.template.spec.containers[0].image` from a path of keys and indexes."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text or "(object)"


def _describe(obj: K8sObject, error: Any) -> list[Finding]:
    """One jsonschema error as findings: one per unknown field or missing field, at its line."""
    path: PathKey = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict) and error.validator_value is False:
        known = list((error.schema.get("properties") or {}).keys())
        patterns = list((error.schema.get("patternProperties") or {}).keys())
        findings = []
        for extra in error.instance:
            if extra in known or any(re.search(p, str(extra)) for p in patterns):
                continue
            hint = difflib.get_close_matches(str(extra), known, n=1, cutoff=0.7)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            findings.append(finding_for(obj, "schema", "error",
                                        f"unknown field {dotted((*path, extra))}{suggestion}", (*path, extra)))
        return findings
    if kind == "required" and isinstance(error.instance, dict):
        missing = re.match(r"'(.*)' is a required property", error.message)
        name = missing[1] if missing else str(error.validator_value)
        return [finding_for(obj, "schema", "error", f"missing required field {dotted((*path, name))}", path)]
    if kind == "type":
        wanted = [t for t in _as_list(error.validator_value) if t != "null"] or _as_list(error.validator_value)
        return [finding_for(obj, "schema", "error",
                            f"{dotted(path)} must be {' or '.join(wanted)}, not {_json_type(error.instance)}"
                            f" ({_short(error.instance)})", path)]
    if kind in ("enum", "const"):
        allowed = [v for v in _as_list(error.validator_value) if v is not None]
        return [finding_for(obj, "schema", "error",
                            f"{dotted(path)} is {_short(error.instance)}; allowed: "
                            f"{', '.join(_short(v) for v in allowed)}", path)]
    if kind in ("oneOf", "anyOf"):
        options = error.validator_value if isinstance(error.validator_value, list) else []
        types = [t for s in options if isinstance(s, dict) and set(s) == {"type"}
                 for t in _as_list(s["type"]) if t != "null"]
        if options and len(types) >= len(options):
            return [finding_for(obj, "schema", "error",
                                f"{dotted(path)} must be {' or '.join(types)}, not {_json_type(error.instance)}", path)]
        if error.context:
            from jsonschema.exceptions import best_match
            best = best_match(error.context)
            if best is not None:
                return _describe(obj, best)
    return [finding_for(obj, "schema", "error", f"{dotted(path)}: {error.message}", path)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
