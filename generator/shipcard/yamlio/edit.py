"""Editing YAML people own in its text: find a value's span, replace scalars, re-parse and verify.

"""

from __future__ import annotations

import json
import re

from shipcard.yamlio.read import STR_TAG, plain_scalar_tag
from shipcard.yamlio.roundtrip import ruamel_tag

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
    if _PLAIN_SAFE.match(text) and ruamel_tag(text) == STR_TAG \
            and plain_scalar_tag(text) == STR_TAG:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in quoted)


