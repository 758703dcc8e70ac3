"""The one module that talks to git: the git command line, never a library, always with a timeout.

Paths come from git as NUL-separated bytes (`-z`) and become `Path`s through `os.fsdecode`, so a
file name that is not UTF-8 is still the file on disk. git's own messages are read in the C locale
and surface as one-line `ToolError`s. Reading a repository's remotes is the exception: it parses the
config file and runs nothing, since `check` reads repositories it must not trust.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from shipcard.errors import ToolError
from shipcard.yamlio.read import real_path

GIT_TIMEOUT_SECONDS = 120
_ENVIRONMENT = {"LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
_NOT_A_REPOSITORY = "not a git repository"


def _run(cwd: Path, args: tuple[str, ...], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd`, in the C locale and never prompting; ToolError when it cannot run or hangs."""
    if not cwd.is_dir():
        raise ToolError(f"git {args[0]}: {shown(str(cwd))} is not a directory")
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              env={**os.environ, **_ENVIRONMENT}, check=False, input=stdin,
                              stdin=subprocess.DEVNULL if stdin is None else None)
    except subprocess.TimeoutExpired:
        raise ToolError(f"git {args[0]}: did not finish in {GIT_TIMEOUT_SECONDS} s") from None
    except FileNotFoundError:
        raise ToolError("git: not found on PATH") from None
    except OSError as exc:
        raise ToolError(f"git {args[0]}: could not run ({exc.strerror})") from None


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """git's standard output for `args` run in `cwd`; ToolError with git's last line when it fails."""
    done = _run(cwd, args, stdin)
    if done.returncode != 0:
        raise ToolError(f"git {args[0]}: {_last_line(done.stderr) or f'exit status {done.returncode}'}")
    return done.stdout


def _succeeds(cwd: Path, *args: str) -> bool:
    """Whether git exits 0 (for questions git answers with its exit status)."""
    return _run(cwd, args).returncode == 0


def _last_line(stderr: bytes) -> str:
    """git's reason: its last `fatal:` or `error:` line (hints follow it), else its last line."""
    lines = [line.strip() for line in stderr.decode("utf-8", "backslashreplace").splitlines() if line.strip()]
    reasons = [line for line in lines if line.startswith(("fatal: ", "error: "))]
    last = reasons[-1] if reasons else lines[-1] if lines else ""
    return last.removeprefix("fatal: ").removeprefix("error: ")


def _paths(output: bytes) -> list[str]:
    """The names in NUL-separated `-z` output, as the file system spells them."""
    return [os.fsdecode(name) for name in output.split(b"\0") if name]


