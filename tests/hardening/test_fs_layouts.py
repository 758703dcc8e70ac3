"""Properties over random file-system layouts (issue 13, classes 4, 5 and 14).

A rendered repository of the four bundled examples has one to three of its paths replaced by
something hostile or broken: a link to a file or a directory outside the repository, a link
loop, a dangling link, a link to /dev/zero, a FIFO, a socket, a directory where a file was, a
file where a directory was, a read-only node. Then one command runs (`render`, `render --prune`,
`render --force`, `render --check` or `check`) as the installed script, with a timeout and a
memory limit. Whatever the layout:

- the command ends in time and within the memory limit, with an exit code it documents
  (render 0 or 2, check 0, 1 or 2), never a traceback or an internal error;
- a refusal (exit 2) of `render` is lines of `shipcard: ...` on stderr (`check` reports an
  unreadable input as a finding and exits 2); a refusal, `check` and `render --check` leave the
  repository as it was, byte for byte, without even `.shipcard/lock`;
- nothing outside the repository changes, and the outside files' secret never shows;
- once the layout is restored, `render` works again and gives exactly the original tree.

Each example runs two or three subprocesses; the default count (12, derandomised) keeps CI short and
SHIPCARD_FUZZ_EXAMPLES raises it for a campaign (docs/hardening.md: 500 layouts passed on 2026-12-04).
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import stat
import subprocess
from functools import cache
from pathlib import Path

import pytest
from hardhelpers import SHIPCARD, clean_environment, snapshot
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SHIPCARD_FUZZ_EXAMPLES", "0"))
EXAMPLE_CARDS = Path(__file__).resolve().parents[2].parent / "shared" / "examples"
SECRET = "outside-canary-5f2c1e"
TIMEOUT = 60
MEMORY = 2 << 30

# Paths of the rendered example repository worth breaking: cards, settings, generated files and
# trees of both formats, Argo CD Applications, render states and shipcard's own state directory.
TARGETS = [
    "services/billing-api.service.yaml",
    "services/notifier.service.yaml",
    "services",
    "shipcard.yaml",
    "apps",
    "apps/billing-api",
    "apps/billing-api/base",
    "apps/billing-api/base/deployment.yaml",
    "apps/billing-api/overlays/prod/kustomization.yaml",
    "apps/notifier/helmfile.yaml",
    "apps/notifier/values",
    "argocd",
    "argocd/prod",
    "argocd/prod/notifier.yaml",
    "argocd/root.yaml",
    "argocd/projects/platform.yaml",
    ".shipcard-state",
    ".shipcard-state/billing-api.yaml",
    ".shipcard",
    ".shipcard/lock",
    ".shipcard/txn",
]
DAMAGES = ["link-outside-file", "link-outside-dir", "link-loop", "link-dangling", "link-dev-zero", "fifo",
           "socket", "directory", "file", "read-only"]
COMMANDS = {
    "render": (("render",), {0, 2}),
    "render-prune": (("render", "--prune"), {0, 2}),
    "render-force": (("render", "--force"), {0, 2}),
    "render-check": (("render", "--check"), {0, 1, 2}),
    "check": (("check", "--format", "text"), {0, 1, 2}),
}

SETTINGS = dict(max_examples=EXAMPLES or 12, deadline=None, derandomize=not EXAMPLES, print_blob=True,
                phases=list(Phase) if EXAMPLES else [Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(args: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed script, in time and memory bounds: a hang or a blow-up fails the property."""
    try:
        return subprocess.run([str(SHIPCARD), *args], cwd=cwd, env=clean_environment({"NO_COLOR": "1"}),
                              capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit_memory, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"shipcard {' '.join(args)} hung for {TIMEOUT} s") from None


