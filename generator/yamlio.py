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
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError as RuamelMarkedError

from generator.errors import InputError, Location

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]


# --------------------------------------------------------------------------- reading files


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing oversized or undecodable ones with a located error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(Location(str(path)), "", f"cannot read: {exc.strerror}") from None
    if size > max_bytes:
        raise InputError(Location(str(path)), "", f"file is {size} bytes, more than the {max_bytes} allowed")
    data = path.read_bytes()
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
        raise InputError(Location(filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    if len(docs) > 1:
        raise InputError(Location(filename), "", "expected one YAML document, found several")
    doc = docs[0] if docs else None
    _check_shape(doc, filename)
    return doc


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
    """Line and column of the deepest existing element of `path` inside a round-trip document."""
    node, best = root, position_of(root)
    for key in path:
        if isinstance(node, dict) and key in node:
            best = position_of(node, key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
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


def load_documents(text: str, filename: str) -> Iterator[Document]:
    """Parse a YAML stream fast (libyaml), yielding each document with its node tree.

    Raises InputError for malformed YAML, duplicate keys and alias bombs.
    """
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_nodes(node, filename)
            data = loader.construct_document(node)
            yield Document(data, node, filename, index)
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError(Location(filename, line, col), "", (exc.problem or "invalid YAML").strip()) from None
    except yaml.YAMLError as exc:
        raise InputError(Location(filename), "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(Location(filename), "", f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


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


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not any(ch in value for ch in "\t\r") and not value.endswith((" ", "\n\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_GeneratedDumper.add_representer(str, _represent_str)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
