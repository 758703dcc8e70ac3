"""The policy pack loaded: `RuleSet` and `load_rules` (the built-in pack and policy directories)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from shipcard.check.model import Finding, K8sObject, RuleInfo, Severity
from shipcard.check.rules.data import RULE_ID, DataRule, PolicyError, load_data_rule, param_problem
from shipcard.check.rules.kube import Context, prepare
from shipcard.check.rules.python import PythonRule, builtin_python_rules, load_python_rule_file
from shipcard.errors import InputError, Location
from shipcard.resources import data_dir
from shipcard.validation import Schema

if TYPE_CHECKING:
    from shipcard.settings import RuleSetting

Rule = DataRule | PythonRule


def builtin_policy_dir() -> Path:
    """The built-in data rules: the package's `_data/policies` (the top-level `policies/` in a checkout)."""
    return data_dir("policies")


class RuleSet:
    """A loaded set of rules. `root` (the repository root) and `repo_urls` serve the GitOps rules."""

    def __init__(self, rules: Iterable[Rule], *, root: Path | None = None, repo_urls: set[str] | None = None) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise PolicyError(f"rule ID {rule.id!r} is defined twice: in {self._rules[rule.id].info.source} "
                                  f"and in {rule.info.source}")
            self._rules[rule.id] = rule
        self.root = root
        self.repo_urls = repo_urls
        self._data = [r for r in self._rules.values() if isinstance(r, DataRule)]
        self._python = [r for r in self._rules.values() if isinstance(r, PythonRule)]
        self._per_kind: dict[str, tuple[list[DataRule], list[DataRule], list[DataRule], list[DataRule]]] = {}
        self.disabled: frozenset[str] = frozenset()  # known rule IDs that shipcard.yaml turned off

    # ------------------------------------------------------------------ metadata

    def infos(self) -> list[RuleInfo]:
        return [r.info for r in sorted(self._rules.values(), key=lambda r: (r.info.category, r.id))]

    def get(self, rule_id: str) -> RuleInfo | None:
        rule = self._rules.get(rule_id)
        return rule.info if rule else None

    def rule(self, rule_id: str) -> Rule | None:
        """The rule itself (its target, schema or module), for documentation."""
        return self._rules.get(rule_id)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def only(self, rule_ids: Iterable[str]) -> RuleSet:
        """The same rules restricted to `rule_ids` (unknown IDs are ignored)."""
        wanted = set(rule_ids)
        return RuleSet([r for r in self._rules.values() if r.id in wanted], root=self.root, repo_urls=self.repo_urls)

    def without(self, rule_ids: Iterable[str]) -> RuleSet:
        unwanted = set(rule_ids)
        return RuleSet([r for r in self._rules.values() if r.id not in unwanted], root=self.root,
                       repo_urls=self.repo_urls)

    def configured(self, settings: Iterable[RuleSetting], required: Iterable[str],
                   engine: Iterable[str] = ()) -> RuleSet:
        """These rules with shipcard.yaml's `check.rules` applied: severities, `enabled`, parameters, extensions.

        InputError (exit 2, at the entry's line) for an unknown rule ID or parameter, a parameter its
        schema refuses, a required rule turned off or given another severity, an `engine` finding
        (the checker's own, not a rule of the pack), or an extension whose ID is taken or malformed.
        """
        rules = dict(self._rules)
        disabled = set()
        required, engine = set(required), set(engine)
        for setting in settings:
            here = setting.location()
            if setting.extends is not None:
                base = self._rules.get(setting.extends)
                if base is None:
                    what = "is a finding of the checker, not a rule of the pack" if setting.extends in engine \
                        else "is no rule (see `shipcard rules`)"
                    raise InputError(*setting.location("extends"), f"{setting.extends!r} {what}: nothing to extend")
                if not RULE_ID.match(setting.rule):
                    raise InputError(*here, "a new rule's ID is lower-case letters and digits in words joined by '-'")
                if setting.rule in rules or setting.rule in engine:
                    raise InputError(*here, "is already a rule: a rule that extends another needs a new ID")
                rules[setting.rule] = dataclasses.replace(base, info=dataclasses.replace(
                    base.info, id=setting.rule, source=f"{here[0].file} (extends {base.id})"))
            elif setting.rule in engine:
                raise InputError(*here, f"{setting.rule} is a finding of the checker itself, not a rule of the pack: "
                                        "it cannot be configured")
            rule = rules.get(setting.rule)
            if rule is None:
                raise InputError(*here, f"no rule {setting.rule!r} (see `shipcard rules`)")
            regraded = setting.extends is None and setting.severity not in (None, rule.info.severity)
            if setting.rule in required and (not setting.enabled or regraded):
                key = "enabled" if not setting.enabled else "severity"
                raise InputError(*setting.location(key), "a required rule cannot be turned off or given another "
                                                         "severity")
            if setting.params:
                for name, _ in setting.params:
                    if name not in rule.declared:
                        known = ", ".join(sorted(rule.declared)) or "none"
                        raise InputError(*setting.location(f"params.{name}"),
                                         f"{setting.rule} has no parameter {name!r} (it has: {known})")
                for name, value in setting.params:
                    _check_param(rule.declared[name], value, setting.location(f"params.{name}"))
                rule = rule.with_params(dict(setting.params))
            if setting.severity is not None:
                severity = cast(Severity, setting.severity)
                rule = dataclasses.replace(rule, info=dataclasses.replace(rule.info, severity=severity))
            if not setting.enabled:
                disabled.add(setting.rule)
            rules[setting.rule] = rule
        result = RuleSet([r for r in rules.values() if r.id not in disabled], root=self.root,
                         repo_urls=self.repo_urls)
        result.disabled = frozenset(disabled)
        return result

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, objects: list[K8sObject], root: Path | None = None, *,
                 local: Iterable[K8sObject] | None = None) -> list[Finding]:
        """Every rule over every object: data rules per object, then the Python rules over all of them.

        `root` (default: `self.root`) is the repository root the Argo CD source paths are relative to;
        without it, argocd-source-path-missing does not run. With `local`, the data rules check only
        those of `objects` (one shard's, `check --shard`); the Python rules still see all of them.
        """
        prepared = [prepare(o) for o in objects]
        findings: list[Finding] = []
        chosen = None if local is None else {id(o) for o in local}
        for p in prepared:
            if chosen is not None and id(p.obj) not in chosen:
                continue
            object_rules, pod_rules, container_rules, job_rules = self._rules_for(p.kind)
            for rule in object_rules:
                rule.check_object(p, findings)
            if p.pod_spec is not None:
                for rule in pod_rules:
                    rule.check_pod(p, findings)
                if p.containers:
                    for rule in container_rules:
                        rule.check_containers(p, findings)
            if p.job_spec is not None:
                for rule in job_rules:
                    rule.check_job(p, findings)
        if self._python:
            context = Context([p.obj for p in prepared], root=root if root is not None else self.root,
                              repo_urls=self.repo_urls, prepared=prepared)
            for python_rule in self._python:
                findings.extend(python_rule.run(context))
        return findings

    def _rules_for(self, kind: str) -> tuple[list[DataRule], list[DataRule], list[DataRule], list[DataRule]]:
        cached = self._per_kind.get(kind)
        if cached is None:
            applicable = [r for r in self._data if r.applies_to_kind(kind)]
            cached = tuple([r for r in applicable if r.target == t]  # type: ignore[assignment]
                           for t in ("object", "podSpec", "container", "jobSpec"))
            self._per_kind[kind] = cached  # type: ignore[assignment]
        return cached  # type: ignore[return-value]