@cache
def template(base: Path) -> Path:
    """An `init` repository with the four examples, rendered once (built once per test session)."""
    repository = base / "template"
    subprocess.run([str(SHIPCARD), "init", str(repository)], check=True, capture_output=True,
                   env=clean_environment())
    for card in sorted(EXAMPLE_CARDS.glob("*.service.yaml")):
        shutil.copy(card, repository / "services" / card.name)
    result = run(("render",), repository)
    assert result.returncode == 0, result.stderr
    return repository


def remove(path: Path) -> None:
    if path.is_symlink() or not path.exists():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def damage(path: Path, kind: str, outside: Path) -> None:
    """Replace `path` (if it exists; else create it) by the damage `kind`."""
    if kind == "read-only":
        if path.exists() and not path.is_symlink():
            path.chmod(0o500 if path.is_dir() else 0o400)
        return
    remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "link-outside-file":
        path.symlink_to(outside / "secret.yaml")
    elif kind == "link-outside-dir":
        path.symlink_to(outside)
    elif kind == "link-loop":
        path.symlink_to(path.name)
    elif kind == "link-dangling":
        path.symlink_to(outside / "missing")
    elif kind == "link-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
    elif kind == "directory":
        path.mkdir()
        (path / "stray.yaml").write_text("kind: ConfigMap\n")
    else:
        path.write_text("just: a file\n")


def restore(repository: Path, original: Path, rel: str) -> None:
    """Put `rel` back as it was in `original` (or remove it if it was not there)."""
    path = repository / rel
    for parent in [path, *path.parents]:  # undo a read-only damage on the way
        if parent == repository.parent:
            break
        if parent.exists() and not parent.is_symlink():
            parent.chmod(parent.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
    remove(path)
    source = original / rel
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, path, symlinks=True)
    elif source.exists() or source.is_symlink():
        shutil.copy2(source, path, follow_symlinks=False)


