"""Output files and internal errors (issue 13, classes 6 and 7).

Class 6: `check --format FMT=FILE` writes FILE the way a shell's `>` would (through a symlink, into
a FIFO or a device, to /dev/stdout) or refuses in one line with exit 2 before writing anything; it
never replaces FILE's node (an existing file keeps its inode, a symlink stays a symlink) and never
destroys a file the check read.

Class 7: no value of a card's `env` or `secrets`, of a Secret's `data`/`stringData` or of a
registry credential in any message, finding or report; an unexpected exception in any command,
thread or worker is one line `shipcard: internal error in <command>: <type>; rerun with
SHIPCARD_DEBUG=1 for details` with exit 3, and the debug traceback masks credentials.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hardhelpers import SHIPCARD, SMALL_CARD, Run, card, clean_environment, dump_card, shipcard, write_repo

from shipcard.cli import cli, main
from shipcard.crash import mask_credentials
from shipcard.patterns import DNS_LABEL

ONE_LOCATED_LINE = re.compile(r"^shipcard: [^\n]+:\d+:\d+: [^\n]+$")

MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A directory with one manifest to check and a directory `out/` for the reports."""
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "settings.yaml").write_text(MANIFEST)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def report(repo: Path) -> str:
    """The JSON report of the repository's check, as standard output gets it."""
    run = shipcard("check", "manifests", "--format", "json", cwd=repo)
    assert run.code == 0 and run.stdout.startswith('{"tool": "shipcard"'), run.output
    return run.stdout


def check_to(repo: Path, *targets: str, fmt: str = "json", timeout: float = 60) -> Run:
    return shipcard("check", "manifests", *(a for t in targets for a in ("--format", f"{fmt}={t}")), cwd=repo,
                    timeout=timeout)


