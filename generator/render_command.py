"""CLI command: render (stub)."""

import click


@click.command("render")
def render_command() -> None:
    """Render service cards into a GitOps tree."""
