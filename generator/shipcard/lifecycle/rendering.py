"""Rendering a whole repository: every card, in parallel, skipping services whose inputs did not change.

`plan_repository` reads and compares only; it returns one merged `Plan` that the repository
transaction (`shipcard.transaction`) commits as one change (an upgrade adds its rewritten cards
to the same plan).
Services render in worker processes (fork) when there are enough of them: loading and
rendering a card is pure Python, so threads share one core. Measured on the 2-core machine,
planning 1,000 cards took 8.6 s in one process, 4.3 s in two worker processes, and no less
with two threads than in one process. Given the run's transaction, each worker also stages the
files of the services it renders into the journal (`Transaction.stager`): file creation is
spread over the workers instead of queueing in the main process, which only adopts the records.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import posixpath
import re
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from yaml import YAMLError

from shipcard.card.load import MAX_CARD_BYTES, CardErrors, compile_schemas, load_card_text
from shipcard.card.migrate import opens_ports_implicitly
from shipcard.card.model import Card
from shipcard.card.network import (
    CARD_SUFFIX,
    SERVICES_GLOB,
    ServiceDirectory,
    directory_digest,
    directory_of,
    names_peers,
)
from shipcard.errors import InputError, Location, ShipcardError
from shipcard.k8s.objects import Obj
from shipcard.lifecycle.state import (
    STATE_DIR,
    Receipts,
    State,
    VerifiedFiles,
    inputs_hash,
    read_states,
    text_digests,
    tree_digest,
)
from shipcard.render import (
    PROJECTS_DIRECTORY,
    REPOSITORY,
    Claim,
    application_claim,
    card_claims,
    card_files,
    card_format,
    card_source,
    check_format,
    collision_error,
    collisions,
    extension_files,
    owned_globs,
    retired_files,
    root_claims,
)
from shipcard.settings import RepoSettings, refuse_link_out_of
from shipcard.transaction import Staged, Stager, Transaction, safe_target, service_names
from shipcard.writers.argocd import PROJECTS_DIR, project_files
from shipcard.writers.chart import CHART_DIR, chart_files
from shipcard.writers.tree import Plan, header_source, is_generated, plan_tree
from shipcard.yamlio.read import load_plain, read_regular_file, read_text, real_path
from shipcard.yamlio.roundtrip import load_roundtrip, locate

APPLICATIONS_GLOB = "argocd/*/*.yaml"
PARALLEL_FROM = 16  # fewer services render faster in this process than a pool starts


@dataclass(frozen=True)
class CardInput:
    """A card as this run sees it: its file, how headers name it, and its text (maybe not yet on disk)."""

    path: Path
    source: str
    text: str
    card: Card | None = None  # built from `text` already (with the same settings), so not built again


@dataclass(frozen=True)
class Options:
    fmt: str | None = None  # --format: every card in this format
    pins: dict[str, str] | None = None  # --lock: reference → digest
    everything: bool = False  # --all: render services whose inputs did not change too
    force: bool = False  # overwrite hand-edited generated files, keeping .orig copies
    prune: bool = False  # delete the files of removed cards
    jobs: int = 1
    whole_repository: bool = True  # the cards are all of the repository's: removed ones are orphans


@dataclass
class ServiceResult:
    name: str
    source: str
    tree: str  # gitops.path
    format: str
    plan: Plan
    skipped: bool = False
    files: tuple[str, ...] = ()  # every file the service's tree holds after this run (its state file included)
    claims: tuple[Claim, ...] = ()  # its names that no other card may render (rendered services only)
    content: str = ""  # tree_digest of what it rendered, when the plan writes all of it (for its receipt)
    retired: tuple[str, ...] = ()  # files of finished cut-overs' old sides, kept until pruned
    staged: tuple[Staged, ...] = ()  # `plan.writes` as staged in the run's journal, when it has one

    @property
    def changed_files(self) -> list[str]:
        """Files of the service's tree this run adds, modifies or removes (its state file aside)."""
        return [rel for rel in [*self.plan.writes, *self.plan.deletes] if not rel.startswith(f"{STATE_DIR}/")]


