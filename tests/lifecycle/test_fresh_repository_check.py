"""Issue 14, "What must show": a fresh `init` + `new` of every blueprint + `render` + `check` shows no warning
or error caused by shipcard's own defaults. What it does show is listed exactly: findings about choices the
user still has to make, and the infos docs/repository.md explains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipcard.settings import NetworkSettings, load_repo
from tests.conftest import run_cli

Finding = tuple[str, str, str, int, int]
SERVICE = "svc"
ENVIRONMENTS = ("dev", "prod", "staging")

# Infos of every fresh repository (docs/repository.md, "What a fresh repository's check shows"): the root
# and the services' Applications follow the repository's branch, as a GitOps repository means them to.
FOLLOWS_THE_BRANCH: list[Finding] = [
    ("argocd-unpinned-revision", "info", "argocd/root.yaml", 43, 9),
    *(("argocd-unpinned-revision", "info", f"argocd/{env}/{SERVICE}.yaml", 18, 5) for env in ENVIRONMENTS),
]
# The user's choices, per blueprint: an image to pin once it is built (`shipcard pin`).
USERS_CHOICES: dict[str, list[Finding]] = {
    "web": [("image-not-pinned", "warning", f"apps/{SERVICE}/base/deployment.yaml", 47, 9)],
    "worker": [("image-not-pinned", "warning", f"apps/{SERVICE}/base/deployment.yaml", 49, 9)],
    "cronjob": [("image-not-pinned", "warning", f"apps/{SERVICE}/base/cronjob-run.yaml", 58, 13)],
    "console": [("image-not-pinned", "warning", f"apps/{SERVICE}/base/cronjob-task.yaml", 67, 13),
                ("image-not-pinned", "warning", f"apps/{SERVICE}/base/deployment.yaml", 50, 9)],
}
# What the blueprints' cards accept on purpose, with their reasons (docs/cards.md, "Findings a card accepts"):
# kept in the report, suppressed by the annotations the card's fields render.
WORKER_LIVENESS = "no port to probe: the worker exits on a fatal error, and the kubelet restarts it"
CONSOLE_LIVENESS = "an idle shell (a sleep loop): it serves nothing and cannot hang"
CONSOLE_ONE_POD = "an operator's shell: one idle pod to exec into"
ACCEPTED: dict[str, list[tuple[Finding, str]]] = {
    "web": [],
    "worker": [(("liveness-probe-missing", "warning", f"apps/{SERVICE}/base/deployment.yaml", 48, 9),
                f"{WORKER_LIVENESS} (shipcard.io/ignore.{SERVICE})")],
    "cronjob": [],
    "console": [(("liveness-probe-missing", "warning", f"apps/{SERVICE}/base/deployment.yaml", 49, 9),
                 f"{CONSOLE_LIVENESS} (shipcard.io/ignore.{SERVICE})"),
                (("single-replica", "warning", f"apps/{SERVICE}/base/deployment.yaml", 17, 3),
                 f"{CONSOLE_ONE_POD} (shipcard.io/ignore)")],
}


@pytest.mark.kubectl
@pytest.mark.parametrize("blueprint", sorted(USERS_CHOICES))
def test_a_fresh_repository_checks_clean_of_shipcards_own_defaults(tmp_path: Path, kubectl: str,
                                                                    blueprint: str) -> None:
    repo = tmp_path / "gitops"
    assert run_cli("init", str(repo), "--no-input").exit_code == 0  # every default, none set
    assert run_cli("new", SERVICE, "--blueprint", blueprint, "--no-input", cwd=repo).exit_code == 0
    assert run_cli("render", cwd=repo).exit_code == 0
    result = run_cli("check", "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]

    def key(f: dict) -> Finding:
        return f["rule"], f["severity"], f["file"], f["line"], f["column"]

    assert sorted(key(f) for f in findings if not f["suppressed"]) == sorted(FOLLOWS_THE_BRANCH +
                                                                              USERS_CHOICES[blueprint])
    assert sorted((key(f), f["suppression"]["source"], f["suppression"]["reason"])
                  for f in findings if f["suppressed"]) == sorted(
        (finding, "annotation", reason) for finding, reason in ACCEPTED[blueprint])


@pytest.mark.parametrize("sets,network", [
    ((), NetworkSettings("ingress-nginx", (), None)),
    (("--set", "ingress_namespace=traefik", "--set", "vpc_cidr=172.31.0.0/16"),
     NetworkSettings("traefik", (), "172.31.0.0/16")),
])
def test_init_writes_where_the_services_callers_come_from(tmp_path: Path, sets: tuple[str, ...],
                                                          network: NetworkSettings) -> None:
    assert run_cli("init", str(tmp_path / "gitops"), "--no-input", "--no-git", *sets).exit_code == 0
    assert load_repo(tmp_path / "gitops").network == network


def test_init_refuses_a_vpc_cidr_that_is_no_address_block(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "gitops"), "--no-input", "--no-git", "--set", "vpc_cidr=10.0.0.0/33")
    assert result.exit_code == 2
    assert result.stderr == ("shipcard: vpc_cidr '10.0.0.0/33': expected an IPv4 address block such as 10.0.0.0/16, "
                             "or nothing\n")
    assert not (tmp_path / "gitops").exists()