def nodes(directory: Path) -> dict[str, tuple[str, int, bytes | str]]:
    """Every entry of `directory`: its kind, inode and content (a link's target)."""
    found: dict[str, tuple[str, int, bytes | str]] = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            found[path.name] = ("link", info.st_ino, os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            found[path.name] = ("file", info.st_ino, path.read_bytes())
        else:
            found[path.name] = (stat.filemode(info.st_mode)[0], info.st_ino, b"")
    return found


def summary_only(run: Run) -> bool:
    return run.stdout == "" and run.stderr.startswith("ok: 1 info in 1 object from 1 input") \
        and run.stderr.count("\n") == 1


# --------------------------------------------------------------------------- class 6: written like `>`


def test_an_existing_file_is_overwritten_in_place_keeping_inode_and_mode(repo: Path, report: str) -> None:
    target = repo / "out" / "report.json"
    target.write_text("x" * 100_000)  # longer than the report: cut to length
    target.chmod(0o640)
    inode = target.stat().st_ino
    run = check_to(repo, "out/report.json")
    assert summary_only(run), run.output
    assert target.read_text() == report
    assert (target.stat().st_ino, stat.S_IMODE(target.stat().st_mode)) == (inode, 0o640)
    assert sorted(p.name for p in (repo / "out").iterdir()) == ["report.json"]  # no temporary file left


@pytest.mark.parametrize("links", [
    pytest.param([("link", "real")], id="symlink-to-file"),
    pytest.param([("link", "middle"), ("middle", "real")], id="symlink-chain"),
    pytest.param([("link", str(Path("..") / "out" / "real"))], id="relative-symlink-through-parent"),
])
def test_a_symlink_is_written_through_and_stays_a_link(repo: Path, report: str,
                                                       links: list[tuple[str, str]]) -> None:
    out = repo / "out"
    (out / "real").write_text("old\n")
    inode = (out / "real").stat().st_ino
    for name, target in links:
        (out / name).symlink_to(target)
    run = check_to(repo, "out/link")
    assert summary_only(run), run.output
    assert (out / "real").read_text() == report and (out / "real").stat().st_ino == inode
    for name, target in links:
        assert (out / name).is_symlink() and os.readlink(out / name) == target


def test_a_dangling_symlink_creates_its_target_and_stays_a_link(repo: Path, report: str) -> None:
    out = repo / "out"
    (out / "link").symlink_to("created.json")
    run = check_to(repo, "out/link")
    assert summary_only(run), run.output
    assert os.readlink(out / "link") == "created.json" and (out / "created.json").read_text() == report


@pytest.mark.parametrize("target", [
    pytest.param("out/new.json", id="new-file"),
    pytest.param("out/a/b/c/new.json", id="missing-directories-created"),
    pytest.param("out/name with spaces and ünïcode.json", id="unusual-name"),
])
def test_a_new_file_is_created(repo: Path, report: str, target: str) -> None:
    run = check_to(repo, target)
    assert summary_only(run), run.output
    assert (repo / target).read_text() == report


def test_a_fifo_with_a_reader_gets_the_report(repo: Path, report: str) -> None:
    fifo = repo / "out" / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    run = check_to(repo, "out/pipe", timeout=30)
    reader.join(timeout=10)
    assert summary_only(run), run.output
    assert received == [report.encode()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dev_null_takes_the_report_and_stays_a_device(repo: Path) -> None:
    before = os.stat("/dev/null")
    run = check_to(repo, "/dev/null")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev, "/dev/null was replaced"
    assert summary_only(run), run.output


def test_a_symlink_to_dev_null_is_written_through(repo: Path) -> None:
    (repo / "out" / "null").symlink_to("/dev/null")
    run = check_to(repo, "out/null")
    assert summary_only(run), run.output
    assert os.readlink(repo / "out" / "null") == "/dev/null" and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_stdout_and_dev_stderr_get_the_report(repo: Path, report: str) -> None:
    to_stdout = check_to(repo, "/dev/stdout")
    assert to_stdout.code == 0 and to_stdout.stdout == report, to_stdout.output
    to_stderr = check_to(repo, "/dev/stderr")
    assert to_stderr.code == 0 and to_stderr.stdout == "" and to_stderr.stderr.startswith(report), to_stderr.output
    assert to_stderr.stderr[len(report):].startswith("ok: 1 info")


def test_dev_stdout_redirected_to_a_file_follows_the_text_report(repo: Path, report: str) -> None:
    """Standard output is a regular file: the JSON report goes after the text one, not over it."""
    text = shipcard("check", "manifests", cwd=repo).stdout
    assert text.startswith("manifests/settings.yaml\n")
    log = repo / "out" / "stdout.log"
    with log.open("w") as handle:
        done = subprocess.run([str(SHIPCARD), "check", "manifests", "--format", "text", "--format", "json=/dev/stdout"],
                              cwd=repo, env=clean_environment(), stdout=handle, stderr=subprocess.PIPE, text=True,
                              timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert log.read_text() == text + report


def test_two_formats_into_one_device_go_one_after_the_other(repo: Path) -> None:
    assert summary_only(check_to(repo, "/dev/null", "/dev/null"))


def test_a_full_device_is_one_line(repo: Path) -> None:
    run = check_to(repo, "/dev/full")
    assert (run.code, run.stdout, run.stderr) == (2, "", "shipcard: cannot write /dev/full: No space left on device\n")


REFUSED_BEFORE_THE_CHECK = [
    pytest.param(lambda out: None, "out", "shipcard: out: --format json=FILE names a directory; name a file",
                 id="a-directory"),
    pytest.param(lambda out: None, "out/", "shipcard: out/: --format json=FILE names a directory; name a file",
                 id="a-trailing-slash"),
    pytest.param(lambda out: None, "out/missing/",
                 "shipcard: out/missing/: --format json=FILE names a directory; name a file", id="a-missing-directory"),
    pytest.param(lambda out: (out / "sub").symlink_to("."), "out/sub",
                 "shipcard: out/sub: --format json=FILE names a directory; name a file", id="a-symlink-to-a-directory"),
    pytest.param(lambda out: (out / "file").write_text("keep\n"), "out/file/report.json",
                 "shipcard: out/file/report.json: --format json=FILE is inside out/file, which is not a directory",
                 id="inside-a-file"),
    pytest.param(lambda out: (out / "file").write_text("keep\n"), "out/file/deeper/report.json",
                 "shipcard: out/file/deeper/report.json: --format json=FILE is inside out/file, which is not a "
                 "directory", id="deep-inside-a-file"),
    pytest.param(lambda out: (out / "dangling").symlink_to("nowhere"), "out/dangling/report.json",
                 "shipcard: out/dangling/report.json: --format json=FILE is inside out/dangling, which is not a "
                 "directory", id="inside-a-dangling-symlink"),
    pytest.param(lambda out: os.mkfifo(out / "pipe"), "out/pipe/report.json",
                 "shipcard: out/pipe/report.json: --format json=FILE is inside out/pipe, which is not a directory",
                 id="inside-a-fifo"),
]


@pytest.mark.parametrize(("prepare", "target", "message"), REFUSED_BEFORE_THE_CHECK)
def test_an_impossible_file_is_refused_in_one_line_and_nothing_is_written(
        repo: Path, prepare: Callable[[Path], Any], target: str, message: str) -> None:
    prepare(repo / "out")
    before = nodes(repo)
    run = check_to(repo, target)
    assert (run.code, run.stdout, run.stderr) == (2, "", message + "\n")
    assert nodes(repo) == before


def unix_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


REFUSED_WHEN_WRITING = [
    pytest.param(lambda out: (out / "loop").symlink_to("loop"), "out/loop", "Too many levels of symbolic links",
                 id="a-symlink-loop"),
    pytest.param(lambda out: ((out / "a").symlink_to("b"), (out / "b").symlink_to("a")), "out/a",
                 "Too many levels of symbolic links", id="two-symlinks-in-a-loop"),
    pytest.param(lambda out: unix_socket(out / "socket"), "out/socket", "No such device or address", id="a-socket"),
]


@pytest.mark.parametrize(("prepare", "target", "reason"), REFUSED_WHEN_WRITING)
def test_a_file_that_cannot_be_opened_is_one_line_and_nothing_is_replaced(
        repo: Path, prepare: Callable[[Path], Any], target: str, reason: str) -> None:
    prepare(repo / "out")
    before = nodes(repo)
    run = check_to(repo, target)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"shipcard: cannot write {target}: {reason}\n")
    assert nodes(repo) == before


def test_a_read_only_file_is_written_exactly_when_the_shell_could(repo: Path, report: str) -> None:
    """As root a shell's `>` writes a 0444 file, so shipcard does; as anyone else both refuse."""
    target = repo / "out" / "read-only.json"
    target.write_text("keep\n")
    target.chmod(0o444)
    shell_could = os.access(target, os.W_OK)
    run = check_to(repo, "out/read-only.json")
    if shell_could:
        assert summary_only(run) and target.read_text() == report, run.output
    else:
        assert (run.code, run.stderr) == (2, "shipcard: cannot write out/read-only.json: Permission denied\n")
        assert target.read_text() == "keep\n"


WITHOUT_OVERRIDE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                    "--bounding-set=-dac_override,-dac_read_search"]  # root that file modes bind, like anyone


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
@pytest.mark.parametrize(("prepare", "target"), [
    pytest.param(lambda out: ((out / "ro.json").write_text("keep\n"), (out / "ro.json").chmod(0o444)), "out/ro.json",
                 id="a-read-only-file"),
    pytest.param(lambda out: ((out / "ro").mkdir(), (out / "ro").chmod(0o555)), "out/ro/new.json",
                 id="a-new-file-in-a-read-only-directory"),
    pytest.param(lambda out: ((out / "ro").mkdir(), (out / "ro").chmod(0o555)), "out/ro/sub/new.json",
                 id="a-missing-directory-in-a-read-only-one"),
])
def test_a_file_that_file_modes_forbid_is_refused_and_kept(repo: Path, prepare: Callable[[Path], Any],
                                                           target: str) -> None:
    prepare(repo / "out")
    before = nodes(repo)
    done = subprocess.run([*WITHOUT_OVERRIDE, str(SHIPCARD), "check", "manifests", "--format", f"json={target}"],
                          cwd=repo, env=clean_environment(), capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"shipcard: cannot write {target}: Permission "
                                                                  "denied\n")
    assert nodes(repo) == before


@pytest.mark.parametrize("targets", [
    pytest.param(("out/r.json", "out/r.json"), id="same-name"),
    pytest.param(("out/r.json", "./out/r.json"), id="dot-slash"),
    pytest.param(("out/r.json", "out/../out/r.json"), id="dot-dot"),
    pytest.param(("out/r.json", "out/link"), id="through-a-symlink"),
    pytest.param(("out/existing", "out/link-to-existing"), id="an-existing-file-and-its-symlink"),
    pytest.param(("out/pipe", "out/pipe"), id="a-fifo-whose-reader-the-first-report-ends"),
])
def test_two_formats_into_one_regular_file_are_refused_before_the_check(repo: Path, targets: tuple[str, str]) -> None:
    out = repo / "out"
    (out / "link").symlink_to("r.json")
    (out / "existing").write_text("keep\n")
    (out / "link-to-existing").symlink_to("existing")
    os.mkfifo(out / "pipe")
    before = nodes(repo)
    run = shipcard("check", "manifests", "--format", f"json={targets[0]}", "--format", f"sarif={targets[1]}",
                   cwd=repo)
    assert (run.code, run.stdout, run.stderr) == (
        2, "", f"shipcard: {Path(targets[1])}: --format json and --format sarif would write the same file; give each "
               "its own\n")
    assert nodes(repo) == before


@pytest.mark.parametrize(("target", "make"), [
    pytest.param("manifests/settings.yaml", None, id="an-input-manifest"),
    pytest.param("./manifests/../manifests/settings.yaml", None, id="an-input-by-another-name"),
    pytest.param("out/link", "../manifests/settings.yaml", id="a-symlink-to-an-input"),
    pytest.param("shipcard.yaml", None, id="the-config-file"),
    pytest.param("values.yaml", None, id="a-values-file"),
])
def test_a_file_the_check_read_is_refused_and_kept(repo: Path, target: str, make: str | None) -> None:
    (repo / "shipcard.yaml").write_text("check:\n  fail-on: error\n")
    (repo / "values.yaml").write_text("replicas: 1\n")
    if make:
        (repo / "out" / "link").symlink_to(make)
    before = nodes(repo)
    run = shipcard("check", "manifests", "--values", "values.yaml", "--format", "text",
                   "--format", f"json={target}", cwd=repo)
    assert (run.code, run.stdout) == (2, ""), run.output
    assert run.stderr == f"shipcard: {Path(target)}: --format json=FILE names a file this check read; write the report " \
                         "elsewhere\n"
    assert nodes(repo) == before


def test_a_card_the_check_read_is_refused_and_kept(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(SMALL_CARD)})
    before = (repo / "services" / "small.service.yaml").read_bytes()
    run = shipcard("check", "services", "--format", "sarif=services/small.service.yaml", cwd=repo)
    assert (run.code, run.stderr) == (2, "shipcard: services/small.service.yaml: --format sarif=FILE names a file "
                                         "this check read; write the report elsewhere\n")
    assert (repo / "services" / "small.service.yaml").read_bytes() == before


