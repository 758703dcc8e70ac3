"""Issue 2: every broken card gets exit 2 and one line `file:line:col: field: message`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_cli

VALID = """\
apiVersion: shipcard/v1
kind: Service
name: shop
team: storefront
image: ghcr.io/example/shop:1.0.0
port: 8080
env:
  LOG_LEVEL: info
jobs:
  - name: nightly
    schedule: "0 1 * * *"
    command: [./nightly]
environments:
  prod:
    replicas: 3
gitops:
  repoURL: https://github.com/example/gitops.git
"""

# (id, card text, line the error must name, words the message must contain)
BROKEN = [
    ("unknown-field-did-you-mean", VALID.replace("port: 8080", "prot: 8080"), 6, ["prot", "did you mean 'port'"]),
    ("unknown-env-override", VALID.replace("    replicas: 3", "    replica: 3"), 15, ["replica", "did you mean 'replicas'"]),
    ("wrong-type", VALID.replace("port: 8080", "port: http"), 6, ["port", "integer"]),
    ("duplicate-key", VALID.replace("team: storefront", "team: storefront\nteam: other"), 5, ["duplicate key"]),
    ("name-upper-case", VALID.replace("name: shop", "name: Shop"), 3, ["name", "DNS-1123"]),
    ("name-with-slash", VALID.replace("name: shop", "name: ../shop"), 3, ["name", "DNS-1123"]),
    ("script-and-command", VALID.replace("    command: [./nightly]", "    command: [./nightly]\n    script: echo hi"),
     13, ["jobs[0].script", "either script or command"]),
    ("job-without-kind", VALID.replace('    schedule: "0 1 * * *"\n', ""), 10, ["jobs[0]", "schedule, hook"]),
    ("cronjob-name-too-long", VALID.replace("name: nightly", "name: " + "n" * 50), 10, ["jobs[0].name", "52"]),
    ("bad-schedule", VALID.replace('"0 1 * * *"', '"every night"'), 11, ["schedule", "cron"]),
    ("missing-image", VALID.replace("image: ghcr.io/example/shop:1.0.0\n", ""), 1, ["image"]),
    ("bad-image", VALID.replace("ghcr.io/example/shop:1.0.0", "ghcr.io/Example/Shop:1.0.0"), 5, ["image", "repository"]),
    ("wrong-api-version", VALID.replace("shipcard/v1", "shipcard/v9"), 1, ["apiVersion", "shipcard/v1"]),
    ("bad-secret-provider", VALID.replace("env:\n", "secrets:\n  provider: aws-kms\n  store: x\nenv:\n"), 8,
     ["secrets.provider", "aws-secrets-manager"]),
    ("probe-on-unknown-port", VALID.replace("env:\n", "health:\n  liveness: {http: admin, path: /h}\nenv:\n"), 8,
     ["health.liveness.http", "admin"]),
    ("absolute-gitops-path", VALID + "  path: /etc/apps\n", 18, ["gitops.path", "relative"]),
    ("climbing-gitops-path", VALID + "  path: ../../elsewhere\n", 18, ["gitops.path", ".."]),
    ("tabs", VALID.replace("  LOG_LEVEL", "\tLOG_LEVEL"), 8, ["tab"]),
    ("malformed-yaml", VALID.replace("port: 8080", "port: [8080"), 7, []),
    ("secret-also-literal", VALID.replace("env:\n", "secrets:\n  provider: vault\n  store: vault\n  env: {LOG_LEVEL: a/b}\nenv:\n"),
     10, ["LOG_LEVEL", "both"]),
    ("autoscaling-min-above-max", VALID.replace("env:\n", "autoscaling: {min: 5, max: 2}\nenv:\n"), 7, ["autoscaling.min"]),
    ("ingress-without-port", VALID.replace("port: 8080\n", "ingress: {host: shop.example.com}\n"), 6, ["ingress", "port"]),
    ("both-port-and-ports", VALID.replace("port: 8080", "port: 8080\nports: [{name: http, port: 8080}]"), 7, ["ports"]),
    ("environment-name", VALID.replace("  prod:", "  Prod:"), 14, ["Prod"]),
    ("empty-file", "", 1, ["empty"]),
    ("not-a-mapping", "- just\n- a list\n", 1, ["mapping"]),
]


@pytest.mark.parametrize("case_id,text,line,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_card_exits_2_with_a_located_one_line_error(tmp_path: Path, case_id: str, text: str, line: int,
                                                             words: list[str]) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(text)
    out = tmp_path / "out"
    result = run_cli("render", str(card), "--out", str(out))
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    match = re.match(rf"shipcard: {re.escape(str(card))}:(\d+):(\d+):", message)
    assert match, message
    assert int(match.group(1)) == line, message
    for word in words:
        assert word in message, message
    assert not (out / "apps").exists() and not (out / "argocd").exists()  # nothing half-written


def test_at_least_fifteen_distinct_mistakes() -> None:
    assert len({case[0] for case in BROKEN}) >= 15


def test_the_valid_card_renders(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(VALID)
    assert run_cli("render", str(card), "--out", str(tmp_path / "out")).exit_code == 0
