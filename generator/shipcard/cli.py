"""The `shipcard` command line: one click group, one command per verb.

Each command lives next to the code it drives; this module only wires them up
and turns ShipcardError into a one-line message with exit code 2, and any other
exception into one line naming its type with exit code 3 (the traceback, credentials
and the cards' env and secrets values masked, only with SHIPCARD_DEBUG=1). A command's
module is imported when the command runs (or help lists it), so that a no-op `shipcard render` does not pay for the
checker's or the registry client's imports.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import click
import yaml

from shipcard import __version__
from shipcard.errors import ShipcardError

DEBUG_VARIABLE = "SHIPCARD_DEBUG"
INTERNAL_ERROR_EXIT = 3

COMMANDS = {  # name → (module, attribute)
    "init": ("shipcard.lifecycle.init", "init_command"),
    "new": ("shipcard.lifecycle.new", "new_command"),
    "render": ("shipcard.render_command", "render_command"),
    "upgrade": ("shipcard.lifecycle.upgrade", "upgrade_command"),
    "check": ("shipcard.check.command", "check_command"),
    "rules": ("shipcard.check.command", "rules_command"),
    "pin": ("shipcard.pin.command", "pin_command"),
    "run": ("shipcard.run.command", "run_command"),
    "import": ("shipcard.importers.command", "import_group"),
}


class ShipcardGroup(click.Group):
    """A click group that reports ShipcardError as one line with its exit code, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ShipcardError as exc:
            for line in str(exc).splitlines():  # one line, or one per problem (a card's CardErrors)
                click.echo(f"shipcard: {line}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("shipcard: interrupted", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # usage errors and --help are click's; a closed pipe is main's
        except Exception as exc:  # a bug, whatever thread or worker raised it: never a traceback by default
            report_internal_error(exc, ctx.invoked_subcommand or "shipcard")
            ctx.exit(INTERNAL_ERROR_EXIT)


@click.group(cls=ShipcardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shipcard")
def cli() -> None:
    """Service cards in, GitOps repositories out.

    A service card (services/<name>.service.yaml) describes one service; shipcard
    renders it into Kustomize or helmfile trees plus one Argo CD Application per
    environment, pins images to digests, and checks manifests before merge.
    """



def main() -> None:
    """The command line, ending with SystemExit as click does (what tests call in-process)."""
    try:
        cli(prog_name="shipcard")
    except BrokenPipeError:
        sys.exit(1)


def run() -> NoReturn:
    """Entry point of the `shipcard` console script and of `python -m shipcard`: `main`, then the process
    ends without tearing down its heap.

    Once a command is done, freeing what it built one object at a time (a check's parsed documents, a
    render's trees) and the interpreter's finalisation buy nothing. So the process ends with `os._exit`,
    its status the command's, once standard output and error are flushed, while the SystemExit's
    traceback still holds the command's frames (nothing of theirs is freed first). Everything else that
    must last is done before a command returns: reports are written with os.write, the transaction
    commits and closes its journal inside the command, and the kernel releases the lock with the process.
    """
    try:
        main()
    except SystemExit as exc:
        _end(exc.code)
    _end(0)


def _end(code: object) -> NoReturn:
    """`os._exit` with the status `sys.exit(code)` gives, standard output and error flushed first (1 if
    that fails: a closed pipe or a full disk, unless the command already failed)."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
        code = 1
    status = code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 1
    os._exit(status)


# --------------------------------------------------------------------------- internal errors


def report_internal_error(exc: BaseException, command: str) -> None:
    """One line naming the exception's type; before it, with $SHIPCARD_DEBUG set, the traceback masked."""
    if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
        text = "".join(traceback.format_exception(exc))
        click.echo(mask_credentials(text, configured_credentials() | card_values(Path.cwd())), err=True, nl=False)
    click.echo(f"shipcard: internal error in {command}: {type(exc).__name__}; "
               f"rerun with {DEBUG_VARIABLE}=1 for details", err=True)


# Credentials as they appear in exception messages: an Authorization header's scheme and value, a
# `key: value` or `key=value` whose key names a secret (JSON bodies, forms, docker configs), the
# password of a URL. Each pattern is a fixed prefix and one character class: linear time.
_CREDENTIAL_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;]+"), r"\1\2***"),
    (re.compile(r"(?i)([\"']?\b(?:authorization|password|passwd|secret|token|access_token|refresh_token|"
                r"identitytoken|registrytoken|auth|api[-_]?key)[\"']?\s{0,4}[:=]\s{0,4}[\"']?)[^\s\"',;}&]+"),
     r"\1***"),
    (re.compile(r"(://[^/\s:@]{0,256}:)[^/\s@]+@"), r"\1***@"),
)
_MIN_SECRET_LENGTH = 4  # shorter strings of a config (`{}`, `""`) would mask half of any text


def mask_credentials(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every credential it may hold written as `***`: the values in `known` (as they are
    and as a repr escapes them), then whatever the credential patterns find."""
    for value in sorted({v for v in known if len(v) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        for form in {value, value.encode("unicode_escape").decode("ascii")}:
            text = text.replace(form, "***")
    for pattern, replacement in _CREDENTIAL_TEXT:
        text = pattern.sub(replacement, text)
    return text


def configured_credentials() -> set[str]:
    """Every secret string of $SHIPCARD_REGISTRY_AUTH and of the docker config's `auths` (a user name,
    an e-mail or a server address aside), the passwords inside `auth` values included."""
    from shipcard.pin.credentials import ENV_VARIABLE, MAX_CONFIG_BYTES, CredentialStore

    raw = os.environ.get(ENV_VARIABLE, "")
    found = {raw.strip()} | _secret_strings(_json(raw))
    try:
        path: Path = CredentialStore({**os.environ, ENV_VARIABLE: ""}).config_path
        if path.stat().st_size <= MAX_CONFIG_BYTES:
            config = _json(path.read_text(encoding="utf-8", errors="replace"))
            found |= _secret_strings(config.get("auths") if isinstance(config, dict) else None)
    except (ShipcardError, OSError):
        pass
    for value in list(found):  # `auth` is base64 of user:password
        try:
            found.add(base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return {value for value in found if value}


MAX_CARDS_MASKED = 2000  # a debug aid: enough for any repository, bounded for a hostile one


def card_values(start: Path) -> set[str]:
    """Every string under `env` and `secrets` (an environment's too) of the cards of the repository
    around `start`, read as plainly as possible: what a card holds there may be a secret."""
    from shipcard.render import find_cards
    from shipcard.settings import find_repo_root
    from shipcard.yamlio.read import read_text

    found: set[str] = set()
    for path in find_cards(find_repo_root(start) or start)[:MAX_CARDS_MASKED]:
        try:
            data = yaml.safe_load(read_text(path))
        except Exception:  # a card that does not load: its values cannot be told apart, and masking must not fail
            continue
        if not isinstance(data, dict):
            continue
        holders = [data, *((data.get("environments") or {}).values()
                           if isinstance(data.get("environments"), dict) else [])]
        for holder in holders:
            if isinstance(holder, dict):
                found |= _secret_strings([holder.get("env"), holder.get("secrets")], names=())
    return found


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _secret_strings(node: object, key: str = "", names: tuple[str, ...] = ("username", "email", "serveraddress")
                    ) -> set[str]:
    """Every string in `node`, but those under a key in `names` (which are not secret)."""
    if isinstance(node, dict):
        return {s for k, v in node.items() for s in _secret_strings(v, str(k).lower(), names)}
    if isinstance(node, list):
        return {s for item in node for s in _secret_strings(item, key, names)}
    return {node} if isinstance(node, str) and key not in names else set()
