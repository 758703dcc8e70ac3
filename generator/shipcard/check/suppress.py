"""The last layer of `shipcard check`: suppressions that stay honest.

On an object (metadata.annotations), one clause per line:

    shipcard.io/ignore: "run-as-root,writable-root-fs: vendor image, replacement tracked in OPS-12"
    shipcard.io/ignore.<container>: "image-not-pinned: sidecar pinned by the platform team"

The second form suppresses only findings about that container; it may sit on the object or
on its pod template. A clause without a reason suppresses nothing and is itself a finding
(`suppression-without-reason`), and so is a rule ID no rule has (`suppression-unknown-rule`).

In `shipcard.yaml` (read by `shipcard.settings`), section `check:`, `ignore:` entries select
findings by rule, path glob, kind, name and namespace, with a required `reason` and an optional `expires` date after
which the entry stops working and is reported (`suppression-expired`). Rules listed under
`required:` cannot be suppressed at all. Suppressed findings are kept, marked with their
reason, so JSON and SARIF output show the audit trail.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shipcard.check.inputs.paths import display
from shipcard.check.model import SEVERITY_ORDER, Finding, K8sObject, RuleInfo, Suppression, finding_for
from shipcard.errors import ShipcardError
from shipcard.patterns import IGNORE_ANNOTATION
from shipcard.settings import FAIL_ON_CHOICES, REPO_FILE, IgnoreSetting, RepoSettings
from shipcard.yamlio.read import real_path

CONTAINER_ANNOTATION_PREFIX = IGNORE_ANNOTATION + "."
# Findings no suppression can hide: broken input and dishonest suppressions.
ALWAYS_REQUIRED = frozenset({"yaml-invalid", "input-unreadable", "suppression-without-reason",
                             "suppression-expired", "suppression-unknown-rule"})


# --------------------------------------------------------------------------- config entries


def _matches(entry: IgnoreSetting, finding: Finding, rel_file: str | None, ref: ObjectRef) -> bool:
    """Whether a `check.ignore` entry of shipcard.yaml selects the finding."""
    if not any(fnmatch.fnmatchcase(finding.rule, pattern) for pattern in entry.rules):
        return False
    if entry.path and (rel_file is None or not glob_matches(entry.path, rel_file)):
        return False
    if entry.kind is not None and ref.kind != entry.kind:
        return False
    if entry.name is not None and not fnmatch.fnmatchcase(ref.name, entry.name):
        return False
    return entry.namespace is None or fnmatch.fnmatchcase(ref.namespace, entry.namespace)


_LITERAL, _ONE, _STAR, _ANY, _DIRS = range(5)


@cache
def _glob_tokens(pattern: str) -> tuple[tuple[int, str], ...]:
    """`apps/**/prod/*.yaml` as tokens: `**/` any directories (or none), `**` anything, `*` and `?`
    within one path segment; a trailing `/` matches everything below."""
    text = pattern.strip().removeprefix("./")
    tokens: list[tuple[int, str]] = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            tokens.append((_DIRS, ""))
            i += 3
        elif text.startswith("**", i):
            tokens.append((_ANY, ""))
            i += 2
        else:
            tokens.append({"*": (_STAR, ""), "?": (_ONE, "")}.get(text[i], (_LITERAL, text[i])))
            i += 1
    if text.endswith("/"):
        tokens.append((_ANY, ""))
    return tuple(tokens)


def glob_matches(pattern: str, path: str) -> bool:
    """Whether `path` (relative, `/`-separated) matches the glob `pattern`.

    Simulated as a set of pattern positions, so the time is at most len(path) x len(pattern)
    whatever the pattern (`shipcard.yaml` is repository content: a regex of `*a*a*a...b` would
    backtrack exponentially).

    >>> glob_matches("apps/**/prod/*.yaml", "apps/web/overlays/prod/kustomization.yaml")
    True
    >>> glob_matches("apps/*.yaml", "apps/web/deployment.yaml")
    False
    >>> glob_matches("charts/", "charts/service/values.yaml")
    True
    """
    tokens = _glob_tokens(pattern)
    inside = len(tokens) + 1  # state `inside + i`: within the directories of the `**/` at token i

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            i = todo.pop()
            if i < len(tokens) and tokens[i][0] in (_STAR, _ANY, _DIRS) and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    states = closure({0})
    for char in path:
        following: set[int] = set()
        for state in states:
            i = state - inside if state >= inside else state
            if i == len(tokens):
                continue
            kind, literal = tokens[i]
            if kind == _LITERAL and char == literal or kind == _ONE and char != "/":
                following.add(i + 1)
            elif kind == _STAR and char != "/" or kind == _ANY:
                following.add(i)
            elif kind == _DIRS:  # any text, then a `/` that ends it
                following.update((inside + i, i + 1) if char == "/" else (inside + i,))
        states = closure(following)
        if not states:
            return False
    return len(tokens) in states


# --------------------------------------------------------------------------- annotations


@dataclass
class Clause:
    rules: list[str]
    reason: str
    container: str | None
    annotation: str


def parse_clauses(value: Any, annotation: str, container: str | None) -> list[Clause]:
    """`rule-a,rule-b: reason`, one clause per line."""
    if not isinstance(value, str):
        return [Clause([], "", container, annotation)]
    clauses = []
    for line in value.splitlines():
        line = line.strip()
        if not line:
            continue
        head, sep, reason = line.partition(":")
        rules = [r.strip() for r in head.split(",") if r.strip()]
        clauses.append(Clause(rules, reason.strip() if sep else "", container, annotation))
    return clauses


def object_clauses(obj: K8sObject) -> list[tuple[Clause, tuple[str | int, ...]]]:
    """Every suppression clause on an object and its pod template, with the annotation's path."""
    found = []
    places: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [(("metadata", "annotations"), obj.annotations)]
    template = _pod_template_annotations(obj)
    if template is not None:
        places.append(template)
    for prefix, values in places:
        for key, value in values.items():
            if not isinstance(key, str):
                continue
            if key == IGNORE_ANNOTATION and prefix == ("metadata", "annotations"):
                container = None
            elif key.startswith(CONTAINER_ANNOTATION_PREFIX):
                container = key[len(CONTAINER_ANNOTATION_PREFIX):]
            else:
                continue
            for clause in parse_clauses(value, key, container):
                found.append((clause, (*prefix, key)))
    return found


