"""Data rules: one YAML file per rule, a JSON Schema that a target must satisfy.

A policy file (`policies/<category>/<rule-id>.yaml`) holds::

    id: privileged-container          # must equal the file name without .yaml
    severity: error                   # error | warning | info
    category: security
    title: ...                        # one line
    rationale: ...                    # why it matters
    fix: ...                          # what to change
    target: container                 # object | podSpec | container | jobSpec
    kinds: [Deployment, ...]          # optional: only objects of these kinds
    containers: [containers]          # optional, container target only (default: containers, initContainers)
    schema: {...}                     # JSON Schema (draft-07); a target that is valid PASSES
    message: 'container "{container}" ...'
    description: ...                  # optional longer documentation
    params:                           # optional: what shipcard.yaml's check.rules.<id>.params may set
      labels: {type: strings, default: [app.kubernetes.io/name], description: ...}
    examples:
      pass: ["<manifest YAML>", ...]  # each yields no finding of this rule
      fail: ["<manifest YAML>", ...]  # each yields at least one

Targets, and what the schema sees:

* `object` — the whole object (filter with `kinds`).
* `podSpec` — the pod spec of every pod-bearing kind (Pod, Deployment, StatefulSet,
  DaemonSet, ReplicaSet, ReplicationController, Job, CronJob).
* `container` — each container of those pod specs. Its `securityContext` is the
  *effective* one: pod-level runAsUser, runAsGroup, runAsNonRoot, seccompProfile,
  seLinuxOptions, appArmorProfile and windowsOptions fill in what the container does
  not set itself, as the kubelet does. A finding about an inherited field points at the
  pod-level line.
* `jobSpec` — the spec of a Job, and the job template spec of a CronJob.

Parameters: a mapping `{$param: NAME}` anywhere in the schema stands for the parameter's
value (its default, or what `check.rules.<id>.params` sets). Types: `integer`, `string`,
`strings` (a list of strings; as an item of a list it is spliced into that list) and
`patterns` (a list of regular expressions RE2 accepts; it stands for the one pattern that
matches where any of them does, so it belongs under `pattern:`).

Message placeholders: {ref} {kind} {name} {namespace} {container} {path} (the failing
field, relative to the target) {field} (its last key) {entry} (the `name` of the list item
it is in, e.g. an env var) {value} (the failing scalar, shortened; never use it in rules
about secret values).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from shipcard.check.model import SEVERITY_ORDER, Finding, RuleInfo
from shipcard.check.rules.kube import CONTAINER_GROUPS, Container, Prepared
from shipcard.errors import InputError, Location, ShipcardError
from shipcard.validation import (
    FastFailure,
    SchemaDefinitionError,
    compile_schema,
    nonlinear_patterns,
    pattern_problem,
    remote_refs,
    schema_key,
)
from shipcard.yamlio.read import PathKey, load_documents, read_text

TARGETS = ("object", "podSpec", "container", "jobSpec")
DEFAULT_CONTAINER_GROUPS = ("initContainers", "containers")
RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED_KEYS = ("id", "severity", "category", "title", "rationale", "fix", "target", "schema", "message", "examples")
OPTIONAL_KEYS = ("kinds", "containers", "description", "params")
_STRINGS = {"type": "array", "items": {"type": "string"}}
PARAM_TYPES: dict[str, dict[str, Any]] = {"integer": {"type": "integer"}, "string": {"type": "string"},
                                          "strings": _STRINGS, "patterns": _STRINGS}
PARAM_KEYS = ("type", "default", "description")
_LEADING_FLAGS = re.compile(r"^\(\?([imsU]+)\)")
NEVER_MATCHES = r"[^\s\S]"  # what an empty list of patterns stands for


class PolicyError(ShipcardError):
    """A policy file or rule module that cannot be used (exit code 2)."""


@dataclass
class DataRule:
    info: RuleInfo
    target: str
    kinds: frozenset[str] | None
    container_groups: frozenset[str]
    schema: dict[str, Any]
    message: str
    description: str
    validate: Callable[[Any], Any] | None  # None until its remote `$ref`s are fetched (`fetch_remote_refs`)
    file: Path | None = None
    remote_refs: tuple[tuple[int, int, str], ...] = ()  # (line, column, ref) of each `$ref` outside the schema
    template: dict[str, Any] | None = None  # the schema as written, `{$param: NAME}` not yet replaced
    declared: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> type, default, description, schema
    params: dict[str, Any] = field(default_factory=dict)  # effective values, defaults filled in

    @property
    def id(self) -> str:
        return self.info.id

    def with_params(self, values: dict[str, Any]) -> DataRule:
        """This rule with `values` (already checked by `param_problem`) in place of its parameters."""
        params = {**self.params, **values}
        schema = substitute_params(self.template if self.template is not None else self.schema,
                                   self.declared, params)
        validate = None if self.remote_refs else compile_schema(schema, self.id,
                                                                cache_key=f"rule|{schema_key(schema)}")
        return dataclasses.replace(self, schema=schema, validate=validate, params=params)

    def fetch_remote_refs(self) -> None:
        """Compile the schema, fetching what its `$ref`s name (`check --allow-remote` only)."""
        if self.validate is None:
            try:
                self.validate = compile_schema(self.schema, self.id, fetch_remote=True)
            except SchemaDefinitionError as exc:
                raise PolicyError(f"{self.file}: schema: invalid JSON Schema: {exc}") from None

    def applies_to_kind(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    # ------------------------------------------------------------------ evaluation

    def check_object(self, p: Prepared, out: list[Finding]) -> None:
        self._run(p, p.obj.data, (), None, out)

    def check_pod(self, p: Prepared, out: list[Finding]) -> None:
        assert p.pod_path is not None
        self._run(p, p.pod_spec, p.pod_path, None, out)

    def check_job(self, p: Prepared, out: list[Finding]) -> None:
        assert p.job_path is not None
        self._run(p, p.job_spec, p.job_path, None, out)

    def check_containers(self, p: Prepared, out: list[Finding]) -> None:
        groups = self.container_groups
        for c in p.containers:
            if c.group in groups:
                self._run(p, c.effective, c.path, c, out)

    def _run(self, p: Prepared, instance: Any, prefix: PathKey, container: Container | None,
             out: list[Finding]) -> None:
        if self.validate is None:
            return  # a schema whose remote `$ref`s were not fetched checks nothing (schema-remote-ref says so)
        try:
            self.validate(instance)
            return
        except FastFailure as exc:
            relative = resolve_error_path(exc.name or "", instance)
            missing = exc.rule_definition if exc.rule == "required" else []
        except Exception as exc:
            out.append(rule_crash(self.info, p, exc))
            return
        if container is not None and len(relative) >= 2 and relative[0] == "securityContext" \
                and relative[1] in container.inherited:
            full = (*(p.pod_path or ()), *relative)
        else:
            full = (*prefix, *relative)
        full, (line, column) = _null_key_path(p, full, missing)
        message = self._message(p, instance, relative, container)
        out.append(Finding(rule=self.info.id, severity=self.info.severity, message=message, file=p.obj.file,
                           line=line, column=column, object_ref=p.obj.ref, path=full,
                           container=container.name if container else None, help=self.info.fix,
                           origin=p.obj.origin))

    @cached_property
    def _placeholders(self) -> frozenset[str]:
        """The placeholders the message may use (a superset: `{{x}}` counts), so that only those are worked out."""
        return frozenset(re.findall(r"\{(\w+)", self.message))

    def _message(self, p: Prepared, instance: Any, relative: PathKey, container: Container | None) -> str:
        used = self._placeholders
        fields = _Fields({key: value for key, value in p.message_fields.items() if key in used})
        if "container" in used:
            fields["container"] = container.name if container else ""
        if "path" in used:
            fields["path"] = format_path(relative)
        if "field" in used:
            fields["field"] = next((str(s) for s in reversed(relative) if isinstance(s, str)), "")
        if "entry" in used or "value" in used:
            fields["entry"], fields["value"] = _entry_and_value(instance, relative)
        try:
            return self.message.format_map(fields).strip()
        except (ValueError, IndexError, AttributeError, KeyError):
            return self.message


def _entry_and_value(instance: Any, relative: PathKey) -> tuple[str, str]:
    """The `name` of the list item the failing field is in, and the failing scalar (shortened)."""
    value, entry, node = None, None, instance
    for step in relative:
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                entry = node["name"]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            node = None
            break
    if isinstance(node, (str, int, float, bool)):
        value = str(node)
        if len(value) > 200:
            value = value[:197] + "..."
    return entry or "", value if value is not None else ""


def _null_key_path(p: Prepared, path: PathKey, missing: Any) -> tuple[PathKey, tuple[int, int]]:
    """`path` + the first required key that is missing only because it was written as null, and its position.

    Normalisation drops null keys; the finding then points at the `key:` line people wrote.
    """
    here = p.obj.position(path)
    for key in missing if isinstance(missing, list) else ():
        if isinstance(key, str):
            there = p.obj.position((*path, key))
            if there != here:
                return (*path, key), there
    return path, here


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"



def format_path(path: PathKey) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def resolve_error_path(name: str, instance: Any) -> PathKey:
    """fastjsonschema's `data.a.b[2].c` back to a path, walking the instance (keys may contain dots)."""
    rest = name[4:] if name.startswith("data") else name
    path: list[str | int] = []
    node = instance
    while rest:
        if rest[0] == "[":
            end = rest.find("]")
            if end < 0:
                break
            try:
                index = int(rest[1:end])
            except ValueError:
                break
            path.append(index)
            node = node[index] if isinstance(node, list) and 0 <= index < len(node) else None
            rest = rest[end + 1:]
        elif rest[0] == ".":
            rest = rest[1:]
            best = None
            if isinstance(node, dict):
                for key in node:
                    k = str(key)
                    if rest.startswith(k) and (len(rest) == len(k) or rest[len(k)] in ".[") \
                            and (best is None or len(k) > len(best)):
                        best = k
            if best is None:
                match = re.match(r"[^.\[]*", rest)
                path.append(match.group(0) if match else rest)
                break
            path.append(best)
            node = node[best] if isinstance(node, dict) else None
            rest = rest[len(best):]
        else:
            break
    return tuple(path)


