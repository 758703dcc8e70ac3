"""Where the programs shipcard runs (kubectl, helm) are found."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

KUBECTL_ENV = "SHIPCARD_KUBECTL"  # the kubectl binary to run, when not the one on PATH
HELM_ENV = "SHIPCARD_HELM"


def find_tool(name: str, env_var: str) -> str | None:
    """`$ENV_VAR`, else PATH, else next to the running Python (a venv's bin directory)."""
    configured = os.environ.get(env_var)
    if configured:
        return configured if Path(configured).is_file() or shutil.which(configured) else None
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else None
