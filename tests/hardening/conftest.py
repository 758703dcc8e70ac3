"""Fixtures of the hardening suites. The registry machinery is tests/pin's (pinhelpers.py), reused."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pin"))

from pinhelpers import docker_config, make_proxy, registry  # noqa: F401  (the registry fixtures of tests/pin)
