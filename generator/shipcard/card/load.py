"""Card loading: file → round-trip YAML → schema and semantic checks → merged environments → Card.

Every problem is a line `file:line:col: field: message`; all of a card's problems (up to
MAX_CARD_ERRORS) are one CardErrors, sorted by position (exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.card.model import (
    DEFAULT_CLUSTER,
    Card,
    Environment,
    GitOps,
    build_spec,
    cutover_sides,
    env_literal,
    placeholder_problem,
    resolve_secrets,
    secret_entry,
    secret_sources,
)
from shipcard.card.network import (
    CALLER_FIELDS,
    ServiceDirectory,
    check_entries,
    check_services,
    directory_near,
    placements,
    rules,
)
from shipcard.card.schema import API_VERSION, service_schema, shipped_schema
from shipcard.errors import InputError, Location
from shipcard.images import ReferenceError, parse_reference
from shipcard.patterns import (
    IGNORE_ANNOTATION,
    MAX_CRONJOB_NAME,
    MAX_DATA_BYTES,
    MAX_DNS_SUBDOMAIN,
    cron_problem,
    time_zone_problem,
)
from shipcard.settings import REPO_FILE, RepoSettings, settings_for_card
from shipcard.validation import Schema, all_problems, field_name, schema_key
from shipcard.yamlio.read import PathKey, read_text
from shipcard.yamlio.roundtrip import NeedsRoundtrip, load_plain_like_roundtrip, load_roundtrip, locate, to_plain

ENVIRONMENT_ONLY_FIELDS = ("cluster", "namespace")
ATOMIC_FIELDS = {("health", "liveness"), ("health", "readiness"), ("health", "startup")}
MAX_CARD_BYTES = 1024 * 1024
MAX_CARD_ERRORS = 20


class CardErrors(InputError):
    """Every problem of one card, in the order of their position; the first is this InputError's own.

    Printed as one `file:line:col: field: message` line each (at most MAX_CARD_ERRORS, then how many
    more). Picklable, unlike InputError, so that a render worker can hand it back.
    """

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.location.line, e.location.column))
        first = self.errors[0]
        super().__init__(first.location, first.field, first.message)

    def __str__(self) -> str:
        lines = [InputError.__str__(error) for error in self.errors[:MAX_CARD_ERRORS]]
        if len(self.errors) > MAX_CARD_ERRORS:
            lines.append(f"{self.location.file}: {len(self.errors) - MAX_CARD_ERRORS} more errors not shown")
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return _card_errors, ([(e.location, e.field, e.message) for e in self.errors],)


def _card_errors(parts: list[tuple[Location, str, str]]) -> CardErrors:
    return CardErrors([InputError(*part) for part in parts])



@cache
def card_schema() -> Schema:
    schema = shipped_schema()
    return Schema(schema, label="card", cache_key="card|" + schema_key(schema))


@cache
def _service_schema() -> Schema:
    schema = service_schema()
    return Schema(schema, label="card service fields", cache_key="card-service|" + schema_key(schema))


def compile_schemas() -> None:
    """Compile the card schemas now (a process about to fork workers that will load many cards)."""
    card_schema().compile()
    _service_schema().compile()


def load_card(path: Path, source: str | None = None, pins: dict[str, str] | None = None,
              repo: RepoSettings | None = None) -> Card:
    """Read, validate and resolve one service card; `pins` (a lock file's reference → digest) pins its images.

    Defaults come from `repo`, or else from the shipcard.yaml of the repository the card lives in.
    """
    text = read_text(path, max_bytes=MAX_CARD_BYTES)
    return load_card_text(text, str(path), source or path.name, pins,
                          repo if repo is not None else settings_for_card(path))


def load_card_text(text: str, filename: str, source: str, pins: dict[str, str] | None = None,
                   repo: RepoSettings | None = None, services: ServiceDirectory | None = None) -> Card:
    """`load_card` for text already read (or not yet written, as during an upgrade).

    `services`: the repository's cards, for `{service: ...}` entries (None: read from the cards
    beside `filename` when the card has such an entry). The fast path parses with libyaml; anything
    it cannot promise to read as ruamel does, and every error (for its exact line and column), goes
    through the round-trip parser.
    """
    try:
        data = load_plain_like_roundtrip(text, filename)
        return _card_from_plain(data, None, filename, source, pins, repo or RepoSettings(), services)
    except (NeedsRoundtrip, InputError):
        pass
    doc = load_roundtrip(text, filename)
    return card_from_document(doc, filename, source, pins, repo, services)


def card_from_document(doc: Any, filename: str, source: str, pins: dict[str, str] | None = None,
                       repo: RepoSettings | None = None, services: ServiceDirectory | None = None) -> Card:
    """Validate an already parsed round-trip document and build the Card."""
    if doc is None:
        raise InputError(Location(filename, 1, 1), "", "the card is empty")
    if not isinstance(doc, dict):
        raise InputError(Location(filename, *locate(doc, ())), "", "a card must be a YAML mapping")
    return _card_from_plain(to_plain(doc), doc, filename, source, pins, repo or RepoSettings(), services)


def _card_from_plain(raw: Any, doc: Any, filename: str, source: str, pins: dict[str, str] | None,
                     repo: RepoSettings, services: ServiceDirectory | None = None) -> Card:
    if not isinstance(raw, dict):
        raise InputError(Location(filename, 1, 1), "", "a card must be a YAML mapping")
    where = _Locator(doc, filename)
    _check_format(raw, where)  # a card of another format: nothing else of it is worth reporting
    for env_name in repo.unknown_environments(raw):
        where.report(("environments", env_name), f"environment {env_name!r} is not declared in "
                     f"{REPO_FILE} (declared: {', '.join(repo.environments)})")
    raw = repo.card_defaults(raw)
    if pins:
        _apply_pins(raw, pins)
    _check_finite(raw, where, ())
    # The semantic checks read what the schema vouched for: after schema errors, only those are reported
    # (a semantic check of a field the schema refused would repeat its error in other words).
    if not _validate(card_schema(), raw, where):
        raise CardErrors(where.problems.errors)
    name = raw["name"]
    # The stores shipcard.yaml names are filled in after each environment's merge: an environment that
    # changes the provider gets that provider's store, not the card's.
    base_fields = repo.secret_defaults(raw)
    _check_service(base_fields, where, (), name)
    _check_gitops_path(raw, where)
    merged_of: dict[str, dict[str, Any]] = {}
    for env_name, overrides in raw["environments"].items():
        overrides = overrides or {}
        merged = repo.secret_defaults(merge(_service_fields(raw), {k: v for k, v in overrides.items()
                                                                   if k not in ENVIRONMENT_ONLY_FIELDS}))
        env_where = _EnvironmentLocator(where, env_name, overrides)
        if _validate(_service_schema(), merged, env_where):
            _check_service(merged, env_where, (), name)
        for side in _destination_names(env_name, repo):
            if len(f"{name}-{side}") > 63:
                where.report(("environments", env_name),
                             f"'{name}-{side}' (the Application name) is longer than 63 characters")
        merged_of[env_name] = merged
        _check_cutover(env_name, overrides, repo, where)
    if where.problems.errors:
        raise CardErrors(where.problems.errors)
    directory = _directory(raw, merged_of, filename, repo, services)
    check_services(raw, directory, where.report)
    gitops = _gitops(raw, repo.pod_security)
    environments = []
    for env_name, merged in merged_of.items():
        overrides = raw["environments"][env_name] or {}
        cluster = overrides.get("cluster", DEFAULT_CLUSTER)
        spec = build_spec(name, merged, repo.kubernetes_version, env_name, repo.store_kind)
        env_where = _EnvironmentLocator(where, env_name, overrides)
        check_services(merged, directory, env_where.report)
        ingress, egress = rules(spec, merged, env_name, cluster, directory, repo.network, env_where.report)
        environment = Environment(
            name=env_name,
            spec=replace(spec, ingress_rules=ingress, egress_rules=egress),
            cluster=cluster,
            namespace=overrides.get("namespace", f"{name}-{env_name}"),
        )
        defaults = repo.environments.get(env_name)
        environments.extend(cutover_sides(environment, defaults.cutover if defaults else None))
    if where.problems.errors:
        raise CardErrors(where.problems.errors)
    # The base is what every environment shares: its rules are the first environment's (overlays patch the rest).
    base = build_spec(name, base_fields, repo.kubernetes_version, store_kind=repo.store_kind)
    first = environments[0]
    ingress, egress = rules(base, raw, first.name, first.cluster, directory, repo.network, lambda path, message: None)
    base = replace(base, ingress_rules=ingress, egress_rules=egress)
    return Card(name=name, source=source, base=base, environments=environments, gitops=gitops, raw=raw)


def _directory(raw: dict[str, Any], merged_of: dict[str, dict[str, Any]], filename: str, repo: RepoSettings,
               services: ServiceDirectory | None) -> ServiceDirectory:
    """The cards `{service: ...}` entries may name, this one included (as it is now, maybe not yet on disk)."""
    named = any("service" in entry for fields in (raw, *merged_of.values())
                for key in CALLER_FIELDS for entry in fields.get(key) or [])
    directory = dict(services if services is not None else directory_near(filename, repo) if named else {})
    placed = placements(raw, repo)
    if placed is not None:
        directory[placed[0]] = placed[1]
    return directory


def _check_cutover(env_name: str, overrides: dict[str, Any], repo: RepoSettings, where: _Locator) -> None:
    """A cut-over moves the environment to another cluster than the one it is on."""
    defaults = repo.environments.get(env_name)
    cluster = overrides.get("cluster", DEFAULT_CLUSTER)
    if defaults and defaults.cutover and _same_cluster(cluster, defaults.cutover.to):
        where.report(("environments", env_name), f"its cluster {cluster} is where {REPO_FILE}'s "
                     f"environments.{env_name}.cutover.to moves it: a cut-over needs another cluster")


def _same_cluster(first: str, second: str) -> bool:
    return first.rstrip("/").lower() == second.rstrip("/").lower()


def _destination_names(env_name: str, repo: RepoSettings) -> list[str]:
    """The names of an environment's destinations: its own, and a cut-over's new side."""
    defaults = repo.environments.get(env_name)
    return [env_name] + ([defaults.cutover.name] if defaults and defaults.cutover else [])


def _check_format(raw: dict[str, Any], where: _Locator) -> None:
    from shipcard.card.migrate import FORMATS

    version = raw.get("apiVersion")
    if "apiVersion" not in raw or version == API_VERSION:
        return
    if version in FORMATS:
        raise where.error(("apiVersion",), f"card format {version} is older than {API_VERSION}, the one this "
                          "shipcard reads: run `shipcard upgrade` to migrate it")
    raise where.error(("apiVersion",), f"unsupported card format {version!r}; this shipcard reads {API_VERSION} "
                      f"(and migrates {', '.join(FORMATS[:-1])} with `shipcard upgrade`)")


def _check_finite(node: Any, where: _Locator, path: PathKey) -> None:
    """`.nan` and `.inf` pass numeric bounds (NaN compares false with everything): refuse them outright."""
    if isinstance(node, float) and not math.isfinite(node):
        where.report(path, "is not a finite number (.inf or .nan)")
    if isinstance(node, dict):
        for key, value in node.items():
            _check_finite(value, where, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_finite(value, where, path + (index,))


def _apply_pins(raw: dict[str, Any], pins: dict[str, str]) -> None:
    """Replace every image written as a lock file key with `reference@digest` (already pinned ones stay)."""

    def pin(holder: Any) -> None:
        if isinstance(holder, dict):
            image = holder.get("image")
            if isinstance(image, str) and "@" not in image and image in pins:
                holder["image"] = f"{image}@{pins[image]}"
            for job in holder.get("jobs") or []:
                if isinstance(job, dict):
                    pin(job)

    pin(raw)
    environments = raw.get("environments")
    if isinstance(environments, dict):
        for overrides in environments.values():
            pin(overrides)


def _service_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in ("apiVersion", "kind", "name", "environments", "gitops")}


def merge(base: Any, override: Any, path: PathKey = ()) -> Any:
    """Deep merge: mappings merge, `null` removes, lists of named mappings merge by name, the rest replaces."""
    if isinstance(base, dict) and isinstance(override, dict) and path not in ATOMIC_FIELDS:
        result = dict(base)
        for key, value in override.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = merge(result[key], value, path + (key,))
            else:
                result[key] = value
        return result
    if _named_list(base) and _named_list(override):
        return _merge_named(base, override, path)
    return override


def _merge_named(base: list[dict[str, Any]], override: list[dict[str, Any]], path: PathKey) -> list[dict[str, Any]]:
    """Keep base order; entries of the override with a known name merge into it, new names append."""
    patches = {item["name"]: item for item in override}
    merged = [merge(item, patches[item["name"]], path) if item["name"] in patches else item for item in base]
    known = {item["name"] for item in base}
    return merged + [item for item in override if item["name"] not in known]


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


# --------------------------------------------------------------------------- locating errors


class _Locator:
    """Turns a path inside the card into `file:line:col: field:`, and collects the card's problems.

    A problem at a place already reported (base fields, checked again in each environment) is
    not repeated, nor the same message about the same path.
    """

    def __init__(self, doc: Any, filename: str, problems: _Problems | None = None) -> None:
        self.doc = doc
        self.filename = filename
        self.problems = problems or _Problems()

    def error(self, path: PathKey, message: str) -> InputError:
        return InputError(Location(self.filename, *locate(self.doc, path)), field_name(path), message)

    def report(self, path: PathKey, message: str) -> None:
        if (path, message) in self.problems.said:
            return  # a base field's problem, found again in a merged environment
        self.problems.said.add((path, message))
        self.add(self.error(path, message))

    def add(self, error: InputError) -> None:
        place = (error.location.line, error.location.column, error.field)
        if place not in self.problems.places:
            self.problems.places.add(place)
            self.problems.errors.append(error)


@dataclass
class _Problems:
    """What one card's locators found: its errors, their places and (path, message)."""

    errors: list[InputError] = field(default_factory=list)
    places: set[tuple[int, int, str]] = field(default_factory=set)
    said: set[tuple[PathKey, str]] = field(default_factory=set)


