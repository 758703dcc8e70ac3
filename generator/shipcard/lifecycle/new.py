"""`shipcard new NAME`: a service card from a blueprint, written to `services/NAME.service.yaml`.

Values are data: cookiecutter renders the blueprint with a unique placeholder for every
value (only the validated NAME goes in as itself), then each placeholder, which the
blueprint puts only where a whole scalar goes, is replaced in the card's text by the value
written as a YAML scalar. The result is parsed again and must hold exactly those values, and
`load_card` must accept it, before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from shipcard.card.load import MAX_CARD_BYTES, load_card_text
from shipcard.card.schema import SERVICE_NAME
from shipcard.errors import ShipcardError
from shipcard.lifecycle.blueprints import (
    SERVICE_KINDS,
    ask,
    interactive,
    load_blueprint,
    parse_sets,
    render_blueprint,
    rendered_defaults,
    staging,
)
from shipcard.settings import REPO_FILE, find_repo_root, load_repo
from shipcard.transaction import begin
from shipcard.yamlio.edit import replace_scalars
from shipcard.yamlio.read import PathKey, read_text
from shipcard.yamlio.roundtrip import load_roundtrip

MAX_NAME = 63


@click.command("new")
@click.argument("name")
@click.option("--blueprint", "kind", type=click.Choice(SERVICE_KINDS), default="web", show_default=True,
              help="Which kind of service to start from.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A blueprint value (repeatable); values are taken literally, never as templates.")
@click.option("--no-input", is_flag=True, help="Never prompt; take defaults for what --set does not give.")
def new_command(name: str, kind: str, sets: tuple[str, ...], no_input: bool) -> None:
    """Write services/NAME.service.yaml from a blueprint (web, worker, cronjob or console)."""
    check_name(name)
    root = find_repo_root(Path.cwd())
    if root is None:
        raise ShipcardError(f"no {REPO_FILE} here or above: run `shipcard init` first (or cd into the repository)")
    target = root / "services" / f"{name}.service.yaml"
    _refuse_existing(target)
    text = card_text(name, kind, sets, no_input, root)  # prompts: before the lock, which no one waits for long
    with begin(root, "new") as txn:
        _refuse_existing(target)  # again where no other run can write it meanwhile
        txn.commit({target.relative_to(root).as_posix(): text})
    click.echo(f"wrote {target.relative_to(root).as_posix()} (blueprint service-{kind}); "
               "next: `shipcard render`")


def _refuse_existing(target: Path) -> None:
    if target.exists() or target.is_symlink():
        raise ShipcardError(f"{target}: already exists; edit it instead")


def check_name(name: str) -> None:
    """A service name is a DNS-1035 label: it names the Service, the Deployment and the card file."""
    if len(name) > MAX_NAME or not re.match(SERVICE_NAME, name):
        raise ShipcardError(f"NAME {name!r}: a service name is at most {MAX_NAME} lower-case letters, digits and "
                            "'-', starting with a letter and ending with a letter or digit")


def card_text(name: str, kind: str, sets: tuple[str, ...], no_input: bool, root: Path) -> str:
    """The card's text, validated against the repository's settings; nothing is written."""
    blueprint = load_blueprint(f"service-{kind}")
    values = parse_sets(sets, blueprint, fixed=("name",))
    defaults = rendered_defaults(blueprint, {"name": name})
    keys = [k for k in blueprint.defaults if k != "name"]
    if interactive(no_input):
        values = ask(blueprint, values, defaults, keys)
    values = {key: values.get(key, defaults[key]) for key in keys}
    placeholders = {key: f"shipcardvalue{index}x" for index, key in enumerate(keys)}
    filename = f"services/{name}.service.yaml"
    with staging(root) as scratch:
        produced = render_blueprint(blueprint, {"name": name, **placeholders}, scratch)
        rendered = read_text(produced / f"{name}.service.yaml", max_bytes=MAX_CARD_BYTES)
    text = fill_placeholders(rendered, filename, {placeholders[k]: values[k] for k in keys})
    load_card_text(text, str(root / filename), filename, repo=load_repo(root))
    return text


def fill_placeholders(text: str, filename: str, values: dict[str, Any]) -> str:
    """Replace each placeholder scalar by its value written as YAML, leaving every other byte alone."""
    doc = load_roundtrip(text, filename)
    sites: dict[PathKey, str] = {}
    _find_sites(doc, values, (), sites)
    for placeholder in values:
        if text.count(placeholder) > list(sites.values()).count(placeholder):
            raise ShipcardError(f"{filename}: the blueprint uses {placeholder} outside a scalar value (blueprint bug)")
    return replace_scalars(text, doc, filename, {path: values[placeholder] for path, placeholder in sites.items()})


def _find_sites(node: Any, values: dict[str, Any], path: PathKey, sites: dict[PathKey, str]) -> None:
    """The path of every scalar that is exactly a placeholder, and its placeholder."""
    entries = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in entries:
        if isinstance(value, str) and value in values:
            sites[path + (key,)] = value
        else:
            _find_sites(value, values, path + (key,), sites)
