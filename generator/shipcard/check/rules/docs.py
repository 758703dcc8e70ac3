"""Rule documentation: one rule as Markdown (for `shipcard rules ID`), and docs/rules.md.

    python -m shipcard.check.rules.docs            # rewrite ./docs/rules.md (run at the checkout's top)
    python -m shipcard.check.rules.docs --check    # exit 1 when ./docs/rules.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from shipcard.check.rules import RuleSet, differences, load_rules
from shipcard.check.rules.data import DataRule
from shipcard.check.rules.kube import LONG_RUNNING_KINDS
from shipcard.check.rules.python import PythonRule

DOC_PATH = Path("docs/rules.md")  # relative to the checkout the module is run in
CATEGORY_ORDER = ["security", "secrets", "images", "resources", "reliability", "cross-object", "exposure",
                  "rbac", "hygiene", "gitops"]
GROUP_NAMES = {"containers": "container", "initContainers": "init container",
               "ephemeralContainers": "ephemeral container"}


def _kinds(kinds: frozenset[str] | None, everything: str) -> str:
    if kinds is None:
        return everything
    if kinds == LONG_RUNNING_KINDS:
        return "long-running workloads (" + ", ".join(sorted(kinds)) + ")"
    return ", ".join(sorted(kinds))


def applies_to(rule: DataRule | PythonRule) -> str:
    """A short human description of what a rule looks at."""
    if isinstance(rule, PythonRule):
        return "the checked objects as a whole (Python rule)"
    if rule.target == "object":
        return "objects of kind " + rule_kinds if (rule_kinds := _kinds(rule.kinds, "")) else "every object"
    if rule.target == "podSpec":
        return "the pod spec of " + _kinds(rule.kinds, "every pod-bearing kind")
    if rule.target == "jobSpec":
        return "the job spec of " + _kinds(rule.kinds, "Jobs and CronJobs (their job template)")
    groups = [GROUP_NAMES[g] for g in ("containers", "initContainers", "ephemeralContainers")
              if g in rule.container_groups]
    listed = groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " and " + groups[-1]
    return "every " + listed + " of " + _kinds(rule.kinds, "every pod-bearing kind")


def _default(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(f"`{item}`" for item in value) if value else "none"
    return f"`{value}`"


def rule_markdown(rule: DataRule | PythonRule, heading: str = "###") -> str:
    """One rule's documentation: metadata, rationale, fix, and its executed PASS/FAIL examples."""
    info = rule.info
    lines = [f"{heading} `{info.id}` — {info.title}", "",
             f"**Severity:** {info.severity} · **Category:** {info.category} · "
             f"**Applies to:** {applies_to(rule)} · **Source:** `{info.source}`", "",
             info.rationale, "", f"**Fix:** {info.fix}", ""]
    if rule.description:
        lines += [rule.description, ""]
    if rule.declared:
        lines += ["**Parameters** (`check.rules." + info.id + ".params` in shipcard.yaml):", ""]
        lines += [f"- `{name}` ({spec.get('type') or spec['schema'].get('type', 'any')}; default "
                  f"{_default(spec['default'])}): {spec.get('description', '')}"
                  for name, spec in sorted(rule.declared.items())]
        lines += [""]
    for label, examples in (("Passes", info.pass_examples), ("Fails", info.fail_examples)):
        for example in examples:
            lines += [f"{label}:", "", "```yaml", example.rstrip("\n"), "```", ""]
    return "\n".join(lines)