def _check_param(spec: dict[str, Any], value: Any, where: tuple[Location, str]) -> None:
    problem = param_problem(spec, value)
    if problem is None and not Schema(spec["schema"], label="parameter", compile_after=1 << 30).passes(value):
        problem = f"must match the parameter's schema {json.dumps(spec['schema'], sort_keys=True)}"
    if problem is not None:
        raise InputError(*where, problem)


def policy_files(directory: Path) -> list[Path]:
    """Rule files below a policy directory, in a stable order (hidden and `_`-prefixed files skipped)."""
    files = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).parts
        if any(part.startswith((".", "_")) for part in rel) or not path.is_file():
            continue
        if path.suffix in (".yaml", ".yml", ".py"):
            files.append(path)
    return files


def load_policy_dir(directory: Path, *, label: str | None = None, trusted: bool = True) -> list[Rule]:
    """Every rule file below `directory`; `label` replaces the directory in RuleInfo.source.

    An untrusted directory (named by the repository) may hold neither Python rules nor patterns that only
    a backtracking engine runs: either would let a pull request run code or pick the check's running time."""
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory not found")
    rules: list[Rule] = []
    for path in policy_files(directory):
        if path.suffix == ".py":
            if not trusted:
                raise PolicyError(f"{path}: Python rules load only from --policy-dir; a directory named in "
                                  "shipcard.yaml takes YAML rules, so that a pull request cannot run code in CI")
            rules.append(load_python_rule_file(path))
        else:
            source = f"{label}/{path.relative_to(directory).as_posix()}" if label else None
            rules.append(load_data_rule(path, source, linear_only=not trusted))
    return rules


def load_rules(policy_dirs: list[Path] | None = None, *, config_dirs: list[Path] | None = None,
               root: Path | None = None) -> RuleSet:
    """The built-in pack, every rule in `policy_dirs` (trusted: given by whoever runs shipcard) and the
    YAML rules in `config_dirs` (named by the repository's shipcard.yaml); PolicyError (exit 2) on a
    bad file or a duplicate ID."""
    rules: list[Rule] = []
    rules += load_policy_dir(builtin_policy_dir(), label="policies")
    rules += builtin_python_rules()
    for directory in policy_dirs or []:
        rules += load_policy_dir(Path(directory))
    for directory in config_dirs or []:
        rules += load_policy_dir(Path(directory), label=_inside(Path(directory), root), trusted=False)
    return RuleSet(rules, root=root)


def _inside(directory: Path, root: Path | None) -> str | None:
    """`directory` relative to the repository root, as the repository's messages name files (None: outside)."""
    if root is None:
        return None
    try:
        return Path(os.path.abspath(directory)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None