class _EnvironmentLocator(_Locator):
    """Errors in a merged environment point at the override when it wrote the field, else at the base."""

    def __init__(self, parent: _Locator, env_name: str, overrides: dict[str, Any]) -> None:
        super().__init__(parent.doc, parent.filename, parent.problems)
        self.env_name = env_name
        self.overrides = overrides

    def error(self, path: PathKey, message: str) -> InputError:
        env_path = ("environments", self.env_name)
        if path and path[0] in self.overrides:
            full = env_path + path
            return InputError(Location(self.filename, *locate(self.doc, full)), field_name(full), message)
        line_col = locate(self.doc, path) if path else locate(self.doc, env_path)
        return InputError(Location(self.filename, *line_col), field_name(path) or field_name(env_path),
                          f"{message} (in environment {self.env_name})")


def _validate(schema: Schema, instance: Any, where: _Locator) -> bool:
    """Report every problem of `instance`; True when it has none."""
    found = all_problems(schema, instance, lambda path: locate(where.doc, path))
    for problem in found:
        where.report(problem.path, problem.message)
    return not found


# --------------------------------------------------------------------------- semantic checks


def _check_service(fields: dict[str, Any], where: _Locator, prefix: PathKey, name: str) -> None:
    """Rules the schema cannot say: exclusive fields, cross-references, Kubernetes name limits."""
    _check_image(fields["image"], where, prefix + ("image",))
    _check_ports(fields, where, prefix)
    if fields.get("ingress") and not (fields.get("ports") or "port" in fields):
        where.report(prefix + ("ingress",), "an ingress needs a port to send traffic to (add port or ports)")
    _check_autoscaling(fields, where, prefix)
    _check_liveness_none(fields, where, prefix, name)
    _check_secrets(fields, where, prefix, name)
    _check_jobs(fields, where, prefix, name)
    _check_config_map_sizes(fields, where, prefix)
    check_entries(fields, lambda path, message: where.report(prefix + path, message))


