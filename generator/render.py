"""The render pipeline: cards → model → objects → files (pure), then the tree writer.

Each card renders in its `gitops.format` (kustomize or helmfile) unless the run overrides it.
Helmfile-format cards share one chart, vendored once at `charts/service/` when any card needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from generator.card.load import load_card
from generator.card.model import Card
from generator.chart import CHART_DIR, chart_files
from generator.errors import ShipcardError
from generator.writers.argocd import application_files
from generator.writers.helmfile import helmfile_files
from generator.writers.kustomize import kustomize_files
from generator.writers.tree import Plan, plan_tree, with_header

SERVICES_GLOB = "services/*.service.yaml"
FORMATS = ("kustomize", "helmfile")


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


def load_cards(paths: list[Path], out: Path, pins: dict[str, str] | None = None) -> list[Card]:
    cards = [load_card(path, card_source(path, out), pins) for path in paths]
    seen: dict[str, str] = {}
    for card in cards:
        if card.name in seen:
            raise ShipcardError(f"{card.source}: service name {card.name!r} is also used by {seen[card.name]}")
        seen[card.name] = card.source
    return cards


def card_format(card: Card, override: str | None = None) -> str:
    """The format a card renders in: the run's `--format`, else the card's `gitops.format`."""
    return override or card.gitops.format


def card_files(card: Card, fmt: str | None = None) -> dict[str, str]:
    """Every generated file of one card, with headers (the shared chart excepted)."""
    if card_format(card, fmt) == "helmfile":
        files = helmfile_files(card)
    else:
        files = {**kustomize_files(card), **application_files(card)}
    return {rel: with_header(card.source, body) for rel, body in files.items()}


def render_cards(cards: list[Card], fmt: str | None = None) -> Rendered:
    """Render every card; `fmt` overrides each card's gitops.format for this run."""
    if fmt is not None and fmt not in FORMATS:
        raise ShipcardError(f"unknown format {fmt!r} (use {' or '.join(FORMATS)})")
    files: dict[str, str] = {}
    owned: list[str] = []
    for card in cards:
        files.update(card_files(card, fmt))
        owned += [f"{card.gitops.path}/**/*", f"argocd/*/{card.name}.yaml"]
    if any(card_format(card, fmt) == "helmfile" for card in cards):
        # Only a run that renders the chart may prune it: a run over kustomize cards alone leaves it be.
        files.update(chart_files())
        owned.append(f"{CHART_DIR}/**/*")
    return Rendered(cards, files, owned)


def plan_render(paths: list[Path], out: Path, *, fmt: str | None = None,
                pins: dict[str, str] | None = None) -> tuple[Rendered, Plan]:
    """Load, render and compare with the tree; `pins` is a lock file's reference → digest."""
    rendered = render_cards(load_cards(paths, out, pins), fmt)
    return rendered, plan_tree(out, rendered.files, rendered.owned)


def default_out() -> Path:
    return Path(os.getcwd())
