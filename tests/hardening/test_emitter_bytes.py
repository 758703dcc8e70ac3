"""The direct YAML emitter (yamlio/dump.py) against libyaml on the inputs its fast path must not
misjudge: libyaml's simple-key limit counts UTF-8 bytes (128), not characters, so a non-ASCII key
of fewer than 120 characters can already be written `? key` / `: value` by libyaml."""

from __future__ import annotations

from typing import Any

import pytest

from shipcard.yamlio import dump as dumping
from shipcard.yamlio.dump import dump

CASES = [
    pytest.param({"é" * 65: "v"}, id="key-130-bytes-of-latin"),
    pytest.param({"k": {"中" * 43: "x"}}, id="nested-key-129-bytes-of-cjk"),
    pytest.param({"中" * 42 + "ab": "x"}, id="key-128-bytes-stays-simple"),
    pytest.param({"k": [{"\ud7ff" * 50: 1}]}, id="key-in-a-list-item"),
    pytest.param({"a" * 120: "v", "b" * 121: "w"}, id="ascii-at-the-character-limit"),
    pytest.param({"\u00a0" * 65: None}, id="key-of-no-break-spaces"),
]


@pytest.mark.parametrize("document", CASES)
def test_a_key_longer_than_libyamls_simple_key_is_written_as_libyaml_writes_it(document: dict[str, Any]) -> None:
    assert dump(document) == dumping._libyaml_dump(document)
