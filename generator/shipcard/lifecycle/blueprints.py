"""Cookiecutter blueprints (`blueprints/` in a checkout, `generator/shipcard/_data/blueprints` in the wheel).

`init` and `new` share this: read a blueprint's variables, take values from `--set` and (on a
terminal) from prompts, render with the real cookiecutter API into a staging directory under
`.shipcard/`, and hand the result back. Cookiecutter always runs with `no_input`: shipcard asks
the questions itself, because cookiecutter evaluates the values it is given as Jinja templates
(`--set team='{{ ... }}'` would run code) and pastes typed answers into YAML unquoted. Callers
decide how values reach the files: strictly validated ones directly, free text as data.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from shipcard.errors import ShipcardError
from shipcard.resources import data_dir
from shipcard.transaction import STATE_DIR, state_directory

REPOSITORY = "gitops-repo"
SERVICE_KINDS = ("web", "worker", "cronjob", "console")


@dataclass(frozen=True)
class Blueprint:
    name: str
    directory: Path
    defaults: dict[str, Any]  # the variables a user may set, with their (unrendered) defaults
    prompts: dict[str, str]
    private: dict[str, Any]  # `_key` values: passed through, never rendered or asked

    def variable_type(self, key: str) -> type:
        default = self.defaults[key]
        return bool if isinstance(default, bool) else int if isinstance(default, int) else str


def load_blueprint(name: str) -> Blueprint:
    directory = data_dir("blueprints") / name
    try:
        spec = json.loads((directory / "cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShipcardError(f"blueprint {name}: cannot read its cookiecutter.json ({exc})") from None
    prompts = spec.pop("__prompts__", {})
    defaults = {k: v for k, v in spec.items() if not k.startswith("_")}
    private = {k: v for k, v in spec.items() if k.startswith("_")}
    return Blueprint(name, directory, defaults, prompts, private)


def blueprint_version() -> str:
    """The version of the gitops-repo blueprint this shipcard ships (recorded in shipcard.yaml)."""
    return str(load_blueprint(REPOSITORY).private["_blueprint_version"])


def parse_sets(pairs: tuple[str, ...], blueprint: Blueprint, fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """`--set key=value` pairs as typed values; keys must be the blueprint's variables."""
    values: dict[str, Any] = {}
    settable = [k for k in blueprint.defaults if k not in fixed]
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in settable:
            raise ShipcardError(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(settable)} "
                                f"(blueprint {blueprint.name})")
        values[key] = typed(blueprint, key, text, f"--set {key}")
    return values


def typed(blueprint: Blueprint, key: str, text: str, where: str) -> Any:
    kind = blueprint.variable_type(key)
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ShipcardError(f"{where}: {text!r} is not a whole number") from None
    if kind is bool:
        if text.lower() not in ("true", "false", "yes", "no"):
            raise ShipcardError(f"{where}: {text!r} is not true or false")
        return text.lower() in ("true", "yes")
    return text


def rendered_defaults(blueprint: Blueprint, known: dict[str, Any]) -> dict[str, Any]:
    """The blueprint's defaults, their own templates (`{{ cookiecutter.name }}`) rendered with `known`."""
    from cookiecutter.environment import StrictEnvironment

    environment = StrictEnvironment(context={"cookiecutter": blueprint.defaults})
    defaults = {}
    for key, raw in blueprint.defaults.items():
        defaults[key] = environment.from_string(raw).render(cookiecutter=known) if isinstance(raw, str) else raw
    return defaults


def interactive(no_input: bool) -> bool:
    """Prompt only on a terminal and never when told not to (CI has no terminal)."""
    return not no_input and sys.stdin.isatty() and sys.stdout.isatty()


def ask(blueprint: Blueprint, values: dict[str, Any], defaults: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """Prompt for every key in `keys` not given yet, offering the default."""
    answers = dict(values)
    for key in keys:
        if key in answers:
            continue
        text = click.prompt(blueprint.prompts.get(key, key), default=str(defaults[key]))
        answers[key] = typed(blueprint, key, text, key)
    return answers


@contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A scratch directory under `<root>/.shipcard/`, removed afterwards whatever happens (with
    `.shipcard/` itself when this made it)."""
    created = not (root / STATE_DIR).exists()
    parent = state_directory(root)
    directory = Path(tempfile.mkdtemp(prefix="blueprint-", dir=parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if created and not any(parent.iterdir()):
            parent.rmdir()


def render_blueprint(blueprint: Blueprint, context: dict[str, Any], scratch: Path) -> Path:
    """Run cookiecutter on the blueprint with exactly `context`; the directory it produced."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    config = {"replay_dir": str(scratch / "replay"), "cookiecutters_dir": str(scratch / "cookiecutters")}
    try:
        produced = cookiecutter(str(blueprint.directory), no_input=True, extra_context=context,
                                output_dir=str(scratch / "out"), default_config=config, accept_hooks=False)
    except CookiecutterException as exc:
        raise ShipcardError(f"blueprint {blueprint.name}: {exc}") from None
    return Path(produced)
