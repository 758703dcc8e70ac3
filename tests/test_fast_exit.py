"""Issue 16: the console script ends with `os._exit` (`shipcard.cli.run`), freeing nothing, and loses nothing.

Each case runs one command two ways in fresh interpreters: as users do (the console script and
`python -m shipcard`, both `run`) and with the ordinary interpreter exit (`main`, returning through
SystemExit, tearing the heap down). Output is block-buffered in both (PYTHONUNBUFFERED unset), so
a report larger than the buffers and than a pipe would lose its tail if `run` did not flush. Both
ways must give the same exit status, the same bytes on standard output and error, and the same
report files and repository contents, with no lock or journal left behind.
"""

from __future__ import annotations

import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.transaction import JOURNAL_DIR, LOCK_FILE, STATE_DIR
from tests.conftest import ROOT

SHIPCARD = Path(sys.executable).parent / "shipcard"
CORPUS = ROOT.parent / "shared" / "corpus" / "online-boutique.yaml"
ORDINARY = "from shipcard.cli import main; main()"
# A check replaced by `{body}`, run each way: `{end}` is `run` or `main`.
FAILING = """\
import sys
import shipcard.check.engine as engine

def fail(*args, **kwargs):
    {body}

engine.run_check = fail
from shipcard.cli import {end}
{end}()
"""
WAYS = {"console script": [str(SHIPCARD)], "python -m": [sys.executable, "-m", "shipcard"],
        "ordinary exit": [sys.executable, "-c", ORDINARY]}


