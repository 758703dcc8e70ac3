"""`shipcard init [DIR]`: a new GitOps repository from the gitops-repo blueprint, first commit included.

Every value is checked against a strict pattern before cookiecutter sees it (no braces, quotes,
spaces or `#` can get through), so the values can go into the blueprint's files as they are.
Nothing is written when a value is refused or a file to create already exists.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import click

from shipcard import __version__, git
from shipcard.errors import ShipcardError
from shipcard.lifecycle.blueprints import (
    REPOSITORY,
    ask,
    interactive,
    load_blueprint,
    parse_sets,
    render_blueprint,
    rendered_defaults,
    staging,
)
from shipcard.settings import REPO_FILE, parse_repo
from shipcard.transaction import begin
from shipcard.writers.argocd import project_files

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
PATTERNS: dict[str, tuple[str, str]] = {
    "repo_url": (r"^([a-z][a-z0-9+.-]*://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[A-Za-z0-9._~:/?=&%@+-]+$",
                 "a git URL such as https://github.com/org/gitops.git or git@github.com:org/gitops.git"),
    "target_revision": (r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![./])$", "a branch name such as main"),
    "project": (rf"^{_LABEL}$", "an Argo CD project name (lower-case letters, digits and '-')"),
    "environments": (rf"^{_LABEL}(,{_LABEL})*$", "environment names separated by commas, such as dev,staging,prod"),
    "kubernetes_version": (r"^[0-9]+\.[0-9]+$", "MAJOR.MINOR, such as 1.31"),
    "argocd_namespace": (rf"^{_LABEL}$", "a namespace name"),
    "owners": (r"^[A-Za-z0-9@][A-Za-z0-9@._/+-]*( +[A-Za-z0-9@][A-Za-z0-9@._/+-]*)*$",
               "CODEOWNERS owners separated by spaces, such as @org/team"),
    "ingress_namespace": (rf"^{_LABEL}$", "a namespace name"),
    "vpc_cidr": (rf"^({_OCTET}(\.{_OCTET}){{3}}/(3[0-2]|[12]?[0-9]))?$",
                 "an IPv4 address block such as 10.0.0.0/16, or nothing"),
    "ci_shards": (r"^([1-9]|[1-9][0-9])$", "a number of CI jobs from 1 to 99"),
}


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help=f"A repository setting (repeatable): {', '.join(PATTERNS)}.")
@click.option("--no-input", is_flag=True, help="Never prompt; take defaults for what --set does not give.")
@click.option("--no-git", is_flag=True, help="Do not create a git repository and its first commit.")
def init_command(directory: Path, sets: tuple[str, ...], no_input: bool, no_git: bool) -> None:
    """Create a GitOps repository in DIRECTORY (default: here) from the gitops-repo blueprint.

    It holds shipcard.yaml, services/, the Argo CD root (argocd/root.yaml), CI for GitHub
    Actions and GitLab, a pre-commit configuration, CODEOWNERS and a README.
    """
    blueprint = load_blueprint(REPOSITORY)
    values = parse_sets(sets, blueprint)
    defaults = rendered_defaults(blueprint, {})
    keys = list(PATTERNS)
    if interactive(no_input):
        values = ask(blueprint, values, defaults, keys)
    values = {key: str(values.get(key, defaults[key])) for key in keys}
    check_values(values)
    created = [path for path in (directory, *directory.parents) if not path.exists()]  # its parents too
    directory.mkdir(parents=True, exist_ok=True)
    try:
        files = scaffold(directory, blueprint_context(values))
    except BaseException:
        if created:
            shutil.rmtree(created[-1], ignore_errors=True)
        raise
    click.echo(f"created {len(files)} file(s) in {directory}")
    if not no_git:
        click.echo(first_commit(directory, files, values["target_revision"]))
    click.echo("next: `shipcard new NAME --blueprint web`, then `shipcard render`")


def check_values(values: dict[str, str]) -> None:
    for key, (pattern, meaning) in PATTERNS.items():
        if not re.fullmatch(pattern, values[key]):  # `$` alone would let a final newline through
            raise ShipcardError(f"{key} {values[key]!r}: expected {meaning}")
    environments = values["environments"].split(",")
    if len(set(environments)) != len(environments) or any(len(env) > 30 for env in environments):
        raise ShipcardError(f"environments {values['environments']!r}: names must be unique and at most 30 characters")


def blueprint_context(values: dict[str, str]) -> dict[str, Any]:
    return {**values, "_shipcard_version": __version__}


def scaffold(directory: Path, context: dict[str, Any]) -> list[Path]:
    """Render the blueprint and write its files into `directory`, all or none; refuses to replace any file."""
    blueprint = load_blueprint(REPOSITORY)
    with begin(directory, "init") as txn, staging(directory) as scratch:
        produced = render_blueprint(blueprint, context, scratch)
        sources = sorted(p for p in produced.rglob("*") if p.is_file())
        files = {source.relative_to(produced).as_posix(): source.read_bytes() for source in sources}
        settings = parse_repo((produced / REPO_FILE).read_text(encoding="utf-8"), directory / REPO_FILE)
        # The AppProject argocd/root.yaml's Applications name, as `render` keeps it.
        files.update((rel, text.encode()) for rel, text in project_files([], settings).items())
        targets = [directory / rel for rel in sorted(files)]
        clashes = [t for t in targets if t.exists() or t.is_symlink()]
        if clashes:
            raise ShipcardError(f"{clashes[0]}: already exists; shipcard init never replaces a file "
                                f"({len(clashes)} would be)")
        txn.commit(files)
    return targets


def first_commit(directory: Path, files: list[Path], branch: str) -> str:
    """`git init` and commit the scaffold; inside an existing work tree, leave the files for review."""
    if git.work_tree_top(directory) is not None:
        return "inside an existing git repository: the files are left uncommitted for you to review"
    git.init_repository(directory, branch)
    name = git.commit(directory, [f.relative_to(directory).as_posix() for f in files],
                      f"shipcard init: GitOps repository (blueprint {REPOSITORY})\n")
    return f"git repository created on branch {branch}, first commit {name}"
