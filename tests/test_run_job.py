"""Issue 17, item 5: manual jobs carry their owner, and `shipcard run JOB` starts one, audited.

The API server cannot run here, so `kubectl create job --from=cronjob/…` is not run for real: a fake
kubectl on PATH records its argv and answers `kubectl config view -o json` with a kubeconfig, and
what the real kubectl does with the CronJob is encoded from its source (test_what_kubectl_creates…).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import kubernetes_validate
import pytest

from shipcard.patterns import name_problem
from shipcard.run import manual
from shipcard.run.manual import job_run_name, run_by
from tests.conftest import example_cards, run_cli
from tests.test_manual_jobs import billing_objects

NOW = datetime(2026, 12, 4, 9, 30, 59, tzinfo=UTC)
PROD_SERVER = "https://prod.k8s.example.com"
BILLING = "services/billing-api.service.yaml"
PROD_LINE = ("kubectl create job --from=cronjob/billing-api-data-patch billing-api-data-patch-alice-o-brien-ops-"
             "202612040930 --namespace billing --context prod-admin\n")

FAKE_KUBECTL = """#!/bin/sh
if [ "$1" = config ]; then cat "$FAKE_KUBECONFIG"; exit 0; fi
printf '%s\\n' "$@" > "$FAKE_ARGV"
echo "job.batch/$4 created"
exit 7
"""


def kubeconfig(contexts: dict[str, str], current: str = "") -> dict:
    """What `kubectl config view -o json` prints: one cluster per context, `contexts` name → server."""
    return {"kind": "Config", "apiVersion": "v1", "current-context": current,
            "clusters": [{"name": f"c-{name}", "cluster": {"server": server, "certificate-authority-data":
                                                          "DATA+OMITTED"}} for name, server in contexts.items()],
            "contexts": [{"name": name, "context": {"cluster": f"c-{name}", "user": "u"}} for name in contexts],
            "users": [{"name": "u", "user": {"token": "REDACTED"}}]}


@pytest.fixture(name="fake")  # named apart from the function, so other test modules can import it
def fake_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake kubectl first on PATH, a git identity, a fixed clock; returns the fake's directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "kubeconfig.json").write_text(json.dumps(kubeconfig({"prod-admin": PROD_SERVER + "/",
                                                                    "dev": "https://dev.example.com"}, "dev")))
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = Alice.O'Brien+ops@example.com\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("SHIPCARD_KUBECTL", raising=False)
    monkeypatch.setenv("FAKE_KUBECONFIG", str(bin_dir / "kubeconfig.json"))
    monkeypatch.setenv("FAKE_ARGV", str(bin_dir / "argv"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setattr(manual, "utc_now", lambda: NOW)
    return bin_dir


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> Path:
    services = tmp_path / "repo" / "services"
    services.mkdir(parents=True)
    for card in example_cards():
        shutil.copy(card, services / card.name)
    return tmp_path / "repo"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def set_kubeconfig(fake: Path, contexts: dict[str, str], current: str = "") -> None:
    (fake / "kubeconfig.json").write_text(json.dumps(kubeconfig(contexts, current)))


# --------------------------------------------------------------------------- the manual CronJob


def test_what_kubectl_creates_from_the_cronjob_carries_the_owner_and_passes_the_job_schema() -> None:
    """kubectl's `create job --from=cronjob/…` (createJobFromCronJob in kubectl's create_job.go, read,
    not run: no API server here) names the Job as told, copies the job template's labels, its
    annotations plus `cronjob.kubernetes.io/instantiate: manual`, and its spec, and makes the CronJob
    the Job's controlling owner: the CronJob controller then keeps it within the history limits.
    Argo CD (not run here either) calls orphaned only top-level resources, those without an owner
    reference (user-guide/orphaned-resources.md), and tracks none that lacks its tracking annotation:
    the Job is neither orphaned nor pruned, and shows under the CronJob in the resource tree."""
    cronjob = billing_objects()["billing-api-data-patch"]
    template = cronjob["spec"]["jobTemplate"]
    name = job_run_name(cronjob["metadata"]["name"], "alice", NOW)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": name, "namespace": "billing", "labels": template["metadata"]["labels"],
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual", **template["metadata"]["annotations"]},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob["metadata"]["name"],
                             "uid": "00000000-0000-0000-0000-000000000000", "controller": True}]},
        "spec": template["spec"]}
    kubernetes_validate.validate(job, kubernetes_validate.utils.latest_version(), strict=True)
    assert name == "billing-api-data-patch-alice-202612040930" and name_problem(name, "Job") is None
    assert job["metadata"]["annotations"]["shipcard.io/owner"] == "payments"
    assert job["metadata"]["labels"]["shipcard.io/manual"] == "true"
    assert job["spec"]["ttlSecondsAfterFinished"] == 7 * 24 * 3600
    assert not [key for key in job["metadata"]["annotations"] if key.startswith("argocd.argoproj.io/")]
    assert cronjob["spec"]["successfulJobsHistoryLimit"] == cronjob["spec"]["failedJobsHistoryLimit"] == 3


# --------------------------------------------------------------------------- who and when


def test_the_job_name_fits_63_characters_keeping_the_time_whole() -> None:
    assert job_run_name("billing-api-data-patch", "alice", NOW) == "billing-api-data-patch-alice-202612040930"
    longest = job_run_name("c" * 51 + "x", "u" * 24, NOW)  # a CronJob name may have 52, the user part 24
    assert longest == "c" * 25 + "-" + "u" * 24 + "-202612040930" and len(longest) == 63
    assert job_run_name("a" * 24 + "-b" * 14, "u" * 24, NOW) == "a" * 24 + "-" + "u" * 24 + "-202612040930"
    assert name_problem(longest, "Job") is None


def test_the_user_is_the_local_part_of_git_user_email_then_user(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = Alice.O'Brien+ops@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert run_by(tmp_path) == "alice-o-brien-ops"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("USER", "Bob_Smith")
    assert run_by(tmp_path) == "bob-smith"
    monkeypatch.setenv("USER", "-" + "x" * 30)
    assert run_by(tmp_path) == "x" * 24


def test_a_user_without_a_letter_or_digit_is_refused(repo: Path, fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("USER", "山田")
    result = run_cli("run", "data-patch", "--env", "prod", cwd=repo)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("shipcard: cannot name the Job after who runs it ('山田' has no letter or digit): "
                             "set `git config user.email` to an address whose local part has some\n")


# --------------------------------------------------------------------------- the command


def test_run_prints_exactly_one_command_for_the_environments_cluster(repo: Path, fake: Path) -> None:
    before = snapshot(repo)
    result = run_cli("run", "data-patch", "--env", "prod", cwd=repo)
    assert (result.exit_code, result.stdout, result.stderr) == (0, PROD_LINE, "")
    assert not (fake / "argv").exists()  # printing runs nothing
    assert snapshot(repo) == before


def test_apply_runs_that_command_and_passes_kubectls_exit_status(repo: Path, fake: Path) -> None:
    before = snapshot(repo)
    result = run_cli("run", "data-patch", "--env", "prod", "--card", "billing-api", "--apply", cwd=repo)
    assert (result.exit_code, result.stdout) == (7, PROD_LINE)
    assert (fake / "argv").read_text().splitlines() == [
        "create", "job", "--from=cronjob/billing-api-data-patch",
        "billing-api-data-patch-alice-o-brien-ops-202612040930", "--namespace", "billing", "--context", "prod-admin"]
    assert snapshot(repo) == before


def test_the_in_cluster_destination_runs_in_the_current_context_and_says_so(repo: Path, fake: Path) -> None:
    result = run_cli("run", "data-patch", "--env", "dev", "--card", f"{repo}/{BILLING}", cwd=repo)
    assert result.exit_code == 0
    assert result.stdout == ("kubectl create job --from=cronjob/billing-api-data-patch "
                             "billing-api-data-patch-alice-o-brien-ops-202612040930 --namespace billing-api-dev\n")
    assert result.stderr == ("shipcard: billing-api-dev deploys to https://kubernetes.default.svc, the cluster Argo CD "
                             "runs in, which no kubeconfig names: the command runs in your current context\n")


def test_a_hostile_context_name_is_quoted_and_passed_as_one_argument(repo: Path, fake: Path) -> None:
    hostile = "prod; rm -rf ~ $(reboot) 'x'"
    set_kubeconfig(fake, {hostile: PROD_SERVER})
    result = run_cli("run", "data-patch", "--env", "prod", "--apply", cwd=repo)
    assert result.exit_code == 7
    assert result.stdout == PROD_LINE.replace("prod-admin", "'prod; rm -rf ~ $(reboot) '\"'\"'x'\"'\"''")
    assert (fake / "argv").read_text().splitlines()[-2:] == ["--context", hostile]


@pytest.mark.parametrize("contexts,current,args,expected", [
    ({"a": PROD_SERVER, "b": PROD_SERVER}, "b", (), "b"),
    ({"a": "https://other.example.com"}, "a", ("--context", "elsewhere"), "elsewhere"),  # not in this kubeconfig
    ({"a": PROD_SERVER}, "a", ("--context", "a"), "a"),
])
def test_the_context_is_the_one_for_the_cluster(repo: Path, fake: Path, contexts: dict[str, str], current: str,
                                                args: tuple[str, ...], expected: str) -> None:
    set_kubeconfig(fake, contexts, current)
    result = run_cli("run", "data-patch", "--env", "prod", *args, cwd=repo)
    assert (result.exit_code, result.stdout) == (0, PROD_LINE.replace("prod-admin", expected))


@pytest.mark.parametrize("contexts,current,args,message", [
    ({"a": PROD_SERVER, "b": PROD_SERVER}, "c", (),
     "contexts 'a', 'b' of your kubeconfig all point at https://prod.k8s.example.com, where billing-api-prod "
     "deploys: choose one with --context"),
    ({"dev": "https://dev.example.com"}, "dev", (),
     "no context of your kubeconfig points at https://prod.k8s.example.com, where billing-api-prod deploys: add one, "
     "or name it with --context"),
    ({"dev": "https://dev.example.com"}, "dev", ("--context", "dev"),
     "context 'dev' points at https://dev.example.com, but billing-api-prod deploys to https://prod.k8s.example.com"),
])
def test_a_context_of_another_cluster_is_never_chosen(repo: Path, fake: Path, contexts: dict[str, str], current: str,
                                                      args: tuple[str, ...], message: str) -> None:
    set_kubeconfig(fake, contexts, current)
    result = run_cli("run", "data-patch", "--env", "prod", "--apply", *args, cwd=repo)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"shipcard: {message}\n")
    assert not (fake / "argv").exists()


def test_without_kubectl_the_cluster_cannot_be_matched(repo: Path, fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPCARD_KUBECTL", str(fake / "missing"))
    result = run_cli("run", "data-patch", "--env", "prod", cwd=repo)
    assert (result.exit_code, result.stderr) == (2, "shipcard: kubectl not found: install it or set SHIPCARD_KUBECTL\n")
    printed = run_cli("run", "data-patch", "--env", "dev", cwd=repo)  # the in-cluster default needs no kubeconfig
    assert (printed.exit_code, printed.stdout) == (0, "kubectl create job --from=cronjob/billing-api-data-patch "
                                                      "billing-api-data-patch-alice-o-brien-ops-202612040930 "
                                                      "--namespace billing-api-dev\n")
    applied = run_cli("run", "data-patch", "--env", "dev", "--apply", cwd=repo)
    assert (applied.exit_code, applied.stderr.splitlines()[-1]) == (
        2, "shipcard: kubectl not found: install it or set SHIPCARD_KUBECTL")


def test_a_kubectl_killed_by_a_signal_exits_128_plus_the_signal(repo: Path, fake: Path) -> None:
    (fake / "kubectl").write_text('#!/bin/sh\nif [ "$1" = config ]; then cat "$FAKE_KUBECONFIG"; exit 0; fi\n'
                                  "kill -TERM $$\n")
    result = run_cli("run", "data-patch", "--env", "prod", "--apply", cwd=repo)
    assert (result.exit_code, result.stdout) == (128 + 15, PROD_LINE)


def test_a_kubectl_that_hangs_is_stopped_and_the_job_name_given(repo: Path, fake: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (fake / "kubectl").write_text('#!/bin/sh\nif [ "$1" = config ]; then cat "$FAKE_KUBECONFIG"; exit 0; fi\n'
                                  "exec sleep 30\n")
    monkeypatch.setattr(manual, "APPLY_TIMEOUT_SECONDS", 0.5)
    result = run_cli("run", "data-patch", "--env", "prod", "--apply", cwd=repo)
    name = "billing-api-data-patch-alice-o-brien-ops-202612040930"
    assert (result.exit_code, result.stdout) == (2, PROD_LINE)
    assert result.stderr == (f"shipcard: kubectl create job: did not finish in 0.5 s; whether Job {name} was "
                             f"created, `kubectl get job {name} --namespace billing --context prod-admin` tells\n")


def test_a_card_linked_out_of_the_repository_is_not_read(repo: Path, fake: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.service.yaml"
    shutil.move(repo / BILLING, outside)
    (repo / BILLING).symlink_to(outside)
    result = run_cli("run", "data-patch", "--env", "prod", cwd=repo)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"shipcard: {repo}/{BILLING}: a symbolic link leads outside the repository; "
                             "shipcard does not follow it\n")


def test_the_namespace_and_cluster_may_come_from_shipcard_yaml(tmp_path: Path, fake: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "shipcard.yaml").write_text(
        "apiVersion: shipcard/v1\nkind: Repository\nrepoURL: https://example.com/g.git\n"
        f"environments:\n  prod: {{cluster: '{PROD_SERVER}', namespace: 'team-{{service}}'}}\n")
    (tmp_path / "services/svc.service.yaml").write_text(
        "apiVersion: shipcard/v1\nkind: Service\nname: svc\nimage: busybox:1\n"
        "jobs: [{name: fix, manual: true, command: [\"true\"]}]\n")
    result = run_cli("run", "fix", cwd=tmp_path / "services")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ("kubectl create job --from=cronjob/svc-fix svc-fix-alice-o-brien-ops-202612040930 "
                             "--namespace team-svc --context prod-admin\n")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("args,message", [
    (("data-patch",), f"{BILLING}:65:1: environments: billing-api deploys to 3 environments (dev, staging, prod): "
                      "choose one with --env"),
    (("data-patch", "--env", "qa"), f"{BILLING}:65:1: environments: no environment 'qa' (environments: dev, "
                                    "staging, prod)"),
    (("nightly-invoices",), f"{BILLING}:55:5: jobs[1].schedule: job 'nightly-invoices' runs on its schedule "
                            "(0 1 * * *); shipcard run starts only manual: true jobs"),
    (("migrate", "--env", "prod"), f"{BILLING}:53:5: jobs[0].hook: job 'migrate' is a pre-sync hook, which Argo CD "
                                   "runs at every sync; shipcard run starts only manual: true jobs"),
    (("nope", "--card", "billing-api"), f"{BILLING}:50:1: jobs: no job named 'nope' (jobs: migrate, "
                                        "nightly-invoices, data-patch)"),
    (("$(reboot)",), "no cards of services have a job named '$(reboot)'"),
    (("ping", "--card", "nobody"), "no card of services describes service 'nobody'"),
    (("ping", "--card", "missing.service.yaml"), "missing.service.yaml: no such card file"),
])
def test_bad_input_is_one_line_naming_the_card_field(repo: Path, fake: Path, args: tuple[str, ...],
                                                     message: str) -> None:
    result = run_cli("run", *args, cwd=repo)
    stderr = result.stderr.replace(f"{repo}/", "")
    assert (result.exit_code, result.stdout, stderr) == (2, "", f"shipcard: {message}\n")
    assert not (fake / "argv").exists()


def card_with(job: str, namespace: str = "ok") -> str:
    return ("apiVersion: shipcard/v1\nkind: Service\nname: svc\nimage: busybox:1\n"
            f"jobs:\n  - name: {job}\n    manual: true\n    command: [\"true\"]\n"
            f"environments:\n  prod:\n    namespace: {namespace}\ngitops: {{repoURL: https://example.com/g.git}}\n")


DNS_LABEL_RULE = "is not a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)"


@pytest.mark.parametrize("job,namespace,where", [
    ("'fix; rm -rf /'", "ok", f"6:5: jobs[0].name: 'fix; rm -rf /' {DNS_LABEL_RULE}"),
    ("fix", "'ok $(reboot)'", f"11:5: environments.prod.namespace: 'ok $(reboot)' {DNS_LABEL_RULE}"),
])
def test_a_hostile_job_or_namespace_does_not_pass_the_card(tmp_path: Path, fake: Path, job: str, namespace: str,
                                                           where: str) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services/svc.service.yaml").write_text(card_with(job, namespace))
    result = run_cli("run", "fix", "--apply", cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"shipcard: {tmp_path}/services/svc.service.yaml:{where}\n"
    assert not (fake / "argv").exists()
