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
from shipcard.settings import REPO_FILE, find_repo_root, load_repo
from shipcard.yamlio.read import Document, PathKey, load_documents, read_text

SECRETS_MANAGER, PARAMETER_STORE = "aws-secrets-manager", "aws-parameter-store"  # card secrets providers
# Placeholders of an imported secret reference: valid, visibly unfinished, reported.
SECRET_PROVIDER = SECRETS_MANAGER
SECRET_STORE = "fill-in-secret-store"
# The placeholder ClusterSecretStore of each provider (a store serves one provider).
SECRET_STORES = {SECRET_PROVIDER: SECRET_STORE, PARAMETER_STORE: "fill-in-parameter-store"}
# Well-known ports of protocols that are not HTTP (databases, brokers, caches).
TCP_PORTS = {5432, 3306, 6379, 27017, 5672, 9092, 11211, 1433, 1521, 9042, 2181, 4222}
_LOCAL_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1)(?::([0-9]+))?(/[^\s'\"]*)?")
# A service's name is also the start of `<name>-<environment>` (an Application, at most 63 characters) and
# of `<name>-<job>` (a CronJob, at most 52): an imported name leaves room for both.
MAX_SERVICE_NAME = 40

# A variable whose name says it holds a secret, or whose value has the shape of a credential.
_SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth|"
                          r"access_?key|(^|_)key$|(^|_)dsn$|signing|cookie|session_?key|salt|(^|_)pwd$|"
                          r"(^|_)creds?($|_)|conn(ection)?_?str(ing)?)")
# A JWT (eyJ…) starts only where no base64url run goes on: with `\b`, each `eyJ` of `eyJ-eyJ-…` began a
# scan to the run's end (quadratic).
_SECRET_VALUE = re.compile(
    r"://[^/\s:@]*:[^/\s@]+@"  # a URL with a password
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"  # AWS access key ids
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abprs]-|\bsk_(live|test)_|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\."
    r"|(?i:(^|;)\s*(password|pwd)\s*=)")  # a connection string's password (`Server=db;Password=…`)


# An option whose value is a credential: `--password`, `--db-pass`, `--api-key`, `-token` (not `--token-file`).
_SECRET_FLAG = re.compile(r"(?i)^--?([a-z0-9]+[-_])*"
                          r"(password|passwd|pass|pwd|secret|token|api[-_]?key|access[-_]?key)$")


# A shell word: unquoted characters and quoted strings, up to unquoted white space.
_SHELL_WORD = re.compile(r"""((?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+)""")


