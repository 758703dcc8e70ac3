"""Faults (issue 7): `render` and `pin` interrupted by SIGINT or SIGKILL at random points, a full
disk, registry faults beyond tests/pin, and two renders at once. Afterwards the previous tree and
cards are intact or completely new (a run killed after its commit point leaves a transaction that
the next run completes), never a mix, no temporary file is left, and a re-run completes.

The interrupted commands are the installed `shipcard` script in a subprocess; the registry is the
real docker-registry behind the fault-injecting loopback proxy of tests/pin.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardhelpers import (
    SHIPCARD,
    SMALL_CARD,
    card,
    clean_environment,
    diff_keys,
    dump_card,
    shipcard,
    snapshot,
    start_shipcard,
    stop,
    temporary_files,
    write_repo,
)
from pinhelpers import ProxyHandler, Registry

from shipcard.transaction import JOURNAL_DIR, PAUSE_AT_ENV, PAUSE_FILE_ENV, PLAN_FILE, STATE_DIR

CARDS = 50
SEEDS = (1, 2, 3)


# --------------------------------------------------------------------------- a repository of 50 cards


def cards_version(version: int) -> dict[str, str]:
    """Version 1 and 2 of 50 cards: v2 changes every card, drops an environment from half of them
    and adds one to the other half, so a render adds, modifies and deletes files."""
    cards = {}
    for number in range(CARDS):
        name = f"svc-{number:02d}"
        environments: dict[str, Any] = {"dev": {}, "prod": {"replicas": 3}}
        if version == 2:
            environments = {"dev": {"replicas": 1}, "qa": {}} if number % 2 else {"dev": {}}
        data = card(SMALL_CARD, name=name, replicas=2 + version, environments=environments,
                    env={"VERSION": f"v{version}"}, gitops={"repoURL": "https://git.example.com/gitops.git",
                                                         "format": "helmfile" if number % 10 == 9 else "kustomize"})
        cards[f"{name}.service.yaml"] = dump_card(data)
    return cards


def copy_repo(source: Path, target: Path) -> None:
    """A copy of a repository without its state directory (lock, transactions)."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(".shipcard"))


def tree_of(files: dict[str, bytes]) -> dict[str, bytes]:
    """The generated part of a snapshot (cards left out)."""
    return {k: v for k, v in files.items() if not k.startswith("services/")}


def pending_transaction(repo: Path) -> bool:
    """A transaction a killed run committed but did not finish (the next run completes it)."""
    return any(path.is_dir() for path in repo.glob(".shipcard*/**/txn"))


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The repository rendered from v1 (`before`), the tree v2 renders over it (`after`), and how long that takes."""
    base = tmp_path_factory.mktemp("faults")
    before = write_repo(base / "before", cards_version(1))
    (before / "apps").mkdir()
    (before / "apps" / "README.md").write_text("owned by people, never touched by shipcard\n")
    run = shipcard("render", "--out", ".", cwd=before)
    assert run.code == 0, run.output
    after = base / "after"
    shutil.copytree(before, after, symlinks=True)
    write_repo(after, cards_version(2))
    started = time.monotonic()
    run = shipcard("render", "--out", ".", cwd=after)
    duration = time.monotonic() - started
    assert run.code == 0, run.output
    before_tree, after_tree = tree_of(snapshot(before)), tree_of(snapshot(after))
    assert before_tree != after_tree and len(diff_keys(before_tree, after_tree)) > 100
    return {"before": before, "before_tree": before_tree, "after_tree": after_tree, "duration": duration}


def assert_old_or_new(repo: Path, old: dict[str, bytes], new: dict[str, bytes], pending: bool) -> str:
    """Every file is its old or its new version; the whole tree is old or new unless a committed
    transaction is pending. Returns which it is."""
    now = tree_of(snapshot(repo))
    torn = [k for k in now.keys() | old.keys() | new.keys() if now.get(k) not in (old.get(k), new.get(k))]
    assert torn == [], f"files neither old nor new: {torn[:5]}"
    assert temporary_files(repo) == [] or pending
    if now == old:
        return "old"
    if now == new:
        return "new"
    assert pending, f"a mixed tree without a pending transaction: {diff_keys(now, old)[:3]} / {diff_keys(now, new)[:3]}"
    return "pending"


def changed_repo(trees: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the rendered first version whose cards are already the second version."""
    repo = tmp_path / "repo"
    copy_repo(trees["before"], repo)
    write_repo(repo, cards_version(2))
    return repo


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_render_interrupted_at_a_random_point_leaves_old_or_new_and_reruns(trees: dict[str, Any], tmp_path: Path,
                                                                            sig: int, seed: int) -> None:
    repo = changed_repo(trees, tmp_path)
    delay = random.Random(seed * 100 + sig).uniform(0.05, max(0.1, trees["duration"]))
    process = start_shipcard("render", "--out", ".", cwd=repo)
    time.sleep(delay)
    stop(process, sig)  # (a SIGINT while Python still imports ends in a KeyboardInterrupt traceback)
    state = assert_old_or_new(repo, trees["before_tree"], trees["after_tree"], pending_transaction(repo))
    rerun = shipcard("render", "--out", ".", cwd=repo)
    assert rerun.code == 0, f"after {state}: {rerun.output}"
    assert tree_of(snapshot(repo)) == trees["after_tree"]
    assert temporary_files(repo) == []


