"""Issue 12, the one git module (`shipcard.git`) against real git in temporary repositories: what
changed since a merge base (a name that is not UTF-8, a rename, a deletion, a detached HEAD, no
commit yet), uncommitted paths, branches, commits with and without an identity, and remotes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shipcard import git
from shipcard.errors import ToolError

NOT_UTF8 = b"caf\xe9.yaml"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git sees no configuration of the machine's or the user's but this test's."""
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30).stdout


def write(path: Path, text: str = "a: b\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main with one commit (a.yaml, old.yaml, gone.yaml), and a branch `feature` checked out."""
    top = tmp_path / "repo"
    top.mkdir()
    run(top, "init", "--quiet", "--initial-branch=main")
    for name in ("a.yaml", "old.yaml", "gone.yaml"):
        write(top / name)
    run(top, "add", "--all")
    run(top, "commit", "--quiet", "-m", "initial")
    run(top, "checkout", "--quiet", "-b", "feature")
    return top.resolve()


def names(top: Path, paths: list[Path]) -> list[bytes]:
    return [os.fsencode(p.relative_to(top)) for p in paths]


def test_work_tree_top_from_a_subdirectory_and_outside(repo: Path, tmp_path: Path) -> None:
    write(repo / "sub" / "dir" / "x.yaml")
    assert git.work_tree_top(repo / "sub" / "dir") == repo
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git.work_tree_top(outside) is None


def test_a_name_that_is_not_utf8_is_the_file_on_disk(repo: Path) -> None:
    path = Path(os.fsdecode(bytes(repo) + b"/" + NOT_UTF8))
    path.write_text("x: y\n")
    run(repo, "add", "--all")
    run(repo, "commit", "--quiet", "-m", "not utf-8")
    changed = git.changed_since_merge_base(repo, "main")
    assert names(repo, changed) == [NOT_UTF8]
    assert changed[0].read_text() == "x: y\n"
    assert git.shown(str(changed[0].relative_to(repo))) == "caf\\xe9.yaml"


def test_rename_gives_both_names_and_deletion_the_deleted_path(repo: Path) -> None:
    run(repo, "mv", "old.yaml", "new.yaml")
    run(repo, "rm", "--quiet", "gone.yaml")
    run(repo, "commit", "--quiet", "-m", "rename and delete")
    changed = git.changed_since_merge_base(repo, "main")
    assert names(repo, changed) == [b"gone.yaml", b"new.yaml", b"old.yaml"]
    assert [p.exists() for p in changed] == [False, True, False]


def test_committed_staged_unstaged_and_untracked_all_count(repo: Path) -> None:
    write(repo / "committed.yaml")
    run(repo, "add", "committed.yaml")
    run(repo, "commit", "--quiet", "-m", "c")
    write(repo / "staged.yaml")
    run(repo, "add", "staged.yaml")
    write(repo / "a.yaml", "a: changed\n")
    write(repo / "untracked" / "u.yaml")
    write(repo / "ignored.yaml")
    write(repo / ".gitignore", "ignored.yaml\n")
    assert names(repo, git.changed_since_merge_base(repo, "main")) == [
        b".gitignore", b"a.yaml", b"committed.yaml", b"staged.yaml", b"untracked/u.yaml"]


def test_changes_on_ref_after_the_branch_point_are_not_the_branchs(repo: Path) -> None:
    run(repo, "checkout", "--quiet", "main")
    write(repo / "a.yaml", "a: main\n")
    run(repo, "commit", "--quiet", "-am", "on main")
    run(repo, "checkout", "--quiet", "feature")
    write(repo / "f.yaml")
    run(repo, "add", "f.yaml")
    run(repo, "commit", "--quiet", "-m", "on feature")
    assert names(repo, git.changed_since_merge_base(repo, "main")) == [b"f.yaml"]


def test_detached_head(repo: Path) -> None:
    run(repo, "checkout", "--quiet", "--detach")
    write(repo / "d.yaml")
    run(repo, "add", "d.yaml")
    run(repo, "commit", "--quiet", "-m", "detached")
    assert git.current_branch(repo) is None
    assert names(repo, git.changed_since_merge_base(repo, "main")) == [b"d.yaml"]


def test_no_commit_yet(tmp_path: Path) -> None:
    top = tmp_path / "empty"
    top.mkdir()
    run(top, "init", "--quiet", "--initial-branch=main")
    with pytest.raises(ToolError) as raised:
        git.changed_since_merge_base(top, "main")
    assert str(raised.value) == "HEAD has no commit yet"
    assert git.current_branch(top) == "main"


@pytest.mark.parametrize("ref", ["nope", "--output=written.txt"])
def test_a_ref_git_does_not_know_is_one_line_and_never_an_option(repo: Path, ref: str) -> None:
    with pytest.raises(ToolError) as raised:
        git.changed_since_merge_base(repo, ref)
    assert str(raised.value) == "not a revision git knows"
    assert not (repo / "written.txt").exists()


def test_no_common_ancestor(repo: Path) -> None:
    run(repo, "checkout", "--quiet", "--orphan", "other")
    run(repo, "commit", "--quiet", "-m", "unrelated")
    with pytest.raises(ToolError) as raised:
        git.changed_since_merge_base(repo, "main")
    assert str(raised.value) == "no common ancestor with HEAD"


def test_uncommitted_paths(repo: Path) -> None:
    assert git.uncommitted_paths(repo) == []
    write(repo / "a.yaml", "a: changed\n")
    write(repo / "staged.yaml")
    run(repo, "add", "staged.yaml")
    run(repo, "mv", "old.yaml", "moved.yaml")
    Path(os.fsdecode(bytes(repo) + b"/" + NOT_UTF8)).write_text("x\n")
    assert [os.fsencode(p) for p in git.uncommitted_paths(repo)] == [
        b"a.yaml", NOT_UTF8, b"moved.yaml", b"old.yaml", b"staged.yaml"]


def test_branches(repo: Path) -> None:
    assert git.current_branch(repo) == "feature"
    assert git.branch_exists(repo, "main") and not git.branch_exists(repo, "upgrade")
    write(repo / "a.yaml", "a: kept\n")
    git.create_branch(repo, "upgrade")
    assert git.current_branch(repo) == "upgrade"
    assert (repo / "a.yaml").read_text() == "a: kept\n"
    with pytest.raises(ToolError) as raised:
        git.create_branch(repo, "main")
    assert str(raised.value) == "git checkout: a branch named 'main' already exists"


def test_commit_stages_additions_changes_and_deletions_literally(repo: Path) -> None:
    write(repo / "a.yaml", "a: changed\n")
    (repo / "gone.yaml").unlink()
    write(repo / ":(exclude)new.yaml")
    write(repo / "not-in-the-commit.yaml")
    name = git.commit(repo, ["a.yaml", "gone.yaml", ":(exclude)new.yaml"], "the message\n\nbody\n")
    assert len(name) == 12 and run(repo, "rev-parse", "HEAD").startswith(name)
    assert run(repo, "log", "-1", "--format=%B") == "the message\n\nbody\n\n"
    assert run(repo, "show", "--no-renames", "--name-status", "--format=", "HEAD").splitlines() == [
        "A\t:(exclude)new.yaml", "M\ta.yaml", "D\tgone.yaml"]
    assert git.uncommitted_paths(repo) == ["not-in-the-commit.yaml"]


def test_commit_without_an_identity_is_made_as_the_local_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path))
    top = tmp_path / "fresh"
    top.mkdir()
    git.init_repository(top, "trunk")
    write(top / "x.yaml")
    git.commit(top, ["x.yaml"], "first\n")
    assert git.current_branch(top) == "trunk"
    import getpass
    import socket
    user = getpass.getuser()
    assert run(top, "log", "-1", "--format=%an <%ae>").strip() == f"{user} <{user}@{socket.gethostname()}>"


