"""Class 13 of issue 13: `upgrade --commit` in every git state where a new branch would not hold
exactly the upgrade refuses before changing anything: one line, exit 2, and the work tree, the
index's view (`git status`), HEAD and the branches byte for byte as they were.

Each case starts from one repository made by `shipcard init` with a card that was never rendered
(so an upgrade has a tree to write and commit), copied per case, then put into its git state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hardhelpers import shipcard

CARD = ("apiVersion: shipcard/v1\nkind: Service\nname: app\nimage: ghcr.io/example/app:1.0.0\nport: 8080\n"
        "environments:\n  dev: {}\ngitops:\n  repoURL: https://git.example.com/gitops.git\n")
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com"}
BRANCH = "shipcard-upgrade-0.1.0"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **IDENTITY, "GIT_EDITOR": "true", "LC_ALL": "C"})
    if check and done.returncode != 0:
        raise AssertionError(f"git {args}: {done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`shipcard init` (its first commit), then a card committed but never rendered."""
    root = tmp_path_factory.mktemp("git-states") / "gitops"
    done = shipcard("init", str(root), cwd=root.parent, env=IDENTITY)
    assert done.code == 0, done.output
    (root / "services" / "app.service.yaml").write_text(CARD)
    git(root, "add", "services/app.service.yaml")
    git(root, "commit", "-qm", "a card")
    return root