@dataclass
class Orphan:
    """The files a removed card left behind (its Applications and tree), or the old side of a finished
    cut-over (its Application, overlay or values)."""

    service: str
    card: str
    files: list[str]
    reason: str = ""  # why, when the card is still there (a finished cut-over's old side)

    @property
    def applications(self) -> list[str]:
        return [rel for rel in self.files if rel.startswith("argocd/")]


@dataclass
class Outcome:
    plan: Plan
    services: list[ServiceResult]
    orphans: list[Orphan] = field(default_factory=list)

    @property
    def rendered(self) -> list[ServiceResult]:
        return [s for s in self.services if not s.skipped]

    def why_orphaned(self, orphan: Orphan) -> str:
        """`services/x.service.yaml was removed`, or, for a renamed card, what it renders now."""
        if orphan.reason:
            return orphan.reason
        now = next((s.name for s in self.services if s.source == orphan.card), None)
        if now is None:
            return f"{orphan.card} was removed"
        return f"{orphan.card} renders {now} now instead of {orphan.service}"


def read_cards(out: Path, paths: list[Path]) -> list[CardInput]:
    """The cards' texts; a card of the repository leading out of it, a FIFO or a link loop is one line."""
    resolved_out = real_path(out)
    cards = []
    for path in paths:
        refuse_link_out_of(path, out)
        text = read_text(path, max_bytes=MAX_CARD_BYTES)  # before card_source resolves the path
        cards.append(CardInput(path, card_source(path, out, resolved_out), text))
    return cards


def plan_repository(out: Path, cards: list[CardInput], repo: RepoSettings, options: Options,
                    progress: Callable[[int], None] | None = None, txn: Transaction | None = None,
                    verified: VerifiedFiles | None = None, receipts: Receipts | None = None) -> Outcome:
    """Render what needs rendering and compare it with the tree; nothing is written to the tree.

    `progress(n)` hears of services done; with `txn`, each rendered service's files are staged in its
    journal where the service renders (the commit is the caller's); `verified` spares reading the files
    of unchanged services that earlier runs found intact; without `receipts` (this machine's, see
    lifecycle.state) no service is skipped.
    """
    check_format(options.fmt)
    # Cards named on the command line: only their states (by the usual file name), not a thousand others'.
    states = read_states(out, None if options.whole_repository else
                         [PurePosixPath(card.source).name.removesuffix(CARD_SUFFIX) for card in cards])
    by_source: dict[str, list[State]] = {}  # a renamed card has its old name's state too, until pruned
    for state in states:
        by_source.setdefault(state.card, []).append(state)
    by_name = {state.service: state for state in states}
    directory = _directory(out, cards, repo, options)
    peers = directory_digest(directory) if directory is not None else ""
    inputs = {card.source: inputs_hash(card.text, repo, options.fmt, options.pins,
                                       peers if names_peers(card.text) else "") for card in cards}
    services: dict[str, ServiceResult] = {}
    to_render = []
    for card in cards:
        last = next((state for state in by_source.get(card.source, []) if state.inputs == inputs[card.source]), None)
        if not options.everything and last is not None and last.still_valid(out, inputs[card.source], verified,
                                                                                                 receipts):
            services[card.source] = ServiceResult(last.service, card.source, last.tree, last.format, Plan(out),
                                                  skipped=True, files=(*last.files, last.path))
        else:
            to_render.append(card)
    if progress and services:
        progress(len(services))
    stager = txn.stager() if txn is not None and to_render else None
    context = _Context(out, repo, options, by_name, inputs, directory, stager)
    for result in _render_all(to_render, context):
        services[result.source] = result
        if txn is not None:
            txn.adopt(result.staged)
        if progress:
            progress(1)
    ordered = [services[card.source] for card in cards]
    _check_collisions(out, cards, ordered, repo)
    plan = Plan(out)
    for service in ordered:
        plan.merge(service.plan)
    if any(s.format == "helmfile" for s in ordered):
        plan.merge(plan_tree(out, chart_files(), [f"{CHART_DIR}/**/*"], force=options.force))
    elif options.prune and options.whole_repository:  # no card uses the vendored chart any more
        plan.merge(plan_tree(out, {}, [f"{CHART_DIR}/**/*"], force=options.force))
    orphans = _orphans(out, ordered, states) if options.whole_repository else []
    if options.prune:
        for orphan in orphans:
            plan.merge(plan_tree(out, {}, [], force=options.force, previous=orphan.files, sources=(orphan.card,)))
    plan.merge(_plan_projects(out, plan, repo, options.force))
    return Outcome(plan, ordered, orphans)


