"""Class 9 of issue 13: `pin` trusts nothing it did not verify.

A fake registry on loopback (the fault-injecting proxy of tests/pin, answering everything itself)
serves manifests of every shape, token services, challenges, redirects and credentials an attacker
or a broken registry would. The digest pinned is the sha256 of a body that parsed as the manifest
its Content-Type claims and that equals Docker-Content-Digest when sent; anything else exits 2 with
one `shipcard: FILE:LINE:COL: image: REF: …; no file was changed` line, the repository byte for byte
as it was (no `.shipcard/` left either), and no token or credential in the output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hardhelpers import SMALL_CARD, card, dump_card, shipcard, snapshot, write_repo
from pinhelpers import Proxy, ProxyHandler, ProxyServer, Run, free_port, write_docker_config

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": 321}
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "1" * 64, "size": 999}
CHILD = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "d" * 64, "size": 456,
         "platform": {"architecture": "amd64", "os": "linux"}}
CANARY = "CANARY-c4f1e9"  # in every token and credential of these tests; never in any output
SHAPE_ERROR = "image: {ref}: bad response: team/app:1.0 at {host}: the manifest {problem} (Content-Type {ctype})"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def doc(base: dict[str, Any], **changes: Any) -> bytes:
    """`base` as JSON with top-level fields changed (`None` removes one)."""
    data = {**base, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


IMAGE = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": CONFIG, "layers": [LAYER]}
INDEX = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [CHILD]}
DOCKER_IMAGE = {**IMAGE, "mediaType": DOCKER_MANIFEST}
DOCKER_INDEX = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [{**CHILD, "mediaType": DOCKER_MANIFEST}]}


# --------------------------------------------------------------------------- a fake registry


@dataclass
class Fake:
    """A registry on loopback that answers with `answer(handler)`; `host` is what cards name."""

    proxy: Proxy

    @property
    def host(self) -> str:
        return self.proxy.host

    def paths(self) -> list[str]:
        return [seen.path for seen in self.proxy.seen]


Answer = Callable[[ProxyHandler], None]


def start_fake(family: socket.AddressFamily, address: str, answer: Answer) -> ProxyServer:
    """A tests/pin proxy server whose intercept answers every request itself (it never forwards)."""

    class Server(ProxyServer):
        address_family = family

    try:
        server = Server((address, 0), ProxyHandler)
    except OSError:
        pytest.skip(f"cannot listen on {address} on this machine")
    host = f"[{address}]" if family == socket.AF_INET6 else address
    server.proxy = Proxy("127.0.0.1:9", f"{host}:{server.server_address[1]}")

    def intercept(handler: ProxyHandler) -> bool:
        answer(handler)
        return True

    server.proxy.intercept = intercept
    # A short poll interval: shutdown() waits for one, and this file starts a server per case.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return server


def fake_fixture(family: socket.AddressFamily, address: str) -> Any:
    @pytest.fixture
    def fixture() -> Iterator[Callable[[Answer], Fake]]:
        servers: list[ProxyServer] = []

        def start(answer: Answer) -> Fake:
            servers.append(start_fake(family, address, answer))
            return Fake(servers[-1].proxy)

        yield start
        for server in servers:
            server.shutdown()
            server.server_close()

    return fixture


fake = fake_fixture(socket.AF_INET, "127.0.0.1")
fake_v6 = fake_fixture(socket.AF_INET6, "::1")


def serve_manifest(content_type: str | None, body: bytes, headers: dict[str, str] | None = None,
                   status: int = 200) -> Answer:
    """Every manifest request answered with this body; everything else 404."""

    def answer(handler: ProxyHandler) -> None:
        if "/manifests/" not in handler.path:
            handler.answer(404, {"Content-Type": "application/json"}, b'{"errors": [{"code": "NAME_UNKNOWN"}]}')
            return
        reply = dict(headers or {})
        if content_type is not None:
            reply["Content-Type"] = content_type
        handler.answer(status, reply, body)

    return answer


# --------------------------------------------------------------------------- a repository with one card


@dataclass
class Repo:
    root: Path
    card: Path
    text: str
    image: str
    line: int


def one_card_repo(tmp_path: Path, image: str) -> Repo:
    text = dump_card(card(SMALL_CARD, name="app", image=image))
    root = write_repo(tmp_path / "repo", {"app.service.yaml": text})
    line = next(number for number, text_line in enumerate(text.splitlines(), 1) if text_line.startswith("image:"))
    return Repo(root, root / "services" / "app.service.yaml", text, image, line)


def pin(repo: Repo, docker_config: Path, env: dict[str, str] | None = None, *args: str) -> Run:
    return shipcard("pin", "--retries", "0", "--timeout", "5", *args, cwd=repo.root,
                    env={"DOCKER_CONFIG": str(docker_config), "HOME": str(repo.root.parent), **(env or {})})


def assert_refused(run: Run, repo: Repo, before: dict[str, bytes], message: str) -> None:
    """Exit 2, exactly one line naming the card, the line and the reference, nothing written, no canary."""
    assert run.code == 2, run.output
    assert run.stdout == ""
    location = f"{repo.card}:{repo.line}:8"
    assert run.stderr == f"shipcard: {location}: {message}; no file was changed\n"
    assert snapshot(repo.root, skip_state=False) == before
    assert CANARY not in run.output


def assert_pinned(run: Run, repo: Repo, digest: str) -> None:
    assert run.code == 0, run.output
    assert repo.card.read_text() == repo.text.replace(f"{repo.image}", f"{repo.image}@{digest}")
    assert CANARY not in run.output


# --------------------------------------------------------------------------- manifests that are what they claim


GOOD = [
    pytest.param(OCI_MANIFEST, doc(IMAGE), {}, id="oci-manifest"),
    pytest.param(OCI_INDEX, doc(INDEX), {}, id="oci-index"),
    pytest.param(DOCKER_MANIFEST, doc(DOCKER_IMAGE), {}, id="docker-v2-manifest"),
    pytest.param(DOCKER_LIST, doc(DOCKER_INDEX), {}, id="docker-manifest-list"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, mediaType=None), {}, id="oci-manifest-without-mediaType"),
    pytest.param(OCI_INDEX, doc(INDEX, mediaType=None, manifests=[]), {}, id="empty-oci-index"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, layers=[]), {}, id="oci-manifest-without-layers"),
    pytest.param(OCI_MANIFEST + "; charset=utf-8", doc(IMAGE), {}, id="content-type-with-parameter"),
    pytest.param(OCI_MANIFEST.upper(), doc(IMAGE), {}, id="content-type-in-upper-case"),
    pytest.param(OCI_INDEX, doc(INDEX), {"Docker-Content-Digest": sha256(doc(INDEX))}, id="matching-digest-header"),
    pytest.param(OCI_INDEX, b"\n  " + doc(INDEX) + b"\n", {}, id="whitespace-around-the-json"),
]


@pytest.mark.parametrize("content_type,body,headers", GOOD)
def test_a_manifest_that_is_what_it_claims_pins_the_sha256_of_its_body(fake, tmp_path: Path, docker_config: Path,
                                                                        content_type: str, body: bytes,
                                                                        headers: dict[str, str]) -> None:
    registry = fake(serve_manifest(content_type, body, headers))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    assert_pinned(pin(repo, docker_config), repo, sha256(body))
    assert registry.paths() == ["/v2/team/app/manifests/1.0"]  # one GET; HEAD alone is never trusted


# --------------------------------------------------------------------------- anything else is refused

HTML = b"<!doctype html><html><body><form action=/login>Sign in</form></body></html>"
DEEP = b"[" * 200_000 + b"]" * 200_000
HUGE = doc(IMAGE, annotations={"padding": "x" * (4 * 1024 * 1024)})

# (content type, body, headers, what the message says after "team/app:1.0 at HOST")
NOT_A_MANIFEST = [
    pytest.param("text/html; charset=utf-8", HTML, {}, "answered Content-Type 'text/html', not a manifest type",
                 id="html-login-page"),
    pytest.param("application/json", doc(IMAGE), {}, "answered Content-Type 'application/json', not a manifest type",
                 id="application-json"),
    pytest.param(None, doc(IMAGE), {}, "answered no Content-Type, not a manifest type", id="no-content-type"),
    pytest.param("text/plain", b"", {}, "answered Content-Type 'text/plain', not a manifest type", id="text-plain"),
    pytest.param("application/vnd.oci.artifact.manifest.v1+json", doc(IMAGE), {},
                 "answered Content-Type 'application/vnd.oci.artifact.manifest.v1+json', not a manifest type",
                 id="oci-artifact-manifest"),
    pytest.param("text/html\x1b[31m", HTML, {}, "answered Content-Type 'text/html\\x1b[31m', not a manifest type",
                 id="content-type-with-an-escape-sequence"),
    pytest.param("application/vnd.docker.distribution.manifest.v1+prettyjws", doc(IMAGE, schemaVersion=1), {},
                 "is a schema 1 manifest (application/vnd.docker.distribution.manifest.v1+prettyjws); its digest "
                 "cannot pin a pull. Push it again with a current client", id="schema-1-signed"),
    pytest.param("application/vnd.docker.distribution.manifest.v1+json", doc(IMAGE, schemaVersion=1), {},
                 "is a schema 1 manifest (application/vnd.docker.distribution.manifest.v1+json); its digest "
                 "cannot pin a pull. Push it again with a current client", id="schema-1-unsigned"),
]

# (content type, body, what is wrong with the manifest)
MALFORMED = [
    pytest.param(OCI_MANIFEST, b"", "is empty", id="empty-body"),
    pytest.param(OCI_MANIFEST, b"   \n", "is not valid JSON", id="whitespace-body"),
    pytest.param(OCI_MANIFEST, HTML, "is not valid JSON", id="html-claiming-to-be-a-manifest"),
    pytest.param(OCI_MANIFEST, doc(IMAGE)[:-7], "is not valid JSON", id="truncated-json"),
    pytest.param(OCI_MANIFEST, doc(IMAGE) + b"}", "is not valid JSON", id="trailing-garbage"),
    pytest.param(OCI_MANIFEST, b"\xef\xbb\xbf" + doc(IMAGE), "is not valid JSON", id="byte-order-mark"),
    pytest.param(OCI_MANIFEST, doc(IMAGE).decode().encode("utf-16"), "is not UTF-8", id="utf-16"),
    pytest.param(OCI_MANIFEST, doc(IMAGE)[:-1] + b', "x": "\xff"}', "is not UTF-8", id="invalid-utf-8"),
    pytest.param(OCI_MANIFEST, DEEP, "is not valid JSON", id="deeply-nested-arrays"),
    pytest.param(OCI_MANIFEST, b"[]", "is not a JSON object", id="json-array"),
    pytest.param(OCI_MANIFEST, b'"manifest"', "is not a JSON object", id="json-string"),
    pytest.param(OCI_MANIFEST, b"null", "is not a JSON object", id="json-null"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, schemaVersion=1), "does not say schemaVersion 2", id="schema-version-1"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, schemaVersion="2"), "does not say schemaVersion 2", id="schema-version-text"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, schemaVersion=True), "does not say schemaVersion 2", id="schema-version-bool"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, schemaVersion=2.0), "does not say schemaVersion 2", id="schema-version-float"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, schemaVersion=None), "does not say schemaVersion 2", id="no-schema-version"),
    pytest.param(OCI_MANIFEST, doc(INDEX), f"declares mediaType '{OCI_INDEX}'", id="index-body-manifest-type"),
    pytest.param(OCI_INDEX, doc(IMAGE), f"declares mediaType '{OCI_MANIFEST}'", id="manifest-body-index-type"),
    pytest.param(DOCKER_MANIFEST, doc(IMAGE), f"declares mediaType '{OCI_MANIFEST}'", id="oci-body-docker-type"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, mediaType=7), "declares mediaType a int", id="media-type-not-text"),
    pytest.param(DOCKER_MANIFEST, doc(DOCKER_IMAGE, mediaType=None), "has no mediaType", id="docker-v2-no-mediaType"),
    pytest.param(DOCKER_LIST, doc(DOCKER_INDEX, mediaType=None), "has no mediaType", id="docker-list-no-mediaType"),
    pytest.param(OCI_INDEX, doc(IMAGE, mediaType=None), "has no manifests list", id="index-type-manifest-shape"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests={"a": CHILD}), "has no manifests list", id="manifests-a-mapping"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests=["sha256:" + "d" * 64]),
                 "has manifests[0] that is not a descriptor (mediaType, digest, size)", id="manifests-entry-a-string"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests=[CHILD, {**CHILD, "digest": None}]),
                 "has manifests[1] that is not a descriptor (mediaType, digest, size)", id="manifests-entry-no-digest"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests=[{**CHILD, "digest": "sha256:../../etc/passwd"}]),
                 "has manifests[0] that is not a descriptor (mediaType, digest, size)", id="manifests-entry-bad-digest"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests=[{**CHILD, "size": -1}]),
                 "has manifests[0] that is not a descriptor (mediaType, digest, size)", id="manifests-negative-size"),
    pytest.param(OCI_INDEX, doc(INDEX, manifests=[{**CHILD, "size": "456"}]),
                 "has manifests[0] that is not a descriptor (mediaType, digest, size)", id="manifests-size-text"),
    pytest.param(DOCKER_LIST, doc(DOCKER_INDEX, manifests=None), "has no manifests list", id="docker-list-no-manifests"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, config=None), "has no config descriptor (mediaType, digest, size)",
                 id="manifest-without-config"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, config="sha256:" + "c" * 64),
                 "has no config descriptor (mediaType, digest, size)", id="config-a-string"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, config={**CONFIG, "size": True}),
                 "has no config descriptor (mediaType, digest, size)", id="config-size-bool"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, config={**CONFIG, "mediaType": ""}),
                 "has no config descriptor (mediaType, digest, size)", id="config-empty-media-type"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, layers=None), "has no layers list", id="manifest-without-layers"),
    pytest.param(DOCKER_MANIFEST, doc(DOCKER_IMAGE, layers={"0": LAYER}), "has no layers list", id="layers-a-mapping"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, layers=[LAYER, None]),
                 "has layers[1] that is not a descriptor (mediaType, digest, size)", id="layers-entry-null"),
    pytest.param(OCI_MANIFEST, doc(IMAGE, layers=[{**LAYER, "digest": "md5:" + "1" * 32}]),
                 "has layers[0] that is not a descriptor (mediaType, digest, size)", id="layers-entry-md5"),
]

LYING_DIGEST = [
    pytest.param({"Docker-Content-Digest": "sha256:" + "0" * 64}, "the registry says the manifest digest is sha256:"
                 + "0" * 64 + " but the manifest it sent hashes to {digest}", id="mismatched-digest-header"),
    pytest.param({"Docker-Content-Digest": "sha512:" + hashlib.sha512(doc(IMAGE)).hexdigest()},
                 "its Docker-Content-Digest is not a sha256 digest", id="sha512-digest-header"),
    pytest.param({"Docker-Content-Digest": "sha256:../../etc/passwd"}, "its Docker-Content-Digest is not a sha256 digest",
                 id="garbage-digest-header"),
    pytest.param({"Docker-Content-Digest": sha256(doc(IMAGE)).upper()},
                 "its Docker-Content-Digest is not a sha256 digest", id="upper-case-digest-header"),
    pytest.param({"Docker-Content-Digest": sha256(b"")}, "the registry says the manifest digest is "
                 + sha256(b"") + " but the manifest it sent hashes to {digest}", id="digest-of-nothing"),
]


@pytest.mark.parametrize("content_type,body,headers,message", NOT_A_MANIFEST)
def test_an_answer_that_is_not_a_manifest_type_is_refused(fake, tmp_path: Path, docker_config: Path,
                                                          content_type: str | None, body: bytes,
                                                          headers: dict[str, str], message: str) -> None:
    registry = fake(serve_manifest(content_type, body, headers))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: bad response: team/app:1.0 at {registry.host} {message}")


@pytest.mark.parametrize("content_type,body,problem", MALFORMED)
def test_a_body_that_is_not_the_manifest_it_claims_is_refused(fake, tmp_path: Path, docker_config: Path,
                                                              content_type: str, body: bytes, problem: str) -> None:
    registry = fake(serve_manifest(content_type, body, {"Docker-Content-Digest": sha256(body)}))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   SHAPE_ERROR.format(ref=repo.image, host=registry.host, problem=problem, ctype=content_type))


@pytest.mark.parametrize("headers,message", LYING_DIGEST)
def test_a_digest_header_that_is_not_the_bodys_sha256_is_refused(fake, tmp_path: Path, docker_config: Path,
                                                                 headers: dict[str, str], message: str) -> None:
    registry = fake(serve_manifest(OCI_MANIFEST, doc(IMAGE), headers))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before, f"image: {repo.image}: bad response: team/app:1.0 at "
                   f"{registry.host}: {message.format(digest=sha256(doc(IMAGE)))}")


def test_a_body_over_4_mib_is_refused(fake, tmp_path: Path, docker_config: Path) -> None:
    registry = fake(serve_manifest(OCI_MANIFEST, HUGE))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before, f"image: {repo.image}: bad response: team/app:1.0 at "
                   f"{registry.host}: manifest larger than 4194304 bytes")


def cut_short(declared: int, sent: bytes) -> Answer:
    """A Content-Length of `declared` bytes, then `sent` and the connection closed."""

    def answer(handler: ProxyHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_MANIFEST)
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(sent)
        handler.wfile.flush()
        handler.close_connection = True

    return answer


@pytest.mark.parametrize("declared,sent", [
    pytest.param(len(doc(IMAGE)) + 100, doc(IMAGE), id="complete-json-shorter-than-content-length"),
    pytest.param(4000, doc(IMAGE)[:40], id="half-a-manifest"),
    pytest.param(10, b"", id="nothing-of-ten-bytes"),
    pytest.param(50 * 1024 * 1024, doc(IMAGE), id="content-length-of-50-mib"),
])
def test_a_body_shorter_than_its_content_length_is_refused(fake, tmp_path: Path, docker_config: Path,
                                                           declared: int, sent: bytes) -> None:
    registry = fake(cut_short(declared, sent))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: unreachable: {registry.host} dropped the connection")


def test_a_redirect_to_a_login_page_is_refused(fake, tmp_path: Path, docker_config: Path) -> None:
    def answer(handler: ProxyHandler) -> None:
        if "/manifests/" in handler.path:
            handler.answer(302, {"Location": "/login?next=/v2/"})
        else:
            handler.answer(200, {"Content-Type": "text/html"}, HTML)

    registry = fake(answer)
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before, f"image: {repo.image}: bad response: team/app:1.0 at "
                   f"{registry.host} answered Content-Type 'text/html', not a manifest type")


# --------------------------------------------------------------------------- URLs the registry names


def challenge(value: str) -> Answer:
    """401 with this WWW-Authenticate for every request (written raw, whatever it holds)."""

    def answer(handler: ProxyHandler) -> None:
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


BAD_REALMS = [
    pytest.param("{host}/token", id="no-scheme"),
    pytest.param("file:///etc/passwd", id="file-url"),
    pytest.param("javascript:alert(1)", id="javascript-url"),
    pytest.param("ftp://{host}/token", id="ftp-url"),
    pytest.param("http:///token", id="no-host"),
    pytest.param("", id="empty"),
    pytest.param("http://{host}/to ken", id="space-in-path"),
    pytest.param("http://evil host/token", id="space-in-host"),
    pytest.param("http://{host}/token\tx", id="tab"),
    pytest.param("http://{host}/tok\ren", id="carriage-return"),
    pytest.param("http://t\xf6ken.example/token", id="non-ascii-host"),
    pytest.param("http://{host}/t\xf6ken", id="non-ascii-path"),
    pytest.param("http://user:pw@{host}/token", id="user-and-password"),
    pytest.param("http://127.0.0.1:99999/token", id="port-out-of-range"),
    pytest.param("http://127.0.0.1:http/token", id="port-not-a-number"),
    pytest.param("http://[::1/token", id="unclosed-ipv6-literal"),
    pytest.param("http://[127.0.0.1]/token", id="ipv4-in-brackets"),
    pytest.param("http://127.0.0.1%0d%0aX-Evil:1/token", id="encoded-crlf-in-host"),
    pytest.param("http://-evil-/token", id="host-of-dashes"),
]


@pytest.mark.parametrize("realm", BAD_REALMS)
def test_a_malformed_token_service_url_is_refused_before_any_request(fake, tmp_path: Path, docker_config: Path,
                                                                     realm: str) -> None:
    holder: list[Fake] = []
    registry = fake(lambda handler: challenge(
        f'Bearer realm="{realm.format(host=holder[0].host)}",service="fake",scope="repository:team/app:pull"'
    )(handler))
    holder.append(registry)
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before, f"image: {repo.image}: bad response: team/app at "
                   f"{registry.host} names an invalid token service URL")
    assert all("/manifests/" in path for path in registry.paths())  # the token service was never asked


BAD_LOCATIONS = [
    pytest.param("javascript:alert(1)", id="javascript-url"),
    pytest.param("file:///etc/passwd", id="file-url"),
    pytest.param("data:text/html,hi", id="data-url"),
    pytest.param("ftp://{host}/v2/", id="ftp-url"),
    pytest.param("http://:80/v2/", id="empty-host"),
    pytest.param("http://evil host/v2/", id="space-in-host"),
    pytest.param("/v2/team/app/manifests/1.0 x", id="space-in-path"),
    pytest.param("http://h\xf6st.example/v2/", id="non-ascii-host"),
    pytest.param("http://127.0.0.1:99999/v2/", id="port-out-of-range"),
    pytest.param("http://[::1/v2/", id="unclosed-ipv6-literal"),
    pytest.param("http://user:pw@{host}/v2/", id="user-and-password"),
    pytest.param("http://{host}/v2/\x1b[2J", id="escape-sequence"),
]


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_a_redirect_to_a_malformed_url_is_refused(fake, tmp_path: Path, docker_config: Path, location: str) -> None:
    holder: list[Fake] = []

    def answer(handler: ProxyHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", location.format(host=holder[0].host))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    registry = fake(answer)
    holder.append(registry)
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: bad response: {registry.host} redirected to an invalid URL")
    assert len(registry.paths()) == 1  # nothing followed


# --------------------------------------------------------------------------- tokens the registry issues


def token_service(token: Any, field: str = "token") -> Callable[[Fake], Answer]:
    """A registry with a bearer challenge whose token service (on the same host) issues `token`."""

    def build(holder: Fake) -> Answer:
        def answer(handler: ProxyHandler) -> None:
            if handler.path.startswith("/token"):
                handler.answer(200, {"Content-Type": "application/json"}, json.dumps({field: token}).encode())
            elif "Authorization" not in handler.headers:
                challenge(f'Bearer realm="http://{holder.host}/token",service="fake"')(handler)
            else:
                serve_manifest(OCI_MANIFEST, doc(IMAGE))(handler)
        return answer

    return build


def start_with_host(fake: Callable[[Answer], Fake], build: Callable[[Fake], Answer]) -> Fake:
    """A fake whose answers need its own host (a realm on itself)."""
    answers: list[Answer] = []
    registry = fake(lambda handler: answers[0](handler))
    answers.append(build(registry))
    return registry


BAD_TOKENS = [
    pytest.param(f"{CANARY}\n", id="newline"),
    pytest.param(f"{CANARY}\r\nX-Injected: 1", id="crlf-header-injection"),
    pytest.param(f"{CANARY}\r", id="carriage-return"),
    pytest.param(f"{CANARY} more", id="space"),
    pytest.param(f"{CANARY}\t", id="tab"),
    pytest.param(f"{CANARY}\x00", id="nul"),
    pytest.param(f"{CANARY}\x7f", id="delete"),
    pytest.param(f"{CANARY}\x1b[2J", id="escape-sequence"),
    pytest.param(f"t\u00f6k\u00e9n-{CANARY}", id="latin-1"),
    pytest.param(f"{CANARY}-\u2603", id="non-latin-1"),
    pytest.param(f"{CANARY}\u2028", id="line-separator"),
]


@pytest.mark.parametrize("field", ["token", "access_token"])
@pytest.mark.parametrize("token", BAD_TOKENS)
def test_an_issued_token_that_is_not_visible_ascii_is_refused_unseen(fake, tmp_path: Path, docker_config: Path,
                                                                     token: str, field: str) -> None:
    registry = start_with_host(fake, token_service(token, field))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before, f"image: {repo.image}: bad response: token service "
                   f"{registry.host} sent a token with a space, a control character or a non-ASCII character")
    assert [path for path in registry.paths() if "/manifests/" in path] == ["/v2/team/app/manifests/1.0"]


@pytest.mark.parametrize("token", [pytest.param(12345, id="a-number"), pytest.param("", id="empty"),
                                   pytest.param(None, id="null"), pytest.param([CANARY], id="a-list")])
def test_an_issued_token_that_is_not_text_is_refused(fake, tmp_path: Path, docker_config: Path, token: Any) -> None:
    registry = start_with_host(fake, token_service(token))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: bad response: token service {registry.host} sent no token")


def test_a_good_token_pins(fake, tmp_path: Path, docker_config: Path) -> None:
    registry = start_with_host(fake, token_service(f"eyJ.{CANARY}.sig-_~+/="))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    assert_pinned(pin(repo, docker_config), repo, sha256(doc(IMAGE)))
    manifest_requests = [s for s in registry.proxy.seen if "/manifests/" in s.path]
    assert manifest_requests[-1].headers["Authorization"] == f"Bearer eyJ.{CANARY}.sig-_~+/="


# --------------------------------------------------------------------------- credentials the user configured


def basic_or_token_registry(fake: Callable[[Answer], Fake], scheme: str) -> Fake:
    """Challenges with `Basic` or with a bearer token service on itself; serves the manifest once authorized."""

    def build(holder: Fake) -> Answer:
        def answer(handler: ProxyHandler) -> None:
            if handler.path.startswith("/token"):
                handler.answer(200, {"Content-Type": "application/json"}, b'{"token": "issued"}')
            elif "Authorization" not in handler.headers:
                realm = 'Basic realm="fake"' if scheme == "basic" else f'Bearer realm="http://{holder.host}/token"'
                challenge(realm)(handler)
            else:
                serve_manifest(OCI_MANIFEST, doc(IMAGE))(handler)
        return answer

    return start_with_host(fake, build)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CONTROL = "a control or a non-ASCII character"
TOKEN_CONTROL = "a space, a control character or a non-ASCII character"

# (entry, field named in the message, message tail)
BAD_CREDENTIALS = [
    pytest.param({"username": "pinbot", "password": f"{CANARY}\n"}, "password", CONTROL, id="password-newline"),
    pytest.param({"username": "pinbot", "password": f"{CANARY}\r\nX: y"}, "password", CONTROL, id="password-crlf"),
    pytest.param({"username": "pinbot", "password": f"p\u00e4ss-{CANARY}"}, "password", CONTROL, id="password-non-ascii"),
    pytest.param({"username": "pinbot", "password": f"{CANARY}\x1b[2J"}, "password", CONTROL, id="password-escape"),
    pytest.param({"username": "pin\nbot", "password": CANARY}, "username", CONTROL, id="username-newline"),
    pytest.param({"username": "p\u00efnbot", "password": CANARY}, "username", CONTROL, id="username-non-ascii"),
    pytest.param({"auth": b64(f"pinbot:{CANARY}\n")}, "password", CONTROL, id="auth-password-newline"),
    pytest.param({"auth": b64(f"pinbot:{CANARY}\r")}, "password", CONTROL, id="auth-password-carriage-return"),
    pytest.param({"auth": b64(f"pinbot:p\u00e4ss{CANARY}")}, "password", CONTROL, id="auth-password-non-ascii"),
    pytest.param({"auth": b64(f"pin\rbot:{CANARY}")}, "username", CONTROL, id="auth-username-carriage-return"),
    pytest.param({"registrytoken": f"{CANARY}\n"}, "registry token", TOKEN_CONTROL, id="registry-token-newline"),
    pytest.param({"registrytoken": f"{CANARY} x"}, "registry token", TOKEN_CONTROL, id="registry-token-space"),
    pytest.param({"registrytoken": f"{CANARY}\u00e9"}, "registry token", TOKEN_CONTROL, id="registry-token-non-ascii"),
    pytest.param({"identitytoken": f"{CANARY}\r\n"}, "identity token", TOKEN_CONTROL, id="identity-token-crlf"),
    pytest.param({"identitytoken": f"\u2603{CANARY}"}, "identity token", TOKEN_CONTROL, id="identity-token-non-ascii"),
]


@pytest.mark.parametrize("source", ["env", "docker-config"])
@pytest.mark.parametrize("entry,field,tail", BAD_CREDENTIALS)
def test_a_credential_that_cannot_be_sent_as_is_is_refused_unseen(fake, tmp_path: Path, docker_config: Path,
                                                                  entry: dict[str, str], field: str, tail: str,
                                                                  source: str) -> None:
    registry = basic_or_token_registry(fake, "bearer" if "token" in field else "basic")
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    env: dict[str, str] = {}
    if source == "env":
        env["SHIPCARD_REGISTRY_AUTH"] = json.dumps({registry.host: entry})
        where = "$SHIPCARD_REGISTRY_AUTH"
    else:
        write_docker_config(docker_config, {"auths": {registry.host: entry}})
        where = f"auths in {docker_config / 'config.json'}"
    before = snapshot(repo.root, skip_state=False)
    run = pin(repo, docker_config, env)
    assert_refused(run, repo, before, f"image: {repo.image}: unauthorized: {where}: the {field} has {tail}; fix it there")
    assert all("Authorization" not in s.headers for s in registry.proxy.seen)


def test_a_username_with_a_colon_is_refused(fake, tmp_path: Path, docker_config: Path) -> None:
    registry = basic_or_token_registry(fake, "basic")
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    env = {"SHIPCARD_REGISTRY_AUTH": json.dumps({registry.host: {"username": "pin:bot", "password": CANARY}})}
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config, env), repo, before, f"image: {repo.image}: unauthorized: "
                   "$SHIPCARD_REGISTRY_AUTH: the username has a colon, which basic auth cannot send")


@pytest.mark.parametrize("scheme,entry", [
    pytest.param("basic", {"username": "pinbot", "password": f"pass word {CANARY}:~!"}, id="basic-password-with-space"),
    pytest.param("bearer", {"identitytoken": f"refresh.{CANARY}"}, id="identity-token"),
])
def test_a_credential_of_visible_ascii_is_used(fake, tmp_path: Path, docker_config: Path, scheme: str,
                                               entry: dict[str, str]) -> None:
    registry = basic_or_token_registry(fake, scheme)
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    run = pin(repo, docker_config, {"SHIPCARD_REGISTRY_AUTH": json.dumps({registry.host: entry})})
    assert_pinned(run, repo, sha256(doc(IMAGE)))


# --------------------------------------------------------------------------- IPv6 literal hosts


def test_an_ipv6_loopback_registry_is_pinned(fake_v6, tmp_path: Path, docker_config: Path) -> None:
    registry = fake_v6(serve_manifest(OCI_INDEX, doc(INDEX), {"Docker-Content-Digest": sha256(doc(INDEX))}))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    assert registry.host.startswith("[::1]:")
    assert_pinned(pin(repo, docker_config), repo, sha256(doc(INDEX)))


def test_an_ipv6_loopback_registry_with_a_token_service_on_it_is_pinned(fake_v6, tmp_path: Path,
                                                                        docker_config: Path) -> None:
    registry = start_with_host(fake_v6, token_service("issued-token"))
    repo = one_card_repo(tmp_path, f"{registry.host}/team/app:1.0")
    assert_pinned(pin(repo, docker_config), repo, sha256(doc(IMAGE)))
    assert any(path.startswith("/token") for path in registry.paths())


def test_an_ipv6_loopback_registry_that_is_down_is_one_line(tmp_path: Path, docker_config: Path) -> None:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    repo = one_card_repo(tmp_path, f"[::1]:{port}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: unreachable: connection refused by http://[::1]:{port}")


@pytest.mark.parametrize("image,reason", [
    pytest.param("[fe80::1%lo]:5000/team/app:1.0", "invalid registry host '[fe80::1%lo]:5000'", id="zone-id"),
    pytest.param("[::1:5000/team/app:1.0", "invalid registry host '[::1:5000'", id="unclosed-bracket"),
    pytest.param("[::1]]:5000/team/app:1.0", "invalid registry host '[::1]]:5000'", id="two-closing-brackets"),
])
def test_a_malformed_ipv6_host_is_refused_with_its_line(tmp_path: Path, docker_config: Path, image: str,
                                                        reason: str) -> None:
    repo = one_card_repo(tmp_path, image)
    before = snapshot(repo.root, skip_state=False)
    run = pin(repo, docker_config)
    assert run.code == 2 and run.stdout == "" and "Traceback" not in run.output
    assert run.stderr.startswith(f"shipcard: {repo.card}:{repo.line}:8: image: '{image}' is not an image reference: "
                                 f"{reason}"), run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert snapshot(repo.root, skip_state=False) == before


def test_nothing_here_touches_a_port_that_is_not_the_fake(tmp_path: Path, docker_config: Path) -> None:
    """A registry port nobody listens on: one line, and the machinery above really is loopback only."""
    host = f"127.0.0.1:{free_port()}"
    repo = one_card_repo(tmp_path, f"{host}/team/app:1.0")
    before = snapshot(repo.root, skip_state=False)
    assert_refused(pin(repo, docker_config), repo, before,
                   f"image: {repo.image}: unreachable: connection refused by http://{host}")
