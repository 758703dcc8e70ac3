"""Helpers for the `shipcard pin` tests: a real Distribution registry on loopback, images pushed
over its HTTP API, a fault-injecting loopback proxy, and running the real `shipcard` script."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client as http_client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"
SHIPCARD = Path(sys.executable).parent / "shipcard"
REGISTRY_BINARY = "/usr/bin/docker-registry"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

USER, PASSWORD = "pinbot", "s3cret-Pa55word-never-printed"


# --------------------------------------------------------------------------- plain HTTP for the tests


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    """One request straight to a loopback server; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, dict(exc.headers.items()), exc.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the real registry


@dataclass
class Registry:
    """A running docker-registry on 127.0.0.1; pushes go straight to it over the HTTP API."""

    host: str
    credentials: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.credentials:
            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    def push_blob(self, repository: str, data: bytes) -> dict:
        digest = sha256(data)
        started = http("POST", f"{self.url}/v2/{repository}/blobs/uploads/", b"", self._headers())
        assert started.status == 202, started
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        done = http("PUT", f"{location}{separator}digest={digest}", data,
                    self._headers({"Content-Type": "application/octet-stream"}))
        assert done.status == 201, done
        return {"digest": digest, "size": len(data)}

    def push_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> str:
        reply = http("PUT", f"{self.url}/v2/{repository}/manifests/{reference}", body,
                     self._headers({"Content-Type": media_type}))
        assert reply.status == 201, reply
        assert reply.headers["Docker-Content-Digest"] == sha256(body)
        return reply.headers["Docker-Content-Digest"]

    def push_image(self, repository: str, tag: str, *, architecture: str = "amd64", marker: str = "") -> str:
        """An OCI image manifest with one config blob and one layer; returns the manifest digest."""
        body = self._image_manifest(repository, architecture, marker or f"{repository}:{tag}")
        return self.push_manifest(repository, tag, OCI_MANIFEST, body)

    def push_index(self, repository: str, tag: str, *, marker: str = "") -> str:
        """An OCI index of a linux/amd64 and a linux/arm64 image; returns the index digest."""
        entries = []
        for architecture in ("amd64", "arm64"):
            body = self._image_manifest(repository, architecture, f"{marker or repository}-{architecture}")
            digest = self.push_manifest(repository, sha256(body), OCI_MANIFEST, body)
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                            "platform": {"architecture": architecture, "os": "linux"}})
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        return self.push_manifest(repository, tag, OCI_INDEX, index)

    def _image_manifest(self, repository: str, architecture: str, marker: str) -> bytes:
        layer_tar = io.BytesIO()
        with tarfile.open(fileobj=layer_tar, mode="w") as archive:
            content = marker.encode()
            info = tarfile.TarInfo("marker.txt")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        layer = gzip.compress(layer_tar.getvalue(), mtime=0)
        config = json.dumps({"architecture": architecture, "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar.getvalue())]}}).encode()
        config_ref = {"mediaType": OCI_CONFIG, **self.push_blob(repository, config)}
        layer_ref = {"mediaType": OCI_LAYER, **self.push_blob(repository, layer)}
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": config_ref, "layers": [layer_ref]}).encode()

    def reported_digest(self, repository: str, tag: str) -> str:
        """The registry's own Docker-Content-Digest for a tag, asked the way docker asks."""
        accept = ", ".join([OCI_INDEX, OCI_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json",
                            "application/vnd.docker.distribution.manifest.v2+json"])
        reply = http("HEAD", f"{self.url}/v2/{repository}/manifests/{tag}", None, self._headers({"Accept": accept}))
        assert reply.status == 200, reply
        return reply.headers["Docker-Content-Digest"]


def registry_binary() -> str:
    if os.access(REGISTRY_BINARY, os.X_OK):
        return REGISTRY_BINARY
    message = "docker-registry is not installed; run .ci/install-registry"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError


def htpasswd_line(user: str, password: str) -> str:
    tool = shutil.which("htpasswd")
    if tool is None:
        message = "htpasswd (apache2-utils) is not installed; run .ci/install-registry"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([tool, "-nbB", user, password], capture_output=True, text=True, check=True)
    return result.stdout.strip() + "\n"


def start_registry(directory: Path, htpasswd: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    config = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog: {disabled: true}",
        "storage:",
        f"  filesystem: {{rootdirectory: {storage}}}",
        "  maintenance: {uploadpurging: {enabled: false}}",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: shipcard-test-secret",
    ]
    if htpasswd is not None:
        password_file = directory / "htpasswd"
        password_file.write_text(htpasswd)
        config += ["auth:", "  htpasswd:", "    realm: shipcard-test", f"    path: {password_file}"]
    config_file = directory / "config.yml"
    config_file.write_text("\n".join(config) + "\n")
    with open(directory / "registry.log", "wb") as log:
        process = subprocess.Popen([registry_binary(), "serve", str(config_file)], stdout=log,
                                   stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {(directory / 'registry.log').read_text()[-2000:]}")
        try:
            if http("GET", f"http://{host}/v2/").status in (200, 401):
                return process, host
        except OSError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("docker-registry did not answer /v2/ within 20 seconds")


def stop_registry(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --------------------------------------------------------------------------- a loopback proxy that injects faults


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Intercept = Callable[["ProxyHandler"], bool]
Rewrite = Callable[[str, str, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class Proxy:
    """Forwards to `upstream` unless `intercept` answers first; `rewrite` may alter the upstream answer."""

    upstream: str
    host: str = ""
    intercept: Intercept | None = None
    rewrite: Rewrite | None = None
    seen: list[Seen] = field(default_factory=list)

    def count(self, method: str, fragment: str = "/manifests/") -> int:
        return sum(1 for s in self.seen if s.method == method and fragment in s.path)


class ProxyHandler(BaseHTTPRequestHandler):
    server: ProxyServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def request_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        proxy.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
        if proxy.intercept is not None and proxy.intercept(self):
            return
        body = self.request_body()
        connection = http_client.HTTPConnection(proxy.upstream, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        connection.request(self.command, self.path, body=body or None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        status = response.status
        reply_headers = {k: v for k, v in response.getheaders()
                         if k.lower() not in ("connection", "transfer-encoding", "content-length")}
        connection.close()
        if proxy.rewrite is not None:
            status, reply_headers, data = proxy.rewrite(self.command, self.path, status, reply_headers, data)
        if self.command == "HEAD":
            reply_headers["Content-Length"] = response.getheader("Content-Length") or "0"
        self.answer(status, reply_headers, data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: Proxy


# --------------------------------------------------------------------------- running shipcard


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def write_docker_config(directory: Path, config: dict) -> None:
    (directory / "config.json").write_text(json.dumps(config))


def basic_auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def start_proxy(upstream: str) -> ProxyServer:
    """A proxy on a free loopback port, serving from a daemon thread until `shutdown()`."""
    server = ProxyServer(("127.0.0.1", 0), ProxyHandler)
    server.proxy = Proxy(upstream, f"127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_shipcard(args: tuple[str, ...], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> Run:
    """`shipcard pin ARGS` as a subprocess, with no SHIPCARD_* or DOCKER_* variables but `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPCARD_", "DOCKER_"))}
    environment.update(env)
    result = subprocess.run([str(SHIPCARD), "pin", *args], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=timeout, check=False)
    return Run(result.returncode, result.stdout, result.stderr)


def example_text(name: str) -> str:
    """A user card from ../shared/examples (or the bundled copy when shared/ is absent)."""
    directory = SHARED_EXAMPLES if SHARED_EXAMPLES.is_dir() else ROOT / "examples"
    return (directory / name).read_bytes().decode("utf-8")


def write_card(directory: Path, name: str, text: str, *, newline: str = "\n") -> Path:
    path = directory / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- fixtures (imported by the conftests)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous docker-registry on 127.0.0.1 (plain HTTP, like any loopback registry)."""
    process, host = start_registry(tmp_path_factory.mktemp("registry"), None)
    yield Registry(host)
    stop_registry(process)


@pytest.fixture
def make_proxy() -> Iterator[Callable[[str], Proxy]]:
    """Start (fault-injecting) loopback proxies in front of a host; all are stopped after the test."""
    servers: list[ProxyServer] = []

    def start(upstream: str) -> Proxy:
        servers.append(start_proxy(upstream))
        return servers[-1].proxy

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    """An empty DOCKER_CONFIG directory, so the machine's own ~/.docker is never read."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    return directory