def environment() -> dict[str, str]:
    """This environment with block-buffered standard streams, no colour and a git identity."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "SHIPCARD_DEBUG")}
    return {**env, "NO_COLOR": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def run(way: str, args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*WAYS[way], *args], cwd=cwd, env=environment(), capture_output=True, timeout=300,
                          stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` (git's objects aside), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """Three copies of the Online Boutique manifests: findings on every one, a JSON report of ~180 KB."""
    root = tmp_path / "manifests"
    root.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(CORPUS, root / f"{name}.yaml")
    return root


def test_reports_on_a_pipe_and_in_files_are_whole(manifests: Path, tmp_path: Path) -> None:
    args = ["check", ".", "--format", "json", "--format", f"sarif={tmp_path / '{}' / 'r.sarif'}",
            "--format", f"junit={tmp_path / '{}' / 'r.xml'}", "--format", f"github={tmp_path / '{}' / 'r.txt'}"]
    seen = {}
    for way in WAYS:
        out = tmp_path / way.replace(" ", "-")
        done = run(way, [arg.replace("{}", out.name) for arg in args], manifests)
        seen[way] = (done.returncode, done.stdout, done.stderr, files(out))
    assert seen["console script"] == seen["ordinary exit"] == seen["python -m"]
    returncode, stdout, stderr, reports = seen["ordinary exit"]
    assert returncode == 1 and len(stdout) > 128 * 1024 and stdout.endswith(b"}\n")
    assert stderr.startswith(b"FAIL: ") and sorted(reports) == ["r.sarif", "r.txt", "r.xml"]


def test_a_report_redirected_to_a_file_is_whole(manifests: Path, tmp_path: Path) -> None:
    written = {}
    for way in ("console script", "ordinary exit"):
        target = tmp_path / f"{way.replace(' ', '-')}.json"
        with target.open("wb") as stdout:
            done = subprocess.run([*WAYS[way], "check", ".", "--format", "json"], cwd=manifests, env=environment(),
                                  stdout=stdout, stderr=subprocess.PIPE, timeout=300, stdin=subprocess.DEVNULL)
        assert done.returncode == 1, done.stderr
        written[way] = target.read_bytes()
    assert written["console script"] == written["ordinary exit"]
    assert len(written["console script"]) > 128 * 1024


@pytest.mark.parametrize(("args", "status"), [
    pytest.param(["--version"], 0, id="version"),
    pytest.param(["check", "clean"], 0, id="check-passes"),
    pytest.param(["check", "broken.yaml"], 1, id="check-finds-malformed-yaml"),
    pytest.param(["check", "clean", "--format", "nope"], 2, id="shipcard-usage-error"),
    pytest.param(["check", "--jobs", "0"], 2, id="click-usage-error"),
    pytest.param(["nosuchcommand"], 2, id="unknown-command"),
    pytest.param(["check", "missing.yaml"], 2, id="missing-path"),
    pytest.param(["check", "--help"], 0, id="help"),
])
def test_exit_statuses_are_the_commands(tmp_path: Path, args: list[str], status: int) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"
                                                "  namespace: shop\ndata:\n  mode: fast\n")
    (tmp_path / "broken.yaml").write_text("a: [1\n")
    results = {way: run(way, args, tmp_path) for way in WAYS}
    assert {way: done.returncode for way, done in results.items()} == dict.fromkeys(WAYS, status)
    assert len({(done.stdout, done.stderr) for done in results.values()}) == 1


@pytest.mark.parametrize(("body", "status", "stdout", "stderr"), [
    pytest.param('raise RuntimeError("boom")', 3, b"", b"shipcard: internal error in check: RuntimeError; "
                 b"rerun with SHIPCARD_DEBUG=1 for details\n", id="internal-error"),
    pytest.param("raise KeyboardInterrupt()", 130, b"", b"shipcard: interrupted\n", id="interrupt"),
    pytest.param('raise __import__("shipcard.errors").errors.ShipcardError("bad input")', 2, b"",
                 b"shipcard: bad input\n", id="shipcard-error"),
    pytest.param("raise SystemExit(7)", 7, b"", b"", id="exit-status"),
    pytest.param('raise SystemExit("a message")', 1, b"", b"a message\n", id="exit-message"),
    pytest.param('sys.stdout.write("x" * 100000 + "end"); sys.stderr.write("no newline"); raise SystemExit(1)', 1,
                 b"x" * 100000 + b"end", b"no newline", id="output-never-flushed"),
])
def test_failures_end_with_their_own_status(tmp_path: Path, body: str, status: int, stdout: bytes,
                                            stderr: bytes) -> None:
    for end in ("run", "main"):
        done = subprocess.run([sys.executable, "-c", FAILING.format(body=body, end=end), "check", "."],
                              cwd=tmp_path, env=environment(), capture_output=True, timeout=60)
        assert (done.returncode, done.stdout, done.stderr) == (status, stdout, stderr), end


def test_a_closed_pipe_is_status_1_either_way(manifests: Path) -> None:
    for way in WAYS:
        process = subprocess.Popen([*WAYS[way], "check", ".", "--format", "json"], cwd=manifests, env=environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        process.stdout.read(10)
        process.stdout.close()
        assert process.wait(timeout=300) == 1, way


def test_init_new_and_render_leave_the_same_repository_and_no_lock_or_journal(tmp_path: Path) -> None:
    trees = {}
    for way in ("console script", "ordinary exit"):
        repo = tmp_path / way.replace(" ", "-")
        done = run(way, ["init", str(repo), "--no-input", "--no-git", "--set", "project=platform"], tmp_path)
        assert done.returncode == 0, done.stderr
        done = run(way, ["new", "queue-worker", "--blueprint", "worker", "--no-input"], repo)
        assert done.returncode == 0, done.stderr
        for card in sorted((ROOT / "examples").glob("*.service.yaml")):
            shutil.copy(card, repo / "services" / card.name)
        done = run(way, ["render", "--jobs", "2"], repo)
        assert done.returncode == 0, done.stderr
        state = repo / STATE_DIR
        assert not (state / LOCK_FILE).exists() and not (state / JOURNAL_DIR).exists()
        trees[way] = (done.stdout, done.stderr, {path: data for path, data in files(repo).items()
                                                 if not path.startswith(STATE_DIR + "/")},
                      sorted(p.relative_to(state).as_posix() for p in state.rglob("*")))
    assert trees["console script"] == trees["ordinary exit"]
    assert len(trees["console script"][2]) > 20


def test_under_a_profiler_the_exit_is_the_ordinary_one(tmp_path: Path) -> None:
    """`python -m cProfile -m shipcard` (and coverage) write what they gathered at exit: `run` lets them."""
    profile = tmp_path / "check.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "shipcard", "check", "."],
                          cwd=tmp_path, env=environment(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert any(name == "run" and path.endswith("cli.py") for path, _, name in pstats.Stats(str(profile)).stats)
