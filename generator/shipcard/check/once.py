"""Findings people read once: a finding of a source line that several renders include is one finding.

A Kustomize base included by four overlays, or a template of the vendored chart rendered once per
release, yields the same finding at the same source line once per render. Those are one problem:
`report_once` keeps one finding per source place and lists the renders it came through in `via`.

Findings are the same when they have the same rule, severity, file, line, column, field path,
container and suppression, and the same message once the parts each render changes are taken out
(the object's namespace and name, a release's name; never the container's name). Findings of raw
files (not rendered) are never merged, nor two findings of one render (two objects of one template,
whose lines are unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from shipcard.check.model import Finding, Via

KUSTOMIZE_PREFIX = "kubectl kustomize "
HELM_PREFIX = "helm template "


def report_once(findings: list[Finding]) -> list[Finding]:
    """`findings` with those of several renders at one source place merged; order kept (of the first)."""
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    order: list[tuple[Any, ...] | int] = []
    for index, finding in enumerate(findings):
        if finding.origin is None:
            order.append(index)
            continue
        key = _identity(finding)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(finding)
    merged: list[Finding] = []
    for entry in order:
        if isinstance(entry, int):
            merged.append(findings[entry])
            continue
        group = groups[entry]
        origins = [f.origin for f in group]
        if len(set(origins)) < len(origins):  # two objects of one render: not one problem
            merged += [_with_via(f, [f]) for f in group]
        else:
            group = sorted(group, key=lambda f: (f.origin or "", f.object_ref))
            merged.append(_with_via(group[0], group))  # message and object of the same (first) render
    return merged


def _with_via(first: Finding, group: list[Finding]) -> Finding:
    via = tuple(sorted(Via(f.origin or "", f.object_ref) for f in group))
    return replace(first, via=via, origin=via[0].origin, object_ref=via[0].object_ref)


def _identity(finding: Finding) -> tuple[Any, ...]:
    suppression = finding.suppression
    return (finding.rule, finding.severity, finding.file, finding.line, finding.column, finding.path,
            finding.container, None if suppression is None else (suppression.source, suppression.reason),
            finding.object_ref.split("/", 1)[0], _without_render_parts(finding))


def _without_render_parts(finding: Finding) -> str:
    """The message with the object's namespace and name and the release name written as placeholders."""
    _, _, rest = finding.object_ref.partition("/")
    namespace, _, name = rest.rpartition("/")
    release = release_of(finding.origin or "").split(" in ", 1)[0]
    # The container's name first: the same in every render, and often the object's name too.
    parts = [("\0container", finding.container or "")]
    parts += sorted([("\0name", name), ("\0namespace", namespace), ("\0release", release)],
                    key=lambda part: -len(part[1]))
    message = finding.message.replace(finding.object_ref, "\0ref") if finding.object_ref else finding.message
    for placeholder, text in parts:
        if text:  # a whole word only: never inside an image (`app:staging`, `ghcr.io/team-a/app`) or a path
            message = re.sub(rf"(?<![\w.:/@-]){re.escape(text)}(?![\w:/@-]|\.\w)", placeholder, message)
    return message


def release_of(origin: str) -> str:
    """`helm template REL CHART [--namespace NS]` → 'REL' or 'REL in NS'; '' for other origins."""
    words = origin.split(" ")
    if not origin.startswith(HELM_PREFIX) or len(words) < 4:
        return ""
    return f"{words[2]} in {words[5]}" if words[4:5] == ["--namespace"] and len(words) == 6 else words[2]


def chart_of(origin: str) -> str:
    """`helm template REL CHART [--namespace NS]` → CHART; '' for other origins."""
    words = origin.split(" ")
    return words[3] if origin.startswith(HELM_PREFIX) and len(words) >= 4 else ""


def overlay_of(origin: str) -> str:
    """`kubectl kustomize DIR` → DIR; '' for other origins."""
    return origin.removeprefix(KUSTOMIZE_PREFIX) if origin.startswith(KUSTOMIZE_PREFIX) else ""


def via_text(via: Iterable[Via]) -> str:
    """'overlays: a, b' / 'releases: x in ns1, x in ns2' (either or both, '; '-separated), for the reporters."""
    origins = [v.origin for v in via]
    overlays = [overlay_of(o) for o in origins if overlay_of(o)]
    releases = [release_of(o) for o in origins if release_of(o)]
    others = [o for o in origins if not overlay_of(o) and not release_of(o)]
    parts = [f"overlays: {', '.join(overlays)}" if overlays else "",
             f"releases: {', '.join(releases)}" if releases else "", ", ".join(others)]
    return "; ".join(p for p in parts if p)
