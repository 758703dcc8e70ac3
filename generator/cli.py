"""The `shipcard` command line: one click group, one command per verb.

Each command lives next to the code it drives; this module only wires them up
and turns ShipcardError into a one-line message with exit code 2.
"""

from __future__ import annotations

import sys

import click

from generator import __version__
from generator.check.command import check_command, rules_command
from generator.errors import ShipcardError
from generator.pin.command import pin_command
from generator.render_command import render_command


class ShipcardGroup(click.Group):
    """A click group that reports ShipcardError as one line with its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ShipcardError as exc:
            click.echo(f"shipcard: {exc}", err=True)
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


cli.add_command(render_command)
cli.add_command(check_command)
cli.add_command(rules_command)
cli.add_command(pin_command)


def main() -> None:
    """Entry point of the `shipcard` console script."""
    try:
        cli(prog_name="shipcard")
    except BrokenPipeError:
        sys.exit(1)