def _directory(out: Path, cards: list[CardInput], repo: RepoSettings, options: Options) -> ServiceDirectory | None:
    """Where every card of the run (as this run reads it) and of the repository deploys, read once for
    all, when a card may name another in its NetworkPolicies (none otherwise)."""
    if not any(names_peers(card.text) for card in cards):
        return None
    texts = [(card.text, str(card.path)) for card in cards]
    if not options.whole_repository:
        given = {real_path(card.path) for card in cards}
        texts += [(read_text(path), str(path)) for path in sorted(out.glob(SERVICES_GLOB))
                  if real_path(path) not in given and not path.is_symlink()]
    return directory_of(texts, repo)


# --------------------------------------------------------------------------- AppProjects


def _plan_projects(out: Path, plan: Plan, repo: RepoSettings, force: bool) -> Plan:
    """The AppProjects of the generated Applications the tree holds once `plan` is applied.

    Orphaned Applications count until pruned: Argo CD still syncs them. An AppProject file the
    user wrote (no header) is theirs, and shipcard writes none in its place.
    """
    deleted = set(plan.deletes)
    rels = {path.relative_to(out).as_posix() for path in out.glob(APPLICATIONS_GLOB)
            if path.is_file() and not path.is_symlink()}
    rels.update(rel for rel in plan.writes if PurePosixPath(rel).match(APPLICATIONS_GLOB))
    applications = []
    for rel in sorted(rels - deleted):
        if rel.startswith(f"{PROJECTS_DIR}/"):
            continue
        text = plan.writes.get(rel)
        if text is None:
            try:
                text = read_text(out / rel)
            except InputError:
                continue
        app = _application(text) if is_generated(text) else None
        if app is not None:
            applications.append(app)
    files = {rel: text for rel, text in project_files(applications, repo).items()
             if not (out / rel).exists() or _header_source(out / rel) is not None}
    return plan_tree(out, files, [f"{PROJECTS_DIR}/*.yaml"], force=force)


# What an AppProject needs of an Application, as shipcard's dumper writes it (plain scalars). Matching
# instead of parsing 3,000 Applications keeps a no-op render of 1,000 services fast; a file this
# does not match (quoted scalars, an edit) is parsed.
_APPLICATION_FIELDS = re.compile(
    r"^kind: Application\n(?:.*\n)*?spec:\n  project: ([a-z0-9-]+)\n  source:\n    repoURL: ([^\s'\"]\S*)\n"
    r"(?:    .*\n)*  destination:\n    server: ([^\s'\"]\S*)\n    namespace: ([a-z0-9-]+)\n", re.MULTILINE)


def _application(text: str) -> Obj | None:
    """The Application in a generated file's text (its project, source repoURL and destination), if it is one."""
    match = _APPLICATION_FIELDS.search(text)
    if match:
        project, repo_url, server, namespace = match.groups()
        return {"kind": "Application", "spec": {"project": project, "source": {"repoURL": repo_url},
                                                "destination": {"server": server, "namespace": namespace}}}
    try:
        app = load_plain(text)
        spec = app["spec"]
        fields = (spec["project"], spec["source"]["repoURL"], spec["destination"]["server"],
                  spec["destination"]["namespace"])
    except (YAMLError, KeyError, TypeError):
        return None
    if app.get("kind") != "Application" or not all(isinstance(f, str) for f in fields):
        return None
    return app


