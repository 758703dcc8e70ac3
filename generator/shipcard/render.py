"""The render pipeline: cards → model → objects → files (pure), then the tree writer.

Each card renders in its `gitops.format` (kustomize or helmfile) unless the run overrides it.
Helmfile-format cards share one chart, vendored once at `charts/service/` when any card needs it.
Rendering a whole repository (parallel, incremental, orphans) is `shipcard.lifecycle.rendering`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.card.model import Card
from shipcard.card.network import SERVICES_GLOB
from shipcard.card.schema import FORMATS
from shipcard.errors import InputError, Location, ShipcardError
from shipcard.k8s.objects import environment_objects, job_object_name
from shipcard.writers import helmfile, kustomize
from shipcard.writers.argocd import ARGOCD_NAMESPACE, application_files
from shipcard.writers.tree import with_header
from shipcard.yamlio.read import real_path
from shipcard.yamlio.roundtrip import load_roundtrip, locate


def find_cards(root: Path) -> list[Path]:
    return sorted(root.glob(SERVICES_GLOB), key=str)  # one directory: the order of Paths, faster


TEMPLATE_DELIMITERS = ("{{", "}}")


def card_source(card_path: Path, out: Path, resolved_out: Path | None = None) -> str:
    """How generated headers name a card: relative to the output tree when inside it, else its file name.

    `resolved_out` is `real_path(out)` for callers naming many cards. The name goes into every
    generated header, and helmfile renders all of helmfile.yaml, comments included, as a Go
    template: a name holding a template delimiter would run as one, so it is refused.
    """
    source = _card_source(card_path, out, resolved_out)
    if any(delimiter in source for delimiter in TEMPLATE_DELIMITERS):
        raise ShipcardError(f"{source!r}: a card's path may not contain '{{{{' or '}}}}' "
                            "(helmfile would run it as a template)")
    return source


def _card_source(card_path: Path, out: Path, resolved_out: Path | None) -> str:
    if not card_path.is_absolute() and not out.is_absolute() and ".." not in card_path.parts \
            and not card_path.is_symlink():
        try:
            return card_path.relative_to(out).as_posix()  # the usual services/x.service.yaml, without stat calls
        except ValueError:
            pass
    try:
        return real_path(card_path).relative_to(resolved_out or real_path(out)).as_posix()
    except ValueError:
        return card_path.name


# --------------------------------------------------------------------------- names two cards may not share

REPOSITORY = "repository"  # the "cluster" of a card's service name and tree: the GitOps repository itself
ARGOCD = "argocd"  # the cluster of every Application: Argo CD's own, whatever cluster it deploys to
ROOT_SOURCE = "argocd/root.yaml"
ROOT_PREFIX = "root-"  # argocd/root.yaml makes the Application root-<dir> for every argocd/<dir>/
PROJECTS_DIRECTORY = "projects"


@dataclass(frozen=True)
class Claim:
    """One thing a card puts where another card's may land: two claims with one `key` are one object
    rendered twice (Argo CD would fight over it), one tree or one service name written twice."""

    key: tuple[str, str, str, str]  # cluster, namespace, kind, name
    source: str  # the card, as headers name it (ROOT_SOURCE for the repository's root Applications)
    what: str  # e.g. "Application 'a-b-c' (environment c)"
    field: tuple[str | int, ...] = ("name",)  # the card's field that names it


def application_claim(service: str, environment: str, source: str, argocd_namespace: str) -> Claim:
    name = f"{service}-{environment}"
    return Claim((ARGOCD, argocd_namespace, "Application", name), source,
                 f"Application {name!r} (environment {environment})")


def card_claims(card: Card, argocd_namespace: str = ARGOCD_NAMESPACE) -> list[Claim]:
    """The service name, tree, Applications and Kubernetes objects of one card."""
    claims = [Claim((REPOSITORY, "", "service", card.name), card.source, f"service name {card.name!r}"),
              Claim((REPOSITORY, "", "tree", card.gitops.path), card.source, f"gitops.path {card.gitops.path!r}",
                    ("gitops", "path"))]
    for env in card.environments:
        claims.append(application_claim(card.name, env.name, card.source, argocd_namespace))
        jobs = {job_object_name(env.spec, job): index for index, job in enumerate(env.spec.jobs)}
        for obj in environment_objects(env):
            kind, name = str(obj["kind"]), str(obj["metadata"]["name"])
            field: tuple[str | int, ...] = ("jobs", jobs[name], "name") if kind in ("CronJob", "Job") \
                and name in jobs else ("name",)
            claims.append(Claim((env.cluster, env.namespace, kind, name), card.source,
                                f"{kind} {name!r} in namespace {env.namespace!r} of {env.cluster} "
                                f"(environment {env.name})", field))
    return claims


def root_claims(environments: Iterable[str], argocd_namespace: str = ARGOCD_NAMESPACE) -> list[Claim]:
    """The root Applications argocd/root.yaml makes: one per environment directory, and root-projects."""
    return [Claim((ARGOCD, argocd_namespace, "Application", f"{ROOT_PREFIX}{directory}"), ROOT_SOURCE,
                  f"the repository's root Application '{ROOT_PREFIX}{directory}' (one per argocd/<dir>/)")
            for directory in sorted({*environments, PROJECTS_DIRECTORY})]


def collisions(claims: Iterable[Claim]) -> list[tuple[Claim, Claim]]:
    """(earlier, later) claims of two different cards (or a card and the roots) on one key."""
    first: dict[tuple[str, str, str, str], Claim] = {}
    found = []
    for claim in claims:
        earlier = first.setdefault(claim.key, claim)
        if earlier.source != claim.source:
            found.append((earlier, claim))
    return found


def collision_error(earlier: Claim, later: Claim, places: dict[str, tuple[str, str]]) -> InputError:
    """The one line naming both cards with file:line; `places` maps a card source to (its file, its text)."""
    first, second = (later, earlier) if later.source == ROOT_SOURCE else (earlier, later)
    where = claim_location(first, places)[0]
    other = f"{first.what} of {where}" if first.source != ROOT_SOURCE else first.what
    location, field = claim_location(second, places)
    return InputError(location, _field_name(field), f"{second.what} collides with {other}; rename one of them")


def claim_location(claim: Claim, places: dict[str, tuple[str, str]]) -> tuple[Location, tuple[str | int, ...]]:
    """Where a card names what it claims: its file, line and column (the roots: their file), and the field
    there (`name` for a default `gitops.path`, which the card does not write)."""
    if claim.source not in places:
        return Location(claim.source), ()
    path, text = places[claim.source]
    try:
        document = load_roundtrip(text, path)
    except ShipcardError:
        return Location(path), claim.field
    field = claim.field if _written(document, claim.field) else ("name",)
    line, column = locate(document, field)
    return Location(path, line, column), field


def _written(document: Any, path: tuple[str | int, ...]) -> bool:
    """Whether the card's text holds the field at `path`."""
    node = document
    try:
        for step in path:
            node = node[step]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _field_name(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else (f".{step}" if i else step)
                   for i, step in enumerate(path))


