"""What every importer produces: cards with their origins, `custom/` files, and the report."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from shipcard.card.schema import API_VERSION
from shipcard.errors import InputError, Location
from shipcard.images import ReferenceError, parse_reference
from shipcard.patterns import DNS_LABEL, MAX_CRONJOB_NAME, SERVICE_NAME
from shipcard.yamlio.read import Document, PathKey, load_documents, read_text

# Placeholders of an imported secret reference: valid, visibly unfinished, reported.
SECRET_PROVIDER = "aws-secrets-manager"
SECRET_STORE = "fill-in-secret-store"
# The placeholder ClusterSecretStore of each provider (a store serves one provider).
SECRET_STORES = {SECRET_PROVIDER: SECRET_STORE, "aws-parameter-store": "fill-in-parameter-store"}
# Well-known ports of protocols that are not HTTP (databases, brokers, caches).
TCP_PORTS = {5432, 3306, 6379, 27017, 5672, 9092, 11211, 1433, 1521, 9042, 2181, 4222}
_LOCAL_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1)(?::([0-9]+))?(/[^\s'\"]*)?")

# A variable whose name says it holds a secret, or whose value has the shape of a credential.
_SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth|"
                          r"access_?key|(^|_)key$|(^|_)dsn$|signing|cookie|session_?key|salt)")
_SECRET_VALUE = re.compile(
    r"://[^/\s:@]*:[^/\s@]+@"  # a URL with a password
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"  # AWS access key ids
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abprs]-|\bsk_(live|test)_|\beyJ[A-Za-z0-9_-]{10,}\.")


def looks_secret(name: str, value: str) -> bool:
    """Whether a variable is taken for a secret: by its name, or by the shape of its value."""
    return bool(_SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


@dataclass(frozen=True)
class Origin:
    """Where an imported value came from: `FILE:LINE FIELD` (never the value itself)."""

    file: str
    line: int
    field: str
    column: int = 1

    def __str__(self) -> str:
        return f"from {self.file}:{self.line} {self.field}" if self.line else f"from {self.file} {self.field}"

    def error(self, message: str, column: int | None = None) -> InputError:
        """Bad input here: `FILE:LINE:COL: FIELD: message`."""
        return InputError(Location(self.file, self.line, (column or self.column) if self.line else 0), self.field,
                          message)


def dotted(path: PathKey) -> str:
    """`services.web.ports[0]`: a path inside a source, as the report and the comments name it."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


@dataclass(frozen=True)
class Source:
    """One YAML (or JSON) document of an input file, and where its values are."""

    doc: Document
    name: str  # the file as the user named it

    @property
    def data(self) -> Any:
        return self.doc.data

    def at(self, *path: str | int) -> Origin:
        line, column = self.doc.line_of(path)
        return Origin(self.name, line, dotted(path), column)


def read_sources(path: Path) -> list[Source]:
    """Every non-empty document of a YAML or JSON file, with positions (size and depth limited)."""
    text = read_text(path)
    return [Source(doc, str(path)) for doc in load_documents(text, str(path)) if doc.data is not None]


@contextmanager
def shaped(origin: Origin) -> Iterator[None]:
    """Input of a shape the importer does not expect (a list where a mapping goes, a mapping for a
    string) is bad input at `origin`, one line, rather than an internal error."""
    try:
        yield
    except (AttributeError, TypeError, KeyError, IndexError, ValueError):
        raise origin.error("a value in it has an unexpected type or shape (a mapping, list or scalar "
                           "where another goes)") from None


@dataclass(frozen=True)
class Note:
    """One entry of the report: something of the source the card does not (or not exactly) express."""

    file: str
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}" if self.line else \
            f"{self.file}: {self.field}: {self.reason}"


