"""CLI commands of the checker (stub until issue 3 lands)."""

import click

from generator.errors import ShipcardError


@click.command("check")
@click.argument("paths", nargs=-1)
def check_command(paths: tuple[str, ...]) -> None:
    """Validate cards and manifests against Kubernetes schemas and the policy pack."""
    raise ShipcardError("check is not implemented yet")


@click.command("rules")
@click.argument("rule_id", required=False)
def rules_command(rule_id: str | None) -> None:
    """List the policy rules, or print one rule's documentation."""
    raise ShipcardError("rules is not implemented yet")
