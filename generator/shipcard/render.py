"""The render pipeline: cards → model → objects → files (pure), then the tree writer.

Each card renders in its `gitops.format` (kustomize or helmfile) unless the run overrides it.
Helmfile-format cards share one chart, vendored once at `charts/service/` when any card needs it.
Rendering a whole repository (parallel, incremental, orphans) is `shipcard.lifecycle.rendering`.
"""

from __future__ import annotations

from pathlib import Path

from shipcard.card.model import Card
from shipcard.errors import ShipcardError
from shipcard.writers import helmfile, kustomize
from shipcard.writers.argocd import ARGOCD_NAMESPACE, application_files
from shipcard.writers.tree import with_header

SERVICES_GLOB = "services/*.service.yaml"
FORMATS = ("kustomize", "helmfile")


def find_cards(root: Path) -> list[Path]:
    return sorted(root.glob(SERVICES_GLOB), key=str)  # one directory: the order of Paths, faster


TEMPLATE_DELIMITERS = ("{{", "}}")


def card_source(card_path: Path, out: Path, resolved_out: Path | None = None) -> str:
    """How generated headers name a card: relative to the output tree when inside it, else its file name.

    `resolved_out` is `out.resolve()` for callers naming many cards. The name goes into every
    generated header, and helmfile renders all of helmfile.yaml, comments included, as a Go
    template: a name holding a template delimiter would run as one, so it is refused.
    """
    source = _card_source(card_path, out, resolved_out)
    if any(delimiter in source for delimiter in TEMPLATE_DELIMITERS):
        raise ShipcardError(f"{source!r}: a card's path may not contain '{{{{' or '}}}}' "
                            "(helmfile would run it as a template)")
    return source


def _card_source(card_path: Path, out: Path, resolved_out: Path | None) -> str:
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


def check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise ShipcardError(f"unknown format {fmt!r} (use {' or '.join(FORMATS)})")