def _check_config_map_sizes(fields: dict[str, Any], where: _Locator, prefix: PathKey) -> None:
    """The env values and the job scripts each fill one ConfigMap, whose data the API server limits."""
    env_bytes = sum(len(env_literal(value).encode()) for value in (fields.get("env") or {}).values())
    if env_bytes > MAX_DATA_BYTES:
        where.report(prefix + ("env",), f"the values add up to {env_bytes} bytes; the ConfigMap they fill may "
                     f"hold at most {MAX_DATA_BYTES} (mount large files from a volume instead)")
    script_bytes = sum(len(job["script"].encode()) for job in fields.get("jobs") or [] if job.get("script"))
    if script_bytes > MAX_DATA_BYTES:
        where.report(prefix + ("jobs",), f"the scripts add up to {script_bytes} bytes; the ConfigMap they fill "
                     f"may hold at most {MAX_DATA_BYTES}")


# An annotation key's name part (after `shipcard.io/`), like a label key's, is at most 63 characters.
_MAX_KEY_NAME = 63


def _check_liveness_none(fields: dict[str, Any], where: _Locator, prefix: PathKey, name: str) -> None:
    """`health.liveness: {none: …}` becomes the server container's annotation `shipcard.io/ignore.<name>`,
    whose name part the API server holds to 63 characters."""
    liveness = (fields.get("health") or {}).get("liveness")
    key = f"{IGNORE_ANNOTATION}.{name}"
    if isinstance(liveness, dict) and "none" in liveness and len(key.split("/", 1)[1]) > _MAX_KEY_NAME:
        where.report(prefix + ("health", "liveness", "none"),
                     f"accepting no liveness probe writes the annotation {key}, whose name part is "
                     f"{len(key.split('/', 1)[1])} characters, over the API server's {_MAX_KEY_NAME}: give the "
                     f"service a name of at most {_MAX_KEY_NAME - len(key.split('/', 1)[1]) + len(name)} "
                     "characters, or a liveness probe")