def card_format(card: Card, override: str | None = None) -> str:
    """The format a card renders in: the run's `--format`, else the card's `gitops.format`."""
    return override or card.gitops.format


def extension_files(card: Card, fmt: str | None = None) -> list[str]:
    """The user's files (extension points) whose presence changes what the card renders."""
    if card_format(card, fmt) == "helmfile":
        return helmfile.extension_files(card)
    return kustomize.extension_files(card)


def card_files(card: Card, fmt: str | None = None, present: frozenset[str] = frozenset(),
               argocd_namespace: str = ARGOCD_NAMESPACE) -> dict[str, str]:
    """Every generated file of one card, with headers (the shared chart excepted)."""
    if card_format(card, fmt) == "helmfile":
        files = helmfile.helmfile_files(card, present, argocd_namespace)
    else:
        files = {**kustomize.kustomize_files(card, present), **application_files(card, argocd_namespace)}
    return {rel: with_header(card.source, body) for rel, body in files.items()}


def finished_cutovers(card: Card) -> list[str]:
    """The environments whose cut-over is finished: only their new side renders, the old one is retired."""
    sides = {env.name for env in card.environments}
    return sorted({env.of for env in card.environments if env.of and env.of not in sides})


def retired_files(card: Card, files: Iterable[str]) -> list[str]:
    """Those of `files` (generated before) that belong to the old side of a finished cut-over: its
    Application, overlay and values. They stay until `render --prune`, since deleting the Application
    deletes what it deployed on the old cluster."""
    root = card.gitops.path
    retired = []
    for env in finished_cutovers(card):
        prefixes = (f"{root}/overlays/{env}/",)
        exact = {f"argocd/{env}/{card.name}.yaml", f"{root}/values/{env}.yaml"}
        retired += [rel for rel in files if (rel in exact or rel.startswith(prefixes))
                    and ".." not in PurePosixPath(rel).parts]  # a render state is repository content
    return retired


def owned_globs(card: Card) -> list[str]:
    """Where stale generated files of a card may be, when no render state lists them."""
    return [f"{card.gitops.path}/**/*", f"argocd/*/{card.name}.yaml"]


def check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise ShipcardError(f"unknown format {fmt!r} (use {' or '.join(FORMATS)})")
