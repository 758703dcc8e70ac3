"""CLI command of the pinner (stub until issue 4 lands)."""

import click

from generator.errors import ShipcardError


@click.command("pin")
@click.argument("cards", nargs=-1)
def pin_command(cards: tuple[str, ...]) -> None:
    """Replace mutable image tags in cards with immutable digests."""
    raise ShipcardError("pin is not implemented yet")
