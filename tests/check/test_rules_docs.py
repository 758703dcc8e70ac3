"""Issue 3, policy pack: docs/rules.md is generated from the rules and must be current."""

from __future__ import annotations

from shipcard.check.rules import load_rules
from shipcard.check.rules.docs import DOC_PATH, render, rule_markdown
from tests.conftest import ROOT


def test_docs_rules_md_is_current() -> None:
    assert (ROOT / DOC_PATH).read_text(encoding="utf-8") == render(load_rules()), \
        "docs/rules.md is stale: run `.venv/bin/python -m shipcard.check.rules.docs`"


def test_every_rule_is_documented_with_its_examples() -> None:
    rules = load_rules()
    text = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    for rule in rules:
        assert f"| [`{rule.id}`](#{rule.id}) | {rule.info.severity} |" in text
        section = rule_markdown(rule)
        assert section in text
        assert section.count("```yaml") == len(rule.info.pass_examples) + len(rule.info.fail_examples)
