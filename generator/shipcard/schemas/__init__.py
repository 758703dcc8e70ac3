"""Bundled JSON Schemas (draft 2020-12) for the custom resources shipcard writes and checks.

The schemas live in ``crds/`` next to this file, one per kind; ``crds/index.json`` maps
``apiVersion`` -> ``kind`` -> file (served versions only).
They are read through :mod:`importlib.resources` (imported on first use), so they work from an installed wheel.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

__all__ = ["bundled_kinds", "crd_schema"]

_CRD_DIR = "crds"
_INDEX = "index.json"


def _read_json(name: str) -> Any:
    from importlib import resources

    text = resources.files(__name__).joinpath(_CRD_DIR, name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _index() -> dict[str, dict[str, str]]:
    return _read_json(_INDEX)["schemas"]


@cache
def _schema_file(name: str) -> dict[str, Any]:
    return _read_json(name)


def bundled_kinds() -> list[tuple[str, str]]:
    """Every ``(apiVersion, kind)`` that has a bundled schema, sorted."""
    return sorted((api_version, kind) for api_version, kinds in _index().items() for kind in kinds)


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The bundled schema for ``apiVersion``/``kind``, or ``None`` when none is bundled.

    Files are parsed once and cached; each call returns a private deep copy, so callers may
    modify what they get.
    """
    name = _index().get(api_version, {}).get(kind)
    if name is None:
        return None
    return copy.deepcopy(_schema_file(name))
