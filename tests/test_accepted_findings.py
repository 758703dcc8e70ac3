"""Issue 14: findings a card accepts on purpose (`singleReplica`, `health.liveness: {none}`), each with its
one-line reason, reach `shipcard check` as its own suppression annotations on the Deployment; without them
the rules fire as on any Deployment, and a rule shipcard.yaml requires cannot be accepted away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipcard.card.load import load_card_text
from shipcard.check.engine import all_rule_infos
from shipcard.k8s.objects import LIVENESS_RULE, SINGLE_REPLICA_RULE, environment_objects
from tests.conftest import run_cli

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: shell
image: ghcr.io/example/shell:1.0.0
command: [sleep, infinity]
singleReplica: "one pod: an operator's shell"
health:
  liveness: {none: nothing to probe in a sleep}
environments:
  dev: {}
  prod:
    singleReplica: null
    replicas: 3
    health: null
gitops:
  repoURL: https://github.com/example/gitops.git
"""


def test_the_rule_ids_the_card_fields_suppress_are_rules_of_the_pack() -> None:
    assert {LIVENESS_RULE, SINGLE_REPLICA_RULE} <= {info.id for info in all_rule_infos()}


def test_accepted_findings_become_the_deployments_suppression_annotations() -> None:
    card = load_card_text(CARD, "shell.service.yaml", "services/shell.service.yaml")
    deployments = {env.name: next(o for o in environment_objects(env) if o["kind"] == "Deployment")
                   for env in card.environments}
    dev, prod = deployments["dev"], deployments["prod"]
    assert dev["metadata"]["annotations"] == {
        "shipcard.io/ignore": "single-replica: one pod: an operator's shell",
        "shipcard.io/ignore.shell": "liveness-probe-missing: nothing to probe in a sleep"}
    assert dev["spec"]["replicas"] == 1  # the default with singleReplica
    assert "livenessProbe" not in dev["spec"]["template"]["spec"]["containers"][0]
    assert "annotations" not in prod["metadata"] and prod["spec"]["replicas"] == 3


LIVENESS_SHAPES = ("a path string probes HTTP on the first port; or one of {http: port, path}, {grpc: port}, "
                   "{tcp: port}, {exec: [...]}. Or {none: reason}: no liveness probe, on purpose")


@pytest.mark.parametrize("replace,new,line,column,field,message", [
    ("environments:\n  dev: {}", "environments:\n  dev:\n    replicas: 2", 11, 5, "environments.dev.replicas",
     "singleReplica says one pod is enough: set replicas to 1 (its default with singleReplica) or remove "
     "singleReplica"),
    ("environments:\n  dev: {}", "environments:\n  dev:\n    autoscaling: {max: 4}", 11, 5,
     "environments.dev.autoscaling", "singleReplica says one pod is enough: remove autoscaling or singleReplica"),
    ('singleReplica: "one pod: an operator\'s shell"', 'singleReplica: "one pod\\nsecond line"', 6, 1,
     "singleReplica", "'one pod\\nsecond line' is not one line of text that starts with a visible character"),
    ("{none: nothing to probe in a sleep}", '{none: " "}', 8, 3, "health.liveness", f"must be {LIVENESS_SHAPES}"),
])
def test_a_reason_that_does_not_hold_is_a_located_card_error(tmp_path: Path, replace: str, new: str, line: int,
                                                             column: int, field: str, message: str) -> None:
    card = tmp_path / "shell.service.yaml"
    card.write_text(CARD.replace(replace, new), encoding="utf-8")
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == f"shipcard: {card}:{line}:{column}: {field}: {message}\n"
    assert not (tmp_path / "out").exists()


def _check(repo: Path) -> dict[str, bool]:
    assert run_cli("render", cwd=repo).exit_code == 0
    result = run_cli("check", "--format", "json", cwd=repo)
    return {f["rule"]: f["suppressed"] for f in json.loads(result.stdout)["findings"]
            if f["rule"] in (LIVENESS_RULE, SINGLE_REPLICA_RULE) and f["file"].endswith("base/deployment.yaml")}


@pytest.mark.kubectl
def test_the_rules_still_fire_without_the_fields_and_a_required_rule_stays_counted(tmp_path: Path,
                                                                                  kubectl: str) -> None:
    repo = tmp_path / "gitops"
    assert run_cli("init", str(repo), "--no-input", "--no-git").exit_code == 0
    assert run_cli("new", "shell", "--blueprint", "console", "--no-input", cwd=repo).exit_code == 0
    card = repo / "services/shell.service.yaml"
    text = card.read_text(encoding="utf-8")
    assert _check(repo) == {LIVENESS_RULE: True, SINGLE_REPLICA_RULE: True}

    settings = repo / "shipcard.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "check:\n", f"check:\n  required: [{LIVENESS_RULE}]\n"), encoding="utf-8")
    assert _check(repo) == {LIVENESS_RULE: False, SINGLE_REPLICA_RULE: True}

    # An ordinary Deployment of one pod without a probe: both rules report it.
    ordinary = "\n".join(line for line in text.splitlines()
                         if not line.startswith(("singleReplica:", "health:", "  liveness:")))
    card.write_text(ordinary.replace("command:", "replicas: 1\ncommand:") + "\n", encoding="utf-8")
    assert _check(repo) == {LIVENESS_RULE: False, SINGLE_REPLICA_RULE: False}