@dataclass
class ImportedCard:
    """One card, and the files of its `custom/` Kustomize component (paths relative to `custom/`)."""

    name: str
    doc: CommentedMap
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    cards: list[ImportedCard] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def note(self, origin: Origin, reason: str) -> None:
        self.notes.append(Note(origin.file, origin.line, origin.field, reason))

    def keep_ports_reachable(self, source: str) -> None:
        """Cards are closed to callers by default; in the source every port was reachable. A card with ports
        and no `allowFrom` admits the other imported services (they could call it there), or, imported alone,
        any source, as before; either is reported, to be narrowed to the real callers."""
        serving = [card for card in self.cards if card.doc.get("ports") and "allowFrom" not in card.doc]
        for card in serving:
            peers = [other.name for other in self.cards if other is not card]
            entries = CommentedSeq(commented(None, service=peer) for peer in peers) if peers else \
                CommentedSeq([commented(None, anywhere=True)])
            card.doc["allowFrom"] = entries
            card.doc.yaml_add_eol_comment(f"reachable in {source}: narrow to the real callers", "allowFrom")
            whom = f"the {len(peers)} other imported service(s)" if peers else "any source"
            self.notes.append(Note(source, 0, f"{card.name}.allowFrom", f"its ports were reachable from every "
                                   f"caller in the source: {whom} may call it; narrow allowFrom to its callers"))


class CardBuilder:
    """A card being imported: every value set with its origin as an end-of-line comment."""

    def __init__(self, name: str, origin: Origin, result: ImportResult) -> None:
        self.name = name
        self.result = result
        self.secret_provider = SECRET_PROVIDER  # the card's `secrets.provider` once it has secrets
        self.doc = CommentedMap()
        self.doc["apiVersion"] = API_VERSION
        self.doc["kind"] = "Service"
        self.set(("name",), name, origin)

    def set(self, path: tuple[str, ...], value: Any, origin: Origin | None) -> None:
        holder = self.doc
        for key in path[:-1]:
            if key not in holder:
                holder[key] = CommentedMap()
            holder = holder[key]
        holder[path[-1]] = value
        if origin is not None:
            holder.yaml_add_eol_comment(str(origin), path[-1])

    def has(self, *path: str) -> bool:
        holder: Any = self.doc
        for key in path:
            if not isinstance(holder, dict) or key not in holder:
                return False
            holder = holder[key]
        return True

    def image(self, path: tuple[str, ...], image: str, origin: Origin) -> None:
        """Set an image, reporting one that is not pinned to a version (or that is no reference)."""
        try:
            reference = parse_reference(image)
        except ReferenceError as exc:
            raise origin.error(str(exc)) from None
        if reference.floating:
            self.result.note(origin, f"image {reference.name} has no version tag (or `latest`): pin a version, "
                                     "then `shipcard pin`")
        self.set(path, image, origin)

    def env(self, name: str, value: Any, origin: Origin) -> None:
        """A literal env value, or, when it looks secret, a secret reference to fill in (value dropped)."""
        text = value if isinstance(value, str) else "" if value is None else str(value)
        if looks_secret(name, text):
            self.secret(name, origin, "looks secret: its value was not copied")
        else:
            self.set(("env", name), value if isinstance(value, (bool, int, float)) else text, origin)

    def secret(self, variable: str, origin: Origin, why: str, remote: str | None = None) -> None:
        """`secrets.env.VARIABLE` with a placeholder remote key (and store) to fill in, reported."""
        self._secrets_section()
        provider = self.doc["secrets"]["provider"]
        key = remote or f"{'/' if provider == 'aws-parameter-store' else ''}fill-in/{self.name}/{variable}"
        self.set(("secrets", "env", variable), key, origin)
        self.result.note(origin, f"{why}; it is secrets.env.{variable}, remote key {key!r} in store "
                                 f"{self.doc['secrets']['store']!r} (provider {provider}): "
                                 "store the value there and fill in the key and store")

    def remote_secret(self, variable: str, key: str, provider: str, origin: Origin) -> str:
        """`secrets.env.VARIABLE` read from `key` of `provider`: a string for the card's own provider,
        else `{key, provider, store}`; the store is the provider's placeholder, which is returned."""
        self._secrets_section()
        store = SECRET_STORES[provider]
        value: Any = key if provider == self.doc["secrets"]["provider"] else \
            commented(None, key=key, provider=provider, store=store)
        self.set(("secrets", "env", variable), value, origin)
        return store

    def _secrets_section(self) -> None:
        if not self.has("secrets"):
            self.set(("secrets", "provider"), self.secret_provider, None)
            self.set(("secrets", "store"), SECRET_STORES[self.secret_provider], None)

    def port(self, port: int, origin: Origin, *, protocol: str | None = None, name: str | None = None,
             service_port: int | None = None) -> None:
        """A `ports` entry: `tcp` for well-known non-HTTP ports unless `protocol` says; named `name`, else
        after its protocol (`http`, then `http-PORT`)."""
        protocol = protocol or ("tcp" if port in TCP_PORTS else "http")
        taken = {p["name"] for p in self.doc.get("ports", [])}
        if not name or name in taken:
            name = protocol if protocol not in taken else f"{protocol}-{port}"
        item = commented(origin, name=name, port=port)
        if service_port and service_port != port:
            item["servicePort"] = service_port
        item["protocol"] = protocol
        self.append("ports", item)

    def health(self, test: list[str], test_origin: Origin, origin: Origin, timing: dict[str, int]) -> None:
        """`health.readiness` and `.liveness` from a Docker health check test (`[CMD-SHELL, "…"]`,
        `[CMD, …]`): an HTTP probe when it fetches a declared port of localhost with curl or wget, else
        `exec` (CMD-SHELL through `/bin/sh -c`); `timing` holds the probe's `period`, `initialDelay`, …
        (`origin` is the health check's, `test_origin` its test's)."""
        words = [str(t) for t in test[1:]] if test[0] in ("CMD", "CMD-SHELL") else [str(t) for t in test]
        line = " ".join(words)
        url = _LOCAL_URL.search(line)
        probe: dict[str, Any]
        if url and any(tool in line for tool in ("curl", "wget")) and \
                int(url.group(1) or 80) in {p["port"] for p in self.doc.get("ports", [])}:
            probe = {"http": int(url.group(1) or 80), "path": url.group(2) or "/"}
        else:
            probe = {"exec": ["/bin/sh", "-c", line] if test[0] == "CMD-SHELL" else words}
        for kind in ("readiness", "liveness"):  # each its own copy: a shared list would be dumped as a YAML alias
            self.set(("health", kind), commented(test_origin, **copy.deepcopy(probe), **timing), origin)

    def append(self, key: str, item: CommentedMap) -> None:
        if key not in self.doc:
            self.doc[key] = CommentedSeq()
        self.doc[key].append(item)

    def finish(self, custom: dict[str, str] | None = None) -> ImportedCard:
        card = ImportedCard(self.name, self.doc, custom or {})
        self.result.cards.append(card)
        return card