def test_a_report_beside_the_inputs_is_not_an_input(repo: Path, report: str) -> None:
    """A report file inside the checked directory that the check did not read is written as usual."""
    (repo / "manifests" / "report.json").write_text("old\n")
    run = shipcard("check", "manifests/settings.yaml", "--format", "json=manifests/report.json", cwd=repo)
    assert summary_only(run), run.output
    assert json.loads((repo / "manifests" / "report.json").read_text())["inputs"] == ["manifests/settings.yaml"]


# --------------------------------------------------------------------------- class 7: internal errors

CANARY = "canary-internal-4be1d7"
CANARY_BEARER = "canary-bearer-90ac3e"
CANARY_DOCKER = "canary-dockerpassword-17f2b8"
CANARY_ENV_AUTH = "canary-envauthtoken-c2d9e4"
CANARY_URL = "canary-urlpassword-5e0a61"
CANARY_JSON = "canary-jsontoken-8d3f02"


def internal_error_line(command: str, kind: str) -> str:
    return f"shipcard: internal error in {command}: {kind}; rerun with SHIPCARD_DEBUG=1 for details\n"


def raiser(exception: BaseException) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exception
    return fail


def many_cards(root: Path, count: int) -> Path:
    return write_repo(root, {f"s{n}.service.yaml": dump_card(card(SMALL_CARD, name=f"s{n}")) for n in range(count)})


