"""Running kubectl and helm: a Kustomize root or chart release → rendered text, or a finding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shipcard.check.inputs.paths import display, kustomization_file
from shipcard.check.inputs.targets import Target
from shipcard.check.model import Finding

RENDER_TIMEOUT_SECONDS = float(os.environ.get("SHIPCARD_RENDER_TIMEOUT", "120"))


@dataclass
class RenderResult:
    text: str | None
    finding: Finding | None
    command: str


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


def render_target(target: Target) -> RenderResult:
    if target.kind == "kustomize":
        file = kustomization_file(target.path) or target.path
        tool = find_tool("kubectl", "SHIPCARD_KUBECTL")
        command = f"kubectl kustomize {display(target.path)}"
        if tool is None:
            return RenderResult(None, Finding("render-failed", "error", "kubectl not found: install it or set "
                                              "SHIPCARD_KUBECTL to render this Kustomize tree", display(file)),
                                command)
        return _run([tool, "kustomize", str(target.path)], command, display(file))
    chart_file = target.path / "Chart.yaml"
    tool = find_tool("helm", "SHIPCARD_HELM")
    command = f"helm template {target.release} {display(target.path)}" \
        + (f" --namespace {target.namespace}" if target.namespace else "")  # releases of a helmfile differ by it
    if tool is None:
        return RenderResult(None, Finding("render-failed", "error", "helm not found: install it or set "
                                          "SHIPCARD_HELM to render this chart", display(chart_file)), command)
    argv = [tool, "template", target.release, str(target.path)]
    if target.namespace:
        argv += ["--namespace", target.namespace]
    for value in target.values:
        argv += ["--values", str(value)]
    if target.inline_values:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="shipcard-values-", delete=False) as handle:
            handle.write(target.inline_values)
        argv += ["--values", handle.name]
        try:
            return _run(argv, command, display(chart_file))
        finally:
            Path(handle.name).unlink(missing_ok=True)
    return _run(argv, command, display(chart_file))


def _run(argv: list[str], command: str, shown: str) -> RenderResult:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return RenderResult(None, Finding("render-failed", "error",
                                          f"`{command}` did not finish in {RENDER_TIMEOUT_SECONDS:g} s", shown),
                            command)
    except OSError as exc:
        return RenderResult(None, Finding("render-failed", "error", f"`{command}` could not run: {exc.strerror}",
                                          shown), command)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()][:20]
        detail = "\n".join(lines) or f"exit status {done.returncode}"
        return RenderResult(None, Finding("render-failed", "error", f"`{command}` failed: {detail}", shown), command)
    return RenderResult(done.stdout, None, command)
