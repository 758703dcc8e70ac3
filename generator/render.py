"""The render pipeline: cards → model → objects → files (pure), then the tree writer."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from generator.card.load import load_card
from generator.card.model import Card
from generator.errors import ShipcardError
from generator.writers.argocd import application_files
from generator.writers.kustomize import kustomize_files
from generator.writers.tree import Plan, plan_tree, with_header

SERVICES_GLOB = "services/*.service.yaml"


@dataclass
class Rendered:
    cards: list[Card]
    files: dict[str, str]  # relative path → full text with header
    owned: list[str]  # globs under which stale generated files of these cards are removed


def find_cards(root: Path) -> list[Path]:
    return sorted(root.glob(SERVICES_GLOB))


def card_source(card_path: Path, out: Path) -> str:
    """How generated headers name a card: relative to the output tree when inside it, else its file name."""
    try:
        return card_path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return card_path.name


def load_cards(paths: list[Path], out: Path) -> list[Card]:
    cards = [load_card(path, card_source(path, out)) for path in paths]
    seen: dict[str, str] = {}
    for card in cards:
        if card.name in seen:
            raise ShipcardError(f"{card.source}: service name {card.name!r} is also used by {seen[card.name]}")
        seen[card.name] = card.source
    return cards


def card_files(card: Card) -> dict[str, str]:
    """Every generated file of one card, with headers."""
    files = {**kustomize_files(card), **application_files(card)}
    return {rel: with_header(card.source, body) for rel, body in files.items()}


def render_cards(cards: list[Card]) -> Rendered:
    files: dict[str, str] = {}
    owned: list[str] = []
    for card in cards:
        files.update(card_files(card))
        owned += [f"{card.gitops.path}/**/*", f"argocd/*/{card.name}.yaml"]
    return Rendered(cards, files, owned)


def plan_render(paths: list[Path], out: Path) -> tuple[Rendered, Plan]:
    rendered = render_cards(load_cards(paths, out))
    return rendered, plan_tree(out, rendered.files, rendered.owned)


def default_out() -> Path:
    return Path(os.getcwd())
