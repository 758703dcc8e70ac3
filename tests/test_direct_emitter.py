"""The direct emitter of generated YAML writes exactly what libyaml writes (yamlio/dump.py).

The reference is PyYAML's C emitter with the generated dumper's settings, run in this process on
the same data: random documents drawn from an alphabet of YAML indicators, quotes, spaces,
non-ASCII and control characters, plus the trees rendered from the users' example cards.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipcard.yamlio import dump as dumping
from shipcard.yamlio.dump import dump

_ALPHABET = st.sampled_from([*string.ascii_letters[:6], *"0123456789", *" -:#?'\",.[]{}&*!|>%@`~=+/\\",
                             "é", "\u00a0", "\u2028", "\x85", "\t", "\n", "\r", "\ufeff", "\x7f", "😀", "\ud7ff", "\ue000", "\ufffd", "\U0010fffe"])
_TEXT = st.one_of(st.text(_ALPHABET, max_size=12),
                  st.sampled_from(["", "y", "n", "yes", "No", "true", "null", "~", "007", "0o17", "1e3", "0x1f",
                                   "1.5", ".5", "-1", "2001-12-14", "<<", "=", "---", "...", "- x", "? x", "a: b",
                                   "a #b", "x:", "ghcr.io/a/b:1.0@sha256:" + "a" * 64, "x" * 1001, "k" * 121]))
_SCALAR = st.one_of(_TEXT, st.integers(-10**20, 10**20), st.booleans(), st.none(), st.floats(allow_nan=False))
_DOC = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(_TEXT, inner, max_size=4)), max_leaves=25)


@settings(max_examples=3000, deadline=None)
@given(st.dictionaries(_TEXT, _DOC, max_size=6))
def test_random_documents_are_written_as_libyaml_writes_them(document: dict[str, Any]) -> None:
    assert dump(document) == dumping._libyaml_dump(document)


@pytest.mark.parametrize("document, direct", [
    pytest.param({"a": {"b": [1, {"c": "x y"}]}, "d": [], "e": {}}, True, id="nested"),
    pytest.param({"s": "line\nbreak"}, False, id="multi-line"),
    pytest.param({"f": 1.5}, False, id="float"),
    pytest.param({"t": "a\tb"}, False, id="tab"),
    pytest.param({"k" * 121: 1}, False, id="long-key"),
])
def test_what_the_direct_emitter_leaves_to_libyaml(document: dict[str, Any], direct: bool) -> None:
    out: list[str] = []
    try:
        dumping._block_mapping(document, 0, out, True)
    except dumping._NotPlain:
        taken = False
    else:
        taken = True
    assert taken is direct
    assert dump(document) == dumping._libyaml_dump(document)
