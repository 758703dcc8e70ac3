"""Emitting generated YAML (deterministic, kubectl's layout) and writing files atomically."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from shipcard.errors import WriteError
from shipcard.yamlio.read import MAP_TAG, SEQ_TAG, STR_TAG, plain_scalar_tag


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
            return yaml.ScalarNode(STR_TAG, value, style="'")
        return yaml.ScalarNode(STR_TAG, value)
    if any(ch in value for ch in _UNICODE_BREAKS):
        return yaml.ScalarNode(STR_TAG, value, style='"')
    if not any(ch in value for ch in "\t\r") and not value.endswith((" ", "\n\n")):
        return yaml.ScalarNode(STR_TAG, value, style="|")
    return yaml.ScalarNode(STR_TAG, value)


def _represent_data(dumper: _GeneratedDumper, data: Any) -> yaml.Node:
    """PyYAML's representer without its alias bookkeeping, for the types generated files hold.

    Generated files never share a node (no anchors), and this runs for every value of every
    file a render writes: a direct dispatch on the exact type is most of the dumping time saved.
    """
    kind = type(data)
    if kind is str:
        return _str_node(data)
    if kind is dict:
        return yaml.MappingNode(MAP_TAG, [(_represent_data(dumper, k), _represent_data(dumper, v))
                                       for k, v in data.items()], flow_style=False)
    if kind is list:
        return yaml.SequenceNode(SEQ_TAG, [_represent_data(dumper, v) for v in data], flow_style=False)
    if kind is int:
        return yaml.ScalarNode(_INT_TAG, str(data))
    return yaml.SafeDumper.represent_data(dumper, data)


def _resolve(dumper: _GeneratedDumper, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
    """The emitter asks, twice for every scalar, which tag its text would read back as (the loader's memo)."""
    if kind is not yaml.ScalarNode:
        return MAP_TAG if kind is yaml.MappingNode else SEQ_TAG
    return plain_scalar_tag(value) if implicit[0] else STR_TAG


def _no_path_resolvers(*_: Any) -> None:
    """Path resolvers are never registered on the generated dumper: nothing to track per node."""


_GeneratedDumper.represent_data = _represent_data
_GeneratedDumper.resolve = _resolve
_GeneratedDumper.descend_resolver = _no_path_resolvers
_GeneratedDumper.ascend_resolver = _no_path_resolvers


def dump(data: Any) -> str:
    """One document, deterministic: keys in insertion order, block style, no anchors."""
    if type(data) is dict and data:
        out: list[str] = []
        try:
            _block_mapping(data, 0, out, True)
        except _NotPlain:
            pass
        else:
            return "".join(out)
    return _libyaml_dump(data)


def _libyaml_dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_GeneratedDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)


# --------------------------------------------------------------------------- the direct emitter
#
# Generated documents are mappings of mappings, lists and short single-line strings, and libyaml's
# layout for those is simple. Writing that text directly is several times faster than building
# PyYAML nodes and events for the C emitter. Anything outside that subset (multi-line or long
# strings, characters that need escapes, floats, long keys) makes the whole document go through
# libyaml as before; tests compare both on random documents, so the bytes never differ.


class _NotPlain(Exception):
    """The document holds something the direct emitter leaves to libyaml."""


_SHORT = 1000  # well under libyaml's width (4096) and its simple-key limit for keys (128, checked apart)
# libyaml's printable characters (allow_unicode; none beyond the BMP), less the breaks and BOM that need a style.
_ANY_SPECIAL = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
# What keeps a single-line, printable string from being a plain scalar in block context (libyaml's
# yaml_emitter_analyze_scalar): an indicator first, `: ` or ` #` inside, a space at either end.
_NOT_BLOCK_PLAIN = re.compile(r"""[#,\[\]{}&*!|>'"%@`]|[?:-](?: |$)|---|\.\.\.| |.*(?:: | #| $|:$)""",
                              re.DOTALL)
_SCALAR_TEXT: dict[str, str] = {}  # a string -> its text as a value (memoised: texts repeat across files)


def _string(value: str) -> str:
    text = _SCALAR_TEXT.get(value)
    if text is not None:
        return text
    if not value or len(value) > _SHORT or _ANY_SPECIAL.search(value):
        if value:
            raise _NotPlain
        text = "''"
    elif _NOT_BLOCK_PLAIN.match(value) or plain_scalar_tag(value) != STR_TAG \
            or value[:1] in _MAYBE_NOT_STR and _OTHER_READERS_NOT_STR.fullmatch(value):
        text = "'" + value.replace("'", "''") + "'"
    else:
        text = value
    if len(_SCALAR_TEXT) >= 200_000:
        _SCALAR_TEXT.clear()
    _SCALAR_TEXT[value] = text
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    raise _NotPlain


def _simple_key(key: str) -> bool:
    """Whether libyaml writes `key` as a simple key: at most 128 bytes of UTF-8 (not characters),
    so a key of 43 CJK characters is already written `? key` on a line of its own."""
    return len(key) <= 120 and (key.isascii() or len(key.encode("utf-8", "surrogatepass")) <= 128)


def _block_mapping(data: dict[Any, Any], indent: int, out: list[str], pad_first: bool) -> None:
    pad = " " * indent
    for key, value in data.items():
        if type(key) is not str or not _simple_key(key):
            raise _NotPlain
        out.append(f"{pad}{_string(key)}" if pad_first else _string(key))
        pad_first = True
        kind = type(value)
        if kind is dict:
            if value:
                out.append(":\n")
                _block_mapping(value, indent + 2, out, True)
            else:
                out.append(": {}\n")
        elif kind is list:
            if value:
                out.append(":\n")
                _block_sequence(value, indent, out, True)
            else:
                out.append(": []\n")
        else:
            out.append(f": {_scalar(value)}\n")


def _block_sequence(data: list[Any], indent: int, out: list[str], pad_first: bool) -> None:
    pad = " " * indent
    for value in data:
        out.append(f"{pad}- " if pad_first else "- ")
        pad_first = True
        kind = type(value)
        if kind is dict:
            if value:
                _block_mapping(value, indent + 2, out, False)
            else:
                out.append("{}\n")
        elif kind is list:
            if value:
                _block_sequence(value, indent + 2, out, False)
            else:
                out.append("[]\n")
        else:
            out.append(f"{_scalar(value)}\n")


def dump_all(documents: list[Any]) -> str:
    """Several documents separated by `---`."""
    return "---\n".join(dump(doc) for doc in documents)


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
