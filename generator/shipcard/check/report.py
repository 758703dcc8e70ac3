"""Output formats of `shipcard check`: text, json, sarif (2.1.0), junit and github annotations.

`--format NAME` writes to standard output, `--format NAME=FILE` to a file the way a shell's
`>` would (through a symlink, into a FIFO or a device, never replacing the file's node);
several may be given, at most one of them on standard output.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

import click

from shipcard import __version__
from shipcard.check.engine import CheckResult
from shipcard.check.inputs.paths import display, kustomization_file
from shipcard.check.model import SEVERITY_ORDER, Finding, RuleInfo
from shipcard.check.once import chart_of, overlay_of, release_of, via_text
from shipcard.check.schema import dotted
from shipcard.errors import ShipcardError, WriteError
from shipcard.yamlio.read import real_path

FORMATS = ("text", "json", "sarif", "junit", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/shipcard/shipcard/blob/main/docs/check.md"


@dataclass(frozen=True)
class OutputSpec:
    format: str
    path: Path | None  # None: standard output


def parse_formats(values: tuple[str, ...] | list[str]) -> list[OutputSpec]:
    """`text`, `sarif=results.sarif`, ... → specs; ShipcardError for an unknown format or two on stdout."""
    specs = []
    for value in values or ("text",):
        name, sep, target = value.partition("=")
        name = name.strip().lower()
        if name not in FORMATS:
            raise ShipcardError(f"--format {value!r}: unknown format (use {', '.join(FORMATS)}, optionally =FILE)")
        if sep and not target.strip():
            raise ShipcardError(f"--format {value!r}: missing file name after '='")
        problem = _target_problem(target.strip()) if sep else None
        if problem:
            raise ShipcardError(f"{target.strip()}: --format {name}=FILE {problem}")
        specs.append(OutputSpec(name, Path(target.strip()) if sep else None))
    if sum(1 for s in specs if s.path is None) > 1:
        raise ShipcardError("--format: only one format can go to standard output; give the others a file (FORMAT=FILE)")
    files: dict[str, OutputSpec] = {}
    for spec in specs:
        if spec.path is not None and not _takes_several(spec.path):
            first = files.setdefault(os.path.realpath(spec.path), spec)
            if first is not spec:
                raise ShipcardError(f"{spec.path}: --format {first.format} and --format {spec.format} would write "
                                    "the same file; give each its own")
    return specs


def _target_problem(target: str) -> str | None:
    """Why a report cannot be written to `target` at all (found before the check runs), or None."""
    if target.endswith("/") or os.path.isdir(target):
        return "names a directory; name a file"
    for parent in Path(target).parents:
        if os.path.lexists(parent):
            return None if os.path.isdir(parent) else f"is inside {parent}, which is not a directory"
    return None


def _takes_several(path: Path) -> bool:
    """Whether several reports can go to `path` one after the other: a device (`/dev/null`, a
    terminal). A second report would replace a file's first, and find a FIFO's reader gone."""
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def render(spec_format: str, result: CheckResult, *, color: bool = False, verbose: bool = False) -> str:
    renderers: dict[str, Callable[[CheckResult], str]] = {
        "json": to_json, "sarif": to_sarif, "junit": to_junit, "github": to_github}
    if spec_format == "text":
        return to_text(result, color=color, verbose=verbose)
    return renderers[spec_format](result)


def write_outputs(specs: list[OutputSpec], result: CheckResult, *, verbose: bool = False,
                  inputs: Iterable[Path] = ()) -> None:
    """Every report where its spec says, then the summary line on standard error (stdout stays the report).

    A FILE that the check read (an input, a file with a finding, the config, a policy, `inputs`) or
    one inside a directory of `inputs` (CRDs, policies) is refused before anything is written: a
    report must not destroy what it reports on, nor be read as a policy by the next run.
    """
    to_files = any(spec.path is not None for spec in specs)  # else nothing to refuse, and no rules to load
    given = list(inputs)
    read = _identities([*(Path(f.split(" (", 1)[0]) for f in result.files), *(Path(f.file.split(" (", 1)[0])
                        for f in result.findings), *([Path(result.config_file)] if result.config_file else []),
                        *(Path(i.source) for i in result.rules if i.source), *given]) if to_files else set()
    directories = [os.path.realpath(p) for p in given if os.path.isdir(p)]
    for spec in specs:
        if spec.path is None:
            continue
        target = os.path.realpath(spec.path)
        if _identity(spec.path) in read:
            raise ShipcardError(f"{spec.path}: --format {spec.format}=FILE names a file this check read; "
                                "write the report elsewhere")
        inside = next((d for d in directories if target.startswith(d + os.sep)), None)
        if inside:
            raise ShipcardError(f"{spec.path}: --format {spec.format}=FILE is inside {inside}, a directory of "
                                "CRDs or policies this check reads; write the report elsewhere")
    for spec in specs:
        if spec.path is None:
            color = spec.format == "text" and _colored(sys.stdout)
            click.echo(render(spec.format, result, color=color, verbose=verbose), nl=False)
        else:
            write_report(spec.path, render(spec.format, result, verbose=verbose).encode("utf-8"))
    click.echo(summary_line(result, click.style if _colored(sys.stderr) else _plain), err=True)


def write_report(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a shell's `>` would: following symlinks, into a FIFO or a device,
    the node itself never replaced; a missing parent directory is created.

    A regular file gets the space reserved before its first byte changes, so a full disk or a
    file-size limit leaves its old content; then it is overwritten and cut to length. The file
    that is standard output or standard error (`/dev/stdout`) is written through that stream,
    after what was written there already.
    """
    stream = _standard_stream(path)
    if stream is not None:
        stream.flush()
        stream.buffer.write(data)
        stream.flush()
        return
    sys.stdout.flush()  # a FIFO or a terminal that standard output also reaches: in order
    created = not os.path.exists(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise WriteError(path, exc) from None
    regular = False
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if regular and data:
            _reserve(fd, len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if regular:
            os.ftruncate(fd, len(data))
    except OSError as exc:
        if created and regular:  # nothing half-written where there was nothing
            Path(os.path.realpath(path)).unlink(missing_ok=True)
        raise WriteError(path, exc) from None
    finally:
        os.close(fd)


def _reserve(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


def _standard_stream(path: Path) -> TextIO | None:
    try:
        target = os.stat(path)
    except OSError:
        return None
    for stream in (sys.stdout, sys.stderr):
        try:
            if os.path.samestat(target, os.fstat(stream.fileno())) and hasattr(stream, "buffer"):
                return stream
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            continue
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


def _identities(paths: Iterable[Path]) -> set[tuple[int, int]]:
    return {identity for identity in map(_identity, paths) if identity is not None}


def _colored(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def _plain(text: str, **_: object) -> str:
    return text


# --------------------------------------------------------------------------- paths


@lru_cache(maxsize=4096)
def artifact_path(file: str, root: Path) -> tuple[str, bool]:
    """(path relative to the repository root, True) when inside it; else (absolute path, False)."""
    if not file or file.startswith("<"):
        return "stdin", False
    plain = file.split(" (", 1)[0]
    absolute = real_path(plain)
    try:
        return absolute.relative_to(real_path(root)).as_posix(), True
    except ValueError:
        return absolute.as_posix(), False


# --------------------------------------------------------------------------- text

_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}


def to_text(result: CheckResult, *, color: bool = False, verbose: bool = False) -> str:
    def style(text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    lines: list[str] = []
    shown = [f for f in result.findings if verbose or not f.suppressed]
    current = None
    for finding in shown:
        if finding.file != current:
            if current is not None:
                lines.append("")
            lines.append(style(finding.file, bold=True))
            current = finding.file
        where = f"{finding.file}:{finding.line}:{finding.column or 1}" if finding.line else finding.file
        severity = style(f"{finding.severity:<7}", fg=_COLORS[finding.severity], bold=finding.severity == "error")
        subject = f" [{finding.object_ref}" + (f" container {finding.container}" if finding.container else "") \
            + "]" if finding.object_ref else ""
        text = f"  {where}: {severity} {style(finding.rule, bold=True)}: {finding.message}{subject}"
        if finding.suppressed:
            assert finding.suppression is not None
            text = style(f"  {where}: suppressed {finding.rule}: {finding.message}{subject} "
                         f"-- {finding.suppression.source}: {finding.suppression.reason}", dim=True)
        lines.append(text)
        if len(finding.via) > 1:
            lines.append(style(f"      via {via_text(finding.via)}", dim=True))
        elif finding.origin:
            lines.append(style(f"      via {finding.origin}", dim=True))
    return "".join(line + "\n" for line in lines)


def summary_line(result: CheckResult, style: Callable[..., str] = _plain) -> str:
    """The one line every run ends with, on standard error, whatever the formats write."""
    counts = result.counts()
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in ("error", "warning", "info") if counts[s]]
    found = ", ".join(parts) if parts else "no findings"
    suppressed = f" ({counts['suppressed']} suppressed)" if counts["suppressed"] else ""
    scope = (f"{result.objects} object{'s' if result.objects != 1 else ''} from {len(result.files)} "
             f"input{'s' if len(result.files) != 1 else ''}"
             f"{f' of shard {result.shard.index}/{result.shard.total}' if result.shard else ''}, "
             f"Kubernetes {result.kubernetes_version}")
    mark = style("FAIL", fg="red", bold=True) if result.exit_code else style("ok", fg="green", bold=True)
    return f"{mark}: {found}{suppressed} in {scope} (fail-on {result.fail_on})"


# --------------------------------------------------------------------------- json


def finding_dict(finding: Finding) -> dict[str, object]:
    suppression = finding.suppression
    return {
        "rule": finding.rule, "severity": finding.severity, "message": finding.message,
        "file": finding.file, "line": finding.line, "column": finding.column,
        "object": finding.object_ref or None, "path": dotted(finding.path) if finding.path else None,
        "container": finding.container, "origin": finding.origin,
        "via": [{"origin": v.origin, "object": v.object_ref} for v in finding.via], "help": finding.help or None,
        "suppressed": suppression is not None,
        "suppression": None if suppression is None else {
            "source": suppression.source, "reason": suppression.reason, "expires": suppression.expires},
    }


def to_json(result: CheckResult) -> str:
    document = {
        "tool": "shipcard", "version": __version__, "kubernetesVersion": result.kubernetes_version,
        "failOn": result.fail_on, "exitCode": result.exit_code, "summary": {**result.counts(),
                                                                          "objects": result.objects,
                                                                          "inputs": len(result.files)},
        "findings": [finding_dict(f) for f in result.findings],
        "inputs": result.files, "skipped": [{"path": p, "reason": r} for p, r in result.skipped],
        "selection": result.selection, "config": result.config_file,
    }
    return json.dumps(document, ensure_ascii=False) + "\n"  # compact: the C encoder, 10x faster


# --------------------------------------------------------------------------- sarif

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _sarif_rule(info: RuleInfo) -> dict[str, object]:
    markdown = f"**{info.title}**\n\n{info.rationale}\n\n**Fix:** {info.fix}"
    return {
        "id": info.id,
        "name": "".join(part.capitalize() for part in info.id.split("-")),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.rationale or info.title},
        "help": {"text": info.fix or info.title, "markdown": markdown},
        "helpUri": f"{INFORMATION_URI}#{info.id}",
        "defaultConfiguration": {"level": _SARIF_LEVEL[info.severity]},
        "properties": {"tags": [info.category.lower()], "category": info.category},
    }


def to_sarif(result: CheckResult) -> str:
    infos = {i.id: i for i in result.rules}
    for finding in result.findings:  # findings of rules nobody documented still need a rule entry
        infos.setdefault(finding.rule, RuleInfo(finding.rule, finding.severity, finding.rule, "Other", "", ""))
    ordered = sorted(infos.values(), key=lambda i: i.id)
    index = {info.id: n for n, info in enumerate(ordered)}
    results = []
    for finding in result.findings:
        uri, relative = artifact_path(finding.file, result.root)
        location: dict[str, object] = {"artifactLocation": {"uri": uri, **({"uriBaseId": "%SRCROOT%"}
                                                                          if relative else {})}}
        if finding.line > 0:
            location["region"] = {"startLine": finding.line, "startColumn": max(1, finding.column)}
        text = finding.message + (f" [{finding.object_ref}]" if finding.object_ref else "")
        if len(finding.via) > 1:  # GitHub links the related locations a message embeds
            text += " (via " + ", ".join(f"[{_escape_link(overlay_of(v.origin) or release_of(v.origin) or v.origin)}]"
                                         f"({n})" for n, v in enumerate(finding.via, start=1)) + ")"
        entry: dict[str, object] = {
            "ruleId": finding.rule, "ruleIndex": index[finding.rule], "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": text},
            "locations": [{"physicalLocation": location,
                           **({"logicalLocations": [{"fullyQualifiedName": finding.object_ref,
                                                     "kind": "object"}]} if finding.object_ref else {})}],
            "partialFingerprints": {"shipcardFinding/v1": _fingerprint(finding, uri)},
        }
        if len(finding.via) > 1:
            entry["relatedLocations"] = _related_locations(finding, result.root)
        if finding.suppression is not None:
            entry["suppressions"] = [{
                "kind": "inSource" if finding.suppression.source == "annotation" else "external",
                "status": "accepted", "justification": finding.suppression.reason}]
        results.append(entry)
    document = {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "shipcard", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": [_sarif_rule(i) for i in ordered]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": real_path(result.root).as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            # One category per shard: GitHub code scanning keeps each shard's upload beside the others'.
            **({"automationDetails": {"id": result.shard.category}} if result.shard else {}),
            "invocations": [{"executionSuccessful": result.exit_code != 2,
                             "properties": {"exitCode": result.exit_code}}],
            "results": results,
        }],
    }
    return json.dumps(document, ensure_ascii=False) + "\n"  # compact: the C encoder, 10x faster


