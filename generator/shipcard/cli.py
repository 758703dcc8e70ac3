"""The `shipcard` command line: one click group, one command per verb.

Each command lives next to the code it drives; this module only wires them up
and turns ShipcardError into a one-line message with exit code 2, and any other
exception into one line naming its type with exit code 3 (`shipcard.crash`: the traceback,
credentials and the cards' env and secrets values masked, only with SHIPCARD_DEBUG=1). A
command's module is imported when the command runs (or help lists it), so that a no-op
`shipcard render` does not pay for the checker's or the registry client's imports.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NoReturn

import click

from shipcard import __version__
from shipcard.errors import ShipcardError

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
            from shipcard.crash import report_internal_error

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
    that fails: a closed pipe or a full disk, unless the command already failed); the ordinary exit
    under a profiler or a tracer (`python -m cProfile -m shipcard`, coverage)."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
        code = 1
    status = code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 1
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(status)  # a profiler or coverage writes what it gathered at the ordinary exit
    os._exit(status)
