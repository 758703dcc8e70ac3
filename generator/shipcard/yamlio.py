"""The one module that reads and writes YAML (and text files) for shipcard.

Three ways in and out:

* round-trip (ruamel.yaml) for files people own, such as service cards: keeps
  comments, order and quoting, and knows the line and column of every key;
* fast positional reading (PyYAML's C parser) for manifests that are only
  checked: plain Python data plus the node tree, so a finding can name a line;
* deterministic dumping for generated files, written atomically.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError as RuamelMarkedError
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from shipcard.errors import InputError, Location, WriteError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]
# Flow collections or leading indicators beyond this could overflow libyaml's recursive composer
# (it crashes the process somewhere above 20,000 levels); such text goes to the pure-Python parser.
C_PARSER_SAFE_NESTING = 5_000


class UnreadableFileError(InputError):
    """The file could not be read at all (missing, a directory, no permission): not a content problem."""


# --------------------------------------------------------------------------- reading files


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing oversized or undecodable ones with a located error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(Location(str(path)), "", f"cannot read: {exc.strerror}") from None
    if size > max_bytes:
        raise InputError(Location(str(path), 1, 1), "", f"file is {size} bytes, more than the {max_bytes} allowed")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(Location(str(path)), "", f"cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(Location(str(path), line, 1), "", "file is not valid UTF-8") from None


# --------------------------------------------------------------------------- round-trip (ruamel)


def _roundtrip_yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.allow_duplicate_keys = False
    return rt


def load_roundtrip(text: str, filename: str) -> Any:
    """Parse one YAML document with ruamel round-trip; errors carry file:line:col."""
    _refuse_tabs_for_indentation(text, filename)
    if text.count("[") + text.count("{") > MAX_DEPTH:
        # ruamel's scanner slows down with every open flow collection (seconds for a few thousand):
        # refuse deep flow nesting from libyaml's events first, in linear time.
        deep = _first_too_deep(text, filename)
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
        raise InputError(Location(filename, line, col), "", problem) from None
    except RecursionError:
        raise InputError(too_deep_at(text, filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    except RuamelYAMLError as exc:  # no mark: the reader refusing a character (NUL, other control characters)
        raise _unmarked_error(exc, text, filename) from None
    except TypeError:  # ruamel cannot hash a mapping used as a mapping key (`? {a: {}}`)
        raise InputError(_complex_key_at(text, filename), "", "a mapping key must be a plain value, "
                         "not a mapping or a list") from None
    if len(docs) > 1:
        raise InputError(document_start(text, filename, 1), "", "expected one YAML document, found several")
    doc = docs[0] if docs else None
    _check_shape(doc, filename)
    return doc


def _unmarked_error(exc: Exception, text: str, filename: str) -> InputError:
    """An error of ruamel or PyYAML without a mark; a reader error knows the offset of the bad character."""
    position, character = getattr(exc, "position", None), getattr(exc, "character", None)
    if isinstance(position, int) and 0 <= position <= len(text):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        code = character if isinstance(character, int) else ord(character) if isinstance(character, str) and \
            len(character) == 1 else None
        what = f"character U+{code:04X}" if code is not None else "a character"
        return InputError(Location(filename, line, column), "", f"{what} is not allowed in YAML (control character)")
    return InputError(Location(filename, 1, 1), "", f"invalid YAML ({type(exc).__name__})")


def _complex_key_at(text: str, filename: str) -> Location:
    """Where a mapping or a list is first used as a mapping key, from libyaml's events."""
    stack: list[list[bool]] = []  # per open collection: [is a mapping, a key comes next]
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                if stack and stack[-1][0] and stack[-1][1]:
                    return Location(filename, event.start_mark.line + 1, event.start_mark.column + 1)
                stack.append([isinstance(event, yaml.MappingStartEvent), True])
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                if stack and stack[-1][0]:
                    stack[-1][1] = not stack[-1][1]
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)) and stack and stack[-1][0]:
                stack[-1][1] = not stack[-1][1]
    except yaml.YAMLError:
        pass
    return Location(filename, 1, 1)