def _related_locations(finding: Finding, root: Path) -> list[dict[str, object]]:
    """One related location per render (the overlay's kustomization, the release's chart), ids from 1."""
    related: list[dict[str, object]] = []
    for number, via in enumerate(finding.via, start=1):
        location: dict[str, object] = {"id": number, "message": {"text": f"via {via.origin}"},
                                       "logicalLocations": [{"fullyQualifiedName": via.object_ref, "kind": "object"}]}
        where = _render_file(via.origin)
        if where:
            uri, relative = artifact_path(where, root)
            location["physicalLocation"] = {"artifactLocation": {"uri": uri, **({"uriBaseId": "%SRCROOT%"}
                                                                               if relative else {})}}
        related.append(location)
    return related


def _render_file(origin: str) -> str:
    """The file that declares a render: the overlay's kustomization file, the chart's Chart.yaml."""
    overlay = overlay_of(origin)
    if overlay:
        file = kustomization_file(Path(overlay))
        return display(file) if file is not None else overlay
    chart = chart_of(origin)
    return f"{chart}/Chart.yaml" if chart else ""


def _escape_link(text: str) -> str:
    """Text of a SARIF embedded link: brackets escaped (SARIF 2.1.0, 3.11.6)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _fingerprint(finding: Finding, uri: str) -> str:
    """Stable across line moves: rule, file, object, field path, container."""
    text = "|".join([finding.rule, uri, finding.object_ref, dotted(finding.path), finding.container or ""])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- junit


def to_junit(result: CheckResult) -> str:
    """One testsuite per input file; one testcase per finding (failure at or above --fail-on), or one
    passing testcase for a file without findings."""
    import xml.etree.ElementTree as ET  # only for --format junit

    by_file: dict[str, list[Finding]] = {f: [] for f in result.files}
    for finding in result.findings:
        by_file.setdefault(finding.file, []).append(finding)
    threshold = SEVERITY_ORDER[result.fail_on]
    suites = ET.Element("testsuites", name="shipcard check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for file in sorted(by_file):
        suite = ET.SubElement(suites, "testsuite", name=file)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        if not by_file[file]:
            counts["tests"] += 1
            ET.SubElement(suite, "testcase", classname=file, name="no findings")
        for finding in by_file[file]:
            counts["tests"] += 1
            where = f":{finding.line}" if finding.line else ""
            subject = f" {finding.object_ref}" if finding.object_ref else ""
            case = ET.SubElement(suite, "testcase", classname=file, name=f"{finding.rule}{subject}{where}")
            text = f"{finding.file}{where}: {finding.severity} {finding.rule}: {finding.message}"
            if len(finding.via) > 1:
                text += f" (via {via_text(finding.via)})"
            if finding.suppression is not None:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"suppressed ({finding.suppression.source}): "
                                                       f"{finding.suppression.reason}")
            elif SEVERITY_ORDER[finding.severity] >= threshold:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=finding.message, type=finding.rule)
                failure.text = text
            else:
                out = ET.SubElement(case, "system-out")
                out.text = text
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("errors", "0")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- github


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def to_github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: one annotation per unsuppressed finding."""
    lines = []
    for finding in result.findings:
        if finding.suppressed:
            continue
        path, _ = artifact_path(finding.file, result.root)
        props = [f"file={_escape_property(path)}"]
        if finding.line:
            props += [f"line={finding.line}", f"col={max(1, finding.column)}"]
        props.append(f"title={_escape_property(finding.rule)}")
        subject = f" [{finding.object_ref}]" if finding.object_ref else ""
        if len(finding.via) > 1:
            subject += f" (via {via_text(finding.via)})"
        lines.append(f"::{_GITHUB_COMMAND[finding.severity]} {','.join(props)}::"
                     f"{_escape_data(finding.message + subject)}")
    return "".join(line + "\n" for line in lines)
