"""What checked files are called, and how findings show a path."""

from __future__ import annotations

import os
from pathlib import Path

from shipcard.settings import REPO_FILE

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CARD_SUFFIX = ".service.yaml"
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "vendor"})
HELMFILE_NAMES = frozenset({"helmfile.yaml", "helmfile.yml"})
NOT_MANIFESTS = frozenset({REPO_FILE, "Chart.yaml", "Chart.lock", "package.json", "package-lock.json",
                           "tsconfig.json", "values.schema.json"})
STDIN = "-"
STDIN_NAME = "<stdin>"


def display(path: Path | str) -> str:
    """A path as findings show it: relative to the working directory, with forward slashes, and bytes
    of a name that are not UTF-8 as `\\xNN` escapes (so that every reporter can print it)."""
    if str(path) in (STDIN, STDIN_NAME):
        return STDIN_NAME
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = str(path)
    return Path(rel).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of `directory`, if it has one."""
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None