def kustomize_tree(root: Path) -> Path:
    (root / "kust").mkdir(parents=True)
    (root / "kust" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (root / "kust" / "cm.yaml").write_text(MANIFEST)
    return root


INJECTED = [  # (args, what raises, the command named, a repository to run in)
    pytest.param(["init", "fresh", "--no-input", "--no-git"], "shipcard.lifecycle.init.begin", "init", None,
                 id="init"),
    pytest.param(["new", "billing", "--no-input"], "shipcard.lifecycle.new.find_repo_root", "new", None, id="new"),
    pytest.param(["render", "--out", "."], "shipcard.lifecycle.rendering.plan_repository", "render", None, id="render"),
    pytest.param(["render", "--out", ".", "--all", "--jobs", "2"], "shipcard.lifecycle.rendering._render_service",
                 "render", lambda root: many_cards(root, 20), id="render-in-a-worker-process"),
    pytest.param(["upgrade"], "shipcard.lifecycle.upgrade.find_repo_root", "upgrade", None, id="upgrade"),
    pytest.param(["check", "services"], "shipcard.check.engine.run_check", "check", None, id="check"),
    pytest.param(["check", "kust"], "shipcard.check.inputs.parse.render_target", "check", kustomize_tree,
                 id="check-in-a-render-thread"),
    pytest.param(["check", "--config", "shipcard.yaml"], "click.types.Path.convert", "check", None,
                 id="check-in-a-click-parameter-callback"),
    pytest.param(["rules"], "shipcard.check.engine.all_rule_infos", "rules", None, id="rules"),
    pytest.param(["pin", "--check"], "shipcard.pin.command.load_card", "pin", None, id="pin"),
    pytest.param(["pin"], "shipcard.pin.registry.RegistryClient.resolve", "pin", None, id="pin-in-a-lookup-thread"),
]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner in a repository of one small card, with no SHIPCARD_ or DOCKER_ variables."""
    for name in list(os.environ):
        if name.startswith(("SHIPCARD_", "DOCKER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(SMALL_CARD)}))
    return CliRunner()


@pytest.mark.parametrize(("args", "target", "command", "prepare"), INJECTED)
def test_an_unexpected_exception_is_one_line_and_exit_3(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                        args: list[str], target: str, command: str,
                                                        prepare: Callable[[Path], Any] | None) -> None:
    if prepare is not None:
        prepare(Path.cwd())
    monkeypatch.setattr(target, raiser(RuntimeError(f"Authorization: Bearer {CANARY}")))
    result = runner.invoke(cli, args)
    assert (result.exit_code, result.stdout) == (3, ""), result.output
    assert result.stderr == internal_error_line(command, "RuntimeError")


@pytest.mark.parametrize("exception", [
    pytest.param(KeyError(CANARY), id="key-error"),
    pytest.param(RecursionError(CANARY), id="recursion-error"),
    pytest.param(MemoryError(), id="memory-error"),
    pytest.param(UnicodeDecodeError("utf-8", CANARY.encode(), 0, 1, "invalid"), id="unicode-decode-error"),
    pytest.param(OSError(5, "Input/output error", CANARY), id="os-error"),
    pytest.param(ExceptionGroup("several", [ValueError(CANARY)]), id="exception-group"),
])
def test_every_kind_of_exception_is_named_by_its_type_only(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                           exception: Exception) -> None:
    monkeypatch.setattr("shipcard.check.engine.run_check", raiser(exception))
    result = runner.invoke(cli, ["check", "services"])
    assert (result.exit_code, result.output) == (3, internal_error_line("check", type(exception).__name__))


def test_an_interrupt_keeps_its_own_line_and_exit_code(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shipcard.check.engine.run_check", raiser(KeyboardInterrupt()))
    result = runner.invoke(cli, ["check", "services"])
    assert (result.exit_code, result.output) == (130, "shipcard: interrupted\n")


def test_a_closed_pipe_keeps_exit_1_without_a_word(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("shipcard.check.engine.run_check", raiser(BrokenPipeError(32, "Broken pipe")))
    monkeypatch.setattr(sys, "argv", ["shipcard", "check", "services"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 1
    assert capsys.readouterr() == ("", "")


def test_usage_errors_stay_clicks(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["check", "--no-such-option"])
    assert result.exit_code == 2 and result.stderr.endswith("Error: No such option '--no-such-option'.\n")


def debug_environment(tmp_path: Path) -> dict[str, str]:
    docker = tmp_path / "docker"
    docker.mkdir(exist_ok=True)
    auth = base64.b64encode(f"pinbot:{CANARY_DOCKER}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"registry.example.com": {"auth": auth}}}))
    return {"SHIPCARD_DEBUG": "1", "DOCKER_CONFIG": str(docker),
            "SHIPCARD_REGISTRY_AUTH": json.dumps({"other.example.com": {"registrytoken": f"{CANARY_ENV_AUTH}\n"}})}


def leaky_exception() -> Exception:
    """An exception whose message holds credentials in every form a library might put them."""
    auth = base64.b64encode(f"pinbot:{CANARY_DOCKER}".encode()).decode()
    message = (f"Invalid header value b'Bearer {CANARY_BEARER}\\n'; login pinbot:{CANARY_DOCKER} failed "
               f"(Basic {auth}); header {repr(CANARY_ENV_AUTH + chr(10))}; "
               f"https://pinbot:{CANARY_URL}@registry.example.com/v2/; body {json.dumps({'token': CANARY_JSON})}")
    error = ValueError(message)
    error.__cause__ = ConnectionError(f"password={CANARY_URL}")
    return error


def assert_masked(text: str) -> None:
    for canary in (CANARY_BEARER, CANARY_DOCKER, CANARY_ENV_AUTH, CANARY_URL, CANARY_JSON):
        for form in (canary, base64.b64encode(canary.encode()).decode(),
                     base64.b64encode(f"pinbot:{canary}".encode()).decode()):
            assert form not in text, f"{canary} shown as {form}:\n{text}"


def test_the_debug_traceback_masks_credentials(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr("shipcard.check.engine.run_check", raiser(leaky_exception()))
    result = runner.invoke(cli, ["check", "services"], env=debug_environment(tmp_path))
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.startswith("ConnectionError: password=***\n"), result.stderr  # the cause comes first
    assert "\nTraceback (most recent call last):\n" in result.stderr
    assert "\nValueError: Invalid header value b'Bearer ***'; login pinbot:*** failed" in result.stderr
    assert result.stderr.endswith("\n" + internal_error_line("check", "ValueError"))
    assert_masked(result.stderr)


@pytest.mark.parametrize("value", ["", "0"])
def test_debug_off_is_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                               value: str) -> None:
    monkeypatch.setattr("shipcard.check.engine.run_check", raiser(leaky_exception()))
    result = runner.invoke(cli, ["check", "services"], env={**debug_environment(tmp_path), "SHIPCARD_DEBUG": value})
    assert (result.exit_code, result.output) == (3, internal_error_line("check", "ValueError"))


@pytest.mark.parametrize(("text", "masked"), [
    pytest.param("Authorization: Bearer abc.def-ghi", "Authorization: *** ***", id="authorization-header"),
    pytest.param("b'Bearer tok\\nen'", "b'Bearer ***'", id="bearer-with-an-escaped-newline"),
    pytest.param("Basic cGluYm90OnNlY3JldA==", "Basic ***", id="basic-credentials"),
    pytest.param('{"password": "s3cret", "user": "me"}', '{"password": "***", "user": "me"}', id="json-password"),
    pytest.param("identitytoken=abc&scope=x", "identitytoken=***&scope=x", id="form-token"),
    pytest.param("'registrytoken': 'xyz'", "'registrytoken': '***'", id="python-dict-token"),
    pytest.param("https://user:pw@host/v2/", "https://user:***@host/v2/", id="url-password"),
    pytest.param("KeyError: 'image'", "KeyError: 'image'", id="nothing-to-mask"),
    pytest.param("secrets: 3 found", "secrets: 3 found", id="a-word-that-only-starts-like-a-key"),
])
def test_mask_credentials_patterns(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_mask_credentials_known_values_in_every_form() -> None:
    assert mask_credentials("a 'tok\\n' and tok\n and pw1234", ["tok\n", "pw1234", "x"]) == "a '***' and *** and ***"


WRAPPER = """\
import sys
import shipcard.check.engine as engine

def fail(*args, **kwargs):
    raise LookupError("Authorization: Bearer {bearer} for pinbot:{docker}")

engine.run_check = fail
from shipcard.cli import main
sys.argv = ["shipcard", "check", "manifests"]
main()
"""


@pytest.mark.parametrize("debug", [pytest.param(False, id="plain"), pytest.param(True, id="debug")])
def test_a_real_process_with_a_failing_command(repo: Path, tmp_path: Path, debug: bool) -> None:
    """The installed interpreter, no CliRunner: exit status 3 and the same one line (traceback masked)."""
    code = WRAPPER.format(bearer=CANARY_BEARER, docker=CANARY_DOCKER)
    env = debug_environment(tmp_path) if debug else {}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, env=clean_environment(env), capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (3, ""), done.stderr
    if debug:
        assert done.stderr.startswith("Traceback (most recent call last):\n") and "LookupError: " in done.stderr
        assert done.stderr.endswith("\n" + internal_error_line("check", "LookupError"))
        assert_masked(done.stderr)
    else:
        assert done.stderr == internal_error_line("check", "LookupError")


# --------------------------------------------------------------------------- class 7: values never shown

SECRET = "canary-value-0e5b93"
REPORTS = ("--format", "text", "--format", "json=r.json", "--format", "sarif=r.sarif", "--format", "junit=r.xml",
           "--format", "github=r.github")


def secret_card(**changes: Any) -> dict[str, Any]:
    base = card(SMALL_CARD, secrets={"provider": "vault", "store": "vault", "env": {"API_TOKEN": "app/api#token"}})
    return card(base, **changes)


def with_secrets(**changes: Any) -> dict[str, Any]:
    return {"provider": "vault", "store": "vault", "env": {"API_TOKEN": "app/api#token"}, **changes}


CARD_VALUES = [  # (card changes, the field, the message after it)
    pytest.param({"env": {"DB_PASSWORD": f"{SECRET}\x07"}}, "env.DB_PASSWORD", "contains a control character",
                 id="env-bell"),
    pytest.param({"env": {"DB_PASSWORD": f"\x1b[31m{SECRET}"}}, "env.DB_PASSWORD", "contains a control character",
                 id="env-terminal-escape"),
    pytest.param({"env": {"DB_PASSWORD": f"{SECRET}\x00"}}, "env.DB_PASSWORD", "contains a control character",
                 id="env-nul"),
    pytest.param({"env": {"DB_PASSWORD": f"\x9b31m{SECRET}"}}, "env.DB_PASSWORD", "contains a control character",
                 id="env-c1-control-sequence-introducer"),
    pytest.param({"env": {"DB_PASSWORD": f"{SECRET}\ufffe"}}, "env.DB_PASSWORD",
                 "contains a Unicode noncharacter (U+FFFE or U+FFFF)", id="env-noncharacter"),
    pytest.param({"env": {"DB_PASSWORD": {"nested": SECRET}}}, "env.DB_PASSWORD",
                 "must be string or number or boolean, not a mapping", id="env-mapping"),
    pytest.param({"env": {"DB_PASSWORD": [SECRET, 1]}}, "env.DB_PASSWORD",
                 "must be string or number or boolean, not a list", id="env-list"),
    pytest.param({"env": {"DB_PASSWORD": float("inf")}}, "env.DB_PASSWORD", "is not a finite number (.inf or .nan)",
                 id="env-infinite"),
    pytest.param({"environments": {"dev": {"env": {"SIGNING_KEY": f"{SECRET}\x08"}}}},
                 "environments.dev.env.SIGNING_KEY", "contains a control character", id="environment-env-backspace"),
    pytest.param({"environments": {"dev": {"env": {"SIGNING_KEY": {"k": SECRET}}}}},
                 "environments.dev.env.SIGNING_KEY", "must be string or number or boolean, not a mapping",
                 id="environment-env-mapping"),
    pytest.param({"secrets": with_secrets(env={"API_TOKEN": f"{SECRET}\x01"})}, "secrets.env.API_TOKEN",
                 "contains a control character", id="secrets-env-control"),
    pytest.param({"secrets": with_secrets(env={"API_TOKEN": {"k": SECRET}})}, "secrets.env.API_TOKEN",
                 "missing required field 'key'", id="secrets-env-mapping"),  # {key, provider, store} (issue 17)
    pytest.param({"secrets": with_secrets(env={"API_TOKEN": [SECRET]})}, "secrets.env.API_TOKEN",
                 "must be string or object, not a list", id="secrets-env-list"),
    pytest.param({"secrets": with_secrets(env={"API_TOKEN": f"#{SECRET}"})}, "secrets.env.API_TOKEN",
                 "has an empty remote key: write remote-key[#property]", id="secrets-env-no-key"),
    pytest.param({"secrets": with_secrets(env={"API_TOKEN": f"{SECRET}#"})}, "secrets.env.API_TOKEN",
                 "has an empty property after '#': write remote-key[#property]", id="secrets-env-no-property"),
    pytest.param({"secrets": with_secrets(refresh=SECRET)}, "secrets.refresh",
                 "it is not a duration such as 30s, 15m, 1h or 1h30m", id="secrets-refresh"),
    pytest.param({"secrets": with_secrets(store=f"Bad_{SECRET}")}, "secrets.store", "has an invalid format",
                 id="secrets-store"),
    pytest.param({"secrets": with_secrets(store=SECRET * 20)}, "secrets.store", "must be at most 253 characters long",
                 id="secrets-store-too-long"),
    pytest.param({"secrets": with_secrets(env=[SECRET])}, "secrets.env", "must be object, not a list",
                 id="secrets-env-a-list"),
    pytest.param({"secrets": with_secrets(provider=SECRET)}, "secrets.provider",
                 "must be one of aws-secrets-manager, aws-parameter-store, vault, none", id="secrets-provider"),
]


def cli_run(args: list[str]) -> Run:
    result = CliRunner().invoke(cli, args)
    return Run(result.exit_code, result.stdout, result.stderr)


def reports(root: Path) -> str:
    return "".join((root / name).read_text() for name in ("r.json", "r.sarif", "r.xml", "r.github")
                   if (root / name).exists())


@pytest.mark.parametrize(("changes", "field", "message"), CARD_VALUES)
def test_a_card_value_is_never_shown_in_an_error(runner: CliRunner, changes: dict[str, Any], field: str,
                                                 message: str) -> None:
    (Path("services") / "small.service.yaml").write_text(dump_card(secret_card(**changes)))
    render = cli_run(["render", "--out", "."])
    assert render.code == 2 and render.stdout == "", render.output
    line = render.stderr.splitlines()[0]
    assert line.startswith("shipcard: ") and line.endswith(f"small.service.yaml:{line.split(':')[2]}:"
                                                           f"{line.split(':')[3]}: {field}: {message}"), line
    assert ONE_LOCATED_LINE.match(line), line
    check = cli_run(["check", "services", *REPORTS])
    assert check.code == 1 and f"{field}: {message}" in check.stdout, check.output
    pin = cli_run(["pin", "--check"])
    for run, where in ((render, "render"), (check, "check"), (pin, "pin --check")):
        assert "Traceback" not in run.output and SECRET not in run.output, f"{where}: {run.output}"
    assert SECRET not in reports(Path.cwd())


def test_an_oversized_env_value_is_never_echoed(runner: CliRunner) -> None:
    (Path("services") / "small.service.yaml").write_text(dump_card(secret_card(env={"BLOB": SECRET * 80_000})))
    for args in (["render", "--out", "."], ["check", "services", *REPORTS], ["pin", "--check"]):
        run = cli_run(args)
        assert run.code in (0, 1, 2) and "Traceback" not in run.output, run.output
        assert SECRET not in run.output, args
    assert SECRET not in reports(Path.cwd())


VAULT_CRD = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: vaultsecrets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {{kind: VaultSecret, plural: vaultsecrets, singular: vaultsecret, listKind: VaultSecretList}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            stringData:
              type: object
              additionalProperties: {{type: string, pattern: {json.dumps(DNS_LABEL)}, maxLength: 30}}
            spec:
              type: object
              properties:
                adminPassword: {{type: string, pattern: {json.dumps(DNS_LABEL)}}}
                accessToken: {{type: integer}}
"""

MANIFEST_VALUES = [
    pytest.param(f"kind: Secret\nmetadata: {{name: s}}\ndata:\n  password: '{SECRET}!!not*base64'\n",
                 id="secret-data-invalid-base64"),
    pytest.param(f"kind: Secret\nmetadata: {{name: s}}\ndata:\n  password: {{nested: {SECRET}}}\n",
                 id="secret-data-a-mapping"),
    pytest.param(f"kind: Secret\nmetadata: {{name: s}}\nstringData:\n  token: [{SECRET}]\n",
                 id="secret-stringdata-a-list"),
    pytest.param("kind: Secret\nmetadata: {name: s}\nstringData:\n  token: 424242\n", id="secret-stringdata-a-number"),
    pytest.param(f'kind: Secret\nmetadata: {{name: s}}\nstringData:\n  token: "{SECRET}\\a"\n',
                 id="secret-stringdata-control-character"),
    pytest.param(f"kind: Secret\nmetadata: {{name: s}}\nstringData:\n  {SECRET}: x\ntype: {{t: {SECRET}}}\n",
                 id="secret-type-a-mapping"),
    pytest.param(f"kind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  password: {{k: {SECRET}}}\n",
                 id="configmap-data-a-mapping"),
    pytest.param("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: nginx:1\n"
                 f"      env:\n        - name: DB_PASSWORD\n          value: {{k: {SECRET}}}\n"
                 f"        - name: API_TOKEN\n          value: {SECRET}\n", id="pod-env-values"),
    pytest.param(f"apiVersion: example.com/v1\nkind: VaultSecret\nmetadata: {{name: v}}\nstringData:\n"
                 f"  token: Bad_{SECRET}\n  other: {SECRET}{SECRET}\n", id="crd-stringdata-pattern-and-length"),
    pytest.param(f"apiVersion: example.com/v1\nkind: VaultSecret\nmetadata: {{name: v}}\nspec:\n"
                 f"  adminPassword: Bad_{SECRET}\n  accessToken: {SECRET}\n", id="crd-password-and-token-fields"),
]


@pytest.mark.parametrize("manifest", MANIFEST_VALUES)
def test_a_manifest_secret_value_is_never_shown_in_a_finding(runner: CliRunner, manifest: str) -> None:
    Path("crds").mkdir()
    Path("crds", "vault.yaml").write_text(VAULT_CRD)
    Path("m.yaml").write_text(("" if manifest.startswith("apiVersion") else "apiVersion: v1\n") + manifest)
    run = cli_run(["check", "m.yaml", "--crd-dir", "crds", "--verbose", *REPORTS])
    assert run.code == 1 and "Traceback" not in run.output, run.output
    assert SECRET not in run.output + reports(Path.cwd()), run.output
    assert base64.b64encode(SECRET.encode()).decode() not in run.output + reports(Path.cwd())


@pytest.mark.parametrize("tag", ["!!int", "!!float", "!!bool", "!!timestamp"])
def test_a_value_that_does_not_fit_its_tag_is_one_located_line_without_the_value(runner: CliRunner,
                                                                                  tag: str) -> None:
    text = dump_card(secret_card()).replace("image:", f"env:\n  DB_PASSWORD: {tag} {SECRET}\nimage:", 1)
    line = text.splitlines().index(f"  DB_PASSWORD: {tag} {SECRET}") + 1
    (Path("services") / "small.service.yaml").write_text(text)
    for args in (["render", "--out", "."], ["pin", "--check"]):
        run = cli_run(args)
        assert (run.code, run.stdout) == (2, ""), run.output
        assert run.stderr.endswith(f"small.service.yaml:{line}:16: the value is not a valid {tag}\n"), run.stderr
        assert ONE_LOCATED_LINE.match(run.stderr.rstrip("\n")), run.stderr
    Path("m.yaml").write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  port: !!int 5\n"
                              f"  token: {tag} {SECRET}\n")
    check = cli_run(["check", "m.yaml", "services", *REPORTS])
    assert check.code == 1 and f"m.yaml:7:10: error   yaml-invalid: the value is not a valid {tag}" in check.stdout
    assert f"small.service.yaml:{line}:16: error   card-invalid: the value is not a valid {tag}" in check.stdout, \
        check.stdout
    assert SECRET not in check.output + reports(Path.cwd())


