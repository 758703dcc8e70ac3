"""Editing YAML people own in its text: find a value's span, replace scalars, re-parse and verify.

A round-trip dump would re-flow some layouts, so an edit is spliced into the original text at
the positions ruamel reports, in the quoting the owner used, and the result is parsed again: it
must hold the old data with exactly the intended changes, or nothing is changed. Every other
byte survives: LF, CRLF and lone-CR line ends, a byte-order mark, comments, quoting, anchors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from shipcard.errors import InputError, Location
from shipcard.yamlio.read import STR_TAG, PathKey, plain_scalar_tag
from shipcard.yamlio.roundtrip import load_roundtrip, ruamel_tag, to_plain

Scalar = str | int | bool

_BOM = "\ufeff"
_PLAIN_END = " \t\r\n,]}#:"
_LINE_BREAK = re.compile(r"\r\n?|\n")
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_/]([A-Za-z0-9_./@:+-]*[A-Za-z0-9_./@+-])?$")


@dataclass(frozen=True)
class _Span:
    """Where a scalar's source text is (quotes included) and the quote it is written in ("" when plain)."""

    start: int
    end: int
    quote: str


def replace_scalars(text: str, document: Any, filename: str, values: Mapping[PathKey, Scalar],
                    renames: Mapping[PathKey, str] | None = None) -> str:
    """`text` with the scalar at each path of `values` set to its value and each key at a path of
    `renames` renamed; verified by parsing the result again.

    `document` is `text` loaded with `load_roundtrip`. An anchored scalar is written once, for
    every alias of it: all of its paths must be given, with the same value.
    """
    renames = renames or {}
    edits: dict[int, tuple[_Span, str]] = {}
    for path, value in values.items():
        _add_edit(edits, text, document, filename, path, value, key=False)
    for path, new_key in renames.items():
        _add_edit(edits, text, document, filename, path, new_key, key=True)
    new_text = text
    for span, replacement in sorted(edits.values(), key=lambda edit: edit[0].start, reverse=True):
        new_text = new_text[: span.start] + replacement + new_text[span.end :]
    _verify(document, load_roundtrip(new_text, filename), values, renames, filename)
    return new_text


def append_key(text: str, document: Any, filename: str, key: str, value: Any, source: str, comment: str = "") -> str:
    """`text` with `key: source  # comment` added as the last key of its top-level block mapping (`source` is
    `value` written as YAML); parsed again, it must hold the old data and that key, or nothing is changed."""
    line_end = _LINE_BREAK.search(text)
    newline = line_end.group(0) if line_end else "\n"
    body = text if not text or text.endswith(("\n", "\r")) else text + newline
    edited = body + f"{key}: {source}" + (f"  # {comment}" if comment else "") + newline
    problem = f"cannot add {key} to the card's text; add `{key}: {source}` yourself"
    if not isinstance(document, CommentedMap) or document.fa.flow_style() or key in document:
        raise InputError(Location(filename), key, problem)
    try:
        after = load_roundtrip(edited, filename)
    except InputError:
        raise InputError(Location(filename), key, problem) from None
    if not isinstance(after, CommentedMap) or list(after) != [*document, key] \
            or to_plain(after) != {**to_plain(document), key: value}:
        raise InputError(Location(filename), key, problem)
    return edited