WRITING_RULES = """\
## Writing rules

Organisation policies (`shipcard check --policy-dir DIR`, or the repository config) use the
same two formats as the built-in pack; every `*.yaml` below the directory is a data rule,
every `*.py` a Python rule. Rule IDs must be unique across the pack and all directories.

A **data rule** is one YAML file named after its ID:

```yaml
id: team-label-missing          # lower-case words joined by '-'; equals the file name
severity: error                 # error | warning | info
category: organisation
title: Workload has no team label
rationale: Every workload must name the team that is paged for it.
fix: Add the `example.com/team` label.
target: object                  # object | podSpec | container | jobSpec
kinds: [Deployment, CronJob]    # optional filter on the object's kind
# containers: [containers]      # container target only; default: containers, initContainers
schema:                         # JSON Schema (draft-07); a target that is valid PASSES
  required: [metadata]
  properties:
    metadata:
      required: [labels]
      properties:
        labels: {required: [example.com/team]}
message: '{kind} "{name}" has no example.com/team label'
examples:                       # complete manifests; the test suite runs them
  pass: ["..."]
  fail: ["..."]
```

A data rule may declare **parameters**, which `check.rules.<id>.params` in shipcard.yaml
sets (and a rule that `extends` it sets again): under `params:`, each name maps to its
`type`, `default` and `description`, and a mapping `{$param: NAME}` anywhere in the schema
stands for the value. Types: `integer`; `string`; `strings`, a list of strings, spliced
into the list it is an item of (`enum: [a, b, {$param: also-allowed}]`); `patterns`, a list
of regular expressions in RE2's syntax that stands for the one pattern matching where any
of them does (`pattern: {$param: secret-names}`; none matches nothing). A value of another
type, or a pattern RE2 refuses (lookaround, backreferences), is refused in shipcard.yaml.

Targets: `object` is the whole object; `podSpec` the pod spec of every pod-bearing kind
(Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob);
`container` each container of those, whose `securityContext` is the effective one (the
pod-level runAsUser, runAsGroup, runAsNonRoot, seccompProfile, seLinuxOptions,
appArmorProfile and windowsOptions fill in what the container does not set); `jobSpec` the
spec of a Job or the job template of a CronJob. A finding points at the line of the field
the schema rejected. Message placeholders: `{ref} {kind} {name} {namespace} {container}
{path} {field} {entry} {value}` (`{entry}` is the `name` of the list item, such as an env
var; never put `{value}` in a rule about secrets).

A **Python rule** is a module with `ID`, `SEVERITY`, `CATEGORY`, `TITLE`, `RATIONALE`, `FIX`,
a docstring holding at least one `` ```yaml pass `` and one `` ```yaml fail `` block, and
`check(objects, context=None)` yielding findings made with `finding(obj, path, message)`.
Import only from `shipcard.rules`, the stable surface for rule authors: `finding`,
`Context` (the repository root and a shared index of workloads, label selectors and HPAs),
`K8sObject`, `Finding`, `Prepared`, and the helpers `dig`, `as_dict`, `as_list` and
`selector_matches`; shipcard's other modules are internal. A rule that raises is reported
as an error finding of that rule; it never stops the others.
"""


def _order(category: str) -> tuple[int, str]:
    return (CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER), category)


def render(rules: RuleSet) -> str:
    by_category: dict[str, list[DataRule | PythonRule]] = {}
    for rule in rules:
        by_category.setdefault(rule.info.category, []).append(rule)
    categories = sorted(by_category, key=_order)
    out = [
        "# shipcard check: the policy pack",
        "",
        "<!-- Generated by `python -m shipcard.check.rules.docs` from policies/ and",
        "     generator/shipcard/check/rules/cross/. Do not edit by hand:",
        "     tests/check/test_rules_docs.py fails when stale. -->",
        "",
        f"{len(rules)} rules. Single-object rules are data (`policies/<category>/<rule-id>.yaml`: a JSON Schema",
        "applied to a target); rules across objects are Python modules (`generator/shipcard/check/rules/cross/`).",
        "Every example below is executed by the test suite: each *Passes* example yields no finding of its",
        "rule, each *Fails* example at least one. `deprecated-api`, `removed-api`, `generated-file-edited`,",
        "`generated-file-stale` and `card-invalid` come from the checker's other layers and are documented",
        "with them.",
        "",
        "Findings about a container carry its name, so a finding can be suppressed for one container.",
        "",
        "| Rule | Severity | Category | Title |",
        "|---|---|---|---|",
    ]
    for category in categories:
        for rule in sorted(by_category[category], key=lambda r: r.id):
            out.append(f"| [`{rule.id}`](#{rule.id}) | {rule.info.severity} | {category} | {rule.info.title} |")
    out += ["", WRITING_RULES]
    for category in categories:
        out += [f"## {category}", ""]
        for rule in sorted(by_category[category], key=lambda r: r.id):
            out += [f'<a id="{rule.id}"></a>', "", rule_markdown(rule)]
    out += [differences.markdown({rule.id for rule in rules})]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render(load_rules())
    if "--check" in args:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m shipcard.check.rules.docs", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
