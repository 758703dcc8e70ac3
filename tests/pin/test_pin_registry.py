"""Pinning against a real docker-registry on loopback: digests, index digests, byte-exact cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from pinhelpers import Registry, example_text, write_card

from shipcard.pin.lock import load_lock

pytestmark = pytest.mark.registry

BILLING_IMAGE = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/billing-api:1.4.2"


def test_pin_writes_the_digest_the_registry_reports(registry: Registry, shipcard, tmp_path: Path) -> None:
    image = f"{registry.host}/payments/billing-api:1.4.2"
    pushed = registry.push_image("payments/billing-api", "1.4.2")
    original = example_text("billing-api.service.yaml").replace(BILLING_IMAGE, image)
    card = write_card(tmp_path, "billing-api.service.yaml", original)

    run = shipcard(str(card))

    assert run.code == 0, run.output
    reported = registry.reported_digest("payments/billing-api", "1.4.2")
    assert reported == pushed
    # Byte for byte the owner's card, except the one image scalar.
    assert card.read_bytes().decode() == original.replace(f"image: {image}\n", f"image: {image}@{reported}\n", 1)
    assert f"{card}:10:8: image: {image} -> {reported}" in run.stdout


def test_multi_platform_tag_pins_to_the_index_digest(registry: Registry, shipcard, tmp_path: Path) -> None:
    index = registry.push_index("platform/notifier", "2.0.0")
    image = f"{registry.host}/platform/notifier:2.0.0"
    original = example_text("notifier.service.yaml").replace("ghcr.io/example/notifier:2.0.0", image)
    card = write_card(tmp_path, "notifier.service.yaml", original)

    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert registry.reported_digest("platform/notifier", "2.0.0") == index
    assert card.read_text() == original.replace(image, f"{image}@{index}")


CARD_WITH_EVERY_SITE = """\
# every place an image can be, in every quoting style
apiVersion: shipcard/v1
kind: Service
name: every-site   # trailing comment
image: "{host}/team/app:1.0"      # double quoted

jobs:
  - name: migrate                  # no image: runs the service image
    command: [migrate]
  - {{name: report, image: '{host}/team/report:3.1', schedule: "0 1 * * *"}}

environments:
  dev: {{image: {host}/team/app:1.0-dev}}
  prod:
    image: &prodimage {host}/team/app:1.0
    jobs:
      - name: warm
        image:   {host}/team/report:3.1     # extra spaces before the value
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_every_site_and_quoting_style_survives(registry: Registry, shipcard, make_proxy, tmp_path: Path,
                                               newline: str) -> None:
    proxy = make_proxy(registry.host)
    app = registry.push_image("team/app", "1.0")
    dev = registry.push_image("team/app", "1.0-dev")
    report = registry.push_index("team/report", "3.1")
    original = CARD_WITH_EVERY_SITE.format(host=proxy.host)
    card = write_card(tmp_path, "every.service.yaml", original, newline=newline)

    run = shipcard(str(card))

    assert run.code == 0, run.output
    h = proxy.host
    expected = (original
                .replace(f'"{h}/team/app:1.0"', f'"{h}/team/app:1.0@{app}"')
                .replace(f"'{h}/team/report:3.1'", f"'{h}/team/report:3.1@{report}'")
                .replace(f"{{image: {h}/team/app:1.0-dev}}", f"{{image: {h}/team/app:1.0-dev@{dev}}}")
                .replace(f"&prodimage {h}/team/app:1.0\n", f"&prodimage {h}/team/app:1.0@{app}\n")
                .replace(f"   {h}/team/report:3.1     #", f"   {h}/team/report:3.1@{report}     #"))
    assert card.read_bytes() == expected.replace("\n", newline).encode()
    # Five sites, three distinct references: each resolved with one GET.
    assert proxy.count("GET") == 3


def test_update_reports_a_rebuilt_tag(registry: Registry, shipcard, tmp_path: Path) -> None:
    first = registry.push_image("team/rebuilt", "1.0", marker="first build")
    image = f"{registry.host}/team/rebuilt:1.0"
    card = write_card(tmp_path, "rebuilt.service.yaml", f"name: rebuilt\nimage: {image}  # keep\n")
    assert shipcard(str(card)).code == 0
    assert card.read_text() == f"name: rebuilt\nimage: {image}@{first}  # keep\n"

    second = registry.push_image("team/rebuilt", "1.0", marker="second build")
    assert second != first
    plain = shipcard(str(card))
    assert plain.code == 0, plain.output
    assert card.read_text() == f"name: rebuilt\nimage: {image}@{first}  # keep\n"  # pinned: left alone

    updated = shipcard("--update", str(card))

    assert updated.code == 0, updated.output
    assert card.read_text() == f"name: rebuilt\nimage: {image}@{second}  # keep\n"
    assert f"digest changed {first} -> {second}" in updated.stdout
    again = shipcard("--update", str(card))
    assert again.code == 0 and "digest changed 0" in again.stdout


def test_latest_is_refused_unless_allowed(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("team/floating", "latest")
    original = (f"name: floating\nimage: {registry.host}/team/floating\n"
                f"jobs:\n  - name: x\n    image: {registry.host}/team/floating:latest\n")
    card = write_card(tmp_path, "floating.service.yaml", original)

    refused = shipcard(str(card))

    assert refused.code == 2
    assert f"{card}:2:8: image: {registry.host}/team/floating: has no tag (means latest)" in refused.stderr
    assert f"{card}:5:12: image: {registry.host}/team/floating:latest: uses the tag latest" in refused.stderr
    assert "--allow-latest" in refused.stderr
    assert card.read_text() == original

    allowed = shipcard("--allow-latest", str(card))

    assert allowed.code == 0, allowed.output
    assert card.read_text() == original.replace(
        f"{registry.host}/team/floating\n", f"{registry.host}/team/floating:latest@{digest}\n").replace(
        "floating:latest\n", f"floating:latest@{digest}\n")


def test_lock_file_instead_of_cards(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("team/locked", "4.0")
    image = f"{registry.host}/team/locked:4.0"
    original = f"name: locked\nimage: {image}\n"
    card = write_card(tmp_path, "locked.service.yaml", original)
    lock = tmp_path / "images.lock.yaml"

    assert shipcard("--check", str(card)).code == 1
    run = shipcard("--lock", str(lock), str(card))

    assert run.code == 0, run.output
    assert card.read_text() == original
    assert load_lock(lock) == {image: digest}
    assert "resolvedAt:" in lock.read_text()
    assert shipcard("--check", "--lock", str(lock), str(card)).code == 0
    # A second run finds nothing new to resolve and leaves the file alone.
    before = lock.read_bytes()
    assert shipcard("--lock", str(lock), str(card)).code == 0
    assert lock.read_bytes() == before


def test_default_card_set_is_services_under_the_current_directory(registry: Registry, shipcard,
                                                                  tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.mkdir()
    digest = registry.push_image("team/default", "0.1")
    card = write_card(services, "default.service.yaml", f"image: {registry.host}/team/default:0.1\n")
    write_card(tmp_path, "elsewhere.service.yaml", "image: not-pinned:1.0\n")

    run = shipcard(cwd=tmp_path)

    assert run.code == 0, run.output
    assert card.read_text() == f"image: {registry.host}/team/default:0.1@{digest}\n"
    assert (tmp_path / "elsewhere.service.yaml").read_text() == "image: not-pinned:1.0\n"
