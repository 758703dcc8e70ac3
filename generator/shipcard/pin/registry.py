"""Resolving a tag to a manifest digest with the OCI Distribution API, standard library only.

`GET /v2/<name>/manifests/<tag>` fetches the manifest; the digest pinned is the sha256 of that
body, and only of a body that is the manifest its Content-Type says (an OCI index or manifest, a
Docker manifest list or v2 manifest, with their required fields) and that hashes to the registry's
`Docker-Content-Digest` when it sends one. Authentication follows the registry's `WWW-Authenticate`
challenge: a bearer token from its token service (anonymous, basic credentials or an identity
token) or plain basic auth. URLs the registry names (a token service, a redirect) and tokens it
issues are checked before they are used; no message shows a token or a credential.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import ipaddress
import json
import random
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from typing import Any

from shipcard import __version__
from shipcard.images import ImageReference
from shipcard.pin.credentials import Credential, CredentialError, CredentialStore, registry_key

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
# Docker's formats require `mediaType` in the body; OCI's made it optional before image-spec 1.1.
MEDIA_TYPE_REQUIRED = frozenset({DOCKER_LIST, DOCKER_MANIFEST})
SCHEMA1_PREFIX = "application/vnd.docker.distribution.manifest.v1+"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")
# What may travel in a header or a URL as is: visible ASCII, no space, no control character.
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class RegistryError(Exception):
    """Resolving one reference failed; `kind` is what happened, in a word or two."""

    def __init__(self, kind: str, detail: str, *, transient: bool = False) -> None:
        self.kind = kind
        self.detail = detail
        self.transient = transient
        super().__init__(f"{kind}: {detail}")


@dataclass(frozen=True)
class Endpoint:
    """Where a registry's API is served and whether TLS is used."""

    host: str
    scheme: str

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    name = _hostname(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hostname(host: str) -> str:
    """The host part of `host[:port]` or `[v6]:port`, lower case."""
    if host.startswith("["):
        return host[1 : host.find("]")].lower() if "]" in host else host.lower()
    if host.count(":") == 1:
        return host.split(":", 1)[0].lower()
    return host.lower()


def endpoint_for(registry: str, insecure: frozenset[str] = frozenset()) -> Endpoint:
    """Docker's addressing: docker.io is served at registry-1.docker.io; loopback and
    registries named in `insecure` (host or host:port) are spoken to over plain HTTP."""
    key = registry_key(registry or "docker.io")
    host = DOCKER_HUB_ENDPOINT if key == "docker.io" else key
    plain = is_loopback(host) or host in insecure or _hostname(host) in insecure
    return Endpoint(host, "http" if plain else "https")


def api_repository(reference: ImageReference) -> str:
    """The repository path used in API URLs (`nginx` → `library/nginx` on Docker Hub)."""
    if registry_key(reference.canonical_registry) == "docker.io" and "/" not in reference.repository:
        return f"library/{reference.repository}"
    return reference.repository


def resolution_key(reference: ImageReference) -> tuple[str, str, str]:
    """References that name the same manifest share a key: resolve each key once."""
    return (registry_key(reference.canonical_registry), api_repository(reference), reference.tag or "latest")


@dataclass
class _Response:
    status: int
    headers: Message
    body: bytes


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, never from HTTPS to HTTP.

    Credentials are sent as unredirected headers, so urllib never carries
    them to the redirect target.
    """

    max_redirections = 5

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("Location") or headers.get("URI") or ""
        try:
            target = urllib.parse.urljoin(req.full_url, location) if _VISIBLE_ASCII.fullmatch(location) else ""
        except ValueError:  # an unclosed IPv6 literal
            target = ""
        if not valid_http_url(target):
            fp.close()
            raise RegistryError("bad response", f"{urllib.parse.urlsplit(req.full_url).netloc} redirected "
                                "to an invalid URL")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        target_scheme = urllib.parse.urlsplit(newurl).scheme
        if urllib.parse.urlsplit(req.full_url).scheme == "https" and target_scheme != "https":
            raise RegistryError("bad response", f"refused a redirect from HTTPS to {target_scheme or 'a relative URL'}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class RegistryClient:
    """Resolves tags to digests; safe to use from several threads at once."""

    def __init__(self, credentials: CredentialStore, *, insecure: frozenset[str] = frozenset(),
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 retry_after_cap: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self._credentials = credentials
        self._insecure = insecure
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep
        self._auth_cache: dict[tuple[str, str], str] = {}
        self._auth_lock = threading.Lock()
        context = ssl.create_default_context()
        self._direct = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context), _SafeRedirects)
        self._proxied = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _SafeRedirects)
        self._user_agent = f"shipcard/{__version__}"

    # ------------------------------------------------------------------ public

    def resolve(self, reference: ImageReference) -> str:
        """The digest the registry serves for `reference`'s tag (the index digest for multi-platform)."""
        endpoint = endpoint_for(reference.canonical_registry, self._insecure)
        repository = api_repository(reference)
        tag = reference.tag or "latest"
        url = f"{endpoint.base_url}/v2/{repository}/manifests/{urllib.parse.quote(tag, safe='')}"
        where = f"{repository}:{tag} at {endpoint.host}"
        # GET, not HEAD: a digest is pinned only for a manifest that was read and checked.
        response = self._authorized("GET", url, endpoint, repository, reference)
        if response.status == 404:
            raise self._not_found(endpoint, repository, tag, reference)
        if response.status != 200:
            raise _status_error(response, where, self._credential_note(reference))
        return verified_digest(response.headers, response.body, where)

    def _not_found(self, endpoint: Endpoint, repository: str, tag: str, reference: ImageReference) -> RegistryError:
        """Tell a missing tag from a missing repository: the tag list of a missing one is NAME_UNKNOWN."""
        url = f"{endpoint.base_url}/v2/{repository}/tags/list?n=1"
        try:
            tags = self._authorized("GET", url, endpoint, repository, reference)
        except RegistryError:
            tags = None
        if tags is not None and tags.status == 404 and _registry_error_code(tags.body) == "NAME_UNKNOWN":
            return RegistryError("not found", f"no repository {repository} at {endpoint.host} (404)")
        return RegistryError("not found", f"no tag {tag} in repository {repository} at {endpoint.host} (404)")

    # ------------------------------------------------------------------ authentication

    def _credential(self, reference: ImageReference) -> Credential | None:
        try:
            return self._credentials.lookup(reference.canonical_registry)
        except CredentialError as exc:
            raise RegistryError("unauthorized", str(exc)) from None

    def _credential_note(self, reference: ImageReference) -> str:
        credential = self._credential(reference)
        if credential is None:
            registry = registry_key(reference.canonical_registry)
            return f"anonymous: no credentials for {registry} in {self._credentials.searched()}"
        return f"credentials from {credential.source}"

    def _authorized(self, method: str, url: str, endpoint: Endpoint, repository: str,
                    reference: ImageReference) -> _Response:
        """Send, answering a 401 challenge once; 401/403 after that is an error."""
        cache_key = (endpoint.host, repository)
        with self._auth_lock:
            authorization = self._auth_cache.get(cache_key)
        response = self._send(method, url, endpoint, authorization=authorization)
        if response.status != 401:
            return response
        credential = self._credential(reference)
        authorization = self._answer_challenge(response, endpoint, repository, credential, reference)
        with self._auth_lock:
            self._auth_cache[cache_key] = authorization
        response = self._send(method, url, endpoint, authorization=authorization)
        if response.status in (401, 403):
            raise _status_error(response, f"{repository} at {endpoint.host}", self._credential_note(reference))
        return response

    def _answer_challenge(self, response: _Response, endpoint: Endpoint, repository: str,
                          credential: Credential | None, reference: ImageReference) -> str:
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        where = f"{repository} at {endpoint.host}"
        if scheme == "basic":
            if credential is None or not credential.username or not credential.password:
                raise RegistryError("unauthorized", f"{where} needs credentials (basic auth) and "
                                    f"{self._credential_note(reference)}")
            self._refuse_plain_http(endpoint.base_url, credential)
            return _basic(credential)
        if scheme == "bearer" and "realm" in params:
            if credential is not None and credential.registry_token:
                return f"Bearer {credential.registry_token}"
            scope = params.get("scope") or f"repository:{repository}:pull"
            token = self._fetch_token(params["realm"], params.get("service", ""), scope, credential, where, reference)
            return f"Bearer {token}"
        raise RegistryError("unauthorized", f"{where} answered 401 without a usable challenge")

    def _fetch_token(self, realm: str, service: str, scope: str, credential: Credential | None,
                     where: str, reference: ImageReference) -> str:
        if not valid_http_url(realm):
            raise RegistryError("bad response", f"{where} names an invalid token service URL")
        parts = urllib.parse.urlsplit(realm)
        realm_endpoint = Endpoint(parts.netloc, parts.scheme)
        authorization, form = None, None
        query = {"scope": scope}
        if service:
            query["service"] = service
        if credential is not None and credential.identity_token:
            self._refuse_plain_http(realm, credential)
            form = {"grant_type": "refresh_token", "refresh_token": credential.identity_token,
                    "client_id": "shipcard", **query}
        elif credential is not None and credential.username and credential.password:
            self._refuse_plain_http(realm, credential)
            authorization = _basic(credential)
        separator = "&" if parts.query else "?"
        if form is not None:
            response = self._send("POST", realm, realm_endpoint, authorization=None,
                                  data=urllib.parse.urlencode(form).encode())
        else:
            response = self._send("GET", realm + separator + urllib.parse.urlencode(query), realm_endpoint,
                                  authorization=authorization)
        if response.status != 200:
            raise _status_error(response, f"token service {realm_endpoint.host} for {where}",
                                self._credential_note(reference))
        try:
            data = json.loads(response.body)
            token = data.get("token") or data.get("access_token")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError("bad response", f"token service {realm_endpoint.host} sent no token")
        if not _VISIBLE_ASCII.fullmatch(token):
            raise RegistryError("bad response", f"token service {realm_endpoint.host} sent a token with a space, "
                                "a control character or a non-ASCII character")
        return token

    def _refuse_plain_http(self, url: str, credential: Credential) -> None:
        if not may_send_credentials(url, self._insecure):
            raise RegistryError("unauthorized", f"refused to send credentials from {credential.source} "
                                f"over plain HTTP to {urllib.parse.urlsplit(url).netloc.rpartition('@')[2]}")

    # ------------------------------------------------------------------ transport

    def _send(self, method: str, url: str, endpoint: Endpoint, *, authorization: str | None,
              data: bytes | None = None) -> _Response:
        """One request with bounded retries: 429/5xx, timeouts and dropped connections."""
        attempt = 0
        while True:
            try:
                response = self._send_once(method, url, endpoint, authorization, data)
            except RegistryError as exc:
                if not exc.transient or attempt >= self._retries:
                    raise
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if response.status not in RETRYABLE_STATUSES or attempt >= self._retries:
                return response
            self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
            attempt += 1

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait: the registry's Retry-After (capped), else exponential backoff with jitter."""
        requested = parse_retry_after(retry_after)
        if requested is not None:
            return min(requested, self._retry_after_cap)
        return self._backoff * (2 ** attempt) * (1 + random.random() / 4)

    def _send_once(self, method: str, url: str, endpoint: Endpoint, authorization: str | None,
                   data: bytes | None) -> _Response:
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("User-Agent", self._user_agent)
        if "/manifests/" in url:
            request.add_header("Accept", ", ".join(MANIFEST_MEDIA_TYPES))
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if authorization:
            request.add_unredirected_header("Authorization", authorization)
        opener = self._direct if is_loopback(endpoint.host) else self._proxied
        limit = MAX_MANIFEST_BYTES + 1
        try:
            with opener.open(request, timeout=self._timeout) as reply:
                body = self._read_body(reply, limit) if method != "HEAD" else b""
                return _Response(reply.status, reply.headers, body)
        except urllib.error.HTTPError as exc:
            try:
                body = self._read_body(exc, MAX_ERROR_BODY_BYTES) if method != "HEAD" else b""
            except (OSError, http.client.HTTPException, AttributeError):
                body = b""
            finally:
                exc.close()
            return _Response(exc.code, exc.headers, body)
        except urllib.error.URLError as exc:
            raise _network_error(exc.reason, endpoint) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise _network_error(exc, endpoint) from None
        except ValueError as exc:  # a URL or header http.client refuses; its message may hold the value
            raise RegistryError("bad response", f"cannot send a request to {endpoint.host} "
                                f"({type(exc).__name__})") from None

    def _read_body(self, reply: Any, limit: int) -> bytes:
        """The body, but within `timeout` seconds in all: the socket's timeout only bounds each
        read, and a registry sending a byte at a time would otherwise hold the run for hours."""
        deadline = time.monotonic() + self._timeout
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = reply.read1(min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError("the answer did not arrive within the timeout")
        body = b"".join(chunks)
        missing = getattr(reply, "length", None)
        if size < limit and isinstance(missing, int) and missing > 0:  # closed before its Content-Length
            raise http.client.IncompleteRead(body, missing)
        return body


# ---------------------------------------------------------------------- helpers


def valid_http_url(url: str) -> bool:
    """An absolute http(s) URL of visible ASCII naming a host (a name or an IP literal) and no user."""
    if not _VISIBLE_ASCII.fullmatch(url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return False
    if parts.netloc.startswith("["):
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return bool(_HOST_NAME.fullmatch(host))


def may_send_credentials(url: str, insecure: frozenset[str] = frozenset()) -> bool:
    """Credentials travel over HTTPS, or over plain HTTP only to loopback or --insecure-registry hosts."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.netloc.rpartition("@")[2]
    return parts.scheme == "http" and (is_loopback(host) or host in insecure or _hostname(host) in insecure)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _basic(credential: Credential) -> str:
    token = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode()
    return f"Basic {token}"


def verified_digest(headers: Message, body: bytes, where: str) -> str:
    """The sha256 digest of a fetched manifest, once its Content-Type, its shape and the registry's
    Docker-Content-Digest (when sent) all agree with it; RegistryError naming what did not."""
    media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if media_type.startswith(SCHEMA1_PREFIX):
        raise RegistryError("bad response", f"{where} is a schema 1 manifest ({media_type}); "
                            "its digest cannot pin a pull. Push it again with a current client")
    if media_type not in MANIFEST_MEDIA_TYPES:
        shown = f"Content-Type {_shortened(media_type)}" if media_type else "no Content-Type"
        raise RegistryError("bad response", f"{where} answered {shown}, not a manifest type")
    if len(body) > MAX_MANIFEST_BYTES:
        raise RegistryError("bad response", f"{where}: manifest larger than {MAX_MANIFEST_BYTES} bytes")
    problem = manifest_problem(body, media_type)
    if problem:
        raise RegistryError("bad response", f"{where}: the manifest {problem} (Content-Type {media_type})")
    computed = f"sha256:{hashlib.sha256(body).hexdigest()}"
    claimed = headers.get("Docker-Content-Digest", "").strip()
    if claimed and not _SHA256.fullmatch(claimed):
        raise RegistryError("bad response", f"{where}: its Docker-Content-Digest is not a sha256 digest")
    if claimed and claimed != computed:
        raise RegistryError("bad response", f"{where}: the registry says the manifest digest is {claimed} "
                            f"but the manifest it sent hashes to {computed}")
    return computed


def manifest_problem(body: bytes, media_type: str) -> str | None:
    """What keeps `body` from being a manifest of `media_type` (phrased after "the manifest"), or None."""
    if not body:
        return "is empty"
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return "is not UTF-8"
    except (ValueError, RecursionError):
        return "is not valid JSON"
    if not isinstance(document, dict):
        return "is not a JSON object"
    version = document.get("schemaVersion")
    if type(version) is not int or version != 2:
        return "does not say schemaVersion 2"
    declared = document.get("mediaType")
    if declared is None and media_type in MEDIA_TYPE_REQUIRED:
        return "has no mediaType"
    if declared is not None and declared != media_type:
        shown = _shortened(declared) if isinstance(declared, str) else f"a {type(declared).__name__}"
        return f"declares mediaType {shown}"
    if media_type in INDEX_MEDIA_TYPES:
        return _descriptors_problem(document.get("manifests"), "manifests")
    if not _is_descriptor(document.get("config")):
        return "has no config descriptor (mediaType, digest, size)"
    return _descriptors_problem(document.get("layers"), "layers")


def _descriptors_problem(entries: object, field_name: str) -> str | None:
    if not isinstance(entries, list):
        return f"has no {field_name} list"
    for index, entry in enumerate(entries):
        if not _is_descriptor(entry):
            return f"has {field_name}[{index}] that is not a descriptor (mediaType, digest, size)"
    return None


def _is_descriptor(value: object) -> bool:
    """An OCI content descriptor: a media type, a digest and a size."""
    if not isinstance(value, dict):
        return False
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    return (isinstance(media_type, str) and bool(media_type) and isinstance(digest, str)
            and bool(_DIGEST.match(digest)) and type(size) is int and size >= 0)


def _shortened(text: str, limit: int = 80) -> str:
    """A registry's word, quoted and cut to `limit` characters (it is not ours to print at length)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _registry_error_code(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return str(errors[0].get("code", "")) if errors else ""
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _status_error(response: _Response, where: str, credential_note: str) -> RegistryError:
    status = response.status
    if status == 404:
        return RegistryError("not found", f"{where} (404)")
    if status in (401, 403):
        verb = "refused" if status == 401 else "denied"
        # Docker Hub answers 401, not 404, for a repository that does not exist.
        hint = " (or the repository does not exist)" if credential_note.startswith("anonymous") else ""
        return RegistryError("unauthorized", f"{where}: access {verb} ({status}) with {credential_note}{hint}")
    if status == 429:
        return RegistryError("rate limited", f"{where} answered 429 Too Many Requests after retries")
    if status >= 500:
        return RegistryError("registry error", f"{where} answered {status} after retries")
    return RegistryError("bad response", f"{where} answered {status}")


def _network_error(reason: object, endpoint: Endpoint) -> RegistryError:
    if isinstance(reason, RegistryError):
        return reason
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return RegistryError("timed out", f"no answer from {endpoint.base_url}", transient=True)
    if isinstance(reason, ssl.SSLError):
        return RegistryError("unreachable", f"TLS handshake with {endpoint.host} failed "
                             f"({getattr(reason, 'reason', None) or type(reason).__name__}); "
                             "use --insecure-registry only for a registry without TLS")
    if isinstance(reason, (ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected,
                           http.client.IncompleteRead)):
        return RegistryError("unreachable", f"{endpoint.host} dropped the connection", transient=True)
    if isinstance(reason, socket.gaierror):
        return RegistryError("unreachable", f"cannot resolve host {_hostname(endpoint.host)}")
    if isinstance(reason, ConnectionRefusedError):
        return RegistryError("unreachable", f"connection refused by {endpoint.base_url}")
    detail = getattr(reason, "strerror", None) or type(reason).__name__
    return RegistryError("unreachable", f"{endpoint.base_url}: {detail}")


def resolve_many(client: RegistryClient, references: list[ImageReference],
                 jobs: int = 8) -> dict[tuple[str, str, str], str | RegistryError]:
    """Resolve each distinct reference once, in parallel; a failure is returned, not raised."""
    distinct: dict[tuple[str, str, str], ImageReference] = {}
    for reference in references:
        distinct.setdefault(resolution_key(reference), reference)
    results: dict[tuple[str, str, str], str | RegistryError] = {}
    if not distinct:
        return results
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(distinct))), thread_name_prefix="pin")
    try:
        futures = {key: pool.submit(client.resolve, reference) for key, reference in distinct.items()}
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except RegistryError as exc:
                results[key] = exc
    finally:
        # On Ctrl-C, drop the queued lookups instead of waiting for all of them.
        pool.shutdown(wait=True, cancel_futures=True)
    return results