# --------------------------------------------------------------------------- rendering services


@dataclass(frozen=True)
class _Context:
    out: Path
    repo: RepoSettings
    options: Options
    by_name: dict[str, State]
    inputs: dict[str, str]
    services: ServiceDirectory | None  # the repository's cards, when a card's NetworkPolicies may name them
    stager: Stager | None = None  # the run's journal: each service's files are staged where it renders


@dataclass(frozen=True)
class _Failure:
    """A ShipcardError from a worker, as data (InputError's constructor does not survive pickling)."""

    message: str
    location: Location | None = None
    field_name: str = ""
    card_errors: CardErrors | None = None  # every problem of a card (picklable)

    def error(self) -> ShipcardError:
        if self.card_errors is not None:
            return self.card_errors
        if self.location is not None:
            return InputError(self.location, self.field_name, self.message)
        return ShipcardError(self.message)


def _render_all(cards: list[CardInput], context: _Context) -> Iterator[ServiceResult]:
    jobs = min(context.options.jobs, os.cpu_count() or 1)
    if jobs <= 1 or len(cards) < PARALLEL_FROM:
        results: Iterable[ServiceResult | _Failure] = (_render_service(card, context, number)
                                                       for number, card in enumerate(cards))
        yield from _raising(results)
        return
    chunk = max(1, len(cards) // (jobs * 8))
    compile_schemas()  # once here, not once per worker
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                             initializer=_set_context, initargs=(context,)) as pool:
        with _interrupts_held():  # the first submit forks every worker
            results = pool.map(_render_in_worker, cards, range(len(cards)), chunksize=chunk)
        yield from _raising(results)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT while the pool forks its workers; it arrives right after, when the pool is whole.

    A KeyboardInterrupt raised inside `os.fork`'s handlers is swallowed there with a printed traceback
    (the run goes on), and one between two forks can leave the pool half-started and the run hung.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _raising(results: Iterable[ServiceResult | _Failure]) -> Iterator[ServiceResult]:
    for result in results:
        if isinstance(result, _Failure):
            raise result.error()
        yield result


_WORKER_CONTEXT: _Context | None = None
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def _set_context(context: _Context) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # forked while the run held it
    _die_with_parent()


def _die_with_parent() -> None:
    """Make this worker exit when the render that forked it dies (SIGKILL, OOM killer).

    A worker outlives a killed parent otherwise, blocked for ever on the task queue and holding
    the parent's stdout and stderr open. Linux only; elsewhere a pool's own shutdown has to do.
    """
    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent.pid:  # the parent died before prctl took effect
        os._exit(1)


def _render_in_worker(card: CardInput, number: int) -> ServiceResult | _Failure:
    assert _WORKER_CONTEXT is not None
    return _render_service(card, _WORKER_CONTEXT, number)


