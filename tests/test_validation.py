"""Issue 12: one JSON Schema validator (compiled, cached on disk) and one explainer of its errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from shipcard.errors import InputError
from shipcard.patterns import DURATION
from shipcard.validation import Problem, Schema, all_problems, first_problem, raise_first

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "token": {"type": "string", "pattern": "^[a-z]+$"},
        "timeout": {"type": "string", "pattern": DURATION},
        "mode": {"enum": ["fast", "safe"]},
        "replicas": {"type": "integer", "minimum": 1},
    },
}
LINES = {(): (1, 1), ("name",): (1, 1), ("token",): (2, 1), ("timeout",): (3, 1), ("mode",): (4, 1),
         ("replicas",): (5, 1), ("nmae",): (6, 1)}


def problem(instance: dict) -> Problem | None:
    return first_problem(Schema(SCHEMA, label="test"), instance, lambda path: LINES.get(path, (9, 9)))


@pytest.mark.parametrize("instance,expected", [
    ({"name": "a"}, None),
    ({}, Problem((), "missing required field 'name'")),
    ({"name": "a", "nmae": 1}, Problem(("nmae",), "unknown field (did you mean 'name'?)")),
    ({"name": 5}, Problem(("name",), "must be string, not an integer")),
    ({"name": "a", "token": "S3CRET-value"}, Problem(("token",), "has an invalid format")),  # the value is not shown
    ({"name": "a", "timeout": "soon"}, Problem(("timeout",), "'soon' is not a duration such as 30s, 15m, 1h or 1h30m")),
    ({"name": "a", "mode": "S3CRET"}, Problem(("mode",), "must be one of fast, safe")),
    ({"name": "a", "replicas": 0}, Problem(("replicas",), "must be at least 1")),
    ({"name": 5, "replicas": 0}, Problem(("name",), "must be string, not an integer")),  # the earliest line first
])
def test_the_explainer_names_the_field_and_never_a_free_value(instance: dict, expected: Problem | None) -> None:
    assert problem(instance) == expected


EXCLUSIVE = {
    "type": "object",
    "properties": {
        "value": {"type": "string"}, "secretRef": {"type": "string"},
        "tags": {"type": "object", "propertyNames": {"description": "A key other than reserved.",
                                                     "not": {"enum": ["reserved"]}}},
    },
    "description": "A mapping with value or secretRef, not both.",
    "oneOf": [{"required": ["value"]}, {"required": ["secretRef"]}],
}


@pytest.mark.parametrize("instance,expected", [
    ({"value": "S3CRET"}, None),
    ({}, Problem((), "must be a mapping with value or secretRef, not both")),  # neither: the alternatives' description
    ({"value": "S3CRET", "secretRef": "s"}, Problem((), "must be a mapping with value or secretRef, not both")),  # both
    ({"value": "v", "tags": {"reserved": "x"}}, Problem(("tags", "reserved"),
                                                        "invalid name 'reserved': must be a key other than reserved")),
])
def test_exclusive_fields_and_reserved_keys_are_explained_by_the_description(instance: dict,
                                                                             expected: Problem | None) -> None:
    assert first_problem(Schema(EXCLUSIVE, label="test"), instance, lambda path: (1, 1)) == expected


def test_raise_first_is_one_located_line() -> None:
    with pytest.raises(InputError) as caught:
        raise_first(Schema(SCHEMA, label="test"), {"name": "a", "replicas": "2"}, "f.yaml", lambda path: (5, 11))
    assert str(caught.value) == "f.yaml:5:11: replicas: must be integer, not a string"


def test_a_compiled_check_is_kept_on_disk_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPCARD_CACHE_DIR", str(tmp_path))
    first = Schema(SCHEMA, label="test", cache_key="test|1", compile_after=0)
    assert first.passes({"name": "a"}) and not first.passes({"name": "a", "extra": 1})
    assert len(list((tmp_path / "schemas").glob("*.bin"))) == 1

    def refuse(*_: object, **__: object) -> str:
        raise AssertionError("compiled again")

    monkeypatch.setattr(fastjsonschema, "compile_to_code", refuse)
    again = Schema(SCHEMA, label="test", cache_key="test|1", compile_after=0)
    assert again.passes({"name": "a"}) and not again.passes({"name": 1})


def test_jsonschema_judges_what_the_compiled_check_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = Schema(SCHEMA, label="test", compile_after=0)
    schema.compile()

    def wrong(_: object) -> None:
        raise fastjsonschema.JsonSchemaValueException("no")

    monkeypatch.setattr(schema, "_fast", wrong)
    assert schema.passes({"name": "a"})  # the compiled check said no; jsonschema says yes


def test_all_problems_in_document_order_and_no_secret_value() -> None:
    found = all_problems(Schema(SCHEMA, label="test"), {"replicas": 0, "token": "S3CRET-value", "nmae": 1},
                         lambda path: LINES.get(path, (9, 9)))
    assert found == [Problem((), "missing required field 'name'"), Problem(("token",), "has an invalid format"),
                     Problem(("replicas",), "must be at least 1"),
                     Problem(("nmae",), "unknown field (did you mean 'name'?)")]


CONDITIONAL = {"type": "object", "properties": {"group": {"type": "string", "pattern": "^[a-z]+$"},
                                                "className": {"type": "string"}},
               "if": {"required": ["group"]}, "then": {"required": ["className"],
                                                       "properties": {"className": {"const": "alb"}}}}


@pytest.mark.parametrize("instance,expected", [
    ({"group": "Bad!", "className": "nginx"}, [Problem(("group",), "has an invalid format")]),  # not also className
    ({"group": "Bad!"}, [Problem(("group",), "has an invalid format")]),
    ({"group": "ok", "className": "nginx"}, [Problem(("className",), "must be 'alb'")]),
    ({"group": "ok"}, [Problem((), "missing required field 'className'")]),
])
def test_what_a_condition_demands_is_left_out_beside_a_wrong_field(instance: dict, expected: list[Problem]) -> None:
    lines = {(): (1, 1), ("group",): (2, 1), ("className",): (3, 1)}
    assert all_problems(Schema(CONDITIONAL, label="test"), instance, lambda path: lines[path]) == expected


def _outcomes(check: Callable[[Any], Any], instances: list[Any]) -> list[tuple[str, str, str] | None]:
    found: list[tuple[str, str, str] | None] = []
    for instance in instances:
        try:
            check(instance)
            found.append(None)
        except fastjsonschema.JsonSchemaValueException as exc:
            found.append((str(exc), str(exc.name), str(exc.rule)))
    return found


def test_f_string_names_fail_exactly_as_format_with_locals() -> None:
    """Speed (issue 15): the generated validators name a failing field with an f-string instead of
    `"...".format(**locals())`; every data rule of the pack, on every target of its own examples, raises
    the same message, field name and keyword both ways (or passes both ways)."""
    from shipcard.check.rules import DataRule, load_rules
    from shipcard.check.rules.kube import prepare
    from shipcard.validation import _function, _without_locals_copies
    from tests.check.rule_examples import example_objects

    rules = [rule for rule in load_rules() if isinstance(rule, DataRule)]
    prepared = [prepare(obj) for rule in rules for text in rule.info.pass_examples + rule.info.fail_examples
                for obj in example_objects(text)[0]]
    targets = [p.obj.data for p in prepared] + [p.pod_spec for p in prepared if p.pod_spec is not None] + \
        [p.job_spec for p in prepared if p.job_spec is not None] + [c.effective for p in prepared for c in p.containers]
    failures = 0
    for rule in rules:
        source = fastjsonschema.compile_to_code(rule.schema, use_formats=False, use_default=False)
        fast = _without_locals_copies(source)
        assert ".format(**locals())" not in fast
        as_written = _outcomes(_function(compile(source, rule.id, "exec")), targets)
        assert _outcomes(_function(compile(fast, rule.id, "exec")), targets) == as_written, rule.id
        failures += sum(outcome is not None for outcome in as_written)
    assert failures > len(rules)  # the comparison saw failures, with their names, not only passes