def _check_autoscaling(fields: dict[str, Any], where: _Locator, prefix: PathKey) -> None:
    autoscaling = fields.get("autoscaling")
    if autoscaling and autoscaling.get("min", 2) > autoscaling["max"]:
        where.report(prefix + ("autoscaling", "min"), "min is larger than max")
    if "singleReplica" not in fields:
        return
    if autoscaling:
        where.report(prefix + ("autoscaling",), "singleReplica says one pod is enough: remove autoscaling "
                     "or singleReplica")
    elif fields.get("replicas", 1) != 1:
        where.report(prefix + ("replicas",), "singleReplica says one pod is enough: set replicas to 1 "
                     "(its default with singleReplica) or remove singleReplica")


def _check_jobs(fields: dict[str, Any], where: _Locator, prefix: PathKey, name: str) -> None:
    jobs = fields.get("jobs") or []
    for index, duplicate in _duplicates([j["name"] for j in jobs]):
        where.report(prefix + ("jobs", index, "name"), f"job name {duplicate!r} is used twice")
    for index, job in enumerate(jobs):
        _check_job(job, where, prefix + ("jobs", index), name)


def _check_image(image: Any, where: _Locator, path: PathKey) -> None:
    try:
        parse_reference(str(image))
    except ReferenceError as exc:
        where.report(path, str(exc))


