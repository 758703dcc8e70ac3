"""`pin --check` on the users' example cards: every unpinned image listed with its line, then none
after pinning copies of them against the local registry, and the rendered tree carries the digests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pinhelpers import SHARED_EXAMPLES, SHIPCARD, Registry, example_text, write_card

from shipcard.yamlio.read import load_plain_all

EXAMPLES = ["billing-api.service.yaml", "notifier.service.yaml", "url-pinger.service.yaml",
            "web-frontend.service.yaml"]
IMAGE_LINE = re.compile(r"^(?P<indent>[ \t]*(?:-[ \t]+)?image:[ \t]*)(?P<ref>\S+)", re.M)


def image_positions(text: str) -> list[tuple[int, int, str]]:
    """(line, column, reference) of every `image:` value, found textually as a cross-check."""
    found = []
    for match in IMAGE_LINE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, len(match.group("indent")) + 1, match.group("ref")))
    return found


def test_check_lists_every_unpinned_example_image_with_its_line(shipcard, tmp_path: Path) -> None:
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared/examples is not beside this checkout")
    run = shipcard("--check", str(SHARED_EXAMPLES), cwd=tmp_path)

    assert run.code == 1
    expected = [f"{SHARED_EXAMPLES / name}:{line}:{column}: image: {ref} is not pinned to a digest"
                for name in EXAMPLES for line, column, ref in image_positions(example_text(name))]
    assert len(expected) == 4
    assert run.stdout.splitlines() == expected
    assert "4 of 4 image reference(s) are not pinned" in run.stderr


@pytest.mark.registry
def test_check_passes_after_pinning_the_examples_against_the_local_registry(registry: Registry, shipcard,
                                                                            tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.mkdir()
    pushed: dict[str, str] = {}
    for name in EXAMPLES:
        text = example_text(name)
        for _, _, ref in image_positions(text):
            # ghcr.io/example/notifier:2.0.0 -> 127.0.0.1:PORT/examples/ghcr.io/example/notifier:2.0.0
            repository, tag = ref.rsplit(":", 1)
            local_repository = "examples/" + repository.replace(".", "-")
            local = f"{registry.host}/{local_repository}:{tag}"
            pushed[local] = registry.push_image(local_repository, tag)
            text = text.replace(ref, local)
        write_card(services, name, text)
    copies = {name: (services / name).read_text() for name in EXAMPLES}

    before = shipcard("--check", cwd=tmp_path)
    assert before.code == 1 and len(before.stdout.splitlines()) == 4

    pinned = shipcard(cwd=tmp_path)
    assert pinned.code == 0, pinned.output

    after = shipcard("--check", cwd=tmp_path)
    assert after.code == 0, after.output
    assert "all 4 image reference(s) in 4 card(s) are pinned" in after.stdout
    for name in EXAMPLES:
        expected = copies[name]
        for local, digest in pushed.items():
            expected = expected.replace(f"{local}\n", f"{local}@{digest}\n")
        assert (services / name).read_text() == expected

    # The rendered trees carry the digests: Kustomize overlays' images: entries, the chart's image.digest.
    rendered = subprocess.run([str(SHIPCARD), "render", "--out", str(tmp_path)], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    for name in EXAMPLES:
        service = name.split(".")[0]
        (local, digest), = [(ref, d) for ref, d in pushed.items() if ref in copies[name]]
        if "format: helmfile" in copies[name]:
            common = load_plain_all((tmp_path / f"apps/{service}/values/common.yaml").read_text())[0]
            assert common["image"]["digest"] == digest
        else:
            for overlay in (tmp_path / f"apps/{service}/overlays").iterdir():
                kustomization = load_plain_all((overlay / "kustomization.yaml").read_text())[0]
                assert {"name": local.rsplit(":", 1)[0], "newTag": local.rsplit(":", 1)[1],
                        "digest": digest} in kustomization["images"]


@pytest.mark.registry
def test_render_with_a_lock_file_pins_tag_only_cards(registry: Registry, shipcard, tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.mkdir()
    digest = registry.push_image("team/web", "3.2.0")
    text = example_text("web-frontend.service.yaml").replace("ghcr.io/example/web-frontend:3.2.0",
                                                             f"{registry.host}/team/web:3.2.0")
    card = write_card(services, "web-frontend.service.yaml", text)
    assert shipcard("--lock", "images.lock.yaml", cwd=tmp_path).code == 0
    assert card.read_text() == text  # the card stays tag-only
    rendered = subprocess.run([str(SHIPCARD), "render", "--lock", "images.lock.yaml"], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    kustomization = load_plain_all((tmp_path / "apps/web-frontend/overlays/prod/kustomization.yaml").read_text())[0]
    assert kustomization["images"] == [{"name": f"{registry.host}/team/web", "newTag": "3.2.0", "digest": digest}]


def test_check_needs_no_network_and_passes_on_pinned_cards(shipcard, tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    card = write_card(tmp_path, "pinned.service.yaml",
                      f"image: ghcr.io/example/app:1.0@{digest}\njobs:\n  - name: j\n    image: busybox@{digest}\n")

    run = shipcard("--check", str(card), env={"HTTPS_PROXY": "http://127.0.0.1:9"})

    assert run.code == 0, run.output
    assert "all 2 image reference(s) in 1 card(s) are pinned" in run.stdout
