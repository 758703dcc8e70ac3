"""CLI commands of the checker: `shipcard check` and `shipcard rules`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shipcard.check.model import RuleInfo
from shipcard.yamlio.read import real_path

if TYPE_CHECKING:
    from shipcard.check.engine import Progress

_PATH = click.Path(path_type=Path)


@click.command("check")
@click.argument("paths", nargs=-1)
@click.option("--kubernetes-version", "-k", metavar="X.Y",
              help="Target Kubernetes version for schemas and deprecations (default: shipcard.yaml's "
                   "kubernetesVersion, else the newest shipped).")
@click.option("--strict-kinds", is_flag=True, help="A kind without a schema is an error, not a warning.")
@click.option("--crd-dir", "crd_dirs", multiple=True, type=_PATH,
              help="Directory of CustomResourceDefinitions that validate custom resources (repeatable).")
@click.option("--policy-dir", "policy_dirs", multiple=True, type=_PATH,
              help="Directory of organisation policies, added to the built-in pack (repeatable).")
@click.option("--values", "values", multiple=True, type=_PATH,
              help="Helm values file for charts rendered on their own (repeatable).")
@click.option("--format", "formats", multiple=True, metavar="FORMAT[=FILE]",
              help="text, json, sarif, junit or github; =FILE writes to a file (repeatable; default text).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]),
              help="Lowest severity that fails the run (default error, or shipcard.yaml's check.fail-on).")
@click.option("--base", metavar="REF", help="Check only what changed since the merge base of REF and HEAD.")
@click.option("--config", type=_PATH, help="Repository config (default: the nearest shipcard.yaml).")
@click.option("--shard", metavar="K/N",
              help="Report only shard K of N (1 <= K <= N): the findings of a fixed 1/N of the services, "
                   "for a CI matrix of N jobs; together, the N shards report what one run does.")
@click.option("--allow-remote", is_flag=True,
              help="Render Kustomize trees and charts that name remote resources, and fetch policies' remote "
                   "$refs (default: report them, fetch nothing).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="kubectl and helm processes run at a time (default: the number of cores).")
@click.option("--verbose", "-v", is_flag=True, help="Also list skipped files, suppressed findings and timings.")
def check_command(paths: tuple[str, ...], kubernetes_version: str | None, strict_kinds: bool,
                  crd_dirs: tuple[Path, ...], policy_dirs: tuple[Path, ...], values: tuple[Path, ...],
                  formats: tuple[str, ...], fail_on: str | None, base: str | None, config: Path | None,
                  shard: str | None, allow_remote: bool, jobs: int | None, verbose: bool) -> None:
    """Validate manifests, Kustomize trees, charts, Argo CD Applications and cards.

    PATH defaults to the repository root; `-` reads manifests from standard input.
    Exit status: 0 nothing at or above --fail-on, 1 findings, 2 usage error or unreadable input.
    """
    from shipcard.check.engine import CheckOptions, run_check
    from shipcard.check.report import parse_formats, write_outputs
    from shipcard.check.shard import Shard
    from shipcard.errors import ShipcardError

    specs = parse_formats(formats)
    chosen = Shard.parse(shard) if shard is not None else None
    if config is not None and not config.is_file():
        raise ShipcardError(f"--config {config}: no such file")
    options = CheckOptions(paths=list(paths), kubernetes_version=kubernetes_version, strict_kinds=strict_kinds,
                           crd_dirs=[real_path(p) for p in crd_dirs], policy_dirs=[real_path(p) for p in policy_dirs],
                           values=list(values), fail_on=fail_on, base=base, config=config,
                           allow_remote=allow_remote, jobs=jobs, shard=chosen)

    def log(line: str) -> None:
        click.echo(line, err=True)

    with terminal_progress() as progress:
        result = run_check(options, log=log, progress=progress)
    if verbose:
        for path, why in result.skipped:
            log(f"skipped {path}: {why}")
        for note in result.notes:
            log(f"note: {note}")
        if result.config_file:
            log(f"config: {result.config_file}")
        log("timings: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items()))
    write_outputs(specs, result, verbose=verbose,
                  inputs=[*values, *([config] if config else []), *crd_dirs, *policy_dirs])
    sys.exit(result.exit_code)


@contextmanager
def terminal_progress() -> Iterator[Progress]:
    """A progress display on standard error when it is a terminal (gone when done); else nothing."""
    if not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(SpinnerColumn(), TextColumn("shipcard check: {task.description}"), BarColumn(),
             MofNCompleteColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("planning", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        yield update


@click.command("rules")
@click.argument("rule_id", required=False)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--policy-dir", "policy_dirs", multiple=True, type=_PATH,
              help="Also list the rules of these organisation policy directories.")
@click.option("--config", type=_PATH, help="Repository config whose check.policy-dirs to include "
                                            "(default: the nearest shipcard.yaml).")
def rules_command(rule_id: str | None, output: str, policy_dirs: tuple[Path, ...], config: Path | None) -> None:
    """List the policy rules, or print one rule's documentation."""
    from shipcard.check.engine import all_rule_infos, engine_rule_infos
    from shipcard.check.rules import load_rules
    from shipcard.errors import ShipcardError
    from shipcard.settings import find_repo_root, load_repo, load_settings

    if config is not None and not config.is_file():
        raise ShipcardError(f"--config {config}: no such file")
    settings = load_settings(config) if config else load_repo(find_repo_root(Path.cwd()))
    from shipcard.check.suppress import ALWAYS_REQUIRED

    loaded = load_rules([real_path(p) for p in policy_dirs], config_dirs=list(settings.check.policy_dirs),
                        root=Path.cwd())
    ruleset = loaded.configured(settings.check.rules, ALWAYS_REQUIRED | settings.check.required,
                                {i.id for i in engine_rule_infos()})
    infos = all_rule_infos(ruleset) + [info for info in loaded.infos() if info.id in ruleset.disabled]
    if rule_id is not None:
        chosen = [i for i in infos if i.id == rule_id]
        if not chosen:
            raise ShipcardError(f"no rule {rule_id!r} (see `shipcard rules`)")
        shown, enabled = chosen[0], chosen[0].id not in ruleset.disabled
        off = "" if enabled else "\n(turned off in shipcard.yaml: check.rules)"
        click.echo(json.dumps(_info_dict(shown, enabled), indent=2) if output == "json" else rule_doc(shown) + off)
        return
    if output == "json":
        click.echo(json.dumps([_info_dict(i, i.id not in ruleset.disabled) for i in infos], indent=2))
        return
    width = max(len(i.id) for i in infos)
    for info in infos:
        severity = "off" if info.id in ruleset.disabled else info.severity
        click.echo(f"{info.id:<{width}}  {severity:<7}  {info.category:<12}  {info.title}")
    click.echo(f"\n{len(infos)} rules; `shipcard rules ID` prints one rule's documentation.")


def _info_dict(info: RuleInfo, enabled: bool = True) -> dict[str, object]:
    return {"id": info.id, "severity": info.severity, "enabled": enabled, "title": info.title,
            "category": info.category, "rationale": info.rationale, "fix": info.fix,
            "pass_examples": info.pass_examples, "fail_examples": info.fail_examples, "source": info.source}


def rule_doc(info: RuleInfo) -> str:
    """One rule's documentation as text, with its PASS and FAIL examples."""
    lines = [f"{info.id} ({info.severity}, {info.category})", "", info.title, "",
             "Why: " + info.rationale, "", "Fix: " + info.fix]
    for label, examples in (("PASS", info.pass_examples), ("FAIL", info.fail_examples)):
        for number, example in enumerate(examples, start=1):
            lines += ["", f"{label} example {number}:", *("    " + line for line in example.rstrip("\n").split("\n"))]
    if info.source:
        lines += ["", f"Defined in {info.source}"]
    return "\n".join(lines)
