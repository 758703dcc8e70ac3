"""Issue 6, template injection: values given to `new` and `init` are data. A payload that runs a
command when Jinja evaluates it (proved live below, through cookiecutter's own renderer) ends up
literally in the card, or is refused, and the command never runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipcard.card.load import load_card
from tests.conftest import run_cli
from tests.lifecycle.helpers import init_repository, snapshot


def payloads(marker: Path) -> list[str]:
    command = f"touch {marker}"
    return [
        "{{ cycler.__init__.__globals__.os.system('%s') }}" % command,
        "{%% set x = cycler.__init__.__globals__.os.system('%s') %%}done" % command,
        "{{ self.__init__.__globals__.__builtins__.__import__('os').system('%s') }}" % command,
    ]


def test_the_payloads_are_live_when_cookiecutter_evaluates_them(tmp_path: Path) -> None:
    """The control: cookiecutter renders what it is given as a template, so these run the command."""
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.prompt import render_variable

    for number, payload in enumerate(payloads(tmp_path / "control")):
        marker = tmp_path / "control"
        marker.unlink(missing_ok=True)
        render_variable(StrictEnvironment(), payload, {})
        assert marker.exists(), f"payload {number} did not run: the test would prove nothing"


@pytest.mark.parametrize("key", ["description", "image", "host", "health_path"])
def test_new_keeps_set_values_literal_and_never_runs_them(tmp_path: Path, key: str) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    marker = tmp_path / "pwned"
    for number, payload in enumerate(payloads(marker)):
        name = f"svc{number}"
        result = run_cli("new", name, "--blueprint", "web", "--no-input", "--set", f"{key}={payload}", cwd=repo)
        assert not marker.exists(), f"{key}: the payload ran"
        card = repo / "services" / f"{name}.service.yaml"
        if result.exit_code == 0:  # kept as data: the value is in the card, character for character
            raw = load_card(card).raw
            value = {"host": raw.get("ingress", {}).get("host"), "health_path": raw.get("health", {}).get("readiness"),
                     }.get(key, raw.get(key))
            assert value == payload
        else:  # or refused by the card's own rules, with nothing written
            assert result.exit_code == 2  # one located line per problem (health_path sets two probes)
            assert all(line.startswith(f"shipcard: {card}:") for line in result.stderr.splitlines()), result.stderr
            assert "KEY one of" not in result.stderr
            assert not card.exists()


def test_description_takes_the_payload_literally(tmp_path: Path) -> None:
    """A free-text field accepts any text, so this one must come out literal (not refused)."""
    repo = init_repository(tmp_path / "gitops", "--no-git")
    marker = tmp_path / "pwned"
    payload = payloads(marker)[0]
    assert run_cli("new", "api", "--no-input", "--set", f"description={payload}", cwd=repo).exit_code == 0
    text = (repo / "services/api.service.yaml").read_text()
    assert payload in text and load_card(repo / "services/api.service.yaml").base.description == payload
    assert not marker.exists()


def test_yaml_in_a_value_stays_a_string(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    sneaky = "ok\nreplicas: 100\nimage: evil/evil:1 # comment"
    assert run_cli("new", "api", "--no-input", "--set", f"description={sneaky}", cwd=repo).exit_code == 0
    card = load_card(repo / "services/api.service.yaml")
    assert card.base.description == sneaky and card.base.replicas == 2 and card.base.image.endswith("api:0.1.0")


@pytest.mark.parametrize("key", ["repo_url", "target_revision", "project", "environments", "owners"])
def test_init_refuses_a_payload_before_writing_anything(tmp_path: Path, key: str) -> None:
    marker = tmp_path / "pwned"
    directory = tmp_path / "gitops"
    for payload in payloads(marker):
        result = run_cli("init", str(directory), "--no-input", "--set", f"{key}={payload}")
        assert result.exit_code == 2 and key in result.stderr
        assert not marker.exists() and not directory.exists()


def test_a_refused_value_leaves_an_existing_repository_as_it_was(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    before = snapshot(repo)
    result = run_cli("new", "api", "--no-input", "--set", "port={{ 7 * 7 }}", cwd=repo)
    assert result.exit_code == 2 and "whole number" in result.stderr
    assert snapshot(repo) == before
