"""A manual job → the one `kubectl create job --from=cronjob/…` command that starts it (docs/auditing.md).

The card is read as `render` reads it (shipcard.yaml's defaults included); the Application's
destination gives the namespace and the cluster. shipcard knows a cluster only by its API server
URL, so the kube context is the one of the user's kubeconfig whose cluster has that server (as
`kubectl config view` shows it, credentials redacted); the in-cluster address Argo CD deploys to by
default names no kubeconfig cluster, and then the command runs in the current context. The Job is
named `<cronjob>-<user>-<YYYYMMDDHHMM>` (UTC): the user is the local part of `git config
user.email`, else `$USER`. Every word of the command is shell-quoted; every name is checked.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipcard import git
from shipcard.card.load import MAX_CARD_BYTES, load_card_text
from shipcard.card.model import DEFAULT_CLUSTER, Card, Environment, Job
from shipcard.errors import InputError, Location, ShipcardError, ToolError
from shipcard.k8s.objects import job_object_name
from shipcard.patterns import MAX_LABEL_VALUE, name_problem
from shipcard.render import card_source, find_cards
from shipcard.settings import refuse_link_out_of, settings_for_card
from shipcard.tools import KUBECTL_ENV, find_tool
from shipcard.validation import field_name
from shipcard.yamlio.read import PathKey, read_text
from shipcard.yamlio.roundtrip import load_roundtrip, locate

KUBECTL_TIMEOUT_SECONDS = 30
APPLY_TIMEOUT_SECONDS = 300  # creating a Job is quick; a credential plugin may wait for a login first
STAMP_FORMAT = "%Y%m%d%H%M"  # minutes: the same person starting the same job twice in a minute is refused
MAX_USER = 24  # characters of the user in a Job name; the CronJob's name (at most 52) takes the rest of 63
WHY_NOT = {
    "cron": "runs on its schedule ({schedule}); shipcard run starts only manual: true jobs",
    "hook": "is a pre-sync hook, which Argo CD runs at every sync; shipcard run starts only manual: true jobs",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunPlan:
    """One manual run: which CronJob, the Job's name, where it runs; `notes` for the user's terminal."""

    cronjob: str
    job_name: str
    namespace: str
    context: str | None
    notes: tuple[str, ...] = field(default=())

    def argv(self, kubectl: str = "kubectl", verb: tuple[str, ...] = ()) -> list[str]:
        """kubectl's arguments for `verb` (by default the run's create) on the Job, where it runs."""
        argv = [kubectl, *(verb or ("create", "job", f"--from=cronjob/{self.cronjob}")), self.job_name,
                "--namespace", self.namespace]
        if self.context is not None:
            argv += ["--context", self.context]
        return argv

    def command_line(self, verb: tuple[str, ...] = ()) -> str:
        """The command as one line a POSIX shell runs as is."""
        return shlex.join(self.argv(verb=verb))


def plan_run(root: Path, job_name: str, *, card: str | None = None, env_name: str | None = None,
             context: str | None = None, now: datetime | None = None) -> RunPlan:
    """Resolve a manual job of a card of the repository at `root` (or of the card file `card`)."""
    found = _find(root, job_name, card)
    env = _environment(found, env_name, job_name)
    job = _manual_job(found, env, job_name)
    cronjob = job_object_name(env.spec, job)
    name = job_run_name(cronjob, run_by(root), now or utc_now())
    for value, kind in ((cronjob, "CronJob"), (name, "Job"), (env.namespace, "Namespace")):
        problem = name_problem(value, kind)
        if problem:  # the card's checks make this impossible; the command must never carry a bad name
            raise ShipcardError(f"{value!r} {problem}")
    chosen, notes = kube_context(f"{found.card.name}-{env.name}", env.cluster, context)
    if chosen is not None and _CONTROL.search(chosen):  # the line must stay one line, and not drive the terminal
        raise ShipcardError(f"context {chosen!r} has a control character (a line break, an escape): rename it "
                            "in your kubeconfig")
    return RunPlan(cronjob, name, env.namespace, chosen, notes)


def run(plan: RunPlan) -> int:
    """Run the plan's command with kubectl; kubectl's exit status (128 + N when signal N ended it).

    kubectl keeps the terminal, stdin included: a credential plugin may ask for a login.
    """
    try:
        code = subprocess.run(plan.argv(_kubectl()), check=False, timeout=APPLY_TIMEOUT_SECONDS).returncode
    except subprocess.TimeoutExpired:
        raise ToolError(f"kubectl create job: did not finish in {APPLY_TIMEOUT_SECONDS} s; whether Job "
                        f"{plan.job_name} was created, `{plan.command_line(('get', 'job'))}` tells") from None
    except OSError as exc:
        raise ToolError(f"kubectl: could not run ({exc.strerror})") from None
    return code if code >= 0 else 128 - code


# --------------------------------------------------------------------------- who and when


def run_by(cwd: Path) -> str:
    """Who runs the job, as a DNS label: the local part of git's user.email, else $USER."""
    email = git.user_email(cwd)
    user = email.partition("@")[0] if email else ""
    if not _label(user):  # no email, or `@example.com`
        try:
            user = os.environ.get("USER") or getpass.getuser()
        except (OSError, KeyError):  # no user name anywhere (a container without passwd entry)
            user = email.partition("@")[0] if email else ""
    label = _label(user)
    if not label:
        raise ShipcardError(f"cannot name the Job after who runs it ({user!r} has no letter or digit): "
                            "set `git config user.email` to an address whose local part has some")
    return label


