"""The `shipcard import` group: one subcommand per source, each a `read_*` of its module, then `write_import`.

A new source is a module whose `read_<source>(…) -> ImportResult` builds cards with `CardBuilder`, and
one command here calling it and `write_import`.
"""

from __future__ import annotations

from pathlib import Path

import click

# Not click's checks: a directory (or a FIFO) for FILE is refused by the reader in shipcard's one line.
_FILE = click.Path(path_type=Path)
_force = click.option("--force", is_flag=True, help="Overwrite cards (and custom/ files) that exist already.")
_report = click.option("--report", type=click.Path(path_type=Path), metavar="FILE",
                       help="Also write the report (what could not be expressed) to FILE as JSON.")


@click.group("import")
def import_group() -> None:
    """Service cards from what exists: a Compose file, a crontab, EventBridge schedules, manifests, an ECS
    task definition.

    Each card is written to services/<name>.service.yaml with a comment naming where every value
    came from; what has no card field is reported (standard error, and --report FILE as JSON).
    """


@import_group.command("compose")
@click.argument("file", type=_FILE)
@_force
@_report
def compose_command(file: Path, force: bool, report: Path | None) -> None:
    """One card per service of a Compose FILE."""
    from shipcard.importers.compose import read_compose
    from shipcard.importers.write import write_import

    write_import(read_compose(file), str(file), force=force, report=report, inputs=[file])


@import_group.command("crontab")
@click.argument("file", type=_FILE)
@click.option("--image", required=True, help="The image every job runs (cron ran them on the server).")
@click.option("--name", help="The service's name (default: the file's name up to its first dot).")
@_force
@_report
def crontab_command(file: Path, image: str, name: str | None, force: bool, report: Path | None) -> None:
    """One card whose jobs are the lines of a crontab FILE."""
    from shipcard.importers.crontab import read_crontab
    from shipcard.importers.write import write_import

    write_import(read_crontab(file, image, name), str(file), force=force, report=report, inputs=[file])


@import_group.command("eventbridge")
@click.argument("source", metavar="EXPRESSION|FILE")
@click.option("--image", help="The image the jobs run; without it the schedules are printed, nothing is written.")
@click.option("--name", help="The service's name (default: the file's name up to its first dot).")
@click.option("--time-zone", help="The time zone of schedules that name none (default: Etc/UTC, as EventBridge).")
@_force
@_report
def eventbridge_command(source: str, image: str | None, name: str | None, time_zone: str | None, force: bool,
                        report: Path | None) -> None:
    """EventBridge schedules (an expression, or the JSON of `aws events list-rules` or `aws scheduler
    get-schedule`) as Kubernetes cron: printed, or with --image the jobs of one card."""
    from shipcard.importers.eventbridge import is_expression, print_schedules, read_eventbridge
    from shipcard.importers.write import write_import

    if image is None:
        print_schedules(source, time_zone)
        return
    inputs = [] if is_expression(source) else [Path(source)]
    write_import(read_eventbridge(source, image, name, time_zone), source, force=force, report=report, inputs=inputs)


@import_group.command("manifests")
@click.argument("path", type=click.Path(exists=False, path_type=Path))
@click.option("--workload", help="The Deployment or StatefulSet to import when PATH holds several.")
@click.option("--all", "every", is_flag=True, help="One card per Deployment and StatefulSet of PATH.")
@_force
@_report
def manifests_command(path: Path, workload: str | None, every: bool, force: bool, report: Path | None) -> None:
    """A workload's manifests (a file, or the YAML files of a directory) as a card; what has no card
    field is kept in apps/<name>/custom/."""
    from shipcard.importers.manifests import read_manifests
    from shipcard.importers.write import write_import

    write_import(read_manifests(path, workload, every), str(path), force=force, report=report, inputs=[path])


@import_group.command("ecs")
@click.argument("file", type=_FILE)
@click.option("--name", help="The service's name (default: the task definition's family).")
@click.option("--container", help="The container to import when the task has several that could be the service.")
@_force
@_report
def ecs_command(file: Path, name: str | None, container: str | None, force: bool, report: Path | None) -> None:
    """The service container of an ECS task definition (the JSON of `aws ecs describe-task-definition`)
    as a card."""
    from shipcard.importers.ecs import read_ecs
    from shipcard.importers.write import write_import

    write_import(read_ecs(file, name, container), str(file), force=force, report=report, inputs=[file])