def looks_secret(name: str, value: str) -> bool:
    """Whether a variable is taken for a secret: by its name, or by the shape of its value."""
    return bool(_SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


def any_secret(words: list[str]) -> bool:
    """Whether any word has the shape of a credential (a probe's command, which no secret can fill in)."""
    return any(_SECRET_VALUE.search(word) for word in words)


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


def read_lines(path: Path) -> list[str]:
    """The lines of a line-based source (a crontab, an env file): CRLF or LF, a leading BOM dropped."""
    return read_text(path).removeprefix("\ufeff").splitlines()


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


def repository_stores() -> dict[str, str]:
    """The store `shipcard.yaml` names for each secrets provider (`secrets.stores`), in the repository of
    the working directory, which the import writes to; none outside a repository."""
    return {provider: store.name for provider, store in load_repo(find_repo_root(Path.cwd())).secret_stores.items()}


@dataclass
class ImportResult:
    cards: list[ImportedCard] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # the services named so far, each card's own
    # provider → the store shipcard.yaml names for it: cards leave such stores out (render fills them in)
    stores: dict[str, str] = field(default_factory=repository_stores)

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
        self.name = unique_name(name, result.names)
        self.result = result
        self.secret_provider = SECRET_PROVIDER  # the card's `secrets.provider` once it has secrets
        if self.name != name:  # `My_Service` and `my-service`, or one Deployment name in two namespaces
            result.note(origin, f"another imported service is named {name}: this one is {self.name} (its clients "
                                "need the new name)")
        self.doc = CommentedMap()
        self.doc["apiVersion"] = API_VERSION
        self.doc["kind"] = "Service"
        self.set(("name",), self.name, origin)

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
        """`secrets.env.VARIABLE` with a placeholder remote key (and store, unless shipcard.yaml names the
        provider's) to fill in, reported."""
        self._secrets_section()
        provider = self.doc["secrets"]["provider"]
        key = remote or f"{'/' if provider == PARAMETER_STORE else ''}fill-in/{self.name}/{variable}"
        self.set(("secrets", "env", variable), key, origin)
        store, placeholder = self.store(provider)
        where = f"store {store!r} (provider {provider})" if placeholder else \
            f"store {store!r} ({REPO_FILE} secrets.stores.{provider})"
        self.result.note(origin, f"{why}; it is secrets.env.{variable}, remote key {key!r} in {where}: "
                                 f"store the value there and fill in the key{' and store' if placeholder else ''}")

    def remote_secret(self, variable: str, key: str, provider: str, origin: Origin, version: str | None = None) -> None:
        """`secrets.env.VARIABLE` read from `key` of `provider` (at `version`, if any): a string for the card's
        own provider, else `{key, provider[, store]}` (with `version`, a mapping either way); the store is
        written only when it is the provider's placeholder."""
        self._secrets_section()
        store, placeholder = self.store(provider)
        own = provider == self.doc["secrets"]["provider"]
        value: Any = key if own and version is None else commented(
            None, key=key, **({} if own else {"provider": provider, **({"store": store} if placeholder else {})}),
            **({"version": version} if version else {}))
        self.set(("secrets", "env", variable), value, origin)

    def store(self, provider: str) -> tuple[str, bool]:
        """The store of `provider`'s values: shipcard.yaml's (`secrets.stores`), else its placeholder (True)."""
        if provider in self.result.stores:
            return self.result.stores[provider], False
        return SECRET_STORES[provider], True

    def _secrets_section(self) -> None:
        if not self.has("secrets"):
            self.set(("secrets", "provider"), self.secret_provider, None)
            store, placeholder = self.store(self.secret_provider)
            if placeholder:  # a store shipcard.yaml names is left out: render fills it in
                self.set(("secrets", "store"), store, None)

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
        if any_secret(words):
            self.result.note(test_origin, "a word of it looks secret, and a probe's command cannot take it from a "
                                          "secret: not imported (its value was not copied)")
            return
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

    def words(self, words: list[str], origin: Origin, variable: str, hidden: list[str] | None = None) -> list[str]:
        """Command words for the card: a credential (a word of a credential's shape, or the value of a
        `--password`-like option) becomes `$(VARIABLE_N)`, a secret reference to fill in, which
        Kubernetes expands from the container's env in command and args; `hidden` gets the variables."""
        found = []
        for index, word in enumerate(words):
            found.append(self._hidden(word, words[index - 1] if index else "", origin, f"{variable}_{index}",
                                      hidden))
        return found

    def shell(self, command: str, origin: Origin, variable: str) -> str:
        """A shell command line for the card, each credential hidden as in `words` (the shell of the job
        sees the value: Kubernetes expands `$(VARIABLE_N)` before running it)."""
        parts = _SHELL_WORD.split(command)  # [between, word, between, word, …, between]
        parts[1::2] = self.words(parts[1::2], origin, variable)
        return "".join(parts)

    def _hidden(self, word: str, previous: str, origin: Origin, variable: str, hidden: list[str] | None) -> str:
        flag, equals, _ = word.partition("=") if word.startswith("-") else ("", "", word)
        if equals and _SECRET_VALUE.search(flag):
            flag, equals = "", ""
        if not (_SECRET_VALUE.search(word) or (equals and _SECRET_FLAG.match(flag))
                or (not word.startswith("-") and _SECRET_FLAG.match(previous))):
            return word
        variable = re.sub(r"[^A-Z0-9_]", "_", variable.upper())
        self.secret(variable, origin, f"a word looks secret: its value was not copied, the card passes $({variable})")
        if hidden is not None:
            hidden.append(variable)
        return f"{flag}{equals}$({variable})"

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


def service_name(text: str, origin: Origin, fix: str = "pass --name") -> str:
    """A card name from a source's name (at most MAX_SERVICE_NAME characters), or a refusal naming the
    source and saying how to `fix` it."""
    name = dns_name(text)
    if name and not name[0].isalpha():
        name = dns_name(f"svc-{name}")
    name = name[:MAX_SERVICE_NAME].rstrip("-")
    if not name or not re.match(SERVICE_NAME, name):
        raise origin.error(f"cannot derive a service name (DNS-1035 label): {fix}")
    return name


def unique_name(base: str, taken: set[str], limit: int = MAX_SERVICE_NAME) -> str:
    """`base`, else `base-2`, `base-3`, … (at most `limit` characters), added to `taken`."""
    name, number = base, 2
    while name in taken:
        suffix = f"-{number}"
        name = (base[: limit - len(suffix)].rstrip("-") or "job") + suffix
        number += 1
    taken.add(name)
    return name


def job_name(text: str, service: str, taken: set[str]) -> str:
    """A unique job name from `text`, short enough that `<service>-<job>` is a valid CronJob name."""
    limit = MAX_CRONJOB_NAME - len(service) - 1
    return unique_name(dns_name(text, max(limit, 1)) or "job", taken, limit)