_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}


def _pod_template_annotations(obj: K8sObject) -> tuple[tuple[str | int, ...], dict[str, Any]] | None:
    path = _TEMPLATE_PATHS.get(obj.kind, ("spec", "template"))
    if not path:
        return None
    node: Any = obj.data
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    annotations = (node.get("metadata") or {}).get("annotations") if isinstance(node, dict) \
        and isinstance(node.get("metadata"), dict) else None
    if not isinstance(annotations, dict):
        return None
    return (*path, "metadata", "annotations"), annotations


# --------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class ObjectRef:
    kind: str = ""
    namespace: str = ""
    name: str = ""

    @classmethod
    def parse(cls, ref: str) -> ObjectRef:
        parts = ref.split("/") if ref else []
        if len(parts) >= 3:
            return cls(parts[0], parts[1], "/".join(parts[2:]))
        if len(parts) == 2:
            return cls(parts[0], "", parts[1])
        return cls()


def apply_suppressions(findings: list[Finding], objects: Iterable[K8sObject], settings: RepoSettings,
                       known_rules: set[str], *, today: dt.date | None = None) -> list[Finding]:
    """Mark suppressed findings (kept, with their reason) and add findings about the suppressions themselves."""
    today = today or dt.date.today()
    required = ALWAYS_REQUIRED | settings.check.required
    shown = display(settings.file) if settings.file else REPO_FILE
    objects = list(objects)
    by_file_ref: dict[tuple[str, str], K8sObject] = {}
    by_ref: dict[str, list[K8sObject]] = {}
    for obj in objects:
        by_file_ref.setdefault((obj.file, obj.ref), obj)
        by_ref.setdefault(obj.ref, []).append(obj)

    extra: list[Finding] = []
    clauses_of: dict[int, list[Clause]] = {}
    for obj in objects:
        usable = []
        for clause, path in object_clauses(obj):
            if not clause.reason or not clause.rules:
                what = "no rule ID" if not clause.rules else "no reason"
                extra.append(finding_for(obj, "suppression-without-reason", "error",
                                         f"{clause.annotation} has {what}: write `<rule-id>[,<rule-id>]: <reason>`;"
                                         " the suppression is ignored", path))
                continue
            unknown = [r for r in clause.rules if r not in known_rules]
            if unknown:
                extra.append(finding_for(obj, "suppression-unknown-rule", "warning",
                                         f"{clause.annotation} names unknown rule(s) {', '.join(unknown)}", path))
            usable.append(clause)
        if usable:
            clauses_of[id(obj)] = usable

    active: list[IgnoreSetting] = []
    for entry in settings.check.ignores:
        if not entry.reason:
            extra.append(Finding("suppression-without-reason", "error",
                                 f"ignore entry for {', '.join(entry.rules)} has no reason: it is ignored",
                                 shown, entry.line, 1))
        elif entry.expires is not None and entry.expires < today:
            extra.append(Finding("suppression-expired", "warning",
                                 f"ignore entry for {', '.join(entry.rules)} expired on {entry.expires.isoformat()}: "
                                 f"its findings count again ({entry.reason})", shown, entry.line, 1))
        else:
            active.append(entry)

    root = settings.root
    for finding in findings:
        subject = by_file_ref.get((finding.file, finding.object_ref))
        if subject is None and len(by_ref.get(finding.object_ref, [])) == 1:
            subject = by_ref[finding.object_ref][0]
        suppression = _from_annotations(finding, clauses_of.get(id(subject), []) if subject is not None else [])
        if suppression is None and active:
            suppression = _from_config(finding, active, root)
        if suppression is None:
            continue
        if finding.rule in required:
            finding.message += f" (not suppressed: {finding.rule} is a required rule)"
            continue
        finding.suppression = suppression
    return findings + extra


