"""Issue 12, item 2: `pin`, `upgrade` and `render` share one lock and one journal.

Real processes, the real registry (tests/pin's loopback docker-registry):

* `pin` and `upgrade` started together on 300 cards, one of them stopped (SIGSTOP) while it holds
  the lock: afterwards every digest `pin` reported is in the cards, and the cards are migrated;
  or one of the two refused with one line and exit 2.
* `pin` killed at each point of its transaction, then `render`: the cards, and the tree rendered
  from them, are all pinned or none is.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from hardhelpers import SMALL_CARD, card, dump_card, shipcard, snapshot, start_shipcard, stop, write_repo
from pinhelpers import Registry

from shipcard.transaction import PAUSE_AT_ENV, PAUSE_FILE_ENV, STATE_DIR

TAGS = 30
REPORTED = re.compile(r"^\S*/(svc-\d+\.service\.yaml):\d+:\d+: image: (\S+) -> (sha256:[0-9a-f]{64})$")
BUSY = re.compile(r"^shipcard: .+: another shipcard run is writing this repository \(pid \d+, shipcard (pin|upgrade), "
                  r"since \d\d:\d\d:\d\d UTC\); waited 10 s, try again when it has finished$")


@pytest.fixture(scope="module")
def tags(registry: Registry) -> dict[str, str]:
    """TAGS tags of one repository in the real registry: tag -> digest."""
    return {f"1.{n}": registry.push_image("together/app", f"1.{n}", marker=f"together-{n}") for n in range(TAGS)}


def old_format_cards(host: str, count: int) -> dict[str, str]:
    """Cards in the older format (`upgrade` migrates them), with tag-only images (`pin` pins them)."""
    cards = {}
    for n in range(count):
        text = dump_card(card(SMALL_CARD, name=f"svc-{n:03d}", image=f"{host}/together/app:1.{n % TAGS}"))
        text = text.replace("apiVersion: shipcard/v1\n", "apiVersion: shipcard/v1alpha1\n")
        cards[f"svc-{n:03d}.service.yaml"] = text.replace("\nport:", "\ncontainerPort:")
    return cards


def wait_for_lock_of(process, repo: Path, timeout: float = 60) -> None:
    """Until `process` holds the repository's lock (its pid is written in the lock file)."""
    lock = repo / STATE_DIR / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if lock.read_text().startswith(f"pid {process.pid}, "):
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError("the process never took the lock")


@pytest.mark.registry
@pytest.mark.slow
@pytest.mark.parametrize("stopped", ["upgrade", "pin"])
def test_pin_and_upgrade_together_lose_no_digest(registry: Registry, tags: dict[str, str], tmp_path: Path,
                                                 docker_config: Path, stopped: str) -> None:
    repo = write_repo(tmp_path / "repo", old_format_cards(registry.host, 300))
    env = {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path)}
    commands = {"pin": ("pin",), "upgrade": ("upgrade", "--jobs", "2")}
    other = "pin" if stopped == "upgrade" else "upgrade"
    first = start_shipcard(*commands[stopped], cwd=repo, env=env)
    wait_for_lock_of(first, repo)
    first.send_signal(signal.SIGSTOP)  # stopped while it holds the lock, between reading and writing
    second = start_shipcard(*commands[other], cwd=repo, env=env)
    time.sleep(2)
    assert second.poll() is None  # waiting for the lock, not writing from what the first has not written yet
    first.send_signal(signal.SIGCONT)
    outputs = {stopped: stop_when_done(first), other: stop_when_done(second)}
    codes = {name: code for name, (code, _, _) in outputs.items()}
    refused = [name for name, (code, _, stderr) in outputs.items() if code == 2]
    for name in refused:  # only by waiting too long for the lock, in one line
        assert BUSY.match(outputs[name][2].strip()) and len(outputs[name][2].splitlines()) == 1, outputs[name]
    assert len(refused) <= 1 and all(codes[name] == 0 for name in codes if name not in refused), outputs
    cards = {path: text.decode() for path, text in snapshot(repo / "services").items()}
    if "pin" not in refused:
        # the lines before pin's summary (after it, what it re-rendered when upgrade went first)
        lines = outputs["pin"][1].splitlines()
        reported = [REPORTED.match(line) for line in lines[:next(i for i, line in enumerate(lines)
                                                                 if line.startswith("pinned "))]]
        assert len(reported) == 300 and all(reported), outputs["pin"][1][-2000:]
        for match in reported:
            assert f"image: {match[2]}@{match[3]}\n" in cards[match[1]], match[0]
        assert all(f":1.{n % TAGS}@{tags[f'1.{n % TAGS}']}\n" in cards[f"svc-{n:03d}.service.yaml"] for n in range(300))
    if "upgrade" not in refused:
        assert all(text.startswith("apiVersion: shipcard/v1\n") and "\nport: 8080\n" in text for text in cards.values())
    assert not (repo / STATE_DIR / "txn").exists() and not (repo / STATE_DIR / "lock").exists()


def stop_when_done(process) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    assert "Traceback" not in stderr, stderr
    return process.returncode, stdout, stderr


@pytest.mark.registry
@pytest.mark.parametrize("point,applied", [("staged", False), ("committed", True), ("applying", True)])
def test_render_after_a_killed_pin_never_renders_half_pinned_cards(registry: Registry, tags: dict[str, str],
                                                                   tmp_path: Path, docker_config: Path,
                                                                   point: str, applied: bool) -> None:
    cards = {f"svc-{n:03d}.service.yaml": dump_card(card(SMALL_CARD, name=f"svc-{n:03d}",
                                                         image=f"{registry.host}/together/app:1.{n}"))
             for n in range(TAGS)}
    repo = write_repo(tmp_path / "repo", cards)
    marker = tmp_path / "reached"
    env = {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path), PAUSE_AT_ENV: point,
           PAUSE_FILE_ENV: str(marker)}
    process = start_shipcard("pin", cwd=repo, env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    stop(process, signal.SIGKILL)
    if point == "applying":
        on_disk = snapshot(repo / "services")
        assert 0 < sum(b"@sha256:" in text for text in on_disk.values()) < TAGS  # killed half-way through

    rendered = shipcard("render", cwd=repo)
    assert rendered.code == 0 and rendered.stderr == "", rendered.output
    now = snapshot(repo)
    for n in range(TAGS):
        reference = f"{registry.host}/together/app:1.{n}" + (f"@{tags[f'1.{n}']}" if applied else "")
        assert f"image: {reference}\n" in now[f"services/svc-{n:03d}.service.yaml"].decode()
        overlay = now[f"apps/svc-{n:03d}/overlays/dev/kustomization.yaml"].decode()
        assert (f"digest: {tags[f'1.{n}']}\n" in overlay) == applied, overlay
    assert (b"\n  digest: sha256:" in b"".join(v for k, v in now.items() if k.startswith("apps/"))) == applied
    assert not (repo / STATE_DIR / "txn").exists()
