"""`shipcard upgrade` migrates cards whatever their layout, keeping every byte but the renamed keys,
apiVersion and the added last line keeping ports open (`allowFrom`, in the card's line end): lone-CR and CRLF line ends, a byte-order mark before apiVersion, and a symbolically linked
card, which stays a link while the file it leads to is migrated."""

from __future__ import annotations

import os
from pathlib import Path

import git

from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import as_v1alpha1, commit_all, upgraded

CARDS = {card.name: card.read_text() for card in example_cards()}
# Which card comes in which layout: (byte-order mark, line end, linked from services/).
LAYOUTS = {"billing-api.service.yaml": ("", "\r", False), "notifier.service.yaml": ("", "\r\n", False),
           "url-pinger.service.yaml": ("\ufeff", "\n", False), "web-frontend.service.yaml": ("", "\n", True)}


def in_layout(name: str, text: str) -> bytes:
    bom, newline, _ = LAYOUTS[name]
    return (bom + text.replace("\n", newline)).encode("utf-8")


def test_upgrade_keeps_line_ends_the_bom_and_links(repository: Path) -> None:
    assert set(CARDS) == set(LAYOUTS)
    (repository / "cards").mkdir()
    files = {}
    for name, text in CARDS.items():
        card = repository / "services" / name
        files[name] = repository / "cards" / name if LAYOUTS[name][2] else card
        files[name].write_bytes(in_layout(name, as_v1alpha1(text)))
        if files[name] != card:
            card.symlink_to(f"../cards/{name}")
    commit_all(git.Repo(repository), "cards in v1alpha1, in every layout")

    result = run_cli("upgrade", cwd=repository)

    assert result.exit_code == 0, result.output
    for name, text in CARDS.items():
        assert files[name].read_bytes() == in_layout(name, upgraded(text)), name
    assert os.readlink(repository / "services" / "web-frontend.service.yaml") == "../cards/web-frontend.service.yaml"
    assert run_cli("render", "--check", cwd=repository).exit_code == 0


def test_upgrade_commit_holds_the_file_a_linked_card_leads_to(repository: Path) -> None:
    name = "web-frontend.service.yaml"
    (repository / "cards").mkdir()
    (repository / "cards" / name).write_text(as_v1alpha1(CARDS[name]))
    (repository / "services" / name).symlink_to(f"../cards/{name}")
    repo = git.Repo(repository)
    commit_all(repo, "a linked card in v1alpha1")

    result = run_cli("upgrade", "--commit", cwd=repository)

    assert result.exit_code == 0, result.output
    assert repo.active_branch.name == "shipcard-upgrade-0.1.0"
    assert repo.git.status("--porcelain") == ""  # the migrated card is in the commit, not left modified
    assert (repository / "cards" / name).read_text() == upgraded(CARDS[name])


def test_a_refused_upgrade_commit_stays_on_its_branch(repository: Path, tmp_path: Path) -> None:
    name = "web-frontend.service.yaml"
    outside = tmp_path / "outside" / name
    outside.parent.mkdir()
    outside.write_text(as_v1alpha1(CARDS[name]))
    (repository / "services" / name).symlink_to(outside)
    repo = git.Repo(repository)
    commit_all(repo, "a card linked out of the repository")
    branch = repo.active_branch.name

    result = run_cli("upgrade", "--commit", cwd=repository)

    assert result.exit_code == 2
    assert "a symbolic link leads outside" in result.output and result.output.count("\n") == 1
    assert repo.active_branch.name == branch
    assert outside.read_text() == as_v1alpha1(CARDS[name])