def rule_crash(info: RuleInfo, p: Prepared, exc: BaseException) -> Finding:
    line, column = p.obj.position(())
    return Finding(rule=info.id, severity="error", file=p.obj.file, line=line, column=column,
                   object_ref=p.obj.ref, origin=p.obj.origin,
                   message=f"rule {info.id} failed on this object ({type(exc).__name__}: {exc}); "
                           "the object was not checked by it")


# --------------------------------------------------------------------------- loading


def load_data_rule(path: Path, source: str | None = None, *, linear_only: bool = False) -> DataRule:
    """Read and compile one policy file; PolicyError with file:line on any problem.

    `source` is how RuleInfo.source names the file (default: the path as given). `linear_only` refuses a
    pattern RE2 cannot compile (a rule from repository content); shipcard's own lookaround patterns are
    matched by Python's re and held to linear time by tests/hardening/test_linear_time.py.
    """
    filename = source or str(path)
    try:
        documents = list(load_documents(read_text(path), filename))
    except InputError as exc:
        raise PolicyError(f"invalid policy file: {exc}") from None
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise PolicyError(f"{filename}: a policy file holds one mapping (the rule)")
    doc = documents[0]
    data: dict[str, Any] = doc.data

    def fail(key: str, message: str) -> PolicyError:
        line, column = doc.line_of((key,)) if key else (0, 0)
        return PolicyError(f"{Location(filename, line, column)}: {key + ': ' if key else ''}{message}")

    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise fail("", f"missing key {key!r}")
    for key in ("id", "severity", "category", "title", "rationale", "fix", "target", "message"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise fail(key, "must be a non-empty string")
    rule_id = data["id"]
    if not RULE_ID.match(rule_id):
        raise fail("id", "must be lower-case words joined by '-'")
    if rule_id != path.stem:
        raise fail("id", f"must equal the file name ({path.stem!r})")
    if data["severity"] not in SEVERITY_ORDER:
        raise fail("severity", "must be error, warning or info")
    if data["target"] not in TARGETS:
        raise fail("target", f"must be one of {', '.join(TARGETS)}")
    kinds = data.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds)):
        raise fail("kinds", "must be a non-empty list of kind names")
    groups = data.get("containers", list(DEFAULT_CONTAINER_GROUPS))
    if "containers" in data and data["target"] != "container":
        raise fail("containers", "only for target: container")
    if not isinstance(groups, list) or not groups or not set(groups) <= set(CONTAINER_GROUPS):
        raise fail("containers", f"must be a list out of {', '.join(CONTAINER_GROUPS)}")
    if not isinstance(data["schema"], dict):
        raise fail("schema", "must be a JSON Schema (a mapping)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    examples = data["examples"]
    if not isinstance(examples, dict) or set(examples) != {"pass", "fail"}:
        raise fail("examples", "must have exactly `pass` and `fail` lists")
    for key in ("pass", "fail"):
        items = examples[key]
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise fail("examples", f"`{key}` must be a non-empty list of manifests (YAML strings)")
    for where, _pattern in nonlinear_patterns(data["schema"], ("schema",)) if linear_only else ():
        line, column = doc.line_of(where)
        raise PolicyError(f"{Location(filename, line, column)}: {format_path(where)}: RE2 cannot compile this "
                          "pattern (backreferences and lookaround are not matched in linear time); "
                          "write it in RE2 syntax")
    declared = _declared_params(data.get("params", {}), doc, fail, filename)
    template = data["schema"]
    used = _param_references(template, declared, doc, filename)
    if set(declared) - used:
        raise fail("params", f"{sorted(set(declared) - used)[0]!r} is declared but the schema never uses it")
    params = {name: spec["default"] for name, spec in declared.items()}
    schema = substitute_params(template, declared, params) if declared else template
    refs = remote_refs(schema, ("schema",))
    validate: Callable[[Any], Any] | None = None
    try:
        if not refs:  # a rule naming remote schemas is compiled only when they may be fetched
            validate = compile_schema(schema, rule_id, cache_key=f"rule|{schema_key(schema)}")
    except SchemaDefinitionError as exc:
        raise fail("schema", f"invalid JSON Schema: {exc}") from None
    info = RuleInfo(id=rule_id, severity=data["severity"], title=data["title"].strip(),
                    category=data["category"].strip(), rationale=_squash(data["rationale"]),
                    fix=_squash(data["fix"]), pass_examples=list(examples["pass"]),
                    fail_examples=list(examples["fail"]), source=filename)
    return DataRule(info=info, target=data["target"], kinds=frozenset(kinds) if kinds else None,
                    container_groups=frozenset(groups), schema=schema, message=data["message"].strip(),
                    description=description.strip(), validate=validate, file=path,
                    remote_refs=tuple((*doc.line_of(where), ref) for where, ref in refs),
                    template=template if declared else None, declared=declared, params=params)


def param_problem(spec: dict[str, Any], value: Any) -> str | None:
    """Why `value` cannot be the parameter `spec` declares (type, then RE2 for patterns), or None."""
    kind = spec.get("type")
    wanted = {"integer": "an integer", "string": "a string", "strings": "a list of strings",
              "patterns": "a list of regular expressions (strings)"}
    if kind not in PARAM_TYPES:
        return None  # a Python rule's parameter: its JSON Schema decides (check.rules)
    if not _of_type(kind, value):
        return f"must be {wanted[kind]}"
    if kind == "patterns":
        for index, pattern in enumerate(value):
            problem = pattern_problem(pattern)
            if problem is None:
                try:
                    re.compile(_scoped(pattern))  # fastjsonschema's generated code compiles it with re too
                except re.error as exc:
                    problem = str(exc)
            if problem is not None:
                return f"item {index} is not a regular expression RE2 accepts: {problem}"
    return None


def _of_type(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _scoped(pattern: str) -> str:
    """`(?i)abc` as `(?i:abc)`: leading flags kept to this pattern once it is one alternative of several."""
    match = _LEADING_FLAGS.match(pattern)
    return f"(?{match.group(1)}:{pattern[match.end():]})" if match else f"(?:{pattern})"


def joined_patterns(patterns: list[str]) -> str:
    """One pattern that matches where any of `patterns` does (RE2 runs it in one pass)."""
    return "|".join(_scoped(p) for p in patterns) if patterns else NEVER_MATCHES


def substitute_params(schema: Any, declared: dict[str, dict[str, Any]], values: dict[str, Any]) -> Any:
    """`schema` with every `{$param: NAME}` replaced by the parameter's value (see the module docstring)."""
    def value_of(node: Any) -> tuple[bool, Any]:
        if isinstance(node, dict) and len(node) == 1 and "$param" in node:
            name = node["$param"]
            kind = declared[name]["type"]
            return True, joined_patterns(values[name]) if kind == "patterns" else values[name]
        return False, None

    def walk(node: Any) -> Any:
        is_param, value = value_of(node)
        if is_param:
            return value
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            out: list[Any] = []
            for item in node:
                is_param, value = value_of(item)
                if is_param and declared[item["$param"]]["type"] == "strings":
                    out.extend(value)
                else:
                    out.append(walk(item))
            return out
        return node

    return walk(schema)


def _declared_params(raw: Any, doc: Any, fail: Callable[[str, str], PolicyError],
                     filename: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise fail("params", "must map each parameter's name to its type, default and description")
    declared = {}
    for name, spec in raw.items():
        line, column = doc.line_of(("params", name))
        where = f"{Location(filename, line, column)}: params.{name}"
        if not isinstance(name, str) or not RULE_ID.match(name):
            raise PolicyError(f"{where}: a parameter's name is lower-case words joined by '-'")
        if not isinstance(spec, dict) or set(spec) != set(PARAM_KEYS):
            raise PolicyError(f"{where}: needs exactly {', '.join(PARAM_KEYS)}")
        if spec["type"] not in PARAM_TYPES:
            raise PolicyError(f"{where}: type must be one of {', '.join(PARAM_TYPES)}")
        if not isinstance(spec["description"], str) or not spec["description"].strip():
            raise PolicyError(f"{where}: description must be a non-empty string")
        problem = param_problem(spec, spec["default"])
        if problem is not None:
            raise PolicyError(f"{where}: default {problem}")
        declared[name] = {**spec, "description": _squash(spec["description"]),
                          "schema": PARAM_TYPES[spec["type"]]}
    return declared


def _param_references(schema: Any, declared: dict[str, dict[str, Any]], doc: Any, filename: str,
                      path: PathKey = ("schema",)) -> set[str]:
    """The parameters `schema` uses; PolicyError at the reference naming an undeclared one."""
    used: set[str] = set()
    if isinstance(schema, dict):
        if "$param" in schema:
            name = schema["$param"]
            if len(schema) != 1 or not isinstance(name, str) or name not in declared:
                line, column = doc.line_of(path)
                known = ", ".join(declared) or "none"
                raise PolicyError(f"{Location(filename, line, column)}: {format_path(path)}: `$param` is a "
                                  f"mapping of its own naming a declared parameter (declared: {known})")
            return {name}
        for key, item in schema.items():
            used |= _param_references(item, declared, doc, filename, (*path, key))
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            used |= _param_references(item, declared, doc, filename, (*path, index))
    return used


def _squash(text: str) -> str:
    """Folded prose: paragraphs kept, lines inside a paragraph joined."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)
