"""Issue 14, item 8: `pin` leaves the repository consistent. The services whose cards it changes are
re-rendered in the same transaction, so `render --check` passes and `check` reports nothing stale
after it; a card never rendered is left to `render`; a `pin` killed before its commit point leaves
cards and trees as they were. Real `shipcard` processes against the real loopback registry."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pinhelpers import SHIPCARD, Registry, example_text, write_card

from shipcard.transaction import PAUSE_AT_ENV, PAUSE_FILE_ENV, STATE_DIR

pytestmark = pytest.mark.registry

CARD = "web-frontend.service.yaml"
EXAMPLE_IMAGE = "ghcr.io/example/web-frontend:3.2.0"
OVERLAY = "apps/web-frontend/overlays/prod/kustomization.yaml"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Any shipcard command (not only `pin`), as a subprocess."""
    return subprocess.run([str(SHIPCARD), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def rendered_repository(registry: Registry, root: Path, tag: str) -> tuple[Path, str]:
    """The web-frontend example with its image in the local registry, rendered; returns the card and its image."""
    image = f"{registry.host}/rerender/web:{tag}"
    (root / "services").mkdir()
    card = write_card(root / "services", CARD, example_text(CARD).replace(EXAMPLE_IMAGE, image))
    rendered = run("render", cwd=root)
    assert rendered.returncode == 0, rendered.stderr
    return card, image


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the repository but shipcard's own `.shipcard/` (lock, journal, receipts)."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and STATE_DIR not in path.relative_to(root).parts}


def test_pin_re_renders_the_services_it_pinned_and_render_check_then_passes(registry: Registry, shipcard,
                                                                             tmp_path: Path) -> None:
    digest = registry.push_image("rerender/web", "1.0")
    card, image = rendered_repository(registry, tmp_path, "1.0")
    before = tree(tmp_path)

    pinned = shipcard(cwd=tmp_path)

    assert pinned.code == 0, pinned.output
    assert pinned.stdout.splitlines() == [
        f"{card}:7:8: image: {image} -> {digest}",
        "pinned 1, unchanged 0 image reference(s); wrote 1 file(s)",
        "rendered 1 service(s); 1 changed: web-frontend (2 file(s))",
        "0 added, 3 modified, 0 removed, 8 unchanged",
    ]
    after = tree(tmp_path)
    # The card, the base and the overlay naming the digest, the render state; nothing else.
    assert sorted(rel for rel in after if after[rel] != before.get(rel)) == [
        ".shipcard-state/web-frontend.yaml", "apps/web-frontend/base/deployment.yaml", OVERLAY, f"services/{CARD}"]
    assert f"  digest: {digest}\n" in after[OVERLAY].decode()
    checked = run("render", "--check", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (0, "up to date: 11 file(s) match their cards\n"), checked.stderr
    findings = run("check", "services", "--format", "json", cwd=tmp_path)
    assert findings.returncode == 0, findings.stdout + findings.stderr
    assert '"findings": []' in findings.stdout


def test_a_changed_digest_is_re_rendered_too(registry: Registry, shipcard, tmp_path: Path) -> None:
    """`--update` after the tag was pushed again: the symptom of the issue (render --check exited 1)."""
    first = registry.push_image("rerender/web", "2.0", marker="first")
    card, image = rendered_repository(registry, tmp_path, "2.0")
    assert shipcard(cwd=tmp_path).code == 0
    second = registry.push_image("rerender/web", "2.0", marker="second")

    updated = shipcard("--update", cwd=tmp_path)

    assert updated.code == 0, updated.output
    assert updated.stdout.splitlines()[0] == (f"{card}:7:8: image: {image}: digest changed {first} -> "
                                              f"{second} (the tag was pushed again)")
    assert f"  digest: {second}\n" in (tmp_path / OVERLAY).read_text()
    assert run("render", "--check", cwd=tmp_path).returncode == 0


def test_a_card_never_rendered_is_only_pinned(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("rerender/web", "3.0")
    image = f"{registry.host}/rerender/web:3.0"
    (tmp_path / "services").mkdir()
    card = write_card(tmp_path / "services", CARD, example_text(CARD).replace(EXAMPLE_IMAGE, image))

    pinned = shipcard(cwd=tmp_path)

    assert pinned.code == 0, pinned.output
    assert pinned.stdout.splitlines()[-1] == "pinned 1, unchanged 0 image reference(s); wrote 1 file(s)"
    assert f"image: {image}@{digest}\n" in card.read_text()
    assert sorted(tree(tmp_path)) == [f"services/{CARD}"]


def test_a_hand_edited_generated_file_is_kept_and_reported_exit_1(registry: Registry, shipcard,
                                                                  tmp_path: Path) -> None:
    """As `render` does: the card and every other file change, the edited file stays, exit 1."""
    digest = registry.push_image("rerender/web", "4.0")
    card, image = rendered_repository(registry, tmp_path, "4.0")
    overlay = tmp_path / OVERLAY
    edited = overlay.read_text() + "# tuned by hand\n"
    overlay.write_text(edited)

    pinned = shipcard(cwd=tmp_path)

    assert pinned.code == 1, pinned.output
    assert f"image: {image}@{digest}\n" in card.read_text()
    assert overlay.read_text() == edited
    assert pinned.stderr.splitlines() == [
        f"{OVERLAY}: generated-file-edited: edited by hand since shipcard wrote it; left as it is "
        f"(`shipcard render --force` overwrites it and keeps {OVERLAY}.orig)",
        "shipcard: 1 generated file(s) edited by hand were left as they are"]


def test_a_pin_killed_before_its_commit_point_leaves_cards_and_trees_as_they_were(
        registry: Registry, docker_config: Path, tmp_path: Path) -> None:
    registry.push_image("rerender/web", "5.0")
    rendered_repository(registry, tmp_path, "5.0")
    before = tree(tmp_path)
    marker = tmp_path.parent / f"{tmp_path.name}-reached"
    env = {"PATH": str(Path(sys.executable).parent), "DOCKER_CONFIG": str(docker_config),
           "HOME": str(tmp_path.parent), PAUSE_AT_ENV: "staged", PAUSE_FILE_ENV: str(marker)}
    process = subprocess.Popen([str(SHIPCARD), "pin"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    checked = run("render", "--check", cwd=tmp_path)  # refuses while the journal is there
    assert checked.returncode == 2 and "an interrupted run left a transaction" in checked.stderr
    rendered = run("render", cwd=tmp_path)  # drops the uncommitted journal, then finds nothing to do
    assert rendered.returncode == 0, rendered.stderr
    assert tree(tmp_path) == before


def test_a_helmfile_card_is_re_rendered_with_the_vendored_chart(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("rerender/notifier", "2.0.0")
    image = f"{registry.host}/rerender/notifier:2.0.0"
    (tmp_path / "services").mkdir()
    card = write_card(tmp_path / "services", "notifier.service.yaml",
                      example_text("notifier.service.yaml").replace("ghcr.io/example/notifier:2.0.0", image))
    assert run("render", cwd=tmp_path).returncode == 0

    pinned = shipcard(cwd=tmp_path)

    assert pinned.code == 0, pinned.output
    assert f"image: {image}@{digest}\n" in card.read_text()
    assert f"  digest: {digest}\n" in (tmp_path / "apps/notifier/values/common.yaml").read_text()
    checked = run("render", "--check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_pin_check_counts_pins_only_and_a_stale_tree_is_render_checks(registry: Registry, shipcard,
                                                                      tmp_path: Path) -> None:
    """docs/pin.md: `pin --check` asks whether every image is pinned; a tree behind its card is `render --check`'s."""
    registry.push_image("rerender/web", "6.0")
    card, _ = rendered_repository(registry, tmp_path, "6.0")
    assert shipcard(cwd=tmp_path).code == 0
    card.write_text(card.read_text().replace("  prod: {}\n", "  prod: {replicas: 3}\n"))

    assert shipcard("--check", cwd=tmp_path).code == 0
    assert run("render", "--check", cwd=tmp_path).returncode == 1


def test_with_a_lock_file_pin_renders_nothing_and_says_render_must_follow(registry: Registry, shipcard,
                                                                          tmp_path: Path) -> None:
    registry.push_image("rerender/web", "7.0")
    card, _ = rendered_repository(registry, tmp_path, "7.0")
    before = tree(tmp_path)

    pinned = shipcard("--lock", "images.lock.yaml", cwd=tmp_path)

    assert pinned.code == 0, pinned.output
    assert pinned.stdout.splitlines()[-1] == ("the lock file changed: run `shipcard render --lock images.lock.yaml` "
                                              "to render its digests")
    after = tree(tmp_path)
    assert sorted(rel for rel in after if after[rel] != before.get(rel)) == ["images.lock.yaml"]
    assert run("render", "--lock", "images.lock.yaml", cwd=tmp_path).returncode == 0
    assert run("render", "--check", "--lock", "images.lock.yaml", cwd=tmp_path).returncode == 0