def scalar_text(value: Scalar) -> str:
    """YAML source for a scalar that reads back as exactly `value`, in block or flow context.

    Plain when the text cannot be read as anything else (by YAML 1.1 or 1.2 readers), else a
    double-quoted string (JSON's escapes, plus escapes for every non-printable character).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN_SAFE.match(text) and ruamel_tag(text) == STR_TAG \
            and plain_scalar_tag(text) == STR_TAG:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in quoted)


def _add_edit(edits: dict[int, tuple[_Span, str]], text: str, document: Any, filename: str,
              path: PathKey, value: Scalar, *, key: bool) -> None:
    """Record the replacement of one scalar (a key when `key`); one anchored scalar takes one value."""
    holder = _at(document, path[:-1])
    line, column = _position(holder, path[-1], key=key)
    location = Location(filename, line + 1, column + 1)
    field = next((str(step) for step in reversed(path) if isinstance(step, str)), "")
    current = path[-1] if key else holder[path[-1]]
    if isinstance(current, (dict, list)) or current is None or isinstance(current, bool):
        raise InputError(location, field, "cannot rewrite this value in place: not a string or a number")
    span = _scalar_span(text, line, column, str(current))
    if span is None:
        raise InputError(location, field, "cannot rewrite this scalar in place (alias, escape or block style); "
                         "write it as a plain or quoted string")
    replacement = _source(value, span.quote)
    earlier = edits.get(span.start)
    if earlier is not None and earlier[1] != replacement:
        raise InputError(location, field, "one anchored scalar would need two different values")
    edits[span.start] = (span, replacement)


def _scalar_span(text: str, line: int, column: int, source: str) -> _Span | None:
    """The span of the scalar written `source` at 0-based `line` and `column` (as ruamel counts them),
    past its anchor and tag; None when it is not written there plainly or in quotes without escapes."""
    start = _skip_properties(text, _offset(text, line, column))
    head = text[start : start + 1]
    if head in ("'", '"'):
        end = start + 1 + len(source)
        if text[start + 1 : end] == source and text[end : end + 1] == head:
            return _Span(start, end + 1, head)
    elif head not in ("*", "|", ">"):
        end = start + len(source)
        if text[start:end] == source and (end == len(text) or text[end] in _PLAIN_END):
            return _Span(start, end, "")
    return None


def _source(value: Scalar, quote: str) -> str:
    """The new scalar's text: in the owner's quotes when it fits them unescaped, else as `scalar_text` writes it."""
    if isinstance(value, str) and quote and value.isprintable() and quote not in value \
            and not (quote == '"' and "\\" in value):
        return f"{quote}{value}{quote}"
    return scalar_text(value)


def _position(holder: Any, step: str | int, *, key: bool) -> tuple[int, int]:
    """0-based line and column of the value (or key) `step` of a round-trip mapping or sequence."""
    if isinstance(holder, CommentedMap):
        return holder.lc.key(step) if key else holder.lc.value(step)
    if isinstance(holder, CommentedSeq) and not key:
        return holder.lc.item(step)
    raise TypeError(f"no position for {step!r} in a {type(holder).__name__}")


def _offset(text: str, line: int, column: int) -> int:
    """Character offset of a 0-based line and column, counted the way ruamel's reader counts.

    Line breaks are `\\n`, `\\r\\n` and a lone `\\r`; a byte-order mark takes no column.
    """
    offset = 0
    for _ in range(line):
        found = _LINE_BREAK.search(text, offset)
        if found is None:
            raise ValueError(f"line {line + 1} is past the end of the text")
        offset = found.end()
    remaining = column
    while remaining > 0 or text[offset : offset + 1] == _BOM:
        if text[offset] != _BOM:
            remaining -= 1
        offset += 1
    return offset


def _skip_properties(text: str, offset: int) -> int:
    """Step over an anchor (`&name`) and a tag (`!tag`) in front of a scalar."""
    while text[offset : offset + 1] in ("&", "!"):
        while offset < len(text) and text[offset] not in " \t\r\n":
            offset += 1
        while offset < len(text) and text[offset] in " \t":
            offset += 1
    return offset


def _verify(before: Any, after: Any, values: Mapping[PathKey, Scalar], renames: Mapping[PathKey, str],
            filename: str) -> None:
    """The new document must hold the old data with exactly these changes, keys in the same order."""
    expected = to_plain(before)
    for path, value in values.items():
        _at(expected, path[:-1])[path[-1]] = value
    for path, new_key in renames.items():
        holder = _at(expected, path[:-1])
        items = [(new_key if key == path[-1] else key, value) for key, value in holder.items()]
        holder.clear()
        holder.update(items)
    if _ordered(expected) != _ordered(to_plain(after)):
        raise InputError(Location(filename), "", "rewriting in place would change other values too "
                         "(an anchor shared with another field?); file left unchanged")


def _at(data: Any, path: PathKey) -> Any:
    for step in path:
        data = data[step]
    return data


def _ordered(data: Any) -> Any:
    """`data` compared with key order and types (`1` is not `true`, `{a, b}` is not `{b, a}`)."""
    if isinstance(data, dict):
        return ("map", [(key, _ordered(value)) for key, value in data.items()])
    if isinstance(data, list):
        return ("seq", [_ordered(value) for value in data])
    return (type(data).__name__, data)