def _render_service(card: CardInput, context: _Context, number: int) -> ServiceResult | _Failure:
    """Load, render and compare one card (in a worker or here), the `number`th of the run; stage its files
    when the run has a journal."""
    out, options = context.out, context.options
    try:
        loaded = card.card or load_card_text(card.text, str(card.path), card.source, options.pins, context.repo,
                                             context.services)
        fmt = card_format(loaded, options.fmt)
        extensions = {rel: (out / rel).is_file() for rel in extension_files(loaded, options.fmt)}
        present = frozenset(rel for rel, there in extensions.items() if there)
        files = card_files(loaded, options.fmt, present, context.repo.argocd_namespace)
        state = State(loaded.name, card.source, loaded.gitops.path, fmt, context.inputs[card.source], extensions,
                      tuple(files))
        files[state.path] = state.text()
        # The files of this service name, whichever card rendered it last. Those of the name this card
        # had before a rename are not: they are orphans until pruned (or another card takes the name).
        previous = context.by_name.get(loaded.name)
        if previous is None and not options.whole_repository:
            previous = next(iter(read_states(out, [loaded.name])), None)
        if previous is not None and not previous.declared_callers and opens_ports_implicitly(loaded.raw):
            raise _ports_were_open(card)
        stale_candidates = (*previous.files, previous.path) if previous else ()
        retired = tuple(rel for rel in retired_files(loaded, stale_candidates) if (out / rel).is_file())
        stale_candidates = tuple(rel for rel in stale_candidates if rel not in retired)
        if retired and not options.prune:
            state = replace(state, files=(*state.files, *retired))  # still listed: the next run keeps them too
            files[state.path] = state.text()
        # A tree rendered before shipcard kept states: look for stale files the old way, by globs.
        owned = [] if previous else owned_globs(loaded)
        sources = (card.source, previous.card) if previous else (card.source,)
        plan = plan_tree(out, files, owned, force=options.force, previous=stale_candidates, sources=sources)
        # Retired files are not written, so no receipt vouches for them: the service renders again until pruned.
        content = tree_digest(text_digests(files)) if not retired else ""
        if plan.conflicts:
            plan.drop(state.path)  # the old state stays: the next run renders this service again
            content = ""
        staged = tuple(context.stager.stage(plan.writes, service_names(number))) if context.stager else ()
    except CardErrors as exc:
        return _Failure(exc.message, card_errors=exc)
    except InputError as exc:
        return _Failure(exc.message, exc.location, exc.field)
    except ShipcardError as exc:
        return _Failure(str(exc))
    return ServiceResult(loaded.name, card.source, loaded.gitops.path, fmt, plan, files=tuple(files),
                         claims=tuple(card_claims(loaded, context.repo.argocd_namespace)), content=content,
                         retired=retired, staged=staged)


def _ports_were_open(card: CardInput) -> InputError:
    """A card whose tree an older shipcard rendered with its ports open to every source (docs/cards.md)."""
    doc = load_roundtrip(card.text, str(card.path))
    key = "ports" if "ports" in doc else "port" if "port" in doc else "environments"
    return InputError(Location(str(card.path), *locate(doc, (key,))), key,
                      "rendered by an older shipcard, which opened these ports to every source; run `shipcard "
                      "upgrade` to keep that (allowFrom: [{anywhere: true}]), or list the callers in allowFrom")


def _check_collisions(out: Path, cards: list[CardInput], services: list[ServiceResult], repo: RepoSettings) -> None:
    """Refuse two cards (or a card and the repository's roots) rendering one object, tree or service name.

    Services this run skipped collided with nothing when they were rendered, so only a rendered
    service can collide now. A skipped one's service name, tree and Applications are known from its
    render state. Its other objects are all named `<name>` or `<name>-...`: only when a rendered
    service has an object so named, in a namespace the skipped one deploys to, is its card loaded again.
    """
    rendered = [s for s in services if not s.skipped]
    if not rendered:
        return
    destinations = {claim.key[:2] for s in rendered for claim in s.claims}
    prefixes = {prefix for s in rendered for claim in s.claims if claim.key[0] != REPOSITORY
                for prefix in _name_prefixes(claim.key[3])}
    by_source = {card.source: card for card in cards}
    namespace = repo.argocd_namespace
    claims: list[Claim] = []
    for service in services:
        if not service.skipped:
            claims += service.claims
            continue
        applications = {rel: env for rel in service.files
                        if (env := _application_environment(rel)) and rel.endswith(f"/{service.name}.yaml")}
        if service.name in prefixes and any(_destination(out / rel) in destinations for rel in applications):
            card = by_source[service.source]
            loaded = card.card or load_card_text(card.text, str(card.path), card.source, None, repo)
            claims += card_claims(loaded, namespace)
            continue
        claims += [Claim((REPOSITORY, "", "service", service.name), service.source, f"service name {service.name!r}"),
                   Claim((REPOSITORY, "", "tree", service.tree), service.source, f"gitops.path {service.tree!r}",
                         ("gitops", "path"))]
        claims += [application_claim(service.name, env, service.source, namespace) for env in applications.values()]
    environments = {env for s in services for rel in s.files if (env := _application_environment(rel))}
    found = collisions([*root_claims(environments, namespace), *claims])
    if found:
        places = {card.source: (str(card.path), card.text) for card in cards}
        raise collision_error(*found[0], places)