def too_deep_at(text: str, filename: str) -> Location:
    """Where collections first nest deeper than MAX_DEPTH (1:1 when libyaml cannot tell)."""
    return _first_too_deep(text, filename) or Location(filename, 1, 1)


def _first_too_deep(text: str, filename: str) -> Location | None:
    """Where collections first nest deeper than MAX_DEPTH, from libyaml's events (which do not recurse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return Location(filename, event.start_mark.line + 1, event.start_mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return None


def document_start(text: str, filename: str, index: int) -> Location:
    """Where the YAML document number `index` (from 0) of a stream starts."""
    seen = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                if seen == index:
                    return Location(filename, event.start_mark.line + 1, event.start_mark.column + 1)
                seen += 1
    except yaml.YAMLError:
        pass
    return Location(filename, 1, 1)


def _duplicate_key_name(message: str) -> str:
    marker = 'found duplicate key "'
    if marker in message:
        return ' "' + message.split(marker, 1)[1].split('"', 1)[0] + '"'
    return ""


def _refuse_tabs_for_indentation(text: str, filename: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise InputError(Location(filename, number, len(line) - len(stripped) + 1), "",
                             "tab used for indentation; YAML needs spaces")


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
        if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            best = position_of(node, key)
            node = node[key]
        else:
            break
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


def _ruamel_tag(value: str) -> str:
    """The tag ruamel's YAML 1.2 resolver gives a plain scalar (memoised: values repeat across cards)."""
    tag = _RUAMEL_TAGS.get(value)
    if tag is None:
        from ruamel.yaml.resolver import implicit_resolvers

        tag = _STR_TAG
        first = value[:1]
        for versions, candidate, pattern, starts in implicit_resolvers:
            if (1, 2) in versions and first in starts and pattern.match(value):
                tag = candidate
                break
        if len(_RUAMEL_TAGS) < _SCALAR_TAGS_MAX:
            _RUAMEL_TAGS[value] = tag
    return tag


def load_plain_like_roundtrip(text: str, filename: str) -> Any:
    """`to_plain(load_roundtrip(text))`, parsed by libyaml several times faster.

    libyaml resolves YAML 1.1 and ruamel YAML 1.2 (`yes`, `010`, `1e3` differ), so every plain
    scalar must resolve to the same tag under both and, when not a string, be written in a form
    both read alike; merge keys, tags, directives and errors are left to ruamel as well.
    Raises NeedsRoundtrip whenever the answer could differ from ruamel's.
    """
    _refuse_tabs_for_indentation(text, filename)
    if text.lstrip("\ufeff").startswith("%") or "<<" in text or ("!" in text and _TAG_PROPERTY.search(text)):
        raise NeedsRoundtrip
    try:
        documents = list(load_documents(text, filename))
    except InputError:
        raise NeedsRoundtrip from None
    if len(documents) != 1:
        raise NeedsRoundtrip
    stack = [documents[0].node]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag != _ruamel_tag(node.value):
                raise NeedsRoundtrip
            canonical = _CANONICAL.get(node.tag)
            if node.tag != _STR_TAG and (canonical is None or not canonical.match(node.value)):
                raise NeedsRoundtrip
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                    raise NeedsRoundtrip
                stack += (key, value)
        else:
            stack += node.value
    return documents[0].data


_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_/]([A-Za-z0-9_./@:+-]*[A-Za-z0-9_./@+-])?$")


