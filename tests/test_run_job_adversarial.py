"""Adversarial review of `shipcard run`: a hostile kubeconfig, odd user names, hostile `--card`/`--env`.

Each case is an attack; the promises: one printed line a POSIX shell runs as is, bad input one
line on stderr (exit 2), never an internal error, nothing run. kubectl is the fake of
tests/test_run_job.py (records its argv, answers `config view` with the kubeconfig given).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from shipcard.patterns import name_problem
from tests.conftest import run_cli
from tests.test_run_job import BILLING, PROD_LINE, PROD_SERVER, fake_fixture, repo_fixture, set_kubeconfig

USED_FIXTURES = (fake_fixture, repo_fixture)  # `fake` and `repo`, as tests/test_run_job.py makes them

RUN = ("run", "data-patch", "--env", "prod")


def refused(result: Any, fake_dir: Path, message: str) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"shipcard: {message}\n")
    assert not (fake_dir / "argv").exists()


@pytest.mark.parametrize("context", ["prod\nadmin", "prod\radmin", "prod\x1b]0;owned\x07", "prod\u2028admin"],
                         ids=["newline", "carriage-return", "terminal-escape", "line-separator"])
def test_a_kubeconfig_context_with_a_control_character_is_refused_not_printed(repo: Path, fake: Path,
                                                                             context: str) -> None:
    """shlex quoting keeps such a name one word, but the printed line would be two lines (or drive the
    terminal): refused, the name shown escaped."""
    set_kubeconfig(fake, {context: PROD_SERVER})
    result = run_cli(*RUN, "--apply", cwd=repo)
    refused(result, fake, f"context {context!r} has a control character (a line break, an escape): rename it "
                          "in your kubeconfig")


def test_a_context_option_with_a_line_break_is_refused(repo: Path, fake: Path) -> None:
    result = run_cli(*RUN, "--context", "prod-admin\nkubectl delete ns billing", cwd=repo)
    refused(result, fake, "context 'prod-admin\\nkubectl delete ns billing' has a control character (a line "
                          "break, an escape): rename it in your kubeconfig")


@pytest.mark.parametrize("config", [
    {"contexts": [{"name": "prod-admin", "context": "not-a-mapping"}]},
    {"clusters": [{"name": "c", "cluster": "not-a-mapping"}], "contexts": [{"name": "x", "context": {"cluster": "c"}}]},
    {"clusters": [{"name": ["c"], "cluster": {"server": PROD_SERVER}}],
     "contexts": [{"name": "x", "context": {"cluster": ["c"]}}]},
    {"clusters": "c", "contexts": {"name": "x"}},
    {"contexts": [None, 3, {"name": 7, "context": {"cluster": "c"}}]},
], ids=["context-scalar", "cluster-scalar", "names-lists", "lists-scalars", "entries-odd"])
def test_a_kubeconfig_of_odd_shapes_names_no_context_and_is_no_internal_error(repo: Path, fake: Path,
                                                                             config: dict[str, Any]) -> None:
    (fake / "kubeconfig.json").write_text(json.dumps(config))
    result = run_cli(*RUN, cwd=repo)
    refused(result, fake, f"no context of your kubeconfig points at {PROD_SERVER}, where billing-api-prod deploys: "
                          "add one, or name it with --context")


@pytest.mark.parametrize("user,part", [
    ("José María", "jos-mar-a"), ("a b\tc", "a-b-c"), ("ALICE", "alice"), ("x" * 40, "x" * 24),
], ids=["unicode-and-space", "whitespace", "upper-case", "long"])
def test_user_names_with_spaces_unicode_or_length_become_one_dns_part(repo: Path, fake: Path, user: str, part: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("USER", user)
    result = run_cli(*RUN, cwd=repo)
    assert (result.exit_code, result.stdout) == (0, PROD_LINE.replace("alice-o-brien-ops", part))


@pytest.mark.parametrize("user", ["日本", "  ", "--__--"], ids=["no-ascii", "blank", "only-symbols"])
def test_a_user_of_no_letter_or_digit_is_refused(repo: Path, fake: Path, user: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("USER", user)
    result = run_cli(*RUN, cwd=repo)
    refused(result, fake, f"cannot name the Job after who runs it ({user!r} has no letter or digit): set "
                          "`git config user.email` to an address whose local part has some")


@pytest.mark.parametrize("email,part", [
    ("+deploy@example.com", "deploy"), ("bob+prod+2026@example.com", "bob-prod-2026"),
    ("@example.com", "carol"),  # no local part: $USER, as without an email
], ids=["plus-tag-only", "plus-tags", "empty-local-part"])
def test_git_email_local_parts_with_tags_or_none(repo: Path, fake: Path, tmp_path: Path, email: str, part: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gitconfig").write_text(f"[user]\n\temail = {email}\n")
    monkeypatch.setenv("USER", "Carol")
    result = run_cli(*RUN, cwd=repo)
    assert (result.exit_code, result.stdout) == (0, PROD_LINE.replace("alice-o-brien-ops", part))


def test_a_job_name_at_the_cronjob_limit_gives_a_job_name_of_at_most_63(tmp_path: Path, fake: Path) -> None:
    """`<service>-<job>` may have 52 characters (the CronJob limit): the Job's name keeps the whole user
    and time and shortens the CronJob part to fit the 63 of a label value."""
    job = "j" * (52 - len("svc-"))
    (tmp_path / "services").mkdir()
    (tmp_path / "services/svc.service.yaml").write_text(
        "apiVersion: shipcard/v1\nkind: Service\nname: svc\nimage: busybox:1\n"
        f"jobs:\n  - name: {job}\n    manual: true\n    command: [\"true\"]\n"
        "environments:\n  prod:\n    namespace: ok\ngitops: {repoURL: https://example.com/g.git}\n")
    result = run_cli("run", job, cwd=tmp_path)
    name = "svc-" + "j" * 28 + "-alice-o-brien-ops-202612040930"
    assert (result.exit_code, result.stdout) == (0, f"kubectl create job --from=cronjob/svc-{job} {name} "
                                                    "--namespace ok\n")
    assert len(name) == 63 and name_problem(name, "Job") is None


def test_a_card_named_outside_the_repository_is_the_users_choice(repo: Path, fake: Path, tmp_path: Path) -> None:
    """`--card ../x.service.yaml` is the command line's, not repository content: read like any card file."""
    shutil.copy(repo / BILLING, tmp_path / "x.service.yaml")
    result = run_cli(*RUN, "--card", "../x.service.yaml", cwd=repo)
    assert (result.exit_code, result.stdout) == (0, PROD_LINE)