def commented(origin: Origin | None = None, **values: Any) -> CommentedMap:
    """A mapping of `values`, each commented with `origin` (one list item: a port, a job)."""
    item = CommentedMap()
    for key, value in values.items():
        item[key] = value
    if origin is not None and values:
        item.yaml_add_eol_comment(str(origin), next(iter(values)))
    return item


def unquote(value: str) -> str:
    """A shell-style value without the one pair of quotes around it (env files, crontab env lines)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def dns_name(text: str, limit: int = 63) -> str:
    """`text` as a DNS-1123 label of at most `limit` characters (lower case, `-` for the rest), or ''."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")
    return name if re.match(DNS_LABEL, name) else ""


def service_name(text: str, origin: Origin) -> str:
    """A card name from a source's name, or a refusal naming the source."""
    name = dns_name(text)
    if name and not name[0].isalpha():
        name = dns_name(f"svc-{name}")
    if not name or not re.match(SERVICE_NAME, name):
        raise origin.error("cannot derive a service name (DNS-1035 label): pass --name")
    return name


def job_name(text: str, service: str, taken: set[str]) -> str:
    """A unique job name from `text`, short enough that `<service>-<job>` is a valid CronJob name."""
    limit = MAX_CRONJOB_NAME - len(service) - 1
    base = dns_name(text, max(limit, 1)) or "job"
    name, number = base, 2
    while name in taken:
        suffix = f"-{number}"
        name = (base[: limit - len(suffix)].rstrip("-") or "job") + suffix
        number += 1
    taken.add(name)
    return name
