"""Issue 14, item 8: a generated file that no longer matches is one of two findings. `generated-file-edited`:
its body no longer matches the digest in its own header (a person edited it; `render` leaves it).
`generated-file-stale`: it is intact, but its card renders it differently now, it is missing, or no
card renders it any more (the card or settings changed and `render` was not run; `render` rewrites it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, run_check
from tests.conftest import ROOT, run_cli

CARD = "services/web-frontend.service.yaml"
BASE = "apps/web-frontend/base"
RENDER = "(card services/web-frontend.service.yaml; run `shipcard render`)"
STALE = f"differs from its card: rendered before the card, shipcard.yaml or shipcard changed {RENDER}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The web-frontend example, rendered; the current directory."""
    (tmp_path / "services").mkdir()
    shutil.copy(ROOT / "examples" / "web-frontend.service.yaml", tmp_path / CARD)
    assert run_cli("render", cwd=tmp_path).exit_code == 0
    monkeypatch.chdir(tmp_path)
    return tmp_path


def generated_file_findings(*paths: str) -> list[tuple[str, str, int, int, str]]:
    result = run_check(CheckOptions(paths=list(paths)))
    return [(f.rule, f.file, f.line, f.column, f.message) for f in result.findings
            if f.rule.startswith("generated-file-")]


def edit_card(repo: Path, old: str, new: str) -> None:
    card = repo / CARD
    text = card.read_text()
    assert old in text
    card.write_text(text.replace(old, new))


def test_a_rendered_tree_has_neither(repo: Path) -> None:
    assert generated_file_findings("services") == []


def test_a_hand_edit_is_edited_where_it_is_and_in_the_cards_tree(repo: Path) -> None:
    deployment = repo / BASE / "deployment.yaml"
    deployment.write_text(deployment.read_text() + "# tuned by hand\n")

    assert generated_file_findings("services", f"{BASE}/deployment.yaml") == [
        ("generated-file-edited", f"{BASE}/deployment.yaml", 1, 1,
         "edited by hand since shipcard wrote it; differs from its card (card services/web-frontend.service.yaml; "
         "move the edit into the card or restore the file, then run `shipcard render`)"),
        ("generated-file-edited", f"{BASE}/deployment.yaml", 2, 1,
         "edited by hand: the body no longer matches the digest in shipcard's header (change the card and run "
         "`shipcard render`, or restore the file)"),
    ]


def test_a_card_changed_without_render_makes_its_intact_files_stale(repo: Path) -> None:
    edit_card(repo, "image: ghcr.io/example/web-frontend:3.2.0\n", "image: ghcr.io/example/web-frontend:3.3.0\n")

    assert generated_file_findings("services") == [
        ("generated-file-stale", ".shipcard-state/web-frontend.yaml", 1, 1, STALE),
        ("generated-file-stale", f"{BASE}/deployment.yaml", 1, 1, STALE),
        ("generated-file-stale", "apps/web-frontend/overlays/prod/kustomization.yaml", 1, 1, STALE),
    ]


def test_missing_and_no_longer_rendered_files_are_stale(repo: Path) -> None:
    (repo / BASE / "service.yaml").unlink()
    edit_card(repo, "ingress:\n  host: shop.example.com\n", "")

    assert generated_file_findings("services") == [
        ("generated-file-stale", ".shipcard-state/web-frontend.yaml", 1, 1, STALE),
        ("generated-file-stale", f"{BASE}/ingress.yaml", 1, 1,
         f"no longer rendered by any card: rendered before the card, shipcard.yaml or shipcard changed {RENDER}"),
        ("generated-file-stale", f"{BASE}/kustomization.yaml", 1, 1, STALE),
        # without an ingress and with no declared callers, nothing may connect: no allow-ports policy
        ("generated-file-stale", f"{BASE}/networkpolicy-allow-ports.yaml", 1, 1,
         f"no longer rendered by any card: rendered before the card, shipcard.yaml or shipcard changed {RENDER}"),
        ("generated-file-stale", CARD, 0, 0, f"{BASE}/service.yaml is missing (run `shipcard render`)"),
    ]


def test_an_edit_and_a_card_change_together_are_both_found(repo: Path) -> None:
    """The edited file is `edited` (render would not overwrite it); the intact one the card changed is stale.
    The render state is not: render leaves it as it was while a file of the service is in conflict."""
    deployment = repo / BASE / "deployment.yaml"
    deployment.write_text(deployment.read_text() + "# tuned by hand\n")
    edit_card(repo, "image: ghcr.io/example/web-frontend:3.2.0\n", "image: ghcr.io/example/web-frontend:3.3.0\n")

    assert [(rule, file) for rule, file, *_ in generated_file_findings("services")] == [
        ("generated-file-edited", f"{BASE}/deployment.yaml"),
        ("generated-file-stale", "apps/web-frontend/overlays/prod/kustomization.yaml"),
    ]
