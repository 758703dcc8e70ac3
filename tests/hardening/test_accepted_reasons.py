"""The reasons of `singleReplica` and `health.liveness: {none: …}` become one clause each of a
`shipcard.io/ignore` annotation, which `shipcard check` reads a clause per line (`str.splitlines`).

A reason holding U+2028 or U+2029 (no control character, so the one-line pattern let it through)
became two clauses: `"one pod\\u2028image-latest-or-untagged: trust me"` suppressed an error-level
finding the card has no field to accept, and `check` passed. Such a reason is now a card error;
YAML-special reasons still suppress exactly the rule of their field, in both formats.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: web
image: ghcr.io/example/web:latest
command: [sleep, infinity]
singleReplica: {single}
health:
  liveness: {{none: {liveness}}}
environments:
  dev: {{}}
gitops:
  repoURL: https://github.com/example/gitops.git
  format: {format}
"""
ACCEPTED = {"single-replica", "liveness-probe-missing"}


def _card(single: str = "one pod", liveness: str = "a sleep", fmt: str = "kustomize") -> str:
    return CARD.format(single=single, liveness=liveness, format=fmt)


REFUSED = [
    pytest.param(_card(single='"one pod\\u2028image-latest-or-untagged: trust me"'), 6, 1,
                 "singleReplica: 'one pod\\u2028image-latest-or-untagged: trust me' is not one line of text that "
                 "starts with a visible character", id="single-replica-line-separator"),
    pytest.param(_card(single='"one pod\\u2029image-not-pinned: trust me"'), 6, 1,
                 "singleReplica: 'one pod\\u2029image-not-pinned: trust me' is not one line of text that starts "
                 "with a visible character", id="single-replica-paragraph-separator"),
    pytest.param(_card(single='"one pod\\x85image-not-pinned: x"'), 6, 1,
                 "singleReplica: 'one pod\\x85image-not-pinned: x' is not one line of text that starts with a "
                 "visible character", id="single-replica-next-line"),
    pytest.param(_card(liveness='"none\\u2028image-latest-or-untagged: y"'), 8, 3,
                 "health.liveness: must be a path string probes HTTP on the first port; or one of {http: port, "
                 "path}, {grpc: port}, {tcp: port}, {exec: [...]}. Or {none: reason}: no liveness probe, on purpose",
                 id="liveness-none-line-separator"),
    pytest.param(_card(single='"' + "AKIAIOSFODNN7EXAMPLE" * 5000 + '"'), 6, 1,
                 "singleReplica: must be at most 1024 characters long", id="single-replica-100-kB"),
]


@pytest.mark.parametrize("text, line, column, message", REFUSED)
def test_a_reason_that_would_add_a_clause_is_a_card_error(tmp_path: Path, text: str, line: int, column: int,
                                                          message: str) -> None:
    card = tmp_path / "web.service.yaml"
    card.write_text(text, encoding="utf-8")
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert (result.exit_code, result.stderr) == (2, f"shipcard: {card}:{line}:{column}: {message}\n")
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()


SPECIAL = ["'yes'", "'- x'", "'{{ .Values.name }}'", "'image-latest-or-untagged: trust me'", "'a, b: c'",
           "\"#not a comment\"", "'''quoted'''", "'null'", "\"x\\u00a0y\""]


@pytest.mark.kubectl
@pytest.mark.helm
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
@pytest.mark.parametrize("reason", SPECIAL)
def test_a_yaml_special_reason_suppresses_only_its_own_rule(tmp_path: Path, fmt: str, reason: str,
                                                            kubectl: str, helm: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    monkeypatch.setenv("SHIPCARD_HELM", helm)
    (tmp_path / "services").mkdir()
    (tmp_path / "services/web.service.yaml").write_text(_card(reason, reason, fmt), encoding="utf-8")
    assert run_cli("render", str(tmp_path / "services/web.service.yaml"), "--out", str(tmp_path)).exit_code == 0
    result = run_cli("check", str(tmp_path / "apps"), "--format", "json", cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    suppressed = {f["rule"] for f in findings if f["suppressed"]}
    assert suppressed == ACCEPTED
    assert "image-latest-or-untagged" in {f["rule"] for f in findings if not f["suppressed"]}
    assert result.exit_code == 1