def _check_ports(fields: dict[str, Any], where: _Locator, prefix: PathKey) -> None:
    if "port" in fields and "ports" in fields:
        where.report(prefix + ("ports",), "use either port or ports, not both")
    ports = fields.get("ports") or ([{"name": "http", "port": fields["port"]}] if "port" in fields else [])
    port_names = [p["name"] for p in ports]
    for index, duplicate in _duplicates(port_names):
        where.report(prefix + ("ports", index, "name"), f"port name {duplicate!r} is used twice")
    for index, duplicate in _duplicates([p["port"] for p in ports]):
        where.report(prefix + ("ports", index, "port"), f"port {duplicate} is declared twice")
    for probe_name, probe in (fields.get("health") or {}).items():
        _check_probe(probe, port_names, [p["port"] for p in ports], where,
                      prefix + ("health", probe_name))


def _check_probe(probe: Any, port_names: list[str], port_numbers: list[int], where: _Locator, path: PathKey) -> None:
    if isinstance(probe, str):
        if not port_names:
            where.report(path, "an HTTP path probe needs a port (add port or ports, or use {exec: [...]})")
        return
    for kind in ("http", "tcp", "grpc"):
        target = probe.get(kind)
        if isinstance(target, str) and target not in port_names:
            where.report(path + (kind,), f"no port named {target!r} (ports: {', '.join(port_names) or 'none'})")
        elif isinstance(target, int) and target not in port_numbers:
            where.report(path + (kind,), f"port {target} is not one of the declared ports")


