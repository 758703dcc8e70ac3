"""The `shipcard` command line: one click group, one command per verb.

Each command lives next to the code it drives; this module only wires them up
and turns ShipcardError into a one-line message with exit code 2. A command's
module is imported when the command runs (or help lists it), so that a no-op
`shipcard render` does not pay for the checker's or the registry client's imports.
"""

from __future__ import annotations

import importlib
import sys

import click

from shipcard import __version__
from shipcard.errors import ShipcardError

COMMANDS = {  # name → (module, attribute)
    "init": ("shipcard.lifecycle.init", "init_command"),
    "new": ("shipcard.lifecycle.new", "new_command"),
    "render": ("shipcard.render_command", "render_command"),
    "upgrade": ("shipcard.lifecycle.upgrade", "upgrade_command"),
    "check": ("shipcard.check.command", "check_command"),
    "rules": ("shipcard.check.command", "rules_command"),
    "pin": ("shipcard.pin.command", "pin_command"),
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


@click.group(cls=ShipcardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shipcard")
def cli() -> None:
    """Service cards in, GitOps repositories out.

    A service card (services/<name>.service.yaml) describes one service; shipcard
    renders it into Kustomize or helmfile trees plus one Argo CD Application per
    environment, pins images to digests, and checks manifests before merge.
    """



def main() -> None:
    """Entry point of the `shipcard` console script."""
    try:
        cli(prog_name="shipcard")
    except BrokenPipeError:
        sys.exit(1)
