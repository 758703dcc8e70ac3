"""`shipcard pin` keeps every byte but the image scalars: lone-CR and CRLF line ends, a byte-order mark
before apiVersion, and a symbolically linked card, which stays a link while the file it leads to changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pinhelpers import Registry

pytestmark = pytest.mark.registry

CARD = """\
apiVersion: shipcard/v1   # first line
kind: Service
name: {name}
image: {image}    # the service
jobs:
  - {{name: migrate, image: '{image}'}}
"""
LAYOUTS = {"cr": ("", "\r"), "crlf": ("", "\r\n"), "bom": ("\ufeff", "\n"), "linked": ("", "\n")}


def card_bytes(name: str, image: str, layout: str) -> bytes:
    bom, newline = LAYOUTS[layout]
    return (bom + CARD.format(name=name, image=image).replace("\n", newline)).encode("utf-8")


def test_every_layout_keeps_its_bytes_and_a_link_stays_a_link(registry: Registry, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("team/app", "1.0")
    image = f"{registry.host}/team/app:1.0"
    (tmp_path / "services").mkdir()
    (tmp_path / "cards").mkdir()
    for layout in LAYOUTS:
        card = tmp_path / "services" / f"{layout}.service.yaml"
        if layout == "linked":
            (tmp_path / "cards" / "linked.yaml").write_bytes(card_bytes(layout, image, layout))
            card.symlink_to("../cards/linked.yaml")
        else:
            card.write_bytes(card_bytes(layout, image, layout))

    run = shipcard(cwd=tmp_path)

    assert run.code == 0, run.output
    for layout in LAYOUTS:
        card = tmp_path / "services" / f"{layout}.service.yaml"
        assert card.read_bytes() == card_bytes(layout, f"{image}@{digest}", layout), layout
    assert os.readlink(tmp_path / "services" / "linked.service.yaml") == "../cards/linked.yaml"
    assert sorted(p.name for p in (tmp_path / "services").iterdir()) == [f"{layout}.service.yaml"
                                                                         for layout in sorted(LAYOUTS)]


def test_a_link_leading_out_of_the_repository_is_refused(registry: Registry, shipcard, tmp_path: Path,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    registry.push_image("team/app", "1.0")
    image = f"{registry.host}/team/app:1.0"
    outside = tmp_path_factory.mktemp("elsewhere") / "card.yaml"
    outside.write_bytes(card_bytes("away", image, "linked"))
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "away.service.yaml").symlink_to(outside)

    run = shipcard(cwd=tmp_path)

    assert run.code == 2, run.output
    # refused when the card is read, before any registry request
    assert run.stderr.splitlines() == [f"shipcard: {tmp_path}/services/away.service.yaml: a symbolic link leads "
                                       "outside the repository; shipcard does not follow it"]
    assert outside.read_bytes() == card_bytes("away", image, "linked")