def _application_environment(rel: str) -> str | None:
    """The environment of a generated Application's path (`argocd/<env>/<name>.yaml`), else None."""
    parts = rel.split("/")
    if len(parts) == 3 and parts[0] == "argocd" and parts[1] != PROJECTS_DIRECTORY and parts[2].endswith(".yaml"):
        return parts[1]
    return None


def _name_prefixes(name: str) -> list[str]:
    """`a-b-c` → a, a-b, a-b-c: the service names whose objects could be called `name`."""
    parts = name.split("-")
    return ["-".join(parts[:end]) for end in range(1, len(parts) + 1)]


def _destination(app_file: Path) -> tuple[str, str] | None:
    """The (cluster, namespace) a generated Application deploys to."""
    try:
        app = _application(read_text(app_file))
    except InputError:
        return None
    if app is None:
        return None
    destination = app["spec"]["destination"]
    return destination["server"], destination["namespace"]


# --------------------------------------------------------------------------- orphans


def _orphans(out: Path, services: list[ServiceResult], states: list[State]) -> list[Orphan]:
    """Trees and Applications of service names no card renders any more (the card removed, or renamed):
    from their states, and generated Applications no service claims."""
    names = {s.name for s in services}
    current = {rel for s in services for rel in (*s.files, *s.plan.deletes, *s.plan.conflicts, *s.retired)}
    orphans = [Orphan(state.service, state.card, [rel for rel in (*state.files, state.path) if rel not in current])
               for state in states if state.service not in names]
    orphans += [Orphan(s.name, s.source, list(s.retired), f"{s.source} finished a cut-over")
                for s in services if s.retired]
    claimed = current | {rel for state in states for rel in state.files}
    by_service = {orphan.service: orphan for orphan in orphans}
    for path in sorted(out.glob(APPLICATIONS_GLOB)):
        rel = path.relative_to(out).as_posix()
        if rel in claimed or rel.startswith(f"{PROJECTS_DIR}/") or path.is_symlink() or not path.is_file():
            continue
        source = _header_source(path)
        if source is None:
            continue
        orphan = by_service.setdefault(path.stem, Orphan(path.stem, source, []))
        if orphan not in orphans:
            orphans.append(orphan)
        orphan.files.append(rel)
        orphan.files += [f for f in _tree_of_application(out, path, source) if f not in orphan.files]
    return orphans


def _tree_of_application(out: Path, app_file: Path, source: str) -> list[str]:
    """For a removed card without a render state: the generated files of the tree its Application deploys."""
    try:
        app = load_plain(app_file.read_text(encoding="utf-8"))
        spec = app["spec"]["source"]
        path = PurePosixPath(spec["path"])
        value_files = (spec.get("helm") or {}).get("valueFiles") or []
    except (OSError, UnicodeDecodeError, YAMLError, KeyError, TypeError):
        return []
    if path.parent.name == "overlays":  # kustomize: <tree>/overlays/<env>
        tree = path.parent.parent
    elif value_files:  # helmfile: the chart, with <tree>/values/<env>.yaml
        tree = PurePosixPath(posixpath.normpath(str(path / value_files[0]))).parent.parent
    else:
        return []
    try:  # a tree through a link leading outside `out` is not ours to list
        root = safe_target(out, tree.as_posix())
    except ShipcardError:
        return []
    if not root.is_dir() or root.is_symlink():
        return []
    return sorted(p.relative_to(out).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.is_symlink() and _header_source(p) == source)


def _header_source(path: Path) -> str | None:
    """The card named in a generated file's header (its first line only: 4 KiB at most, regular files only)."""
    if path.is_symlink():
        return None
    try:
        data = read_regular_file(path, 4096)
    except OSError:
        return None
    if data is None:
        return None
    try:
        return header_source(data.split(b"\n", 1)[0].decode("utf-8"))
    except UnicodeDecodeError:
        return None
