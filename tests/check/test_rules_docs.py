"""Issue 3, policy pack: docs/rules.md is generated from the rules and must be current."""

from __future__ import annotations

from shipcard.check.engine import all_rule_infos
from shipcard.check.rules import differences, load_rules
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


def test_the_differences_section_names_only_rules_of_the_pack() -> None:
    """Issue 15 item 6: a renamed or deleted rule breaks the section instead of leaving it stale."""
    known = {info.id for info in all_rule_infos()}
    assert differences.rule_ids() - known == set()


def test_docs_rules_md_ends_with_the_differences_section() -> None:
    text = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    assert text.endswith(differences.markdown({rule.id for rule in load_rules()}))
    assert text.count(f"## {differences.HEADING}\n") == 1
