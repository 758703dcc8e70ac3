"""Running kubectl and helm: a Kustomize root or chart release → rendered text, or findings.

Nothing a repository names is fetched: a target naming remote locations is not rendered at all
(its `remote` findings say why) unless `check --allow-remote` cleared them, and the tools run in an
environment that closes the network to whatever the plan did not see (`offline_environment`).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shipcard.check.inputs.paths import display, kustomization_file
from shipcard.check.inputs.targets import Target
from shipcard.check.model import Finding
from shipcard.tools import HELM_ENV, KUBECTL_ENV, find_tool

RENDER_TIMEOUT_SECONDS = float(os.environ.get("SHIPCARD_RENDER_TIMEOUT", "120"))


@dataclass
class RenderResult:
    text: str | None
    findings: list[Finding]  # why there is no text
    command: str


# A proxy nobody listens on (the discard port): HTTP(S) the tools attempt goes there and fails.
_CLOSED_PROXY = "http://127.0.0.1:9"


def offline_environment(scratch: Path) -> dict[str, str]:
    """The tools' environment without the network: git may use no transport (kustomize clones with
    git), HTTP goes to a closed proxy (Go's HTTP client skips proxies for loopback addresses only),
    and helm reads empty repository, registry and plugin settings under `scratch`."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.upper().endswith("_PROXY") and not k.startswith(("GIT_CONFIG", "HELM_"))}
    environment.update({
        "HTTP_PROXY": _CLOSED_PROXY, "HTTPS_PROXY": _CLOSED_PROXY, "ALL_PROXY": _CLOSED_PROXY,
        "http_proxy": _CLOSED_PROXY, "https_proxy": _CLOSED_PROXY, "all_proxy": _CLOSED_PROXY,
        "NO_PROXY": "", "no_proxy": "",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "protocol.allow", "GIT_CONFIG_VALUE_0": "never",
        "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "false",
        "HELM_REPOSITORY_CONFIG": str(scratch / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(scratch / "repository-cache"),
        "HELM_REGISTRY_CONFIG": str(scratch / "registry.json"),
        "HELM_PLUGINS": str(scratch / "plugins"),
    })
    return environment


def kustomize_command(target: Target) -> str:
    """How findings name the build of a Kustomize target (their `origin`), by kubectl or in-process alike."""
    return f"kubectl kustomize {display(target.path)}"


def helm_command(target: Target) -> str:
    """How findings name the render of a chart release (their `origin`), by helm or in-process alike."""
    return f"helm template {target.release} {display(target.path)}" \
        + (f" --namespace {target.namespace}" if target.namespace else "")  # releases of a helmfile differ by it


def render_target(target: Target) -> RenderResult:
    if target.kind == "kustomize":
        file = kustomization_file(target.path) or target.path
        command = kustomize_command(target)
        if target.broken or target.remote:
            return RenderResult(None, [*target.broken, *target.remote], command)
        tool = find_tool("kubectl", KUBECTL_ENV)
        if tool is None:
            return RenderResult(None, [Finding("render-failed", "error", "kubectl not found: install it or set "
                                               f"{KUBECTL_ENV} to render this Kustomize tree", display(file))],
                                command)
        return _run([tool, "kustomize", str(target.path)], command, display(file), offline=target.offline)
    chart_file = target.path / "Chart.yaml"
    tool = find_tool("helm", HELM_ENV)
    command = helm_command(target)
    if target.broken or target.remote:
        return RenderResult(None, [*target.broken, *target.remote], command)
    if tool is None:
        return RenderResult(None, [Finding("render-failed", "error", "helm not found: install it or set "
                                           f"{HELM_ENV} to render this chart", display(chart_file))], command)
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
            return _run(argv, command, display(chart_file), offline=target.offline)
        finally:
            Path(handle.name).unlink(missing_ok=True)
    return _run(argv, command, display(chart_file), offline=target.offline)


def _run(argv: list[str], command: str, shown: str, *, offline: bool) -> RenderResult:
    with tempfile.TemporaryDirectory(prefix="shipcard-tool-") as scratch:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS,
                                  stdin=subprocess.DEVNULL, errors="replace",
                                  env=offline_environment(Path(scratch)) if offline else None)
        except subprocess.TimeoutExpired:
            return RenderResult(None, [Finding("render-failed", "error",
                                               f"`{command}` did not finish in {RENDER_TIMEOUT_SECONDS:g} s", shown)],
                                command)
        except OSError as exc:
            return RenderResult(None, [Finding("render-failed", "error",
                                               f"`{command}` could not run: {exc.strerror}", shown)], command)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()][:20]
        detail = _without_values("\n".join(lines)) or f"exit status {done.returncode}"
        return RenderResult(None, [Finding("render-failed", "error", f"`{command}` failed: {detail}", shown)],
                            command)
    return RenderResult(done.stdout, [], command)


# kubectl kustomize quotes what a secretGenerator or configMapGenerator was given: a literal
# without `=` (`literal sources [a=s3cret b]: invalid literal source b, ...`), an env file's line
# that is not UTF-8 (its bytes, then its text). The rest of such a line is the value: never shown.
_VALUE_ECHOES = (
    (re.compile(r"literal sources \[[^\n]*"), "a literal source is not key=value (not shown)"),
    (re.compile(r"line \[[0-9 ]*\] has invalid utf8 bytes[^\n]*"), "a line is not UTF-8 (not shown)"),
)


def _without_values(text: str) -> str:
    """A tool's error output without the generator values it quotes."""
    for pattern, replacement in _VALUE_ECHOES:
        text = pattern.sub(replacement, text)
    return text
