"""The stable surface for organisation policy authors.

A Python rule in a policy directory imports only from here; everything else in shipcard
is internal and may change between releases. A rule module defines `ID`, `SEVERITY`,
`CATEGORY`, `TITLE`, `RATIONALE`, `FIX`, PASS/FAIL examples in its docstring and
`check(objects, context=None)`:

    from shipcard.rules import Context, K8sObject, finding

    def check(objects: list[K8sObject], context: Context | None = None):
        for obj in objects:
            if obj.kind == "Deployment" and "example.com/team" not in obj.metadata.get("labels", {}):
                yield finding(obj, ("metadata", "labels"), f"{obj.kind} {obj.name!r} has no team label")

`Context` indexes the checked objects (`of_kind`, `workloads`, selectors, HPAs) and knows
the repository root; `dig`, `as_dict` and `as_list` read untyped manifest data safely;
`selector_matches` evaluates a label selector the way Kubernetes does.
"""

from __future__ import annotations

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, as_dict, as_list, dig, finding, selector_matches

__all__ = [
    "Context",
    "Finding",
    "K8sObject",
    "Prepared",
    "as_dict",
    "as_list",
    "dig",
    "finding",
    "selector_matches",
]