def shown(name: str) -> str:
    """A path from git as a message shows it: bytes that are not UTF-8 as `\\xNN` escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


# --------------------------------------------------------------------------- reading


def work_tree_top(path: Path) -> Path | None:
    """The top of the git work tree holding the directory `path`, or None outside any."""
    done = _run(path, ("rev-parse", "--show-toplevel"))
    if done.returncode != 0:
        if _NOT_A_REPOSITORY in _last_line(done.stderr):
            return None
        raise ToolError(f"git rev-parse: {_last_line(done.stderr)}")
    return Path(os.fsdecode(done.stdout.rstrip(b"\n")))


def changed_since_merge_base(top: Path, ref: str) -> list[Path]:
    """Absolute paths that differ between the merge base of `ref` and HEAD and the working tree:
    committed, staged, unstaged and untracked changes; both names of a rename, deleted files too."""
    return changed_since(top, merge_base_with_head(top, ref))


def merge_base_with_head(top: Path, ref: str) -> str:
    """The merge base of `ref` and HEAD, after making sure both name commits; ToolError saying why not."""
    if not _succeeds(top, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        raise ToolError("HEAD has no commit yet")
    if not _succeeds(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"):
        raise ToolError("not a revision git knows")
    return merge_base(top, ref)


def changed_since(top: Path, revision: str) -> list[Path]:
    """Absolute paths that differ between commit `revision` and the working tree, untracked files included."""
    names = _paths(_git(top, "diff", "-z", "--name-only", "--no-renames", "--no-ext-diff", revision, "--"))
    names += _paths(_git(top, "ls-files", "-z", "--others", "--exclude-standard"))
    return sorted({top / name for name in names})


def merge_base(top: Path, ref: str) -> str:
    """The commit name of the merge base of `ref` and HEAD; ToolError when there is none."""
    done = _run(top, ("merge-base", "--end-of-options", ref, "HEAD"))
    if done.returncode == 1 and not done.stderr.strip():
        raise ToolError("no common ancestor with HEAD")
    if done.returncode != 0:
        raise ToolError(f"git merge-base: {_last_line(done.stderr)}")
    return done.stdout.decode("ascii").strip()


def regular_file_at(top: Path, revision: str, name: str, max_bytes: int) -> bytes | None:
    """The content of the regular file `name` (relative to `top`) in commit `revision`; None when it is
    absent there, not a regular file (a symbolic link, a submodule) or larger than `max_bytes`."""
    listing = _git(top, "--literal-pathspecs", "ls-tree", "-z", "-l", "--full-tree", revision, "--", name)
    entries = [entry for entry in listing.split(b"\0") if entry]
    if len(entries) != 1:
        return None
    info, _, path = entries[0].partition(b"\t")
    fields = info.split()
    if os.fsdecode(path) != name or len(fields) != 4 or fields[0] not in (b"100644", b"100755") \
            or not fields[3].isdigit() or int(fields[3]) > max_bytes:
        return None
    return _git(top, "cat-file", "blob", fields[2].decode("ascii"))


def uncommitted_paths(top: Path) -> list[str]:
    """Paths (relative to `top`) with staged, unstaged or untracked changes."""
    output = _git(top, "status", "-z", "--porcelain=v1", "--no-renames", "--untracked-files=all")
    return sorted(entry[3:] for entry in _paths(output))


def current_branch(top: Path) -> str | None:
    """The branch HEAD is on; None when HEAD is detached."""
    done = _run(top, ("symbolic-ref", "--quiet", "--short", "HEAD"))
    return os.fsdecode(done.stdout.rstrip(b"\n")) if done.returncode == 0 else None


def branch_exists(top: Path, name: str) -> bool:
    return _succeeds(top, "show-ref", "--verify", "--quiet", f"refs/heads/{name}")


def valid_branch_name(top: Path, name: str) -> bool:
    """Whether git accepts `name` for a new branch (`git check-ref-format --branch`)."""
    return not name.startswith("-") and _succeeds(top, "check-ref-format", "--branch", name)


def inside_git_dir(path: Path) -> bool:
    """Whether `path` lies inside a git directory (a `.git`, a bare repository): no work tree there."""
    done = _run(path, ("rev-parse", "--is-inside-git-dir"))
    return done.returncode == 0 and done.stdout.strip() == b"true"


def has_commit(top: Path) -> bool:
    """Whether HEAD names a commit (right after `git init` it names none)."""
    return _succeeds(top, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")


# The files git keeps while an operation waits for the user to finish it.
_UNFINISHED = {"MERGE_HEAD": "a merge", "rebase-merge": "a rebase", "rebase-apply": "a rebase (or git am)",
               "CHERRY_PICK_HEAD": "a cherry-pick", "REVERT_HEAD": "a revert", "BISECT_LOG": "a bisect"}


def unfinished_operation(top: Path) -> str | None:
    """The git operation a command left unfinished in the repository of `top` (a merge, a rebase, …), or None."""
    arguments = [argument for name in _UNFINISHED for argument in ("--git-path", name)]
    paths = _git(top, "rev-parse", *arguments).split(b"\n")
    for name, path in zip(_UNFINISHED, paths, strict=False):
        if os.path.lexists(top / os.fsdecode(path)):
            return _UNFINISHED[name]
    return None


def staged_paths(top: Path) -> list[str]:
    """Paths (relative to `top`) whose staged content differs from HEAD's."""
    return _paths(_git(top, "diff", "--cached", "-z", "--name-only", "--no-renames", "HEAD", "--"))


