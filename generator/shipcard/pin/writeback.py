"""Rewriting image scalars in a card's original text, leaving every other byte alone.

ruamel's round-trip dump would re-flow some layouts, so instead the new
reference is spliced into the text at the scalar's position, in the quoting
the owner used, and the result is parsed again to prove that nothing but the
image values changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from shipcard.errors import InputError, ShipcardError
from shipcard.pin.cards import Card, ImageSite, PathKey, image_sites
from shipcard.yamlio.roundtrip import load_roundtrip, to_plain

_BOM = "\ufeff"
_PLAIN_END = " \t\r\n,]}#"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    quote: str


def rewrite(card: Card, new_values: dict[PathKey, str]) -> str:
    """The card's text with the image at each path replaced by `new_values[path]`, verified."""
    sites = {site.path: site for site in card.sites}
    edits: dict[int, tuple[_Span, str]] = {}
    for path, value in new_values.items():
        site = sites[path]
        span = scalar_span(card.text, site)
        replacement = f"{span.quote}{value}{span.quote}"
        earlier = edits.get(span.start)
        if earlier and earlier[1] != replacement:
            raise InputError(site.location, "image", "one aliased scalar would need two different digests")
        edits[span.start] = (span, replacement)
    text = card.text
    for span, replacement in sorted(edits.values(), key=lambda edit: edit[0].start, reverse=True):
        text = text[: span.start] + replacement + text[span.end :]
    verify(card, text, new_values)
    return text


def scalar_span(text: str, site: ImageSite) -> _Span:
    """Where the image scalar's source text is, quotes included, and which quote it uses."""
    start = _offset(text, site.line, site.column)
    start = _skip_properties(text, start)
    value = site.text
    head = text[start : start + 1]
    if head in ("'", '"'):
        end = start + 1 + len(value)
        if text[start + 1 : end] == value and text[end : end + 1] == head:
            return _Span(start, end + 1, head)
    elif head != "*":
        end = start + len(value)
        if text[start:end] == value and (end == len(text) or text[end] in _PLAIN_END):
            return _Span(start, end, "")
    raise InputError(site.location, "image",
                     "cannot rewrite this scalar in place (alias, escape or block style); "
                     "write the reference as a plain or quoted string")


def verify(card: Card, new_text: str, new_values: dict[PathKey, str]) -> None:
    """Parse the rewritten text and check that only the intended image values differ."""
    expected = copy.deepcopy(to_plain(card.document))
    for path, value in new_values.items():
        _assign(expected, path, value)
    document = load_roundtrip(new_text, card.name)
    if to_plain(document) != expected:
        raise ShipcardError(f"{card.name}: rewriting the image references would change other values; "
                            "card left unchanged")
    before = [site.path for site in card.sites]
    after = [site.path for site in image_sites(document, card.name)]
    if before != after:
        raise ShipcardError(f"{card.name}: rewriting moved image references; card left unchanged")


def _assign(data: Any, path: PathKey, value: str) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _offset(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based line and column, counted the way ruamel's reader counts.

    Line breaks are `\\n` and a lone `\\r`; a byte-order mark takes no column.
    """
    offset, current = 0, 1
    while current < line:
        newline = _next_break(text, offset)
        if newline < 0:
            raise ValueError(f"line {line} is past the end of the text")
        offset = newline + (2 if text.startswith("\r\n", newline) else 1)
        current += 1
    remaining = column - 1
    while remaining > 0 or text[offset : offset + 1] == _BOM:
        if text[offset] != _BOM:
            remaining -= 1
        offset += 1
    return offset


def _next_break(text: str, start: int) -> int:
    candidates = [i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0]
    return min(candidates) if candidates else -1


def _skip_properties(text: str, offset: int) -> int:
    """Step over an anchor (`&name`) and a tag (`!tag`) in front of a scalar."""
    while text[offset : offset + 1] in ("&", "!"):
        while offset < len(text) and text[offset] not in " \t\r\n":
            offset += 1
        while offset < len(text) and text[offset] in " \t":
            offset += 1
    return offset
