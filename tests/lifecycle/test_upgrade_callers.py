"""Issue 14, item 11: fresh services are closed by default, existing ones are migrated explicitly. A card whose
tree an older shipcard rendered (ports open to every source) is refused by `render` until `upgrade` writes
`allowFrom: [{anywhere: true}]` into it; cards rendered by this shipcard, and new ones, are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from shipcard.card.migrate import keep_open_ports
from shipcard.errors import InputError
from shipcard.lifecycle.state import STATE_DIR
from shipcard.writers.tree import with_header
from shipcard.yamlio.read import load_plain
from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import KEPT_OPEN, commit_all, upgraded

CARDS = {card.name: card.read_text() for card in example_cards()}


def states_before_allow_from(repo: Path) -> None:
    """Render states as a shipcard before allowFrom wrote them: without `declaredCallers`."""
    for path in (repo / STATE_DIR).glob("*.yaml"):
        data = json.loads(path.read_text().split("\n", 2)[2])
        del data["declaredCallers"]
        path.write_text(with_header(data["card"], json.dumps(data, indent=1) + "\n"))


@pytest.fixture
def rendered_before(repository: Path) -> Path:
    for name, text in CARDS.items():
        (repository / "services" / name).write_text(text)
    assert run_cli("render", cwd=repository).exit_code == 0
    states_before_allow_from(repository)
    commit_all(git.Repo(repository), "services, rendered by a shipcard before allowFrom")
    return repository


def test_render_refuses_a_card_whose_ports_an_older_shipcard_opened(rendered_before: Path) -> None:
    result = run_cli("render", cwd=rendered_before)
    assert result.exit_code == 2
    assert result.stderr == (
        f"shipcard: {rendered_before}/services/billing-api.service.yaml:12:1: port: rendered by an older shipcard, "
        "which opened these ports to every source; run `shipcard upgrade` to keep that (allowFrom: "
        "[{anywhere: true}]), or list the callers in allowFrom\n")
    assert not git.Repo(rendered_before).is_dirty(untracked_files=True)


def test_upgrade_keeps_the_ports_open_explicitly_and_only_in_cards_with_ports(rendered_before: Path) -> None:
    result = run_cli("upgrade", cwd=rendered_before)
    assert result.exit_code == 0, result.output
    for name, text in CARDS.items():
        assert (rendered_before / "services" / name).read_text() == upgraded(text), name
    assert (rendered_before / "services/url-pinger.service.yaml").read_text() == CARDS["url-pinger.service.yaml"]
    assert "- notifier: card migrated (allowFrom: [{anywhere: true}] added (its ports stay open to every source, " \
           "as rendered)), files" in result.output
    # The same NetworkPolicy as the old tree's: the ports, no `from`.
    policy = load_plain((rendered_before / "apps/web-frontend/base/networkpolicy-allow-ports.yaml").read_text())
    assert policy["spec"]["ingress"][0] == {"ports": [{"port": 8080, "protocol": "TCP"}]}
    assert run_cli("render", "--check", cwd=rendered_before).exit_code == 0
    commit_all(git.Repo(rendered_before), "upgraded")
    again = run_cli("upgrade", cwd=rendered_before)
    assert again.exit_code == 0 and "already up to date" in again.output


def test_cards_this_shipcard_rendered_and_new_cards_stay_closed(repository: Path) -> None:
    assert run_cli("new", "shop", "--no-input", cwd=repository).exit_code == 0
    (repository / "services/api.service.yaml").write_text(CARDS["web-frontend.service.yaml"].replace(
        "name: web-frontend", "name: api"))
    assert run_cli("render", cwd=repository).exit_code == 0
    commit_all(git.Repo(repository), "two services")
    before = {p.name: p.read_text() for p in (repository / "services").glob("*.service.yaml")}
    result = run_cli("upgrade", cwd=repository)
    assert result.exit_code == 0 and "already up to date" in result.output
    assert {p.name: p.read_text() for p in (repository / "services").glob("*.service.yaml")} == before


@pytest.mark.parametrize("text", [
    "apiVersion: shipcard/v1\nport: 80\nenvironments:\n  dev: {allowFrom: [{namespace: a}]}\n",
    "apiVersion: shipcard/v1\njobs: []\n",
])
def test_a_card_that_says_who_calls_it_or_has_no_ports_is_left_alone(text: str) -> None:
    assert keep_open_ports(text, "x.service.yaml") == (text, [])


def test_an_environments_ports_count_and_the_line_end_is_the_cards() -> None:
    text = "apiVersion: shipcard/v1\r\nenvironments:\r\n  dev: {port: 80}"
    assert keep_open_ports(text, "x.service.yaml")[0] == text + "\r\n" + KEPT_OPEN.replace("\n", "\r\n")


def test_a_card_the_key_cannot_be_appended_to_is_one_line() -> None:
    with pytest.raises(InputError) as raised:
        keep_open_ports("{apiVersion: shipcard/v1, port: 80}\n", "x.service.yaml")
    assert str(raised.value) == ("x.service.yaml: allowFrom: cannot add allowFrom to the card's text; add "
                                 "`allowFrom: [{anywhere: true}]` yourself")