def fresh(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


def state(top: Path) -> dict[str, object]:
    """Everything --commit could change: files (outside .git), status, HEAD, branches, git's state files."""
    files = {}
    for directory, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(directory, name)
            files[path.relative_to(top).as_posix()] = path.read_bytes() if not path.is_symlink() else b""
    git_dir = Path(git(top, "rev-parse", "--absolute-git-dir").strip()) if (top / ".git").exists() else top
    return {
        "files": files,
        "status": git(top, "status", "--porcelain=v1", "-uall", "--ignored", check=False),
        "head": git(top, "rev-parse", "--verify", "--quiet", "HEAD", check=False),
        "symbolic": git(top, "symbolic-ref", "--quiet", "HEAD", check=False),
        "refs": git(top, "for-each-ref", check=False),
        "markers": sorted(p.name for p in git_dir.iterdir() if p.name.isupper() or p.name.startswith("rebase")),
    }


# --------------------------------------------------------------------------- states, each: (repo to check, cwd)


def no_commit_yet(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = tmp / "gitops"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns(".git"))
    git(root, "init", "-q", "-b", "main")
    return root, root


def no_commit_everything_staged(template: Path, tmp: Path) -> tuple[Path, Path]:
    root, _ = no_commit_yet(template, tmp)
    git(root, "add", "-A")
    return root, root


def detached_head(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    git(root, "checkout", "-q", "--detach")
    return root, root


def detached_at_an_older_commit(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    git(root, "checkout", "-q", "HEAD~1")
    (root / "services" / "app.service.yaml").write_text(CARD)  # untracked there: pass --allow-dirty
    return root, root


def plain_subdirectory_of_a_repository(template: Path, tmp: Path) -> tuple[Path, Path]:
    outer = tmp / "project"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    shutil.copytree(template, outer / "deploy", ignore=shutil.ignore_patterns(".git"))
    git(outer, "add", "-A")
    git(outer, "commit", "-qm", "project with a gitops directory")
    return outer, outer / "deploy"


def ignored_subdirectory_of_another_project(template: Path, tmp: Path) -> tuple[Path, Path]:
    outer = tmp / "project"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    (outer / ".gitignore").write_text("gitops/\n")
    git(outer, "add", ".gitignore")
    git(outer, "commit", "-qm", "ignore gitops")
    shutil.copytree(template, outer / "gitops", ignore=shutil.ignore_patterns(".git"))
    return outer, outer / "gitops"


def untracked_subdirectory_of_another_project(template: Path, tmp: Path) -> tuple[Path, Path]:
    outer = tmp / "project"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    (outer / "README").write_text("x\n")
    git(outer, "add", "README")
    git(outer, "commit", "-qm", "readme")
    shutil.copytree(template, outer / "gitops", ignore=shutil.ignore_patterns(".git"))
    return outer, outer / "gitops"


def nested_in_a_subdirectory_of_its_own_repository(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    shutil.copytree(template, root / "nested", ignore=shutil.ignore_patterns(".git"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a nested shipcard repository")
    return root, root / "nested"


def directory_inside_dot_git(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    inside = root / ".git" / "shipcard"
    shutil.copytree(template, inside, ignore=shutil.ignore_patterns(".git"))
    return root, inside


def bare_repository(template: Path, tmp: Path) -> tuple[Path, Path]:
    bare = tmp / "gitops.git"
    git(tmp, "clone", "-q", "--bare", str(template), str(bare))
    shutil.copytree(template, bare, ignore=shutil.ignore_patterns(".git"), dirs_exist_ok=True)
    return bare, bare


def staged_change(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    (root / "README.md").write_text("staged by the user\n")
    git(root, "add", "README.md")
    return root, root


def staged_new_file(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    (root / "notes.txt").write_text("mine\n")
    git(root, "add", "notes.txt")
    return root, root


def staged_deletion(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    git(root, "rm", "-q", "--cached", "README.md")
    return root, root


def diverged(root: Path) -> None:
    """A branch `other` and main each with a commit changing notes.txt differently."""
    git(root, "checkout", "-q", "-b", "other")
    (root / "notes.txt").write_text("other\n")
    git(root, "add", "notes.txt")
    git(root, "commit", "-qm", "other")
    git(root, "checkout", "-q", "main")
    (root / "notes.txt").write_text("main\n")
    git(root, "add", "notes.txt")
    git(root, "commit", "-qm", "main")


def merge_in_progress(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    git(root, "checkout", "-q", "-b", "other")
    (root / "other.txt").write_text("other\n")
    git(root, "add", "other.txt")
    git(root, "commit", "-qm", "other")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "--no-commit", "other")
    return root, root


def merge_with_a_conflict(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    diverged(root)
    git(root, "merge", "-q", "other", check=False)
    return root, root


def rebase_stopped_at_an_edit(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    done = subprocess.run(["git", "rebase", "-q", "-i", "HEAD~1"], cwd=root, capture_output=True, check=False,
                          env={**os.environ, **IDENTITY, "GIT_SEQUENCE_EDITOR": "sed -i s/^pick/edit/"})
    assert done.returncode == 0, done.stderr
    return root, root


def rebase_with_a_conflict(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    diverged(root)
    git(root, "rebase", "-q", "other", check=False)
    return root, root


def cherry_pick_with_a_conflict(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    diverged(root)
    git(root, "cherry-pick", "other", check=False)
    return root, root


def revert_with_a_conflict(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    (root / "notes.txt").write_text("one\n")
    git(root, "add", "notes.txt")
    git(root, "commit", "-qm", "one")
    (root / "notes.txt").write_text("two\n")
    git(root, "commit", "-qam", "two")
    git(root, "revert", "--no-edit", "HEAD~1", check=False)
    return root, root


def bisect_in_progress(template: Path, tmp: Path) -> tuple[Path, Path]:
    root = fresh(template, tmp / "gitops")
    git(root, "bisect", "start")
    return root, root


Setup = Callable[[Path, Path], tuple[Path, Path]]
REFUSED: list[object] = [
    pytest.param(no_commit_yet, (), "{top}: the repository has no commit yet; --commit branches from one",
                 id="no-commit-yet"),
    pytest.param(no_commit_yet, ("--allow-dirty",),
                 "{top}: the repository has no commit yet; --commit branches from one", id="no-commit-allow-dirty"),
    pytest.param(no_commit_everything_staged, ("--allow-dirty",),
                 "{top}: the repository has no commit yet; --commit branches from one", id="no-commit-all-staged"),
    pytest.param(detached_head, (), "{top}: HEAD is detached; check out the branch to upgrade before --commit",
                 id="detached-head"),
    pytest.param(detached_at_an_older_commit, ("--allow-dirty",),
                 "{top}: HEAD is detached; check out the branch to upgrade before --commit", id="detached-older"),
    pytest.param(plain_subdirectory_of_a_repository, (),
                 "{cwd}: not the top of its git repository ({top}); --commit commits only in a repository of its own",
                 id="plain-subdirectory"),
    pytest.param(ignored_subdirectory_of_another_project, ("--allow-dirty",),
                 "{cwd}: not the top of its git repository ({top}); --commit commits only in a repository of its own",
                 id="ignored-subdirectory-of-another-project"),
    pytest.param(untracked_subdirectory_of_another_project, ("--allow-dirty",),
                 "{cwd}: not the top of its git repository ({top}); --commit commits only in a repository of its own",
                 id="untracked-subdirectory-of-another-project"),
    pytest.param(nested_in_a_subdirectory_of_its_own_repository, (),
                 "{cwd}: not the top of its git repository ({top}); --commit commits only in a repository of its own",
                 id="nested-shipcard-repository"),
    pytest.param(directory_inside_dot_git, (), "{cwd}: inside a git directory, not a work tree",
                 id="directory-inside-dot-git"),
    pytest.param(bare_repository, (), "{cwd}: inside a git directory, not a work tree", id="bare-repository"),
    pytest.param(staged_change, ("--allow-dirty",), "{top}: the index has staged changes (README.md); --commit would "
                 "commit them too: commit or unstage them first", id="staged-change-allow-dirty"),
    pytest.param(staged_change, (), "{top}: the index has staged changes (README.md); --commit would "
                 "commit them too: commit or unstage them first", id="staged-change"),
    pytest.param(staged_new_file, ("--allow-dirty",), "{top}: the index has staged changes (notes.txt); --commit "
                 "would commit them too: commit or unstage them first", id="staged-new-file"),
    pytest.param(staged_deletion, ("--allow-dirty",), "{top}: the index has staged changes (README.md); --commit "
                 "would commit them too: commit or unstage them first", id="staged-deletion"),
    pytest.param(merge_in_progress, ("--allow-dirty",),
                 "{top}: a merge is in progress; finish or abort it before --commit", id="merge-in-progress"),
    pytest.param(merge_with_a_conflict, ("--allow-dirty",),
                 "{top}: a merge is in progress; finish or abort it before --commit", id="merge-with-a-conflict"),
    pytest.param(rebase_stopped_at_an_edit, (),
                 "{top}: a rebase is in progress; finish or abort it before --commit", id="rebase-stopped-at-edit"),
    pytest.param(rebase_with_a_conflict, ("--allow-dirty",),
                 "{top}: a rebase is in progress; finish or abort it before --commit", id="rebase-with-a-conflict"),
    pytest.param(cherry_pick_with_a_conflict, ("--allow-dirty",),
                 "{top}: a cherry-pick is in progress; finish or abort it before --commit", id="cherry-pick"),
    pytest.param(revert_with_a_conflict, ("--allow-dirty",),
                 "{top}: a revert is in progress; finish or abort it before --commit", id="revert"),
    pytest.param(bisect_in_progress, (), "{top}: a bisect is in progress; finish or abort it before --commit",
                 id="bisect"),
]


@pytest.mark.parametrize("setup,args,message", REFUSED)
def test_upgrade_commit_refuses_before_changing_anything(template: Path, tmp_path: Path, setup: Setup,
                                                         args: tuple[str, ...], message: str) -> None:
    top, cwd = setup(template, tmp_path)
    before = state(top)
    run = shipcard("upgrade", "--commit", *args, cwd=cwd, env=IDENTITY)
    assert (run.code, run.stdout) == (2, ""), run.output
    assert run.stderr == f"shipcard: {message.format(top=top, cwd=cwd)}\n"
    assert state(top) == before


@pytest.mark.parametrize("branch", [
    pytest.param("-x", id="leading-dash"),
    pytest.param("a..b", id="double-dot"),
    pytest.param("has space", id="space"),
    pytest.param("ends.lock", id="lock-suffix"),
    pytest.param("HEAD", id="head"),
    pytest.param("a\nb", id="newline"),
])
def test_a_branch_name_git_refuses_is_refused_first(template: Path, tmp_path: Path, branch: str) -> None:
    top = fresh(template, tmp_path / "gitops")
    before = state(top)
    run = shipcard("upgrade", "--commit", "--branch", branch, cwd=top, env=IDENTITY)
    assert (run.code, run.stdout) == (2, ""), run.output
    shown = repr(branch).replace("\n", "\\n")
    assert run.stderr == f"shipcard: --branch {shown}: not a name git accepts for a branch\n"
    assert state(top) == before


def test_an_existing_branch_is_refused_unchanged(template: Path, tmp_path: Path) -> None:
    top = fresh(template, tmp_path / "gitops")
    git(top, "branch", BRANCH)
    before = state(top)
    run = shipcard("upgrade", "--commit", cwd=top, env=IDENTITY)
    assert (run.code, run.stderr) == (2, f"shipcard: branch {BRANCH!r} exists already; pass --branch NAME\n")
    assert state(top) == before


# --------------------------------------------------------------------------- where it works


def committed_upgrade(top: Path, cwd: Path) -> None:
    main = git(top, "rev-parse", "main").strip()
    run = shipcard("upgrade", "--commit", cwd=cwd, env=IDENTITY)
    assert run.code == 0, run.output
    assert git(top, "symbolic-ref", "--short", "HEAD").strip() == BRANCH
    assert git(top, "rev-parse", "main").strip() == main
    assert git(top, "rev-parse", "HEAD~1").strip() == main
    assert git(top, "status", "--porcelain=v1", "-uall") == ""
    assert "apps/app/" in git(top, "show", "--name-only", "--format=", "HEAD")


def test_upgrade_commit_at_the_top_of_a_clean_branch_commits(template: Path, tmp_path: Path) -> None:
    top = fresh(template, tmp_path / "gitops")
    committed_upgrade(top, top)


def test_upgrade_commit_from_the_services_directory_commits(template: Path, tmp_path: Path) -> None:
    top = fresh(template, tmp_path / "gitops")
    committed_upgrade(top, top / "services")


def test_upgrade_commit_in_a_linked_worktree_commits_there(template: Path, tmp_path: Path) -> None:
    """A linked worktree is the top of its own work tree: the branch is made there, the main one untouched."""
    main_tree = fresh(template, tmp_path / "gitops")
    git(main_tree, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "feature"))
    worktree = tmp_path / "feature"
    before = state(main_tree)
    feature = git(worktree, "rev-parse", "HEAD").strip()
    run = shipcard("upgrade", "--commit", cwd=worktree, env=IDENTITY)
    assert run.code == 0, run.output
    assert git(worktree, "symbolic-ref", "--short", "HEAD").strip() == BRANCH
    assert git(worktree, "rev-parse", "HEAD~1").strip() == feature
    assert git(worktree, "status", "--porcelain=v1", "-uall") == ""
    after = state(main_tree)
    assert {k: v for k, v in after.items() if k != "refs"} == {k: v for k, v in before.items() if k != "refs"}