@pytest.mark.parametrize("card,message", [
    ("services", "no card of {repo}/services describes service 'services'"),
    ("..", "no card of {repo}/services describes service '..'"),
    ("services/", "services/: no such card file"),
    ("/dev/zero", "/dev/zero: no such card file"),
], ids=["directory-name", "dot-dot", "directory-path", "device"])
def test_a_card_option_that_is_no_card_file_is_one_line(repo: Path, fake: Path, card: str, message: str) -> None:
    result = run_cli(*RUN, "--card", card, cwd=repo)
    refused(result, fake, message.format(repo=repo))


def test_a_card_linked_to_a_fifo_is_not_read(repo: Path, fake: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (repo / "services/billing-api.service.yaml").unlink()
    (repo / "services/billing-api.service.yaml").symlink_to(tmp_path / "fifo")
    result = run_cli(*RUN, "--card", "billing-api", cwd=repo)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and "services/billing-api.service.yaml" in result.stderr


def test_an_unknown_env_is_located_at_the_cards_environments(repo: Path, fake: Path) -> None:
    result = run_cli("run", "data-patch", "--env", "$(reboot)", cwd=repo)
    refused(result, fake, f"{repo}/{BILLING}:65:1: environments: no environment '$(reboot)' (environments: dev, "
                          "staging, prod)")