@pytest.mark.kubectl
@pytest.mark.parametrize(("generator", "files"), [
    pytest.param(f'secretGenerator:\n- name: s\n  literals: ["user=app", "{SECRET}"]\n', {}, id="literal-without-equals"),
    pytest.param(f'secretGenerator:\n- name: s\n  literals: ["={SECRET}"]\n', {}, id="literal-without-a-key"),
    pytest.param("configMapGenerator:\n- name: s\n  envs: [x.env]\n", {"x.env": f"A={SECRET}\xff\n".encode("latin-1")},
                 id="env-file-line-not-utf8"),
])
def test_a_kustomize_generator_value_is_never_shown(runner: CliRunner, generator: str,
                                                    files: dict[str, bytes]) -> None:
    Path("kust").mkdir()
    Path("kust", "kustomization.yaml").write_text(generator)
    for name, data in files.items():
        Path("kust", name).write_bytes(data)
    run = cli_run(["check", "kust", *REPORTS])
    assert run.code == 1 and "render-failed: `kubectl kustomize kust` failed:" in run.stdout, run.output
    assert "(not shown)" in run.stdout
    assert SECRET not in run.output + reports(Path.cwd())


POLICY = """\
id: org-settings-labelled
severity: warning
category: Organisation
title: ConfigMaps carry a team label
rationale: Owners must be found.
fix: Add metadata.labels.team.
kinds: [ConfigMap]
target: object
schema:
  type: object
  required: [metadata]
  properties:
    metadata: {type: object, required: [labels], properties: {labels: {type: object, required: [team]}}}
message: ConfigMap has no team label
examples:
  pass:
    - |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: a, labels: {team: x}}
  fail:
    - |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: a}
"""


