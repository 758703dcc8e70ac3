"""The policy pack: data rules from `policies/`, Python rules from `shipcard.check.rules.cross`.

    rules = load_rules([Path("org-policies")])      # built-in pack + organisation policies
    findings = rules.evaluate(objects, root=repo)    # every rule over every object
    rules.infos(); rules.get("run-as-root")

Organisation policy directories use the same formats as the built-in pack: every
`*.yaml`/`*.yml` file below them is a data rule (see `shipcard.check.rules.data`),
every `*.py` file a Python rule (see `shipcard.check.rules.python`). Rule IDs must be
unique across the pack and all directories.

The package's names are imported from its modules when first used (`__getattr__`): the input readers
need only the rule IDs and helpers of a few `rules.cross` modules, and a check with nothing to
evaluate never loads the pack (`rules.pack`, with the data and Python rule loaders).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipcard.check.rules.data import DataRule, PolicyError
    from shipcard.check.rules.kube import Context, Prepared
    from shipcard.check.rules.pack import Rule, RuleSet, builtin_policy_dir, load_rules
    from shipcard.check.rules.python import PythonRule

_HOMES = {"RuleSet": "pack", "Rule": "pack", "load_rules": "pack", "builtin_policy_dir": "pack",
          "PolicyError": "data", "DataRule": "data", "PythonRule": "python", "Context": "kube", "Prepared": "kube"}

__all__ = ["Context", "DataRule", "PolicyError", "Prepared", "PythonRule", "Rule", "RuleSet", "builtin_policy_dir",
           "load_rules"]


def __getattr__(name: str) -> Any:
    """`name` from the module that defines it, imported now."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
