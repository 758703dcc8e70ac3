"""Issue 2: deterministic output, drift check, headers, user files, transactional writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shipcard.lifecycle.rendering import Options, Outcome, plan_repository, read_cards
from shipcard.settings import load_repo
from shipcard.transaction import JOURNAL_FORMAT, STATE_DIR, begin, recover
from shipcard.writers.tree import HEADER_PREFIX, Plan, edited_by_hand
from tests.conftest import example_cards, run_cli

BILLING = next(c for c in example_cards() if c.name == "billing-api.service.yaml")


def plan_render(paths: list[Path], out: Path) -> tuple[Outcome, Plan]:
    """Plan `paths` against the tree `out` the way `render CARDS --out` does; nothing is written."""
    options = Options(everything=True, whole_repository=False)
    outcome = plan_repository(out, read_cards(out, paths), load_repo(out), options)
    return outcome, outcome.plan


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and STATE_DIR not in p.parts}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the card under services/, rendered once."""
    (tmp_path / "services").mkdir()
    shutil.copy(BILLING, tmp_path / "services" / BILLING.name)
    assert run_cli("render", cwd=tmp_path).exit_code == 0
    return tmp_path


def test_second_render_is_byte_identical_and_check_passes(repo: Path) -> None:
    before = snapshot(repo)
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0 and "0 added, 0 modified, 0 removed" in result.output
    assert snapshot(repo) == before
    assert run_cli("render", "--check", cwd=repo).exit_code == 0


def test_every_generated_file_names_its_card(repo: Path) -> None:
    generated = [p for p in repo.rglob("*.yaml") if "services" not in p.parts and STATE_DIR not in p.parts]
    assert generated
    for path in generated:
        first = path.read_text().splitlines()[0]
        # An AppProject is rendered from every Application of its project, whichever cards they come from.
        source = ("the Applications of project payments" if path.parent.name == "projects"
                  else "services/billing-api.service.yaml")
        assert first == f"{HEADER_PREFIX} from {source}. DO NOT EDIT.", path


def test_check_reports_a_hand_edit_and_exits_1(repo: Path) -> None:
    target = repo / "apps/billing-api/base/deployment.yaml"
    target.write_text(target.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 50"))
    assert edited_by_hand(target.read_text())
    before = snapshot(repo)
    result = run_cli("render", "--check", cwd=repo)
    assert result.exit_code == 1
    assert "apps/billing-api/base/deployment.yaml: differs from its card" in result.output
    assert snapshot(repo) == before  # --check writes nothing


def test_check_reports_missing_and_stale_files(repo: Path) -> None:
    (repo / "argocd/dev/billing-api.yaml").unlink()
    card = repo / "services" / BILLING.name
    card.write_text(card.read_text().replace("  dev:\n    replicas: 1", "  qa:\n    replicas: 1"))
    result = run_cli("render", "--check", cwd=repo)
    assert result.exit_code == 1
    assert "argocd/qa/billing-api.yaml: missing" in result.output
    assert "apps/billing-api/overlays/dev/kustomization.yaml: no longer rendered by any card" in result.output


def test_removed_environment_deletes_only_generated_files(repo: Path) -> None:
    mine = repo / "apps/billing-api/overlays/dev/NOTES.md"
    mine.write_text("my notes\n")
    card = repo / "services" / BILLING.name
    card.write_text(card.read_text().replace("  dev:\n    replicas: 1", "  qa:\n    replicas: 1"))
    assert run_cli("render", cwd=repo).exit_code == 0
    assert mine.read_text() == "my notes\n"
    assert not (repo / "apps/billing-api/overlays/dev/kustomization.yaml").exists()
    assert not (repo / "argocd/dev").exists()
    assert (repo / "apps/billing-api/overlays/qa/kustomization.yaml").exists()


def test_a_user_file_at_a_generated_path_is_never_overwritten(repo: Path) -> None:
    target = repo / "apps/billing-api/base/service.yaml"
    target.write_text("# my own service\n")
    before = snapshot(repo)
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 2 and "a file you own" in result.stderr
    assert snapshot(repo) == before


def test_a_symlink_leading_outside_is_not_written_through(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    shutil.rmtree(repo / "argocd/prod")
    (repo / "argocd/prod").symlink_to(outside, target_is_directory=True)
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 2 and "outside" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_run_killed_before_its_commit_point_leaves_the_old_tree(repo: Path) -> None:
    before = snapshot(repo)
    txn = repo / STATE_DIR / "txn"
    txn.mkdir(parents=True)
    (txn / "000000").write_text("half a file")  # staged, but plan.json never committed
    assert recover(repo)
    assert not txn.exists() and snapshot(repo) == before


def test_a_run_killed_after_its_commit_point_is_completed_by_the_next(repo: Path) -> None:
    card = repo / "services" / BILLING.name
    card.write_text(card.read_text().replace("replicas: 3", "replicas: 4"))
    _, plan = plan_render([card], repo)
    assert plan.writes
    txn = repo / STATE_DIR / "txn"
    txn.mkdir(parents=True)
    staged = []
    for number, (rel, text) in enumerate(sorted(plan.writes.items())):
        (txn / f"{number:06d}").write_text(text)
        staged.append([rel, f"{number:06d}", (txn / f"{number:06d}").stat().st_ino])
    (txn / "plan.json").write_text(json.dumps({"format": JOURNAL_FORMAT, "journal": txn.stat().st_ino,
                                               "writes": staged, "deletes": plan.deletes}))
    # The process "died" here, after committing. The next run rolls forward first.
    assert recover(repo)
    assert run_cli("render", "--check", cwd=repo).exit_code == 0


def test_apply_with_nothing_to_do_writes_nothing(repo: Path) -> None:
    _, plan = plan_render([repo / "services" / BILLING.name], repo)
    assert not plan.changed
    with begin(repo, "render") as txn:
        txn.commit(plan.writes, plan.deletes)
    assert not (repo / STATE_DIR / "txn").exists() and not (repo / STATE_DIR / "lock").exists()