def _label(user: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", user.lower()).strip("-")[:MAX_USER].rstrip("-")


def job_run_name(cronjob: str, user: str, when: datetime) -> str:
    """`<cronjob>-<user>-<YYYYMMDDHHMM>` (UTC), at most 63 characters: a Job's name becomes its pods'
    `job-name` label value; the CronJob's name is shortened first, the time never."""
    stamp = when.astimezone(UTC).strftime(STAMP_FORMAT)
    room = MAX_LABEL_VALUE - len(stamp) - len(user) - 2
    return f"{cronjob[:room].rstrip('-')}-{user}-{stamp}"


# --------------------------------------------------------------------------- the card, the job, the environment


@dataclass(frozen=True)
class _Found:
    """A loaded card and its text, parsed again with positions only for an error at its line and column."""

    card: Card
    text: str
    filename: str

    def error(self, path: PathKey, message: str) -> InputError:
        position = locate(load_roundtrip(self.text, self.filename), path)
        return InputError(Location(self.filename, *position), field_name(path), message)


def _find(root: Path, job_name: str, card: str | None) -> _Found:
    """The card a `--card` names (a file, or a service of the repository), else the one with the job."""
    if card is not None and (card.endswith(".yaml") or "/" in card or os.sep in card):
        if not Path(card).is_file():
            raise ShipcardError(f"{card}: no such card file")
        return _load(Path(card), root)
    if card is not None and (root / "services" / f"{card}.service.yaml").is_file():
        return _load(root / "services" / f"{card}.service.yaml", root)
    cards = [_load(path, root) for path in find_cards(root)]
    if card is not None:
        named = [found for found in cards if found.card.name == card]
        if not named:
            raise ShipcardError(f"no card of {root / 'services'} describes service {card!r}")
        return named[0]
    having = [found for found in cards if any(job.name == job_name for job in _jobs(found.card))]
    if len(having) != 1:
        sources = ", ".join(found.card.source for found in having)
        raise ShipcardError(f"{len(having) or 'no'} cards of {root / 'services'} have a job named {job_name!r}"
                            + (f" ({sources}): choose one with --card" if having else ""))
    return having[0]


def _jobs(card: Card) -> list[Job]:
    return [job for env in card.environments for job in env.spec.jobs]


def _load(path: Path, root: Path) -> _Found:
    refuse_link_out_of(path, root)
    text = read_text(path, max_bytes=MAX_CARD_BYTES)
    card = load_card_text(text, str(path), card_source(path, root), repo=settings_for_card(path))
    return _Found(card, text, str(path))


def _environment(found: _Found, env_name: str | None, job_name: str) -> Environment:
    """The environment `env_name`, or the card's only one; a job that is manual in none is said first."""
    names = [env.name for env in found.card.environments]
    if env_name is None and len(names) == 1:
        return found.card.environments[0]
    if env_name is None:
        having = [env for env in found.card.environments if any(job.name == job_name for job in env.spec.jobs)]
        if not having:
            jobs = ", ".join(dict.fromkeys(job.name for job in _jobs(found.card))) or "none"
            raise found.error(("jobs",), f"no job named {job_name!r} (jobs: {jobs})")
        if not any(job.kind == "manual" for env in having for job in env.spec.jobs if job.name == job_name):
            _manual_job(found, having[0], job_name)  # says why it is not one shipcard run starts
        raise found.error(("environments",), f"{found.card.name} deploys to {len(names)} environments "
                          f"({', '.join(names)}): choose one with --env")
    for env in found.card.environments:
        if env.name == env_name:
            return env
    raise found.error(("environments",), f"no environment {env_name!r} (environments: {', '.join(names)})")


def _manual_job(found: _Found, env: Environment, job_name: str) -> Job:
    job = next((job for job in env.spec.jobs if job.name == job_name), None)
    if job is None:
        names = ", ".join(job.name for job in env.spec.jobs) or "none"
        raise found.error(("jobs",), f"no job named {job_name!r} in environment {env.name} (jobs: {names})")
    if job.kind != "manual":
        key = "schedule" if job.kind == "cron" else "hook"
        raise found.error(_job_path(found.card, env, job_name, key),
                          f"job {job_name!r} " + WHY_NOT[job.kind].format(schedule=job.schedule))
    return job


def _job_path(card: Card, env: Environment, job_name: str, key: str) -> PathKey:
    """Where the card says `key` of the job: in the environment's override, else in the base."""
    entries: list[PathKey] = []
    for prefix in (("environments", env.name, "jobs"), ("jobs",)):
        holder: Any = card.raw
        for step in prefix:
            holder = holder.get(step) if isinstance(holder, dict) else None
        for index, entry in enumerate(holder if isinstance(holder, list) else []):
            if isinstance(entry, dict) and entry.get("name") == job_name:
                if key in entry:
                    return (*prefix, index, key)
                entries.append((*prefix, index, "name"))
    return entries[0] if entries else ("jobs",)


# --------------------------------------------------------------------------- the kube context


def kube_context(application: str, server: str, wanted: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The context to run in, and notes for the user: `wanted`, else the kubeconfig's context for `server`.

    `wanted` must not name a context of another cluster; without it, exactly one context (or the
    current one among several) must point at `server`. The in-cluster address names no context.
    """
    if server == DEFAULT_CLUSTER:
        note = (f"{application} deploys to {server}, the cluster Argo CD runs in, which no kubeconfig names: "
                "the command runs in " + (f"context {wanted!r}" if wanted else "your current context"))
        return wanted, (note,)
    if wanted is not None and _kubectl_or_none() is None:
        return wanted, ()  # a context of another machine's kubeconfig (a bastion's): nothing to check it against
    servers, current = _context_servers(read_kubeconfig())
    if wanted is not None:
        if wanted in servers and servers[wanted] != _same_server(server):
            raise ShipcardError(f"context {wanted!r} points at {servers[wanted]}, but {application} deploys to "
                                f"{server}")
        return wanted, ()
    matches = sorted(name for name, url in servers.items() if url == _same_server(server))
    if len(matches) == 1:
        return matches[0], ()
    if current in matches:
        return current, ()
    if matches:
        raise ShipcardError(f"contexts {', '.join(map(repr, matches))} of your kubeconfig all point at {server}, "
                            f"where {application} deploys: choose one with --context")
    raise ShipcardError(f"no context of your kubeconfig points at {server}, where {application} deploys: "
                        "add one, or name it with --context")


def _same_server(url: str) -> str:
    return url.rstrip("/")


def _context_servers(config: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """context name → its cluster's server URL, and the current context, from `kubectl config view` JSON."""
    clusters = {entry["name"]: entry["cluster"].get("server") for entry in _entries(config, "clusters")
                if isinstance(entry.get("cluster"), dict)}
    servers = {}
    for entry in _entries(config, "contexts"):
        cluster = entry["context"].get("cluster") if isinstance(entry.get("context"), dict) else None
        url = clusters.get(cluster) if isinstance(cluster, str) else None
        if isinstance(url, str):
            servers[entry["name"]] = _same_server(url)
    current = config.get("current-context")
    return servers, current if isinstance(current, str) else None


def _entries(config: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The named entries of a kubeconfig list (`clusters`, `contexts`); an entry of another shape is skipped."""
    entries = config.get(key)
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("name"), str)]


def read_kubeconfig() -> dict[str, Any]:
    """The user's merged kubeconfig as `kubectl config view -o json` shows it (credentials redacted)."""
    argv = [_kubectl(), "config", "view", "-o", "json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL,
                              timeout=KUBECTL_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ToolError(f"kubectl config view: did not finish in {KUBECTL_TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise ToolError(f"kubectl config view: could not run ({exc.strerror})") from None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0:
        raise ToolError(f"kubectl config view: {lines[-1] if lines else f'exit status {done.returncode}'}")
    try:
        config = json.loads(done.stdout)
    except ValueError:
        raise ToolError("kubectl config view: its output is not JSON") from None
    return config if isinstance(config, dict) else {}


def _kubectl_or_none() -> str | None:
    return find_tool("kubectl", KUBECTL_ENV)


def _kubectl() -> str:
    found = _kubectl_or_none()
    if found is None:
        raise ToolError(f"kubectl not found: install it or set {KUBECTL_ENV}")
    return found
