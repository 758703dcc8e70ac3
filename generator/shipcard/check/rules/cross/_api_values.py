"""Where objects carry the metadata the API server validates: the object's own and its pod template's.

Shared by the `api-invalid-name`, `api-invalid-label` and `annotations-too-large` rules. A value
of the wrong type is left to the schema layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shipcard.check.rules.kube import Prepared, as_dict, dig
from shipcard.yamlio.read import PathKey


def metadata_of(p: Prepared) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """(path, metadata) of the object and, for pod-bearing kinds, of its pod template (ValidateObjectMeta
    runs on both)."""
    yield ("metadata",), as_dict(p.obj.data.get("metadata"))
    if p.pod_path is not None and p.kind != "Pod":
        template = p.pod_path[:-1]
        meta = dig(p.obj.data, *template, "metadata")
        if isinstance(meta, dict):
            yield (*template, "metadata"), meta


def shown_name(value: str) -> str:
    """A name or key for a message: quoted, and cut short past 80 characters."""
    return repr(value if len(value) <= 80 else value[:77] + "...")
