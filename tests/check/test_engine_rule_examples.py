"""Issue 3: the documented PASS and FAIL examples of the engine's own findings (schema, unknown-kind,
deprecated-api, removed-api, yaml-invalid, card-invalid, suppression-*) do what they say, run through
the whole checker like a user's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, engine_rule_infos, run_check

CASES = [(info.id, kind, number, text)
         for info in engine_rule_infos()
         for kind, examples in (("pass", info.pass_examples), ("fail", info.fail_examples))
         for number, text in enumerate(examples, start=1)]


@pytest.mark.parametrize("rule,kind,number,text", CASES, ids=[f"{c[0]}-{c[1]}{c[2]}" for c in CASES])
def test_engine_rule_example(rule, kind, number, text, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    name = "example.service.yaml" if text.startswith("apiVersion: shipcard/") else "example.yaml"
    (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    result = run_check(CheckOptions(paths=[name]))
    found = {f.rule for f in result.findings}
    if kind == "pass":
        assert rule not in found, [f.message for f in result.findings if f.rule == rule]
    else:
        assert rule in found


def test_every_engine_rule_is_documented():
    for info in engine_rule_infos():
        assert info.title and info.rationale and info.fix and info.category and info.source, info.id
    documented = {i.id for i in engine_rule_infos()}
    assert {"yaml-invalid", "input-unreadable", "render-failed", "schema", "unknown-kind", "deprecated-api",
            "removed-api", "crd-version-not-served", "api-immutable-field-changed", "card-invalid", "generated-file-edited",
            "generated-file-stale",
            "suppression-without-reason", "suppression-expired", "suppression-unknown-rule"} == documented