@pytest.mark.parametrize("point", ["staging", "committed"])
def test_render_killed_while_its_workers_stage_or_after_its_commit_point_reruns_to_the_new_tree(
        trees: dict[str, Any], tmp_path: Path, point: str) -> None:
    """Render's worker processes write the staged files. Killed while a worker is half-way through a
    service (it has written one file of it), the run leaves the old tree and a journal without a plan,
    which the next run drops; killed at its commit point, a plan naming the files the workers staged,
    which the next run completes. Either way the re-run ends at exactly the new tree."""
    repo = changed_repo(trees, tmp_path)
    marker = tmp_path / "reached"
    process = start_shipcard("render", "--out", ".", "--jobs", "2", cwd=repo,
                             env={PAUSE_AT_ENV: point, PAUSE_FILE_ENV: str(marker)})
    deadline = time.monotonic() + 120
    while not marker.exists() or not marker.read_text().endswith("\n"):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    paused = int(marker.read_text().split()[1])
    journal = repo / STATE_DIR / JOURNAL_DIR
    staged = sorted(name for name in os.listdir(journal) if name != PLAN_FILE)
    if point == "staging":
        assert paused != process.pid and parent_of(paused) == process.pid  # a worker stopped, mid-service
    else:
        assert paused == process.pid
    stop(process, signal.SIGKILL)
    assert wait_gone(paused)  # the workers die with the run (they hold its lock)
    by_workers = [name for name in staged if re.fullmatch(r"\d{6}-\d{6}", name)]  # <service>-<file>
    assert tree_of(snapshot(repo)) == trees["before_tree"]  # nothing moved yet
    if point == "staging":
        assert not (journal / PLAN_FILE).exists()
        assert by_workers == staged and 0 < len(staged) <= 2, staged  # each worker stopped at its first file
    else:
        plan = json.loads((journal / PLAN_FILE).read_text())
        assert {name for _, name, _ in plan["writes"]} == set(staged)
        assert len(by_workers) >= len(staged) - 1 > 200, staged  # the run stages only shared files itself
    rerun = shipcard("render", "--out", ".", cwd=repo)
    assert rerun.code == 0, rerun.output
    assert tree_of(snapshot(repo)) == trees["after_tree"]
    assert not journal.exists() and temporary_files(repo) == []