def test_remote_urls_of_a_repository_and_of_its_linked_worktree(repo: Path, tmp_path: Path) -> None:
    assert git.remote_urls(repo) == set()
    run(repo, "remote", "add", "origin", "git@github.com:Example/GitOps.git")
    run(repo, "remote", "add", "mirror", "https://gitlab.com/example/mirror")
    with (repo / ".git" / "config").open("a") as config:
        config.write('[submodule "lib"]\n\turl = https://github.com/example/lib.git\n')
    expected = {"github.com/example/gitops", "gitlab.com/example/mirror"}
    assert git.remote_urls(repo) == expected
    worktree = tmp_path / "worktree"
    run(repo, "worktree", "add", "--quiet", str(worktree), "main")
    assert git.remote_urls(worktree) == expected


def test_remote_urls_of_a_directory_without_git_are_unknown(tmp_path: Path) -> None:
    assert git.remote_urls(tmp_path) == set()


@pytest.mark.parametrize(("url", "normalised"), [
    ("git@github.com:Example/GitOps.git", "github.com/example/gitops"),
    ("https://github.com/example/gitops", "github.com/example/gitops"),
    ("ssh://git@github.com/example/gitops.git/", "github.com/example/gitops"),
    ("https://gitlab.example.com:8443/team/repo.git", "gitlab.example.com:8443/team/repo"),
])
def test_normalise_repo_url(url: str, normalised: str) -> None:
    assert git.normalise_repo_url(url) == normalised


def test_a_hanging_git_is_stopped_by_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setattr(git, "GIT_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(ToolError) as raised:
        git.current_branch(tmp_path)
    assert str(raised.value) == "git symbolic-ref: did not finish in 0.5 s"


def test_no_git_on_path_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError) as raised:
        git.work_tree_top(tmp_path)
    assert str(raised.value) == "git: not found on PATH"


def test_a_repository_git_refuses_to_trust_is_one_line_naming_why(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the repository to another user")
    top = tmp_path / "theirs"
    top.mkdir()
    run(top, "init", "--quiet")
    os.chown(top, 65534, 65534)
    with pytest.raises(ToolError) as raised:
        git.work_tree_top(top)
    assert str(raised.value) == f"git rev-parse: detected dubious ownership in repository at '{top}'"
