"""`shipcard run JOB`: print (or, with --apply, run) the command that starts a manual job."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shipcard.run.manual import plan_run, run
from shipcard.settings import find_repo_root


@click.command("run")
@click.argument("job")
@click.option("--env", "env_name", default=None,
              help="The environment to run in (default: the card's only one).")
@click.option("--card", default=None,
              help="The service's name or its card file (default: the one card with a job named JOB).")
@click.option("--context", default=None,
              help="The kube context (default: the kubeconfig's context for the Application's cluster).")
@click.option("--apply", is_flag=True, help="Run the command with kubectl and exit with its status.")
def run_command(job: str, env_name: str | None, card: str | None, context: str | None, apply: bool) -> None:
    """Print the kubectl command that starts the manual job JOB, its Job named after you and the time.

    The Job is `<service>-<job>-<you>-<YYYYMMDDHHMM>` (UTC; you: the local part of
    `git config user.email`, else $USER). Nothing is written; docs/auditing.md tells how the run
    is audited.
    """
    root = find_repo_root(Path.cwd()) or Path.cwd()
    plan = plan_run(root, job, card=card, env_name=env_name, context=context)
    for note in plan.notes:
        click.echo(f"shipcard: {note}", err=True)
    click.echo(plan.command_line())
    if apply:
        sys.stdout.flush()
        sys.exit(run(plan))
