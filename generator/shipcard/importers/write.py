"""Writing an import: every card validated first, then the cards and their `custom/` files in one
transaction; the report on standard error and, with `--report FILE`, as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from shipcard.card.load import MAX_CARD_BYTES, load_card_text
from shipcard.card.network import directory_near, directory_of
from shipcard.errors import InputError, ShipcardError
from shipcard.importers.result import ImportResult
from shipcard.settings import REPO_FILE, find_repo_root, load_repo
from shipcard.transaction import begin
from shipcard.yamlio.dump import write_bytes_atomic
from shipcard.yamlio.read import real_path
from shipcard.yamlio.roundtrip import dump_roundtrip


def repository_root() -> Path:
    root = find_repo_root(Path.cwd())
    if root is None:
        raise ShipcardError(f"no {REPO_FILE} here or above: run `shipcard init` first (or cd into the repository)")
    return root


def card_texts(result: ImportResult, source: str) -> dict[str, str]:
    """Every file of the import, relative to the repository root: each card, then its `custom/` files."""
    files: dict[str, str] = {}
    for card in result.cards:
        path = f"services/{card.name}.service.yaml"
        if path in files:
            raise ShipcardError(f"{source}: two imported services would be named {card.name!r}")
        files[path] = (f"# Imported by `shipcard import` from {source}: each comment names where the value came from.\n"
                       + dump_roundtrip(card.doc))
        for name, text in card.custom.items():
            files[f"apps/{card.name}/custom/{name}"] = text
    return files


def write_import(result: ImportResult, source: str, *, force: bool, report: Path | None,
                 inputs: list[Path]) -> None:
    """Validate, refuse to overwrite (unless `force`), write, and report; nothing is written on any error."""
    if not result.cards:
        raise ShipcardError(f"{source}: nothing to import")
    root = repository_root()
    result.keep_ports_reachable(source)
    files = card_texts(result, source)
    if report is not None:
        _refuse_report(report, root, files, inputs, force)
    repo = load_repo(root)
    cards = {path: text for path, text in files.items() if path.startswith("services/")}
    # the callers a card names: the repository's cards as the import leaves them
    directory = {**directory_near(str(root / "services" / "x.service.yaml"), repo),
                 **directory_of(((text, path) for path, text in cards.items()), repo)}
    for path, text in cards.items():
        size = len(text.encode("utf-8"))
        if size > MAX_CARD_BYTES:  # render would refuse to read it
            raise ShipcardError(f"{source}: the imported card {path} would have {size} bytes, more than the "
                                f"{MAX_CARD_BYTES} a card may have")
        try:
            load_card_text(text, path, path, repo=repo, services=directory)
        except InputError as exc:  # a value the source had that a card refuses
            raise ShipcardError(f"{source}: the imported card is not valid: {exc}") from None
    with begin(root, "import") as txn:
        existing = sorted(p for p in files if (root / p).exists() or (root / p).is_symlink())
        if existing and not force:
            raise ShipcardError(f"{existing[0]}: already exists (rerun with --force to overwrite"
                                f"{f', {len(existing) - 1} more' if len(existing) > 1 else ''})")
        txn.commit(files)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for path in files:
        click.echo(f"wrote {path}")
    if report is not None:
        body = {"source": source, "written": list(files), "notes": [note.as_dict() for note in result.notes]}
        write_bytes_atomic(report, (json.dumps(body, indent=2) + "\n").encode("utf-8"))
    click.echo(f"imported {len(result.cards)} service(s) from {source}, {len(result.notes)} note(s); "
               "next: `shipcard render`", err=True)


def _refuse_report(report: Path, root: Path, files: dict[str, str], inputs: list[Path], force: bool) -> None:
    """Before anything is written: the report may not replace an input, a file of the import, a directory,
    or (without `force`) a file of the repository, as the cards may not."""
    target = real_path(report)
    if any(target == real_path(path) for path in inputs):
        raise ShipcardError(f"{report}: --report names an input of the import; write the report elsewhere")
    if target.is_dir():
        raise ShipcardError(f"{report}: --report names a directory")
    if report.is_symlink() and not report.exists():
        raise ShipcardError(f"{report}: --report is a link that leads nowhere (or to itself)")
    if target.parent.is_dir() and not os.access(target.parent, os.W_OK):
        raise ShipcardError(f"{report}: cannot write the report there (permission denied)")
    real_root = real_path(root)
    if target.is_relative_to(real_root):
        inside = target.relative_to(real_root).as_posix()
        if inside in files:
            raise ShipcardError(f"{report}: --report names {inside}, which the import writes; write the report "
                                "elsewhere")
        if target.exists() and not force:
            raise ShipcardError(f"{report}: already exists in the repository (rerun with --force to overwrite)")
