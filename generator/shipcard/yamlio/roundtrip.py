"""Round-trip (ruamel.yaml) loading of files people own, such as service cards.

Keeps comments, order and quoting, and knows the line and column of every key.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError as RuamelMarkedError
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from shipcard.errors import InputError, Location
from shipcard.yamlio.read import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    SCALAR_TAGS_MAX,
    STR_TAG,
    PathKey,
    complex_key_at,
    document_start,
    first_too_deep,
    load_documents,
    misfit_tag_error,
    refuse_tabs_for_indentation,
    too_deep_at,
    unmarked_error,
)


def _roundtrip_yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.allow_duplicate_keys = False
    return rt


def load_roundtrip(text: str, filename: str) -> Any:
    """Parse one YAML document with ruamel round-trip; errors carry file:line:col."""
    refuse_tabs_for_indentation(text, filename)
    if text.count("[") + text.count("{") > MAX_DEPTH:
        # ruamel's scanner slows down with every open flow collection (seconds for a few thousand):
        # refuse deep flow nesting from libyaml's events first, in linear time.
        deep = first_too_deep(text, filename)
        if deep is not None:
            raise InputError(deep, "", f"nesting deeper than {MAX_DEPTH} levels")
    try:
        docs = list(_roundtrip_yaml().load_all(text))
    except RuamelMarkedError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in problem or "found duplicate key" in str(exc):
            problem = "duplicate key" + _duplicate_key_name(str(exc))
        if problem.startswith("failed to construct timestamp"):  # ruamel quotes the text: it may be a secret
            problem = "the value is not a valid !!timestamp"
        raise InputError(Location(filename, line, col), "", problem) from None
    except RecursionError:
        raise InputError(too_deep_at(text, filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    except RuamelYAMLError as exc:  # no mark: the reader refusing a character (NUL, other control characters)
        raise unmarked_error(exc, text, filename) from None
    except TypeError:  # ruamel cannot hash a mapping used as a mapping key (`? {a: {}}`)
        raise InputError(complex_key_at(text, filename), "", "a mapping key must be a plain value, "
                         "not a mapping or a list") from None
    except (ValueError, KeyError, AttributeError):  # ruamel's constructors on `!!int abc`, `!!float x`, ...
        raise misfit_tag_error(text, filename) from None
    if len(docs) > 1:
        raise InputError(document_start(text, filename, 1), "", "expected one YAML document, found several")
    doc = docs[0] if docs else None
    _check_shape(doc, filename)
    return doc


def _duplicate_key_name(message: str) -> str:
    marker = 'found duplicate key "'
    if marker in message:
        return ' "' + message.split(marker, 1)[1].split('"', 1)[0] + '"'
    return ""


def _check_shape(doc: Any, filename: str) -> None:
    """Refuse alias bombs and absurd nesting before anything walks the data."""
    sizes: dict[int, int] = {}

    def expanded(node: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise InputError(Location(filename, *position_of(node)), "", f"nesting deeper than {MAX_DEPTH} levels")
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        children = node.values() if isinstance(node, dict) else node
        total = 1 + sum(expanded(child, depth + 1) for child in children)
        if total > MAX_EXPANDED_NODES:
            raise InputError(Location(filename, *position_of(node)), "",
                             "document expands to more than a million nodes (YAML alias bomb?)")
        sizes[key] = total
        return total

    expanded(doc, 0)


def position_of(node: Any, key: str | int | None = None) -> tuple[int, int]:
    """1-based (line, column) of a round-trip node, or of its key `key`; (0, 0) when unknown."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return (0, 0)
    try:
        if key is None:
            return (lc.line + 1, lc.col + 1)
        if isinstance(node, CommentedMap):
            line, col = lc.key(key)
        elif isinstance(node, CommentedSeq):
            line, col = lc.item(key)
        else:
            return (lc.line + 1, lc.col + 1)
        return (line + 1, col + 1)
    except (KeyError, IndexError, TypeError):
        return (lc.line + 1, lc.col + 1)


def locate(root: Any, path: PathKey) -> tuple[int, int]:
    """Line and column of the deepest existing element of `path` inside a round-trip document.

    A document whose root carries no position (a bare scalar) is placed at its start, 1:1.
    """
    node, best = root, position_of(root)
    if best == (0, 0):
        best = (1, 1)
    for key in path:
        found = key in node if isinstance(node, dict) else \
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not found:
            break
        best = position_of(node, key)
        node = node[key]
    return best


def to_plain(node: Any) -> Any:
    """Copy ruamel containers into plain dicts and lists (and tagged scalars into str/int/...)."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


class NeedsRoundtrip(Exception):
    """`load_plain_like_roundtrip` cannot promise ruamel's result for this text: use `load_roundtrip`."""


_TAG_PROPERTY = re.compile(r"(?:^|[\s\[{,:-])!", re.MULTILINE)
_CANONICAL = {
    "tag:yaml.org,2002:int": re.compile(r"^[-+]?(0|[1-9][0-9]*)$"),
    "tag:yaml.org,2002:float": re.compile(r"^[-+]?[0-9]+\.[0-9]+$"),
    "tag:yaml.org,2002:bool": re.compile(r"^(true|True|TRUE|false|False|FALSE)$"),
    "tag:yaml.org,2002:null": re.compile(r"^(~|null|Null|NULL|)$"),
}
_RUAMEL_TAGS: dict[str, str] = {}


def ruamel_tag(value: str) -> str:
    """The tag ruamel's YAML 1.2 resolver gives a plain scalar (memoised: values repeat across cards)."""
    tag = _RUAMEL_TAGS.get(value)
    if tag is None:
        from ruamel.yaml.resolver import implicit_resolvers

        tag = STR_TAG
        first = value[:1]
        for versions, candidate, pattern, starts in implicit_resolvers:
            if (1, 2) in versions and first in starts and pattern.match(value):
                tag = candidate
                break
        if len(_RUAMEL_TAGS) < SCALAR_TAGS_MAX:
            _RUAMEL_TAGS[value] = tag
    return tag


def load_plain_like_roundtrip(text: str, filename: str) -> Any:
    """`to_plain(load_roundtrip(text))`, parsed by libyaml several times faster.

    libyaml resolves YAML 1.1 and ruamel YAML 1.2 (`yes`, `010`, `1e3` differ), so every plain
    scalar must resolve to the same tag under both and, when not a string, be written in a form
    both read alike; merge keys, tags, directives and errors are left to ruamel as well.
    Raises NeedsRoundtrip whenever the answer could differ from ruamel's.
    """
    refuse_tabs_for_indentation(text, filename)
    if text.lstrip("\ufeff").startswith("%") or "<<" in text or ("!" in text and _TAG_PROPERTY.search(text)):
        raise NeedsRoundtrip
    try:
        documents = list(load_documents(text, filename))
    except InputError:
        raise NeedsRoundtrip from None
    if len(documents) != 1:
        raise NeedsRoundtrip
    stack: list[Any] = [documents[0].node]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag != ruamel_tag(node.value):
                raise NeedsRoundtrip
            canonical = _CANONICAL.get(node.tag)
            if node.tag != STR_TAG and (canonical is None or not canonical.match(node.value)):
                raise NeedsRoundtrip
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag != STR_TAG:
                    raise NeedsRoundtrip
                stack += (key, value)
        else:
            stack += node.value
    return documents[0].data


def dump_roundtrip(doc: Any) -> str:
    """A round-trip document (ruamel containers, their comments included) as YAML text, block style."""
    import io

    stream = io.StringIO()
    writer = _roundtrip_yaml()
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.dump(doc, stream)
    return stream.getvalue()