@pytest.mark.parametrize(("target", "message"), [
    pytest.param("policies/org-settings-labelled.yaml", "names a file this check read", id="a-policy-file"),
    pytest.param("policies/report.json", "is inside {root}/policies, a directory of CRDs or policies this check "
                 "reads", id="a-new-file-in-the-policy-directory"),
    pytest.param("crds/report.json", "is inside {root}/crds, a directory of CRDs or policies this check reads",
                 id="a-new-file-in-the-crd-directory"),
])
def test_a_policy_or_crd_directory_is_never_written(repo: Path, target: str, message: str) -> None:
    (repo / "policies").mkdir()
    (repo / "policies" / "org-settings-labelled.yaml").write_text(POLICY)
    (repo / "crds").mkdir()
    before = nodes(repo)
    run = shipcard("check", "manifests", "--policy-dir", "policies", "--crd-dir", "crds",
                   "--format", f"json={target}", cwd=repo)
    assert (run.code, run.stdout) == (2, ""), run.output
    assert run.stderr == f"shipcard: {target}: --format json=FILE {message.format(root=repo.resolve())}; write the " \
                         "report elsewhere\n"
    assert nodes(repo) == before


def test_the_debug_traceback_masks_the_cards_env_and_secrets_values(runner: CliRunner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception quoting a card's value (`int('...')` of an env value, say) shows `***` instead."""
    values = {"env": f"env-{SECRET}", "environment": f"envdev-{SECRET}", "reference": f"ref-{SECRET}/x#y"}
    (Path("services") / "small.service.yaml").write_text(dump_card(card(
        SMALL_CARD, env={"DB_PASSWORD": values["env"]}, environments={"dev": {"env": {"KEY": values["environment"]}}},
        secrets={"provider": "vault", "store": "vault", "env": {"API_TOKEN": values["reference"]}})))
    monkeypatch.setattr("shipcard.lifecycle.rendering.plan_repository",
                        raiser(ValueError(f"invalid literal for int(): {values!r}")))
    result = runner.invoke(cli, ["render"], env={"SHIPCARD_DEBUG": "1"})
    assert result.exit_code == 3 and "Traceback (most recent call last):" in result.stderr
    assert "ValueError: invalid literal for int(): {'env': '***', 'environment': '***', 'reference': '***'}" \
        in result.stderr, result.stderr
    assert SECRET not in result.output