def outside_tree(directory: Path) -> Path:
    directory.mkdir()
    (directory / "secret.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
                                           f"  token: {SECRET}\n")
    (directory / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    return directory


def tree_state(root: Path) -> dict[str, bytes]:
    """Snapshot with node kinds, so a FIFO or socket replaced by a file counts as a change."""
    state = snapshot(root, skip_state=False)
    for directory, dirs, names in os.walk(root):
        for name in names + dirs:
            path = Path(directory) / name
            mode = path.lstat().st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                state[path.relative_to(root).as_posix()] = f"special {stat.S_IFMT(mode)}".encode()
    return state


damages = st.lists(st.tuples(st.sampled_from(TARGETS), st.sampled_from(DAMAGES)), min_size=1, max_size=3,
                   unique_by=lambda pair: pair[0])


@pytest.mark.kubectl
@pytest.mark.helm
@settings(**SETTINGS)
@given(layout=damages, command=st.sampled_from(sorted(COMMANDS)))
def test_random_layouts_keep_the_promises(tmp_path_factory: pytest.TempPathFactory,
                                          layout: list[tuple[str, str]], command: str) -> None:
    base = tmp_path_factory.mktemp("layout")
    original = template(tmp_path_factory.getbasetemp())
    repository = base / "repo"
    shutil.copytree(original, repository, symlinks=True)
    outside = outside_tree(base / "outside")
    # a damage inside a damaged directory is applied first, so the outer one wins
    for rel, kind in sorted(layout, key=lambda pair: -pair[0].count("/")):
        damage(repository / rel, kind, outside)
    before, outside_before = tree_state(repository), tree_state(outside)

    args, codes = COMMANDS[command]
    result = run(args, repository)
    output = result.stdout + result.stderr
    context = f"{layout} {command}: exit {result.returncode}\n{output[-3000:]}"

    assert result.returncode in codes, context
    assert "Traceback" not in output and "internal error" not in output, context
    assert SECRET not in output, context
    assert tree_state(outside) == outside_before, context
    if result.returncode == 2 and command != "check":  # check: an unreadable input is a finding, and exit 2
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines and all(line.startswith("shipcard: ") for line in lines), context
    if result.returncode == 2 or command.startswith(("check", "render-check")):
        assert tree_state(repository) == before, context

    for rel, _ in sorted(layout, key=lambda pair: pair[0].count("/")):  # outer first
        restore(repository, original, rel)
    again = run(("render",), repository)
    assert again.returncode == 0, f"{layout} {command}, then restored: {again.stderr[-3000:]}"
    assert snapshot(repository) == snapshot(original), f"{layout} {command}, then restored: tree differs"


def test_no_path_resolve_on_repository_paths() -> None:
    """Python 3.11's Path.resolve raises RuntimeError on a link loop (found by the campaign: `apps` linked
    to itself made `check` an internal error). Repository paths go through yamlio.read.real_path; only the
    package's own location may use resolve."""
    package = Path(__file__).resolve().parents[2] / "generator" / "shipcard"
    allowed = {"resources.py", "check/schema.py"}
    offenders = sorted(f"{path.relative_to(package)}:{number}"
                       for path in package.rglob("*.py") if path.relative_to(package).as_posix() not in allowed
                       for number, line in enumerate(path.read_text().splitlines(), 1)
                       if ".resolve()" in line and not line.lstrip().startswith("#"))
    assert offenders == []


@pytest.mark.parametrize(("target", "code"), [
    ("apps", 1), ("apps/billing-api", 1), ("apps/billing-api/overlays/prod", 1), ("argocd/prod", 1),
    ("apps/notifier/values", 1), ("services", 2)])
def test_a_directory_linked_to_itself_is_a_finding_not_an_internal_error(tmp_path_factory: pytest.TempPathFactory,
                                                                         target: str, code: int) -> None:
    """The campaign's first find (`apps` linked to itself: an internal error) and its neighbours: `check`
    reports what the loop hides as error findings (a source path that does not exist, a release that
    cannot render: exit 1), and the card directory itself as unreadable (exit 2), never skipped."""
    original = template(tmp_path_factory.getbasetemp())
    repository = tmp_path_factory.mktemp("loop") / "repo"
    shutil.copytree(original, repository, symlinks=True)
    damage(repository / target, "link-loop", repository)
    result = run(("check", "--format", "text"), repository)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code and result.stderr.startswith("FAIL: "), result.stdout + result.stderr
    if target == "services":
        assert "services\n  services: error   input-unreadable: cannot read: Too many levels of symbolic links\n" \
            in result.stdout


LOOPED = "cannot be examined (Too many levels of symbolic links)"
NOT_A_DIRECTORY = "not a directory, but this run writes files below it"


@pytest.mark.parametrize(("target", "problem"), [("apps", LOOPED), ("apps/billing-api/base", NOT_A_DIRECTORY),
                                                 ("argocd/prod", NOT_A_DIRECTORY), ("apps/notifier", NOT_A_DIRECTORY),
                                                 ("apps/billing-api/base/deployment.yaml", "not a regular file"),
                                                 ("argocd/prod/notifier.yaml", "not a regular file")])
@pytest.mark.parametrize("flags", [(), ("--prune",), ("--force",)])
def test_render_through_a_directory_linked_to_itself_refuses_in_one_line(tmp_path_factory: pytest.TempPathFactory,
                                                                        target: str, problem: str,
                                                                        flags: tuple[str, ...]) -> None:
    """The campaign's second find: `render` with `apps` linked to itself was an internal error (OSError from
    the transaction's applicability check). Now: one line naming the link, exit 2, nothing changed (a loop
    that is the last directory before the files is a link where a directory must be). The third: a generated
    file linked to itself was found only after the commit point, so `render` refused its own journal and
    left it behind; the targets are now checked before the plan is committed."""
    original = template(tmp_path_factory.getbasetemp())
    repository = tmp_path_factory.mktemp("loop") / "repo"
    shutil.copytree(original, repository, symlinks=True)
    damage(repository / target, "link-loop", repository)
    before = tree_state(repository)
    result = run(("render", *flags), repository)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"shipcard: {repository / target}: {problem}; nothing was changed\n"
    assert tree_state(repository) == before
