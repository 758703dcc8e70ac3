"""The render pipeline: cards → model → objects → files (pure), then the tree writer.

Each card renders in its `gitops.format` (kustomize or helmfile) unless the run overrides it.
Helmfile-format cards share one chart, vendored once at `charts/service/` when any card needs it.
Rendering a whole repository (parallel, incremental, orphans) is `shipcard.lifecycle.rendering`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipcard.card.model import Card
from shipcard.chart import CHART_DIR, chart_files
from shipcard.errors import ShipcardError
from shipcard.repo import load_repo
from shipcard.writers import helmfile, kustomize
from shipcard.writers.argocd import ARGOCD_NAMESPACE, application_files
from shipcard.writers.tree import Plan, with_header

if TYPE_CHECKING:
    from shipcard.lifecycle.rendering import Outcome

SERVICES_GLOB = "services/*.service.yaml"
FORMATS = ("kustomize", "helmfile")


@dataclass
class Rendered:
    cards: list[Card]
    files: dict[str, str]  # relative path → full text with header
    owned: list[str]  # globs under which stale generated files of these cards are removed


def find_cards(root: Path) -> list[Path]:
    return sorted(root.glob(SERVICES_GLOB), key=str)  # one directory: the order of Paths, faster


def card_source(card_path: Path, out: Path, resolved_out: Path | None = None) -> str:
    """How generated headers name a card: relative to the output tree when inside it, else its file name.

    `resolved_out` is `out.resolve()` for callers naming many cards.
    """
    if not card_path.is_absolute() and not out.is_absolute() and ".." not in card_path.parts \
            and not card_path.is_symlink():
        try:
            return card_path.relative_to(out).as_posix()  # the usual services/x.service.yaml, without stat calls
        except ValueError:
            pass
    try:
        return card_path.resolve().relative_to(resolved_out or out.resolve()).as_posix()
    except ValueError:
        return card_path.name


def check_unique_names(services: list[tuple[str, str]]) -> None:
    """(service name, card source) pairs: two cards may not render the same service."""
    seen: dict[str, str] = {}
    for name, source in services:
        if name in seen:
            raise ShipcardError(f"{source}: service name {name!r} is also used by {seen[name]}")
        seen[name] = source


def card_format(card: Card, override: str | None = None) -> str:
    """The format a card renders in: the run's `--format`, else the card's `gitops.format`."""
    return override or card.gitops.format


def extension_files(card: Card, fmt: str | None = None) -> list[str]:
    """The user's files (extension points) whose presence changes what the card renders."""
    if card_format(card, fmt) == "helmfile":
        return helmfile.extension_files(card)
    return kustomize.extension_files(card)


def present_extensions(card: Card, out: Path, fmt: str | None = None) -> frozenset[str]:
    return frozenset(rel for rel in extension_files(card, fmt) if (out / rel).is_file())


def card_files(card: Card, fmt: str | None = None, present: frozenset[str] = frozenset(),
               argocd_namespace: str = ARGOCD_NAMESPACE) -> dict[str, str]:
    """Every generated file of one card, with headers (the shared chart excepted)."""
    if card_format(card, fmt) == "helmfile":
        files = helmfile.helmfile_files(card, present, argocd_namespace)
    else:
        files = {**kustomize.kustomize_files(card, present), **application_files(card, argocd_namespace)}
    return {rel: with_header(card.source, body) for rel, body in files.items()}


def owned_globs(card: Card) -> list[str]:
    """Where stale generated files of a card may be, when no render state lists them."""
    return [f"{card.gitops.path}/**/*", f"argocd/*/{card.name}.yaml"]


def render_cards(cards: list[Card], fmt: str | None = None, out: Path | None = None,
                 argocd_namespace: str = ARGOCD_NAMESPACE) -> Rendered:
    """Render every card; `fmt` overrides each card's gitops.format; `out` is looked at for extension points."""
    check_format(fmt)
    files: dict[str, str] = {}
    owned: list[str] = []
    for card in cards:
        present = present_extensions(card, out, fmt) if out is not None else frozenset()
        files.update(card_files(card, fmt, present, argocd_namespace))
        owned += owned_globs(card)
    if any(card_format(card, fmt) == "helmfile" for card in cards):
        # Only a run that renders the chart may prune it: a run over kustomize cards alone leaves it be.
        files.update(chart_files())
        owned.append(f"{CHART_DIR}/**/*")
    return Rendered(cards, files, owned)


def check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise ShipcardError(f"unknown format {fmt!r} (use {' or '.join(FORMATS)})")


def plan_render(paths: list[Path], out: Path, *, fmt: str | None = None, pins: dict[str, str] | None = None,
                force: bool = False) -> tuple["Outcome", Plan]:
    """Render some cards and compare them with the tree, render state included; nothing is written."""
    from shipcard.lifecycle.rendering import Options, plan_repository, read_cards

    options = Options(fmt=fmt, pins=pins, everything=True, force=force, whole_repository=False)
    outcome = plan_repository(out, read_cards(out, paths), load_repo(out), options)
    return outcome, outcome.plan

