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

Message placeholders: {ref} {kind} {name} {namespace} {container} {path} (the failing
field, relative to the target) {field} (its last key) {entry} (the `name` of the list item
it is in, e.g. an env var) {value} (the failing scalar, shortened; never use it in rules
about secret values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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
    remote_refs,
    schema_key,
)
from shipcard.yamlio.read import PathKey, load_documents, read_text

TARGETS = ("object", "podSpec", "container", "jobSpec")
DEFAULT_CONTAINER_GROUPS = ("initContainers", "containers")
RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED_KEYS = ("id", "severity", "category", "title", "rationale", "fix", "target", "schema", "message", "examples")
OPTIONAL_KEYS = ("kinds", "containers", "description")


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

    @property
    def id(self) -> str:
        return self.info.id

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
        full = _null_key_path(p, full, missing)
        message = self._message(p, instance, relative, container)
        line, column = p.obj.position(full)
        out.append(Finding(rule=self.info.id, severity=self.info.severity, message=message, file=p.obj.file,
                           line=line, column=column, object_ref=p.obj.ref, path=full,
                           container=container.name if container else None, help=self.info.fix,
                           origin=p.obj.origin))

    def _message(self, p: Prepared, instance: Any, relative: PathKey, container: Container | None) -> str:
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
        fields = {
            "ref": p.obj.ref, "kind": p.kind, "name": p.obj.name, "namespace": p.obj.namespace or "",
            "container": container.name if container else "", "path": format_path(relative),
            "field": next((str(s) for s in reversed(relative) if isinstance(s, str)), ""),
            "entry": entry or "", "value": value if value is not None else "",
        }
        try:
            return self.message.format_map(_Fields(fields)).strip()
        except (ValueError, IndexError, AttributeError, KeyError):
            return self.message


def _null_key_path(p: Prepared, path: PathKey, missing: Any) -> PathKey:
    """`path` + the first required key that is missing only because it was written as null.

    Normalisation drops null keys; the finding then points at the `key:` line people wrote.
    """
    here = p.obj.position(path)
    for key in missing if isinstance(missing, list) else ():
        if isinstance(key, str) and p.obj.position((*path, key)) != here:
            return (*path, key)
    return path


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
    refs = remote_refs(data["schema"], ("schema",))
    validate: Callable[[Any], Any] | None = None
    try:
        if not refs:  # a rule naming remote schemas is compiled only when they may be fetched
            validate = compile_schema(data["schema"], rule_id, cache_key=f"rule|{schema_key(data['schema'])}")
    except SchemaDefinitionError as exc:
        raise fail("schema", f"invalid JSON Schema: {exc}") from None
    info = RuleInfo(id=rule_id, severity=data["severity"], title=data["title"].strip(),
                    category=data["category"].strip(), rationale=_squash(data["rationale"]),
                    fix=_squash(data["fix"]), pass_examples=list(examples["pass"]),
                    fail_examples=list(examples["fail"]), source=filename)
    return DataRule(info=info, target=data["target"], kinds=frozenset(kinds) if kinds else None,
                    container_groups=frozenset(groups), schema=data["schema"], message=data["message"].strip(),
                    description=description.strip(), validate=validate, file=path,
                    remote_refs=tuple((*doc.line_of(where), ref) for where, ref in refs))


def _squash(text: str) -> str:
    """Folded prose: paragraphs kept, lines inside a paragraph joined."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)
