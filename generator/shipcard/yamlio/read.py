"""Reading YAML and text that may come from anyone: size and depth limits, located errors.

Fast positional reading (PyYAML's C parser) gives plain Python data plus the node tree, so a
finding can name a line; `load_plain` reads back what shipcard wrote itself.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipcard.errors import InputError, Location

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]
# Flow collections or leading indicators beyond this could overflow libyaml's recursive composer
# (it crashes the process somewhere above 20,000 levels); such text goes to the pure-Python parser.
C_PARSER_SAFE_NESTING = 5_000

STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


class UnreadableFileError(InputError):
    """The file could not be read at all (missing, a directory, no permission): not a content problem."""


# --------------------------------------------------------------------------- reading files


def real_path(path: Path | str) -> Path:
    """The absolute, link-free form of `path`, never raising (Path.resolve raises RuntimeError on a link
    loop, which a repository may hold anywhere): the loop stays in the result, and reading it fails."""
    return Path(os.path.realpath(path))


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing oversized or undecodable ones with a located error.

    Only a regular file is read (a FIFO or device behind a name would hang or never end: it is
    opened without blocking and refused), and never more than `max_bytes` + 1 bytes.
    """
    try:
        size = os.stat(path).st_size  # an oversized regular file is refused without reading it
        if size > max_bytes:
            raise InputError(Location(str(path), 1, 1), "", f"file is {size} bytes, more than the {max_bytes} allowed")
        data = read_regular_file(path, max_bytes)
    except OSError as exc:
        raise UnreadableFileError(Location(str(path)), "", f"cannot read: {exc.strerror}") from None
    if data is None:
        raise UnreadableFileError(Location(str(path)), "", "cannot read: not a regular file")
    if len(data) > max_bytes:
        size = os.stat(path).st_size
        raise InputError(Location(str(path), 1, 1), "",
                         f"file is {max(size, len(data))} bytes, more than the {max_bytes} allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(Location(str(path), line, 1), "", "file is not valid UTF-8") from None


def read_regular_file(path: Path | str, max_bytes: int, *, follow: bool = True) -> bytes | None:
    """At most `max_bytes` + 1 bytes of `path`, or None when it is not a regular file (or, without
    `follow`, when it is a symbolic link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- locating errors


def unmarked_error(exc: Exception, text: str, filename: str) -> InputError:
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


def complex_key_at(text: str, filename: str) -> Location:
    """Where a mapping or a list is first used as a mapping key, from libyaml's events."""
    stack: list[list[bool]] = []  # per open collection: [is a mapping, a key comes next]
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                if stack and stack[-1][0] and stack[-1][1]:
                    return _at_mark(filename, event.start_mark)
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


def _at_mark(filename: str, mark: Any) -> Location:
    """The 1-based location of a 0-based libyaml mark."""
    return Location(filename, mark.line + 1, mark.column + 1)


def too_deep_at(text: str, filename: str) -> Location:
    """Where collections first nest deeper than MAX_DEPTH (1:1 when libyaml cannot tell)."""
    return first_too_deep(text, filename) or Location(filename, 1, 1)


def first_too_deep(text: str, filename: str) -> Location | None:
    """Where collections first nest deeper than MAX_DEPTH, from libyaml's events (which do not recurse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return _at_mark(filename, event.start_mark)
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
                    return _at_mark(filename, event.start_mark)
                seen += 1
    except yaml.YAMLError:
        pass
    return Location(filename, 1, 1)


def refuse_tabs_for_indentation(text: str, filename: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise InputError(Location(filename, number, len(line) - len(stripped) + 1), "",
                             "tab used for indentation; YAML needs spaces")


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

    def at_start(self) -> Document:
        """This document with every path placed at its start (for objects built from it, not read from it)."""
        if self.node is None:
            return self
        return Document(self.data, yaml.ScalarNode("tag:yaml.org,2002:null", "", self.node.start_mark,
                                                   self.node.end_mark), self.file, self.index)


class LazyDocument(Document):
    """A document of a file whose layout shipcard knows, parsed (the whole file, once) only when its data or
    positions are asked for: most objects of a large repository never are."""

    def __init__(self, stream: ParsedOnDemand, index: int) -> None:  # not the dataclass fields: properties
        self._stream, self.file, self.index = stream, stream.filename, index

    def _parsed(self) -> Document | None:
        documents = self._stream.documents()
        return documents[self.index] if self.index < len(documents) else None

    @property
    def data(self) -> Any:
        parsed = self._parsed()
        return parsed.data if parsed is not None else None

    @property
    def node(self) -> yaml.Node | None:  # type: ignore[override]
        parsed = self._parsed()
        return parsed.node if parsed is not None else None


class ParsedOnDemand:
    """The documents of one file, read and parsed on first use (a file that fails then has none)."""

    def __init__(self, path: Path, filename: str) -> None:
        self.path, self.filename = path, filename
        self._documents: list[Document] | None = None

    def documents(self) -> list[Document]:
        if self._documents is None:
            try:
                self._documents = list(load_documents(read_text(self.path), self.filename))
            except InputError:
                self._documents = []
        return self._documents


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS: dict[str, str] = {}  # plain scalar text -> resolved tag (depends on the text only)
SCALAR_TAGS_MAX = 200_000
_RESOLVER = yaml.resolver.Resolver()


def plain_scalar_tag(value: str) -> str:
    """The tag YAML 1.1 gives `value` written as a plain scalar (memoised: texts repeat across files)."""
    tag = _SCALAR_TAGS.get(value)
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
        if len(_SCALAR_TAGS) >= SCALAR_TAGS_MAX:
            _SCALAR_TAGS.clear()
        _SCALAR_TAGS[value] = tag
    return tag


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's parser with the implicit-tag resolver memoised: keys and values repeat across manifests."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return plain_scalar_tag(value)
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
_LONG_INDICATOR_RUN = re.compile(rf"^[ \t?:-]{{{C_PARSER_SAFE_NESTING},}}", re.MULTILINE)


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
        raise unmarked_error(exc, text, filename) from None
    except RecursionError:
        raise InputError(too_deep_at(text, filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    except (ValueError, KeyError, AttributeError):  # PyYAML's constructors on `!!int abc`, `!!bool x`, ...
        raise misfit_tag_error(text, filename) from None
    finally:
        loader.dispose()


def misfit_tag_error(text: str, filename: str) -> InputError:
    """The error for a scalar whose explicit tag its text does not fit (`!!int abc`), at that scalar,
    naming the tag and never the text (it may be a secret)."""
    try:
        stack = list(reversed(list(yaml.compose_all(text, Loader=yaml.SafeLoader))))
    except yaml.YAMLError:
        stack = []
    checker = yaml.SafeLoader("")
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                checker.construct_object(node)
            except (ValueError, KeyError, AttributeError, yaml.YAMLError):
                mark, tag = node.start_mark, node.tag.replace("tag:yaml.org,2002:", "!!")
                return InputError(Location(filename, mark.line + 1, mark.column + 1), "",
                                  f"the value is not a valid {tag}")
        elif isinstance(node, yaml.MappingNode):
            stack += reversed([child for pair in node.value for child in pair])
        elif node is not None:
            stack += reversed(node.value)
    return InputError(Location(filename, 1, 1), "", "a value does not fit its explicit tag")


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
            plain = plain and node.tag == MAP_TAG
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
            plain = plain and node.tag == SEQ_TAG
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
        return node.value if node.tag == STR_TAG else construct(node)
    if type(node) is yaml.MappingNode:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag == STR_TAG else construct(key_node)
            if type(value_node) is scalar:
                mapping[key] = value_node.value if value_node.tag == STR_TAG else construct(value_node)
            else:
                mapping[key] = _construct_plain(value_node, loader)
        return mapping
    items: list[Any] = []
    for child in node.value:
        if type(child) is scalar:
            items.append(child.value if child.tag == STR_TAG else construct(child))
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


# --------------------------------------------------------------------------- what shipcard wrote


def load_plain(text: str) -> Any:
    """Plain data from YAML text we wrote ourselves (generated files, lock files)."""
    return yaml.load(text, Loader=_Loader)


def load_plain_all(text: str) -> list[Any]:
    """Every non-empty document of YAML text we wrote ourselves."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