def scalar_text(value: str | int | bool) -> str:
    """YAML source for a scalar that reads back as exactly `value`, in block or flow context.

    Plain when the text cannot be read as anything else (by YAML 1.1 or 1.2 readers), else a
    double-quoted string (JSON's escapes, plus escapes for every non-printable character).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN_SAFE.match(text) and _ruamel_tag(text) == _STR_TAG \
            and _plain_scalar_tag(text) == _STR_TAG:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in quoted)


def dump_roundtrip(doc: Any) -> str:
    """Serialise a round-trip document (comments kept)."""
    stream = io.StringIO()
    _roundtrip_yaml().dump(doc, stream)
    return stream.getvalue()


# --------------------------------------------------------------------------- fast positional reading


@dataclass
class Document:
    """One YAML document of a manifest file: its data and its node tree for positions."""

    data: Any
    node: yaml.Node | None
    file: str
    index: int

    def line_of(self, path: PathKey) -> tuple[int, int]:
        """1-based (line, column) of the deepest existing element of `path`."""
        return node_position(self.node, path)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS: dict[str, str] = {}  # plain scalar text -> resolved tag (depends on the text only)
_SCALAR_TAGS_MAX = 200_000
_RESOLVER = yaml.resolver.Resolver()


def _plain_scalar_tag(value: str) -> str:
    """The tag YAML 1.1 gives `value` written as a plain scalar (memoised: texts repeat across files)."""
    tag = _SCALAR_TAGS.get(value)
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
        if len(_SCALAR_TAGS) >= _SCALAR_TAGS_MAX:
            _SCALAR_TAGS.clear()
        _SCALAR_TAGS[value] = tag
    return tag


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's parser with the implicit-tag resolver memoised: keys and values repeat across manifests."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _plain_scalar_tag(value)
        return yaml.resolver.Resolver.resolve(self, kind, value, implicit)


def _loader_for(text: str) -> Any:
    """The fast C loader, unless the text could nest deep enough to overflow its recursion.

    Nesting comes from flow brackets, from `- - -`/`? ? ?` runs and from indentation; the last
    two are bounded by the longest run of blanks and indicators at the start of a line.
    """
    brackets = text.count("[") + text.count("{")
    if brackets > C_PARSER_SAFE_NESTING:
        return yaml.SafeLoader(text)  # pure Python: deep nesting ends in RecursionError, not a crash
    if len(text) > C_PARSER_SAFE_NESTING and max(map(len, text.split("\n"))) > C_PARSER_SAFE_NESTING \
            and _LONG_INDICATOR_RUN.search(text):
        return yaml.SafeLoader(text)
    return _FastLoader(text)


# An anchor or alias property follows whitespace, a flow indicator or the start of a line.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s\[\]{},]", re.MULTILINE)
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s\[\]{},]", re.MULTILINE)
_LONG_INDICATOR_RUN = re.compile(r"^[ \t?:-]{%d,}" % C_PARSER_SAFE_NESTING, re.MULTILINE)


def load_documents(text: str, filename: str) -> Iterator[Document]:
    """Parse a YAML stream fast (libyaml), yielding each document with its node tree.

    Raises InputError for malformed YAML, duplicate keys, alias bombs and nesting deeper than MAX_DEPTH.
    """
    loader = _loader_for(text)
    # Without an anchor and an alias there is no shared node: every node is its own subtree.
    shared_nodes_possible = bool("&" in text and "*" in text and _ANCHOR.search(text) and _ALIAS.search(text))
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if shared_nodes_possible:
                _check_nodes(node, filename)
                data = loader.construct_document(node)
            elif _check_tree(node, filename):
                data = _construct_plain(node, loader)
                loader.constructed_objects = {}
            else:
                data = loader.construct_document(node)
            yield Document(data, node, filename, index)
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError(Location(filename, line, col), "", (exc.problem or "invalid YAML").strip()) from None
    except yaml.YAMLError as exc:
        raise _unmarked_error(exc, text, filename) from None
    except RecursionError:
        raise InputError(too_deep_at(text, filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _check_tree(root: yaml.Node, filename: str) -> bool:
    """Duplicate keys and depth for a document without aliases (the common case): one walk, scalars skipped.

    Returns True when the document is plain (default collection tags, scalar keys, no `<<`),
    so `_construct_plain` may build it.
    """
    scalar, mapping = yaml.ScalarNode, yaml.MappingNode
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    plain = True
    while stack:
        node, depth = pop()
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise InputError(Location(filename, mark.line + 1, mark.column + 1), "",
                             f"nesting deeper than {MAX_DEPTH} levels")
        if type(node) is mapping:
            plain = plain and node.tag == _MAP_TAG
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if type(key_node) is scalar:
                    key = key_node.value
                    if key == "<<":
                        plain = False
                    elif key in seen:
                        mark = key_node.start_mark
                        raise InputError(Location(filename, mark.line + 1, mark.column + 1), key, "duplicate key")
                    seen.add(key)
                else:
                    plain = False
                    push((key_node, depth + 1))
                if type(value_node) is not scalar:
                    push((value_node, depth + 1))
        elif type(node) is not scalar:
            plain = plain and node.tag == _SEQ_TAG
            for child in node.value:
                if type(child) is not scalar:
                    push((child, depth + 1))
    return plain


def _construct_plain(node: yaml.Node, loader: Any) -> Any:
    """PyYAML's safe construction for a plain tree, without its per-node bookkeeping (several times faster).

    Strings are taken as they are; other scalars (int, bool, null, float, timestamps, custom tags)
    go through the loader's own constructors, so the data is the same as `construct_document`'s.
    """
    scalar, construct = yaml.ScalarNode, loader.construct_object
    if type(node) is scalar:
        return node.value if node.tag == _STR_TAG else construct(node)
    if type(node) is yaml.MappingNode:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag == _STR_TAG else construct(key_node)
            if type(value_node) is scalar:
                mapping[key] = value_node.value if value_node.tag == _STR_TAG else construct(value_node)
            else:
                mapping[key] = _construct_plain(value_node, loader)
        return mapping
    items: list[Any] = []
    for child in node.value:
        if type(child) is scalar:
            items.append(child.value if child.tag == _STR_TAG else construct(child))
        else:
            items.append(_construct_plain(child, loader))
    return items


def _check_nodes(root: yaml.Node, filename: str) -> None:
    """Duplicate keys, depth and alias-expansion size, in one walk over unique nodes."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_EXPANDED_NODES:
                mark = node.start_mark
                raise InputError(Location(filename, mark.line + 1, mark.column + 1), "",
                                 "document expands to more than a million nodes (YAML alias bomb?)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise InputError(Location(filename, mark.line + 1, mark.column + 1), "",
                             f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen and key_node.value != "<<":
                        mark = key_node.start_mark
                        raise InputError(Location(filename, mark.line + 1, mark.column + 1), key_node.value,
                                         "duplicate key")
                    seen.add(key_node.value)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def node_position(node: yaml.Node | None, path: PathKey) -> tuple[int, int]:
    """Walk a PyYAML node tree along `path`; position of the deepest element found (key of a mapping entry)."""
    if node is None:
        return (0, 0)
    best = (node.start_mark.line + 1, node.start_mark.column + 1)
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == step:
                    best = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                    node = value_node
                    break
            else:
                return best
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            best = (node.start_mark.line + 1, node.start_mark.column + 1)
        else:
            return best
    return best


# --------------------------------------------------------------------------- deterministic dumping


class _GeneratedDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, insertion order, literal blocks for multi-line strings (kubectl's layout)."""


# Plain scalars that PyYAML (YAML 1.1) would write unquoted although other readers of generated
# files take them for something else than a string: `y`/`n` are booleans for YAML 1.1 readers
# such as go-yaml v2 (kustomize reads its kustomization with it); `0o17`, `1e3` or `7e12345` (a
# commit hash as an image tag) are numbers for YAML 1.2 readers (go-yaml v3, ruamel).
_OTHER_READERS_NOT_STR = re.compile(
    r"[yYnN]|0o[0-7]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?0x[0-9a-fA-F]+")
_MAYBE_NOT_STR = frozenset("yYnN0123456789+-.")


# YAML 1.1 (PyYAML) breaks lines at NEL, LS and PS, YAML 1.2 (go-yaml, ruamel) does not: written
# raw they would be read back differently, so such strings are double-quoted, where they are escaped.
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


_NEEDS_A_STYLE = re.compile("[\n\x85\u2028\u2029]")
_INT_TAG = "tag:yaml.org,2002:int"


def _str_node(value: str) -> yaml.ScalarNode:
    if _NEEDS_A_STYLE.search(value) is None:  # the common case: one regex scan, no style
        if value[:1] in _MAYBE_NOT_STR and _OTHER_READERS_NOT_STR.fullmatch(value):
            return yaml.ScalarNode(_STR_TAG, value, style="'")
        return yaml.ScalarNode(_STR_TAG, value)
    if any(ch in value for ch in _UNICODE_BREAKS):
        return yaml.ScalarNode(_STR_TAG, value, style='"')
    if not any(ch in value for ch in "\t\r") and not value.endswith((" ", "\n\n")):
        return yaml.ScalarNode(_STR_TAG, value, style="|")
    return yaml.ScalarNode(_STR_TAG, value)


def _represent_data(dumper: _GeneratedDumper, data: Any) -> yaml.Node:
    """PyYAML's representer without its alias bookkeeping, for the types generated files hold.

    Generated files never share a node (no anchors), and this runs for every value of every
    file a render writes: a direct dispatch on the exact type is most of the dumping time saved.
    """
    kind = type(data)
    if kind is str:
        return _str_node(data)
    if kind is dict:
        return yaml.MappingNode(_MAP_TAG, [(_represent_data(dumper, k), _represent_data(dumper, v))
                                       for k, v in data.items()], flow_style=False)
    if kind is list:
        return yaml.SequenceNode(_SEQ_TAG, [_represent_data(dumper, v) for v in data], flow_style=False)
    if kind is int:
        return yaml.ScalarNode(_INT_TAG, str(data))
    return yaml.SafeDumper.represent_data(dumper, data)


def _resolve(dumper: _GeneratedDumper, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
    """The emitter asks, twice for every scalar, which tag its text would read back as (the loader's memo)."""
    if kind is not yaml.ScalarNode:
        return _MAP_TAG if kind is yaml.MappingNode else _SEQ_TAG
    return _plain_scalar_tag(value) if implicit[0] else _STR_TAG


def _no_path_resolvers(*_: Any) -> None:
    """Path resolvers are never registered on the generated dumper: nothing to track per node."""


_GeneratedDumper.represent_data = _represent_data  # type: ignore[method-assign]
_GeneratedDumper.resolve = _resolve  # type: ignore[method-assign]
_GeneratedDumper.descend_resolver = _no_path_resolvers  # type: ignore[method-assign]
_GeneratedDumper.ascend_resolver = _no_path_resolvers  # type: ignore[method-assign]


def dump(data: Any) -> str:
    """One document, deterministic: keys in insertion order, block style, no anchors."""
    return yaml.dump(data, Dumper=_GeneratedDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


def dump_all(documents: list[Any]) -> str:
    """Several documents separated by `---`."""
    return "---\n".join(dump(doc) for doc in documents)


def load_plain(text: str) -> Any:
    """Plain data from YAML text we wrote ourselves (generated files, lock files)."""
    return yaml.load(text, Loader=_Loader)


def load_plain_all(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


# --------------------------------------------------------------------------- writing files


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """`write_atomic` for bytes (reports in any format, caches).

    A failed write (a full disk, a file-size limit) leaves the old file and no temporary file, and
    raises WriteError: an OSError that the command line reports in one line.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc) from None
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
