"""Issue 6, `shipcard upgrade` on a real git repository with a bare origin: cards migrated from
shipcard/v1alpha1 with every comment and byte kept, trees re-rendered, one commit on a new branch
listing the services, user files untouched, orphans reported not deleted, a dirty tree refused."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import as_v1alpha1, commit_all, rendered_by_an_older_shipcard, snapshot, upgraded

CARDS = {card.name: card.read_text() for card in example_cards()}
BRANCH = "shipcard-upgrade-0.1.0"
USER_FILES = {
    "apps/billing-api/custom/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                  "commonAnnotations: {team.example.com/pager: payments}\n",
    "apps/billing-api/NOTES.md": "# runbook\nrestart with care\n",
    "apps/notifier/values/prod.custom.yaml": "# tuned by hand\nreplicas: 4\n",
}


@pytest.fixture
def old_repo(repository: Path) -> Path:
    """An initialised repository whose cards are v1alpha1 and whose trees an older shipcard rendered."""
    for name, text in CARDS.items():
        (repository / "services" / name).write_text(text)
    for rel, text in USER_FILES.items():
        (repository / rel).parent.mkdir(parents=True, exist_ok=True)
        (repository / rel).write_text(text)
    assert run_cli("render", cwd=repository).exit_code == 0
    for name, text in CARDS.items():
        (repository / "services" / name).write_text(as_v1alpha1(text))
    rendered_by_an_older_shipcard(repository)
    repo = git.Repo(repository)
    commit_all(repo, "services, rendered by shipcard 0.0")
    repo.remote("origin").push("main")
    return repository


def test_v1alpha1_cards_are_refused_by_render_with_the_way_out(old_repo: Path) -> None:
    result = run_cli("render", cwd=old_repo)
    assert result.exit_code == 2 and "run `shipcard upgrade`" in result.stderr
    assert "billing-api.service.yaml:4:" in result.stderr  # apiVersion's line


def test_upgrade_commits_on_a_new_branch_keeping_comments_and_user_files(old_repo: Path) -> None:
    repo = git.Repo(old_repo)
    main_before = repo.head.commit.hexsha
    user_before = {rel: (old_repo / rel).read_bytes() for rel in [*USER_FILES, "README.md", "CODEOWNERS"]}
    result = run_cli("upgrade", "--commit", cwd=old_repo)
    assert result.exit_code == 0, result.output
    assert repo.active_branch.name == BRANCH and repo.heads.main.commit.hexsha == main_before
    assert not repo.is_dirty(untracked_files=True)
    # Cards: exactly the v1 text again (renamed keys and apiVersion only), every comment kept, and the
    # ports the old trees opened to every source kept so, in one added line.
    for name, text in CARDS.items():
        assert (old_repo / "services" / name).read_text() == upgraded(text), name
    assert {rel: (old_repo / rel).read_bytes() for rel in user_before} == user_before
    message = repo.head.commit.message
    assert message.startswith("shipcard upgrade: cards to shipcard/v1")
    for service in ("billing-api", "notifier", "url-pinger"):
        assert f"- {service}: card migrated (apiVersion shipcard/v1alpha1 → shipcard/v1" in message
    assert "containerPort → port" in message and "jobs[0].cron → jobs[0].schedule" in message
    assert ("- web-frontend: card migrated (apiVersion shipcard/v1alpha1 → shipcard/v1; allowFrom: [{anywhere: "
            "true}] added (its ports stay open to every source, as rendered)), files 1 modified\n") in message
    assert "- billing-api: card migrated" in message and "files 1 modified" in message
    changed = set(repo.git.diff("--name-only", "main", "HEAD").split())
    assert "apps/billing-api/base/deployment.yaml" in changed
    assert not changed & set(USER_FILES)
    assert run_cli("render", "--check", cwd=old_repo).exit_code == 0
    # The custom component is included by the re-rendered overlays.
    assert "../../custom" in (old_repo / "apps/billing-api/overlays/prod/kustomization.yaml").read_text()
    repo.remote("origin").push(BRANCH)
    assert BRANCH in [ref.remote_head for ref in repo.remote("origin").refs]
    again = run_cli("upgrade", "--commit", cwd=old_repo)
    assert again.exit_code == 0 and "already up to date" in again.output


def test_a_dirty_working_tree_is_refused_unless_allowed(old_repo: Path) -> None:
    repo = git.Repo(old_repo)
    (old_repo / "README.md").write_text("edited, not committed\n")
    before = snapshot(old_repo)
    result = run_cli("upgrade", "--commit", cwd=old_repo)
    assert result.exit_code == 2 and "uncommitted changes (README.md)" in result.stderr
    assert snapshot(old_repo) == before and BRANCH not in repo.heads and repo.active_branch.name == "main"
    result = run_cli("upgrade", "--allow-dirty", cwd=old_repo)
    assert result.exit_code == 0, result.output
    assert repo.active_branch.name == "main"  # without --commit: the working tree only
    assert (old_repo / "README.md").read_text() == "edited, not committed\n"


def test_a_removed_card_is_reported_as_an_orphan_and_kept(old_repo: Path) -> None:
    repo = git.Repo(old_repo)
    repo.index.remove(["services/web-frontend.service.yaml"], working_tree=True)
    repo.index.commit("retire web-frontend")
    result = run_cli("upgrade", "--commit", cwd=old_repo)
    assert result.exit_code == 0, result.output
    assert "orphaned: services/web-frontend.service.yaml was removed" in result.stderr
    assert (old_repo / "argocd/prod/web-frontend.yaml").exists()
    assert "web-frontend" not in repo.git.diff("--name-only", "main", "HEAD")
    pruned = run_cli("render", "--prune", cwd=old_repo)
    assert "pruned argocd/prod/web-frontend.yaml" in pruned.output
    assert not (old_repo / "apps/web-frontend").exists()


def test_branch_needs_commit_and_an_existing_branch_is_refused(old_repo: Path) -> None:
    assert "add --commit" in run_cli("upgrade", "--branch", "x", cwd=old_repo).stderr
    git.Repo(old_repo).create_head("taken")
    result = run_cli("upgrade", "--commit", "--branch", "taken", cwd=old_repo)
    assert result.exit_code == 2 and "exists already" in result.stderr
    assert (old_repo / "services/billing-api.service.yaml").read_text().startswith(
        as_v1alpha1(CARDS["billing-api.service.yaml"])[:200])


def test_to_an_older_format_is_refused_for_newer_cards(old_repo: Path) -> None:
    assert run_cli("upgrade", "--allow-dirty", cwd=old_repo).exit_code == 0
    result = run_cli("upgrade", "--to", "shipcard/v1alpha1", "--allow-dirty", cwd=old_repo)
    assert result.exit_code == 2 and "migrations only go forward" in result.stderr