def parent_of(pid: int) -> int:
    """The parent process of `pid` (Linux: /proc/PID/stat, after the parenthesised command name)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not Path(f"/proc/{pid}").exists()


def test_sigint_ends_render_with_one_line_and_exit_130_or_completes(trees: dict[str, Any], tmp_path: Path) -> None:
    repo = changed_repo(trees, tmp_path)
    process = subprocess.Popen([str(SHIPCARD), "render", "--out", "."], cwd=repo, env=clean_environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 10  # past start-up: the run holds the tree's lock
    while not (repo / ".shipcard").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert process.returncode in (0, 130), (process.returncode, stderr)
    if process.returncode == 130:
        assert stderr.strip() == "shipcard: interrupted"


# --------------------------------------------------------------------------- two renders at once


def test_two_renders_at_once_never_mix_their_trees(trees: dict[str, Any], tmp_path: Path) -> None:
    """One renders every card as Kustomize, the other as helmfile: the result is one of them, whole."""
    expected = {}
    for first, second in (("kustomize", "helmfile"), ("helmfile", "kustomize")):
        repo = tmp_path / f"sequential-{first}"
        copy_repo(trees["before"], repo)
        for fmt in (first, second):
            assert shipcard("render", "--out", ".", "--format", fmt, cwd=repo).code == 0
        expected[second] = tree_of(snapshot(repo))
    for attempt in range(3):
        repo = tmp_path / f"together-{attempt}"
        copy_repo(trees["before"], repo)
        processes = [start_shipcard("render", "--out", ".", "--format", fmt, cwd=repo)
                     for fmt in ("kustomize", "helmfile")]
        results = [p.communicate(timeout=300) + (p.returncode,) for p in processes]
        for _stdout, stderr, code in results:  # the second waits for the first, or gives up naming it
            assert "Traceback" not in stderr
            assert code == 0 or (code == 2 and re.fullmatch(
                r"shipcard: .+: another shipcard run is writing this repository \(pid \d+, shipcard render, since "
                r"\d\d:\d\d:\d\d UTC\); waited 10 s, try again when it has finished\n", stderr)), stderr
        assert [code for _, _, code in results].count(0) >= 1
        now = tree_of(snapshot(repo))
        assert now in (expected["kustomize"], expected["helmfile"]), "two renders mixed their trees"
        assert temporary_files(repo) == []


# --------------------------------------------------------------------------- a full disk


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_limited(args: list[str], cwd: Path, limit: int,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SHIPCARD), *args], cwd=cwd, env=clean_environment(env), capture_output=True, text=True,
                          timeout=300, preexec_fn=file_size_limit(limit))


def test_render_on_a_full_disk_fails_clearly_and_changes_nothing(trees: dict[str, Any], tmp_path: Path) -> None:
    repo = changed_repo(trees, tmp_path)
    done = run_limited(["render", "--out", "."], repo, 1500)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1 and "File too large" in done.stderr
    assert tree_of(snapshot(repo)) == trees["before_tree"]
    assert temporary_files(repo) == []


def test_render_on_a_full_disk_leaves_old_or_new_and_reruns(trees: dict[str, Any], tmp_path: Path) -> None:
    """Whatever the message, a failed write never leaves a torn tree, and the next run completes."""
    repo = changed_repo(trees, tmp_path)
    done = run_limited(["render", "--out", "."], repo, 1500)
    assert done.returncode != 0
    assert_old_or_new(repo, trees["before_tree"], trees["after_tree"], pending_transaction(repo))
    assert shipcard("render", "--out", ".", cwd=repo).code == 0
    assert tree_of(snapshot(repo)) == trees["after_tree"]


def test_check_report_on_a_full_disk_fails_clearly(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(SMALL_CARD)})
    (repo / "report.json").write_text("{}\n")
    done = run_limited(["check", "services", "--format", "json=report.json"], repo, 200)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shipcard: cannot write") and "File too large" in lines[0], lines
    assert (repo / "report.json").read_text() == "{}\n"
    assert temporary_files(repo) == []


# --------------------------------------------------------------------------- pin: interrupted, full disk


@pytest.fixture(scope="module")
def pushed(registry: Registry) -> dict[str, str]:
    """50 tags of one repository in the real registry: tag -> digest."""
    return {f"1.{n}": registry.push_image("faults/app", f"1.{n}", marker=f"faults-{n}") for n in range(CARDS)}


def cards_in(repo: Path) -> dict[str, bytes]:
    """The cards themselves (a pin's staged temporary files left out)."""
    return {k: v for k, v in snapshot(repo / "services").items() if not k.startswith(".")}


def pin_cards(host: str) -> dict[str, str]:
    return {f"svc-{n:02d}.service.yaml": dump_card(card(SMALL_CARD, name=f"svc-{n:02d}",
                                                        image=f"{host}/faults/app:1.{n}"))
            for n in range(CARDS)}


def slow_proxy(make_proxy: Callable[[str], Any], registry: Registry, delay: float) -> Any:
    proxy = make_proxy(registry.host)

    def slow(handler: ProxyHandler) -> bool:
        time.sleep(delay)
        return False

    proxy.intercept = slow
    return proxy


@pytest.mark.registry
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_pin_interrupted_at_a_random_point_leaves_all_or_none_and_reruns(registry: Registry, pushed: dict[str, str],
                                                                         make_proxy: Callable[[str], Any],
                                                                         tmp_path: Path, docker_config: Path,
                                                                         sig: int, seed: int) -> None:
    proxy = slow_proxy(make_proxy, registry, 0.01)
    repo = write_repo(tmp_path / "repo", pin_cards(proxy.host))
    old = cards_in(repo)
    env = {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path)}
    started = time.monotonic()
    full = shipcard("pin", cwd=write_repo(tmp_path / "probe", pin_cards(proxy.host)), env=env)
    duration = time.monotonic() - started
    assert full.code == 0, full.output
    new = cards_in(tmp_path / "probe")
    assert all(b"@sha256:" in text for text in new.values())

    process = start_shipcard("pin", cwd=repo, env=env)
    time.sleep(random.Random(seed * 7 + sig).uniform(0.05, max(0.1, duration)))
    stop(process, sig)
    now = cards_in(repo)
    torn = [k for k in now if now[k] not in (old.get(k), new.get(k))]
    assert torn == [] and set(now) == set(old), torn
    if now not in (old, new):
        assert (repo / ".shipcard" / "txn" / "plan.json").is_file(), "cards mixed without a committed journal"
        check = shipcard("pin", "--check", cwd=repo, env=env)
        assert check.code == 2 and "interrupted" in check.stderr
    rerun = shipcard("pin", cwd=repo, env=env)
    assert rerun.code == 0, rerun.output
    assert cards_in(repo) == new
    assert not (repo / ".shipcard" / "txn").exists()
    assert temporary_files(repo) == []


