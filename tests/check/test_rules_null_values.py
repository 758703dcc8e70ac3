"""Issue 15: a blank value must not satisfy a rule. Generated from every data rule's FAIL examples.

For each FAIL example, every field the rule's schema reads (by name, relative to the rule's
target) is a candidate. A field is *relevant* when the example still fails with the field
deleted: the rule demands something there, so leaving it out is a violation too (a field whose
deletion makes the example pass, such as `privileged: true`, is the violation itself). For a
relevant field:

* set to null, the example must still fail (the API server treats null as unset);
* set to an empty mapping or list (for a mapping or list field), it must still fail, unless that
  made the object schema-invalid, which the API server refuses anyway (`seccompProfile: {}`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from shipcard.check.model import K8sObject
from shipcard.check.rules import DataRule, load_rules
from shipcard.check.rules.kube import CONTAINER_GROUPS, INHERITED_SECURITY_FIELDS, JOB_SPEC_PATHS, POD_SPEC_PATHS
from shipcard.check.schema import SchemaValidator
from shipcard.yamlio.read import PathKey
from tests.check.rule_examples import example_objects

RULES = load_rules()
VALIDATOR = SchemaValidator()
DATA_RULES = [r for r in RULES if isinstance(r, DataRule)]


def schema_paths(schema: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Property names the schema reads, as key paths (list items are transparent)."""
    out: set[tuple[str, ...]] = set()
    if not isinstance(schema, dict):
        return out
    for name, sub in (schema.get("properties") or {}).items():
        out.add((*prefix, name))
        out |= schema_paths(sub, (*prefix, name))
    out |= {(*prefix, name) for name in schema.get("required") or [] if isinstance(name, str)}
    for key in ("items", "additionalItems", "contains", "not", "if", "then", "else", "additionalProperties"):
        subs = schema.get(key)
        for sub in subs if isinstance(subs, list) else [subs]:
            out |= schema_paths(sub, prefix)
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in schema.get(key) or []:
            out |= schema_paths(sub, prefix)
    return out


def target_roots(rule: DataRule, data: dict[str, Any]) -> Iterator[tuple[PathKey, PathKey]]:
    """(path of a target inside the object, the part of it the schema's paths start after)."""
    kind = str(data.get("kind"))
    if rule.target == "object":
        yield (), ()
    elif rule.target == "podSpec" and kind in POD_SPEC_PATHS:
        yield POD_SPEC_PATHS[kind], ()
    elif rule.target == "jobSpec" and kind in JOB_SPEC_PATHS:
        yield JOB_SPEC_PATHS[kind], ()
    elif rule.target == "container" and kind in POD_SPEC_PATHS:
        pod = POD_SPEC_PATHS[kind]
        spec = _get(data, pod)
        for group in CONTAINER_GROUPS:
            if group in rule.container_groups and isinstance(spec, dict) and isinstance(spec.get(group), list):
                for index in range(len(spec[group])):
                    yield (*pod, group, index), ()
        for name in INHERITED_SECURITY_FIELDS:  # containers inherit these from the pod
            yield (*pod, "securityContext", name), ("securityContext", name)


def _get(data: Any, path: PathKey) -> Any:
    for step in path:
        if isinstance(data, dict) and step in data or isinstance(data, list) and isinstance(step, int) \
                and 0 <= step < len(data):
            data = data[step]  # type: ignore[index]
        else:
            return None
    return data


def candidate_paths(rule: DataRule, data: dict[str, Any]) -> list[PathKey]:
    """Paths of the object whose keys (relative to a target) are paths the rule's schema reads."""
    wanted = schema_paths(rule.schema)
    found: list[PathKey] = []

    def walk(node: Any, path: PathKey, keys: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (*keys, key) in wanted:
                    found.append((*path, key))
                    walk(value, (*path, key), (*keys, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index), keys)

    for root, keys in target_roots(rule, data):
        node = _get(data, root)
        if node is None:
            continue
        if keys:  # an inherited pod-level field: the root itself is the candidate
            if (*keys,) in wanted:
                found.append(root)
                walk(node, root, keys)
        else:
            walk(node, root, ())
    return sorted(set(found), key=str)


def replaced(data: dict[str, Any], path: PathKey, value: Any, *, delete: bool = False) -> dict[str, Any]:
    result = copy.deepcopy(data)
    parent = _get(result, path[:-1])
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def fires(rule: DataRule, objects: list[K8sObject], index: int, data: dict[str, Any]) -> bool:
    changed = [*objects[:index], K8sObject(data, objects[index].file), *objects[index + 1:]]
    return any(f.rule == rule.id for f in RULES.only([rule.id]).evaluate(changed))


def cases() -> list[pytest.param]:  # type: ignore[valid-type]
    params = []
    for rule in DATA_RULES:
        for number, text in enumerate(rule.info.fail_examples, start=1):
            params.append(pytest.param(rule, text, id=f"{rule.id}-fail{number}"))
    return params


@pytest.mark.parametrize(("rule", "text"), cases())
def test_null_or_empty_relevant_fields_keep_a_fail_example_failing(rule: DataRule, text: str) -> None:
    objects, _ = example_objects(text)
    checked = 0
    for index, obj in enumerate(objects):
        for path in candidate_paths(rule, obj.data):
            if not fires(rule, objects, index, replaced(obj.data, path, None, delete=True)):
                continue  # the field is the violation itself
            checked += 1
            assert fires(rule, objects, index, replaced(obj.data, path, None)), f"{path} set to null passes"
            value = _get(obj.data, path)
            empty: Any = {} if isinstance(value, dict) else [] if isinstance(value, list) else None
            if empty is not None and value:
                data = replaced(obj.data, path, empty)
                assert fires(rule, objects, index, data) or VALIDATOR.verdict(data) == "invalid", \
                    f"{path} set to {empty!r} passes and is schema-valid"
    if not any(candidate_paths(rule, o.data) for o in objects):
        pytest.skip("the example sets no field the rule reads (it fails by leaving them out)")
    if not checked:  # said, not passed: nothing here was set to null or empty
        pytest.skip("every field the rule reads that the example sets is the violation itself")


def test_the_generated_cases_cover_the_issue_fields() -> None:
    """The walk finds the fields the issue names (guards against a walk that silently finds nothing)."""
    rule = RULES.rule("run-as-root")
    assert isinstance(rule, DataRule)
    data = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"securityContext": {"runAsNonRoot": False},
                     "containers": [{"name": "web", "image": "x", "securityContext": {"runAsUser": 0}}]}}
    assert candidate_paths(rule, data) == [
        ("spec", "containers", 0, "securityContext"), ("spec", "containers", 0, "securityContext", "runAsUser"),
        ("spec", "securityContext", "runAsNonRoot")]