# --------------------------------------------------------------------------- writing


def create_branch(top: Path, name: str) -> None:
    """Create branch `name` at HEAD and switch to it, keeping the working tree as it is."""
    _git(top, "checkout", "--quiet", "-b", name, "--")


def commit(cwd: Path, paths: list[str], message: str) -> str:
    """Stage `paths` (relative to `cwd`; additions, changes and deletions) and commit the index.

    Returns the new commit's abbreviated name. Without a configured identity the commit is made
    as the local user, the way git's own fallback names them.
    """
    pathspecs = b"".join(os.fsencode(p) + b"\0" for p in paths)
    _git(cwd, "--literal-pathspecs", "add", "--all", "--pathspec-from-file=-", "--pathspec-file-nul",
         stdin=pathspecs)
    _git(cwd, *_identity(cwd), "commit", "--quiet", "--file=-", stdin=message.encode("utf-8"))
    return _git(cwd, "rev-parse", "--short=12", "HEAD").decode("ascii").strip()


def init_repository(directory: Path, branch: str) -> None:
    """`git init` in `directory` with `branch` as its first branch."""
    _git(directory, "init", "--quiet", f"--initial-branch={branch}")


def user_email(cwd: Path) -> str | None:
    """`git config user.email` as git resolves it in `cwd`; None when it is unset or git cannot run."""
    try:
        done = _run(cwd, ("config", "--get", "user.email"))
    except ToolError:
        return None
    email = done.stdout.decode("utf-8", "replace").strip()
    return email if done.returncode == 0 and email else None


def _identity(cwd: Path) -> list[str]:
    """`-c user.name=… -c user.email=…` when git has no identity to commit with, else nothing."""
    if _succeeds(cwd, "var", "GIT_COMMITTER_IDENT") and _succeeds(cwd, "var", "GIT_AUTHOR_IDENT"):
        return []
    import getpass
    import socket

    user = getpass.getuser()
    return ["-c", f"user.name={user}", "-c", f"user.email={user}@{socket.gethostname()}"]


# --------------------------------------------------------------------------- remotes


def remote_urls(top: Path) -> set[str]:
    """Normalised URLs of the remotes of the repository whose work tree is `top`; empty when unknown.

    A linked worktree's `.git` file names its git directory, whose `commondir` holds the config.
    """
    git_dir = top / ".git"
    try:
        if git_dir.is_file():
            text = git_dir.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return set()
            git_dir = real_path(top / text.split(":", 1)[1].strip())
            common = git_dir / "commondir"
            if common.is_file():
                git_dir = real_path(git_dir / common.read_text(encoding="utf-8", errors="replace").strip())
        config = (git_dir / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {normalise_repo_url(url) for url in _remote_url_values(config)}


_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_URL = re.compile(r"^\s*url\s*=\s*(\S+?)\s*(?:[#;].*)?$", re.IGNORECASE)


def _remote_url_values(config: str) -> list[str]:
    """The `url` values of `[remote "…"]` sections of a git config file."""
    urls = []
    in_remote = False
    for line in config.splitlines():
        section = _SECTION.match(line)
        if section:
            in_remote = section[1].lower() == "remote" and section[2] is not None
            continue
        value = _URL.match(line)
        if in_remote and value:
            urls.append(value[1].strip('"'))
    return urls


def normalise_repo_url(url: str) -> str:
    """`git@github.com:Org/Repo.git` and `https://github.com/org/repo` → `github.com/org/repo`."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)  # user@host
    text = text.replace(":", "/", 1) if re.match(r"^[^/]+:[^/0-9]", text) else text  # scp-like host:org/repo
    return text.removesuffix("/").removesuffix(".git")