# Where a pod already has something mounted: the /tmp emptyDir, the job scripts, the ServiceAccount tokens
# (the Kubernetes one and the EKS Pod Identity Webhook's). A secret file's directory must stay clear of them.
RESERVED_MOUNTS = ("/tmp", "/opt/shipcard", "/var/run/secrets")


def _check_secrets(fields: dict[str, Any], where: _Locator, prefix: PathKey, name: str) -> None:
    secrets = fields.get("secrets")
    if not secrets:
        return
    path = prefix + ("secrets",)
    provider = secrets.get("provider", "none")
    if provider != "none" and not secrets.get("store"):
        where.report(path, f"missing required field 'store' (the ClusterSecretStore name; or name {provider}'s "
                           f"store in {REPO_FILE}, secrets.stores)")
    literal = set(fields.get("env") or {})
    providers: dict[str, str] = {secrets["store"]: provider} if secrets.get("store") else {}  # store → its provider
    for section in ("env", "files"):
        for entry_name, entry in (secrets.get(section) or {}).items():
            entry_path = path + (section, entry_name)
            if section == "env" and entry_name in literal:
                where.report(entry_path, f"{entry_name} is set both in env and in secrets.env")
            remote, entry_provider, store = secret_entry(secrets, entry)
            key_path = entry_path + (("key",) if isinstance(entry, dict) else ())
            if entry_provider == "none":
                where.report(path + ("provider",), f"secrets.{section} needs a provider other than none")
                continue
            if store is None:
                if provider != "none":  # else reported above, once
                    where.report(entry_path, "a value with a provider of its own needs a store of its own "
                                 f"(a ClusterSecretStore serves one provider; or name {entry_provider}'s store in "
                                 f"{REPO_FILE}, secrets.stores)")
                continue
            if providers.setdefault(store, entry_provider) != entry_provider:
                where.report(entry_path, f"store {store!r} already serves {providers[store]}; a "
                             f"ClusterSecretStore serves one provider: name the {entry_provider} store")
            _check_remote_key(remote, where, key_path)
    _check_secret_files(secrets, where, path)
    _check_secret_names(fields, where, path, name)


def _check_remote_key(remote: str, where: _Locator, path: PathKey) -> None:
    why = placeholder_problem(remote)
    if why:
        where.report(path, why)
        return
    key, _, prop = remote.partition("#")
    if not key or ("#" in remote and not prop):
        problem = "an empty remote key" if not key else "an empty property after '#'"
        where.report(path, f"has {problem}: write remote-key[#property]")


def _check_secret_files(secrets: dict[str, Any], where: _Locator, path: PathKey) -> None:
    """Each file's directory becomes one read-only volume: it must not hide, or sit in, another mount."""
    directories: dict[str, str] = {}
    names: dict[tuple[str | None, str], str] = {}
    for file_path, entry in (secrets.get("files") or {}).items():
        file_where = path + ("files", file_path)
        pure = PurePosixPath(file_path)
        if any(part in (".", "..") for part in pure.parts):
            where.report(file_where, "must not have '.' or '..' parts")
            continue
        directory = str(pure.parent)
        clash = next((m for m in (*RESERVED_MOUNTS, *(d for d in directories if d != directory))
                      if _nested(directory, m)), None)
        if clash:
            whose = "another file's directory" if clash in directories else "a mount every pod has"
            where.report(file_where, f"its directory {directory} would be mounted over or inside {clash} "
                         f"({whose}): put the file in a directory of its own")
            continue
        directories.setdefault(directory, file_path)
        store = secret_entry(secrets, entry)[2]
        if len(pure.name) > MAX_DNS_SUBDOMAIN:
            where.report(file_where, f"its name is longer than {MAX_DNS_SUBDOMAIN} characters (a Secret key)")
        elif names.setdefault((store, pure.name), file_path) != file_path:
            where.report(file_where, f"{names[(store, pure.name)]} of the same store has the same file name "
                         f"{pure.name!r}, the key of the Secret both go to: rename one")


