"""Finding the cards to pin and every image reference inside them, with its position."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard.errors import InputError, Location, ShipcardError
from shipcard.images import ImageReference, ReferenceError, parse_reference
from shipcard.settings import refuse_link_out_of
from shipcard.yamlio.read import read_text, real_path
from shipcard.yamlio.roundtrip import load_roundtrip, position_of

CARD_GLOB = "services/*.service.yaml"
CARD_SUFFIX = ".service.yaml"

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class ImageSite:
    """One image scalar in a card: where it is, what it says, and the parsed reference."""

    card: str
    path: PathKey
    line: int
    column: int
    text: str
    reference: ImageReference

    @property
    def location(self) -> Location:
        return Location(self.card, self.line, self.column)


@dataclass
class Card:
    """A service card as read from disk: the exact text, the round-trip document, its images."""

    path: Path
    name: str
    text: str
    document: Any
    sites: list[ImageSite]


def discover(arguments: tuple[str, ...], cwd: Path) -> list[Path]:
    """Card files named on the command line (a directory means its cards), or `services/*.service.yaml`."""
    if not arguments:
        found = sorted(cwd.glob(CARD_GLOB))
        if not found:
            raise ShipcardError(f"no cards: {CARD_GLOB} matches nothing in {cwd}; name the cards to pin")
        return found
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            inside = sorted(path.glob(f"*{CARD_SUFFIX}")) or sorted(path.glob(CARD_GLOB))
            if not inside:
                raise ShipcardError(f"{argument}: directory holds no *{CARD_SUFFIX} cards")
            paths.extend(inside)
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(Location(argument), "", "no such card file")
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(real_path(path), path)
    return list(unique.values())


def load_card(path: Path) -> Card:
    """Read and parse one card; InputError for unreadable YAML or an invalid image reference."""
    name = str(path)
    refuse_link_out_of(path, Path.cwd())  # a card of this repository leading out of it is not read
    text = read_text(path)
    document = load_roundtrip(text, name)
    return Card(path, name, text, document, image_sites(document, name))


def image_sites(document: Any, filename: str) -> list[ImageSite]:
    """Every image scalar of a card, in document order.

    `image`, `jobs[i].image`, `environments.<env>.image` and
    `environments.<env>.jobs[i].image`; a job without `image` runs the service image.
    """
    if not isinstance(document, dict):
        raise InputError(Location(filename, *position_of(document)), "", "a card must be a mapping")
    sites: list[ImageSite] = []
    _collect_owner(document, (), filename, sites)
    environments = document.get("environments")
    if isinstance(environments, dict):
        for env_name, environment in environments.items():
            if isinstance(environment, dict):
                _collect_owner(environment, ("environments", str(env_name)), filename, sites)
    return sites


def _collect_owner(owner: dict, prefix: PathKey, filename: str, sites: list[ImageSite]) -> None:
    """The `image` of `owner` and of each entry of its `jobs` list."""
    _collect_image(owner, prefix, filename, sites)
    jobs = owner.get("jobs")
    if isinstance(jobs, list):
        for index, job in enumerate(jobs):
            if isinstance(job, dict):
                _collect_image(job, prefix + ("jobs", index), filename, sites)


def _collect_image(owner: dict, prefix: PathKey, filename: str, sites: list[ImageSite]) -> None:
    if "image" not in owner or owner["image"] is None:
        return
    value = owner["image"]
    line, column = _value_position(owner, "image")
    location = Location(filename, line, column)
    if not isinstance(value, str):
        raise InputError(location, "image", "expected an image reference such as registry/name:tag")
    try:
        reference = parse_reference(str(value))
    except ReferenceError as exc:
        raise InputError(location, "image", f"{str(value)!r} is not an image reference: {exc}") from None
    sites.append(ImageSite(filename, prefix + ("image",), line, column, str(value), reference))


def _value_position(owner: Any, key: str) -> tuple[int, int]:
    """1-based line and column where the value of `key` starts (its anchor or tag, if any)."""
    try:
        line, column = owner.lc.value(key)
    except (AttributeError, KeyError, TypeError):
        return position_of(owner, key)
    return (line + 1, column + 1)