@pytest.mark.registry
def test_pin_killed_after_its_commit_point_is_completed_by_the_next_run(registry: Registry, pushed: dict[str, str],
                                                                        tmp_path: Path, docker_config: Path) -> None:
    """Kill pin exactly at its commit point (stopped by the transaction's test hook), then re-run."""
    repo = write_repo(tmp_path / "repo", pin_cards(registry.host))
    marker = tmp_path / "reached"
    env = {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path), PAUSE_AT_ENV: "committed",
           PAUSE_FILE_ENV: str(marker)}
    process = start_shipcard("pin", cwd=repo, env=env)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop(process, signal.SIGKILL)
    assert (repo / ".shipcard" / "txn" / "plan.json").is_file()
    assert all(b"@sha256:" not in text for text in cards_in(repo).values())
    env = {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path)}
    rerun = shipcard("pin", cwd=repo, env=env)
    assert rerun.code == 0, rerun.output
    assert all(f"@{pushed[f'1.{n}']}".encode() in cards_in(repo)[f"svc-{n:02d}.service.yaml"]
               for n in range(CARDS))


@pytest.mark.registry
def test_pin_on_a_full_disk_fails_clearly_and_changes_no_card(registry: Registry, pushed: dict[str, str],
                                                              tmp_path: Path, docker_config: Path) -> None:
    repo = write_repo(tmp_path / "repo", pin_cards(registry.host))
    old = snapshot(repo)
    done = run_limited(["pin"], repo, 150, {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("shipcard: cannot write") and "File too large" in lines[0]
    assert "no card was changed" in lines[0]
    assert {k: v for k, v in snapshot(repo).items() if not k.startswith(".shipcard")} == old
    assert temporary_files(repo) == []


# --------------------------------------------------------------------------- registry faults beyond tests/pin


def one_card(directory: Path, image: str) -> tuple[Path, str]:
    text = dump_card(card(SMALL_CARD, image=image))
    path = write_repo(directory, {"small.service.yaml": text}) / "services" / "small.service.yaml"
    return path, text


def without_head_digest(method: str, path: str, status: int, headers: dict[str, str], body: bytes):
    """Drop Docker-Content-Digest from HEAD answers, so pin fetches the manifest with GET."""
    if method == "HEAD":
        headers = {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}
    return status, headers, body


def reset_mid_body(times: int) -> Callable[[ProxyHandler], bool]:
    """Answer the first `times` manifest GETs with headers and part of the body, then a TCP reset."""
    left = [times]

    def intercept(handler: ProxyHandler) -> bool:
        if handler.command != "GET" or "/manifests/" not in handler.path or left[0] <= 0:
            return False
        left[0] -= 1
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        handler.send_header("Content-Length", "4000")
        handler.end_headers()
        handler.wfile.write(b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.')
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        handler.connection.close()
        handler.close_connection = True
        return True

    return intercept


@pytest.mark.registry
def test_connection_reset_mid_body_is_retried(registry: Registry, make_proxy: Callable[[str], Any],
                                              tmp_path: Path, docker_config: Path) -> None:
    digest = registry.push_image("faults/reset", "1.0")
    proxy = make_proxy(registry.host)
    proxy.rewrite = without_head_digest
    proxy.intercept = reset_mid_body(1)
    path, text = one_card(tmp_path / "repo", f"{proxy.host}/faults/reset:1.0")
    run = shipcard("pin", str(path), cwd=tmp_path, env={"DOCKER_CONFIG": str(docker_config)})
    assert run.code == 0, run.output
    assert path.read_text() == text.replace(":1.0\n", f":1.0@{digest}\n")


@pytest.mark.registry
def test_connection_reset_mid_body_every_time_fails_clearly(registry: Registry, make_proxy: Callable[[str], Any],
                                                            tmp_path: Path, docker_config: Path) -> None:
    registry.push_image("faults/reset", "1.0")
    proxy = make_proxy(registry.host)
    proxy.rewrite = without_head_digest
    proxy.intercept = reset_mid_body(100)
    path, text = one_card(tmp_path / "repo", f"{proxy.host}/faults/reset:1.0")
    run = shipcard("pin", "--retries", "1", str(path), cwd=tmp_path, env={"DOCKER_CONFIG": str(docker_config)})
    assert run.code == 2 and "Traceback" not in run.output
    assert f"unreachable: {proxy.host} dropped the connection" in run.stderr
    assert path.read_text() == text


@pytest.mark.registry
def test_a_malformed_digest_header_is_not_trusted(registry: Registry, make_proxy: Callable[[str], Any],
                                                  tmp_path: Path, docker_config: Path) -> None:
    digest = registry.push_image("faults/garbled", "1.0")
    proxy = make_proxy(registry.host)

    def garble(method: str, path: str, status: int, headers: dict[str, str], body: bytes):
        headers = {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}
        if method == "HEAD":
            headers["Docker-Content-Digest"] = "sha256:../../etc/passwd"
        return status, headers, body

    proxy.rewrite = garble
    path, text = one_card(tmp_path / "repo", f"{proxy.host}/faults/garbled:1.0")
    run = shipcard("pin", str(path), cwd=tmp_path, env={"DOCKER_CONFIG": str(docker_config)})
    assert run.code == 0, run.output
    assert path.read_text() == text.replace(":1.0\n", f":1.0@{digest}\n")
    assert proxy.count("GET") == 1


@pytest.mark.registry
def test_a_registry_trickling_its_answer_is_cut_by_the_timeout(registry: Registry, make_proxy: Callable[[str], Any],
                                                               tmp_path: Path, docker_config: Path) -> None:
    """Headers at once, then a byte every 0.2 s: each read is quick, the answer never ends in time."""
    registry.push_image("faults/trickle", "1.0")
    proxy = make_proxy(registry.host)
    proxy.rewrite = without_head_digest

    def trickle(handler: ProxyHandler) -> bool:
        if handler.command != "GET" or "/manifests/" not in handler.path:
            return False
        body = b"{" + b" " * 2000 + b"}"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass
        return True

    proxy.intercept = trickle
    path, text = one_card(tmp_path / "repo", f"{proxy.host}/faults/trickle:1.0")
    started = time.monotonic()
    run = shipcard("pin", "--timeout", "1", "--retries", "0", str(path), cwd=tmp_path,
                   env={"DOCKER_CONFIG": str(docker_config)}, timeout=120)
    assert time.monotonic() - started < 15
    assert run.code == 2 and "Traceback" not in run.output
    assert "timed out" in run.stderr
    assert path.read_text() == text


@pytest.mark.registry
def test_a_bearer_token_does_not_follow_a_redirect_to_another_host(registry: Registry,
                                                                   make_proxy: Callable[[str], Any],
                                                                   tmp_path: Path, docker_config: Path) -> None:
    """tests/pin covers basic credentials; a registry token (from $SHIPCARD_REGISTRY_AUTH) must not follow either."""
    registry.push_image("faults/redirect", "1.0")
    elsewhere = make_proxy(registry.host)
    other_host = elsewhere.host.replace("127.0.0.1", "localhost")
    front = make_proxy(registry.host)
    token = "registry-token-canary-3f9d"

    def challenge_then_redirect(handler: ProxyHandler) -> bool:
        if "Authorization" not in handler.headers:
            handler.answer(401, {"WWW-Authenticate": f'Bearer realm="http://{front.host}/token",service="x"'})
        else:
            handler.answer(307, {"Location": f"http://{other_host}{handler.path}"})
        return True

    front.intercept = challenge_then_redirect
    path, text = one_card(tmp_path / "repo", f"{front.host}/faults/redirect:1.0")
    import json

    run = shipcard("pin", str(path), cwd=tmp_path, env={
        "DOCKER_CONFIG": str(docker_config),
        "SHIPCARD_REGISTRY_AUTH": json.dumps({front.host: {"registrytoken": token}})})
    assert any(s.headers.get("Authorization") == f"Bearer {token}" for s in front.seen)
    assert elsewhere.seen, "the redirect was followed"
    assert all("Authorization" not in s.headers for s in elsewhere.seen)
    assert token not in run.output
    assert run.code in (0, 2) and "Traceback" not in run.output