def _from_annotations(finding: Finding, clauses: list[Clause]) -> Suppression | None:
    for clause in clauses:
        if clause.container is not None and clause.container != finding.container:
            continue
        if finding.rule in clause.rules or "*" in clause.rules:
            where = clause.annotation
            return Suppression("annotation", f"{clause.reason} ({where})")
    return None


def _from_config(finding: Finding, entries: list[IgnoreSetting], root: Path) -> Suppression | None:
    rel = _relative(finding.file, root)
    ref = ObjectRef.parse(finding.object_ref)
    for entry in entries:
        if _matches(entry, finding, rel, ref):
            return Suppression("config", entry.reason, entry.expires.isoformat() if entry.expires else None)
    return None


def _relative(file: str, root: Path) -> str | None:
    if not file or file.startswith("<"):
        return None
    path = Path(file.split(" (", 1)[0])
    try:
        return real_path(path).relative_to(root).as_posix()
    except ValueError:
        return None


def counts_against(finding: Finding, fail_on: str) -> bool:
    """True when an unsuppressed finding is at or above the --fail-on severity."""
    return not finding.suppressed and SEVERITY_ORDER[finding.severity] >= SEVERITY_ORDER[fail_on]


def validate_fail_on(value: str) -> str:
    if value not in FAIL_ON_CHOICES:
        raise ShipcardError(f"--fail-on {value!r}: expected one of {', '.join(FAIL_ON_CHOICES)}")
    return value


# --------------------------------------------------------------------------- rule docs


def suppression_rule_infos() -> list[RuleInfo]:
    base = ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: legacy\n  annotations:\n"
            "    shipcard.io/ignore: \"{value}\"\n")
    return [
        RuleInfo(
            id="suppression-without-reason", severity="error", title="Suppression without a reason",
            category="suppression",
            rationale="A suppression is a decision someone must be able to review later. Without a reason "
                      "(annotation `shipcard.io/ignore: \"<rule-id>: <reason>\"` or a config entry's `reason:`) "
                      "it is not applied, and this finding says so.",
            fix="Write why the rule does not apply, after a colon: `run-as-root: vendor image, OPS-12`.",
            pass_examples=[base.format(value="default-service-account: legacy job, removed in Q3")],
            fail_examples=[base.format(value="default-service-account")],
            source="shipcard/check/suppress.py"),
        RuleInfo(
            id="suppression-expired", severity="warning", title="Config ignore entry past its expiry date",
            category="suppression",
            rationale="An ignore entry with `expires:` is a promise to fix something by that date. After it, the "
                      "entry stops suppressing and this finding points at it.",
            fix="Fix the findings and delete the entry, or agree on a new date and reason.",
            source="shipcard/check/suppress.py"),
        RuleInfo(
            id="suppression-unknown-rule", severity="warning", title="Suppression names a rule that does not exist",
            category="suppression",
            rationale="A misspelled rule ID suppresses nothing while looking as if it did.",
            fix="Use an ID from `shipcard rules`.",
            pass_examples=[base.format(value="default-service-account: legacy job, removed in Q3")],
            fail_examples=[base.format(value="default-serviceaccount: legacy job, removed in Q3")],
            source="shipcard/check/suppress.py"),
    ]
