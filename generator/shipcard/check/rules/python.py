"""Python rules: one module per rule, for what a JSON Schema over one object cannot say.

A rule module defines::

    ID = "service-selects-nothing"
    SEVERITY = "warning"            # error | warning | info
    CATEGORY = "cross-object"
    TITLE = "..."
    RATIONALE = "..."
    FIX = "..."

    def check(objects, context=None):   # -> Iterable[Finding]
        ...

and documents PASS and FAIL examples in its docstring as fenced blocks, each one
complete manifests (several documents separated by `---` where the rule needs them)::

    ```yaml pass
    apiVersion: v1
    ...
    ```

    ```yaml fail
    ...
    ```

`check` may take only `objects`; when it accepts a second argument it receives a
`Context` (the repository root and a shared index of workloads, selectors and HPAs).

A rule may declare parameters that shipcard.yaml's `check.rules.<id>.params` sets::

    PARAMS = {"min-replicas": {"default": 2, "schema": {"type": "integer", "minimum": 1},
                               "description": "..."}}

and reads them with `context.param(ID, PARAMS, "min-replicas")` (configured, else the default).
Findings are best made with `finding(obj, path, message)`: the runner sets the rule ID,
severity and fix hint. Organisation rules import these from `shipcard.rules`, the public
surface; the built-in rules below import the internals they come from.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from shipcard.check.model import SEVERITY_ORDER, Finding, RuleInfo
from shipcard.check.rules.data import RULE_ID, PolicyError, _squash
from shipcard.check.rules.kube import Context
from shipcard.yamlio.read import real_path

EXAMPLE_BLOCK = re.compile(r"^```ya?ml[ \t]+(pass|fail)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ATTRIBUTES = ("ID", "SEVERITY", "CATEGORY", "TITLE", "RATIONALE", "FIX")


@dataclass
class PythonRule:
    info: RuleInfo
    module: ModuleType
    description: str
    _check: Callable[..., Iterable[Finding]]
    _wants_context: bool
    declared: dict[str, dict[str, Any]] = field(default_factory=dict)  # the module's PARAMS
    params: dict[str, Any] = field(default_factory=dict)  # effective values, defaults filled in

    @property
    def id(self) -> str:
        return self.info.id

    def with_params(self, values: dict[str, Any]) -> PythonRule:
        """This rule with `values` (already checked against PARAMS) in place of its parameters."""
        return dataclasses.replace(self, params={**self.params, **values})

    def run(self, context: Context) -> list[Finding]:
        out: list[Finding] = []
        context.params[self.module.ID] = self.params  # a rule that extends another has the module's ID
        try:
            produced = self._check(context.objects, context) if self._wants_context else self._check(context.objects)
            for f in produced or ():
                f.rule, f.severity = self.info.id, self.info.severity
                if not f.help:
                    f.help = self.info.fix
                out.append(f)
        except Exception as exc:
            out.append(Finding(rule=self.info.id, severity="error", file="",
                               message=f"rule {self.info.id} failed ({type(exc).__name__}: {exc}); "
                                       "its findings are missing"))
        return out


def examples_of(doc: str) -> tuple[list[str], list[str], str]:
    """(pass examples, fail examples, the prose without the example blocks) of a docstring."""
    passes: list[str] = []
    fails: list[str] = []
    for match in EXAMPLE_BLOCK.finditer(doc):
        (passes if match.group(1) == "pass" else fails).append(match.group(2))
    prose = EXAMPLE_BLOCK.sub("", doc)
    prose = re.sub(r"\n{3,}", "\n\n", prose).strip()
    return passes, fails, prose


def rule_from_module(module: ModuleType, source: str) -> PythonRule:
    def fail(message: str) -> PolicyError:
        return PolicyError(f"{source}: {message}")

    for name in ATTRIBUTES:
        value = getattr(module, name, None)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{name} must be a non-empty string")
    rule_id = module.ID
    if not RULE_ID.match(rule_id):
        raise fail(f"ID {rule_id!r} must be lower-case words joined by '-'")
    if module.SEVERITY not in SEVERITY_ORDER:
        raise fail("SEVERITY must be error, warning or info")
    check = getattr(module, "check", None)
    if not callable(check):
        raise fail("no check(objects) function")
    params = [p for p in inspect.signature(check).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    wants_context = len(params) >= 2
    passes, fails, prose = examples_of(inspect.cleandoc(module.__doc__ or ""))
    if not passes or not fails:
        raise fail("the docstring needs at least one ```yaml pass and one ```yaml fail example block")
    info = RuleInfo(id=rule_id, severity=module.SEVERITY, title=module.TITLE.strip(),
                    category=module.CATEGORY.strip(), rationale=_squash(module.RATIONALE),
                    fix=_squash(module.FIX), pass_examples=passes, fail_examples=fails, source=source)
    declared = getattr(module, "PARAMS", {})
    if not isinstance(declared, dict) or not all(isinstance(v, dict) and "default" in v and "schema" in v
                                                 for v in declared.values()):
        raise fail("PARAMS must map each parameter to {default, schema, description}")
    return PythonRule(info, module, prose, check, wants_context, declared,
                      {name: spec["default"] for name, spec in declared.items()})


def builtin_python_rules() -> list[PythonRule]:
    """Every module of `shipcard.check.rules.cross` (works from a wheel: plain package modules)."""
    package = importlib.import_module("shipcard.check.rules.cross")
    rules = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        rules.append(rule_from_module(module, _module_source(module)))
    return rules


def _module_source(module: ModuleType) -> str:
    """A built-in rule's source as people read it: its path inside the package (`shipcard/…/x.py`)."""
    return module.__name__.replace(".", "/") + ".py"


def load_python_rule_file(path: Path) -> PythonRule:
    """An organisation's rule module from a policy directory."""
    stem = re.sub(r"\W", "_", path.stem)
    name = f"shipcard_policy_{abs(hash(str(real_path(path))))}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PolicyError(f"{path}: cannot be imported as a Python rule")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise PolicyError(f"{path}: importing the rule failed: {type(exc).__name__}: {exc}") from None
    return rule_from_module(module, str(path))
