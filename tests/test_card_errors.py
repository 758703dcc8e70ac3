"""Issue 2: every broken card gets exit 2 and one line `file:line:col: field: message`; issue 15: every
problem of a card in one run (up to 20), sorted by position, for render and for check."""

from __future__ import annotations

import json
import pickle
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


# ------------------------------------------------------------------ every error in one run

TWO_BAD_SCHEDULES = VALID.replace('"0 1 * * *"', '"every night"').replace(
    "environments:", "  - name: weekly\n    schedule: \"0 1 * * 8 9\"\n    command: [./weekly]\nenvironments:")


def lines_of(result) -> list[str]:
    return result.stderr.splitlines()


def test_two_bad_schedules_are_two_lines_in_one_run(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(TWO_BAD_SCHEDULES)
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    cron = "is not a cron schedule (five fields, e.g. '0 1 * * *')"
    assert lines_of(result) == [f"shipcard: {card}:11:5: jobs[0].schedule: 'every night' {cron}",
                                f"shipcard: {card}:14:5: jobs[1].schedule: '0 1 * * 8 9' {cron}"]
    assert not (tmp_path / "out").exists()


def test_every_schema_error_then_every_semantic_error(tmp_path: Path) -> None:
    """Schema errors first, all of them (a semantic check of a refused field would repeat it); once the card
    passes the schema, every semantic error at once."""
    card = tmp_path / "shop.service.yaml"
    semantic = VALID.replace("port: 8080", "ports: [{name: http, port: 80}, {name: http, port: 81}]") \
        .replace("    command: [./nightly]", "    command: [./nightly]\n    script: echo hi")
    card.write_text(semantic.replace("ports:", "prot: 1\nports:").replace("    replicas: 3", "    replica: 3"))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert lines_of(result) == [
        f"shipcard: {card}:6:1: prot: unknown field (did you mean 'port'?)",
        f"shipcard: {card}:17:5: environments.prod.replica: unknown field (did you mean 'replicas'?)"]
    card.write_text(semantic)
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert lines_of(result) == [
        f"shipcard: {card}:6:34: ports[1].name: port name 'http' is used twice",
        f"shipcard: {card}:13:5: jobs[0].script: a job takes either script or command/args, not both"]


def test_a_base_error_is_not_repeated_for_each_environment(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(VALID.replace("ghcr.io/example/shop:1.0.0", "ghcr.io/Example/Shop:1.0.0")
                    .replace("    replicas: 3", "    replicas: 3\n  staging: {}"))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    [line] = lines_of(result)
    assert line == f"shipcard: {card}:5:1: image: invalid repository name 'Example/Shop' (lower case letters, " \
        "digits, . _ - and /)"


def test_at_most_twenty_errors_then_how_many_more(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(VALID.replace("env:\n", "env:\n" + "".join(f"  V{n}: [{n}]\n" for n in range(25))))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    lines = lines_of(result)
    assert len(lines) == 21
    assert lines[0] == f"shipcard: {card}:8:3: env.V0: must be string or number or boolean, not a list"
    assert lines[19] == f"shipcard: {card}:27:3: env.V19: must be string or number or boolean, not a list"
    assert lines[20] == f"shipcard: {card}: 5 more errors not shown"


def test_card_errors_survive_a_render_worker(tmp_path: Path) -> None:
    """A repository big enough for the process pool: the broken card's every line still comes back."""
    (tmp_path / "services").mkdir()
    for number in range(17):
        (tmp_path / "services" / f"s{number:02}.service.yaml").write_text(VALID.replace("name: shop", f"name: s{number:02}"))
    broken = tmp_path / "services" / "s07.service.yaml"
    broken.write_text(TWO_BAD_SCHEDULES.replace("name: shop", "name: s07"))
    result = run_cli("render", "--out", str(tmp_path), "--jobs", "2", cwd=tmp_path)
    assert result.exit_code == 2
    assert [line.split(": ", 2)[1] for line in lines_of(result)] == [f"{broken}:11:5", f"{broken}:14:5"]


def test_card_errors_pickle_with_every_problem() -> None:
    from shipcard.card.load import CardErrors
    from shipcard.errors import InputError, Location

    errors = CardErrors([InputError(Location("c.yaml", 9, 1), "b", "second"), InputError(Location("c.yaml", 2, 3),
                                                                                          "a", "first")])
    again = pickle.loads(pickle.dumps(errors))
    assert str(again) == str(errors) == "c.yaml:2:3: a: first\nc.yaml:9:1: b: second"
    assert (again.location.line, again.field) == (2, "a")


def test_check_reports_every_card_error_as_a_finding(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    card = tmp_path / "shop.service.yaml"
    card.write_text(TWO_BAD_SCHEDULES)
    result = run_cli("check", "shop.service.yaml", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    findings = [(f["rule"], f["line"], f["column"], f["message"].split(":")[0])
                for f in json.loads(result.stdout)["findings"]]
    assert findings == [("card-invalid", 11, 5, "jobs[0].schedule"), ("card-invalid", 14, 5, "jobs[1].schedule")]