def _nested(directory: str, mount: str) -> bool:
    """`directory` is `mount`, or one of them is inside the other."""
    return directory == mount or directory.startswith(mount + "/") or mount.startswith(directory + "/")


def _check_secret_names(fields: dict[str, Any], where: _Locator, path: PathKey, name: str) -> None:
    """The ExternalSecrets and Secrets of every store get names of their own, valid for the API server."""
    seen: dict[str, str] = {}
    for source in secret_sources(name, resolve_secrets(fields["secrets"], None)):
        entry = next(k for k, v in (fields["secrets"].get("files" if source.files else "env") or {}).items()
                     if secret_entry(fields["secrets"], v)[2] == source.store)
        entry_path = path + ("files" if source.files else "env", entry)
        if len(source.secret) > MAX_DNS_SUBDOMAIN:
            where.report(entry_path, f"store {source.store!r} makes Secret {source.secret!r}, longer than "
                         f"{MAX_DNS_SUBDOMAIN} characters: use a shorter store name")
        elif seen.setdefault(source.name, source.store) != source.store:
            where.report(entry_path, f"store {source.store!r} makes ExternalSecret {source.name!r}, the name "
                         f"store {seen[source.name]!r} makes: rename one of the stores")


def _check_job(job: dict[str, Any], where: _Locator, path: PathKey, service: str) -> None:
    kinds = [k for k in ("schedule", "hook", "manual") if job.get(k)]
    if len(kinds) != 1:
        message = ("a job needs one of schedule, hook: pre-sync or manual: true" if not kinds
                   else f"a job takes only one of schedule, hook and manual, not {' and '.join(kinds)}")
        where.report(path + (kinds[1] if len(kinds) > 1 else "name",), message)
    if job.get("script") and (job.get("command") or job.get("args")):
        where.report(path + ("script",), "a job takes either script or command/args, not both")
    if job.get("timeZone") and not job.get("schedule"):
        where.report(path + ("timeZone",), "timeZone only applies to a job with a schedule")
    for key, problem in (("schedule", cron_problem), ("timeZone", time_zone_problem)):
        why = problem(job[key]) if job.get(key) else None
        if why:
            where.report(path + (key,), f"the API server would refuse it: {why}")
    full = f"{service}-{job['name']}"
    if len(full) > MAX_CRONJOB_NAME:
        where.report(path + ("name",), f"'{full}' is {len(full)} characters; a CronJob name may have at most "
                     f"{MAX_CRONJOB_NAME}: shorten the service or job name")
    if job.get("image"):
        _check_image(job["image"], where, path + ("image",))


def _duplicates(values: list[Any]) -> list[tuple[int, Any]]:
    """(index, value) of every value seen before."""
    seen: set[Any] = set()
    found = []
    for index, value in enumerate(values):
        if value in seen:
            found.append((index, value))
        seen.add(value)
    return found


# Directories of the repository that hold something else than one service's tree.
SHIPCARD_DIRECTORIES = ("services", "argocd", "charts")


def _check_gitops_path(raw: dict[str, Any], where: _Locator) -> None:
    if "path" not in raw["gitops"]:
        return  # apps/<name>, and the schema holds the name to a DNS label
    path = raw["gitops"]["path"]
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        where.report(("gitops", "path"), f"{path!r} must be a relative path inside the repository, without '..'")
    elif not pure.parts or any(part.startswith(".") for part in pure.parts) or pure.parts[0] in SHIPCARD_DIRECTORIES:
        where.report(("gitops", "path"), f"{path!r} must name a directory of its own: not the repository root, "
                     f"not hidden, not under {', '.join(d + '/' for d in SHIPCARD_DIRECTORIES)}")


def _gitops(raw: dict[str, Any], pod_security: str) -> GitOps:
    """The card's gitops section, checked already (`_check_gitops_path`)."""
    g = raw["gitops"]
    pure = PurePosixPath(g.get("path", f"apps/{raw['name']}"))
    fmt = g.get("format", "kustomize")
    return GitOps(format=fmt, repo_url=g["repoURL"], target_revision=g.get("targetRevision", "HEAD"),
                  path=str(pure), project=g.get("project", "default"), auto_sync=g.get("autoSync", True),
                  prune=g.get("prune", True), self_heal=g.get("selfHeal", True), pod_security=pod_security)
