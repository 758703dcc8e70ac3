"""Pieces of `pin` that need no registry: addressing, challenges, credentials, splicing, the lock file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shipcard.errors import InputError, ShipcardError
from shipcard.images import parse_reference
from shipcard.pin.cards import load_card
from shipcard.pin.credentials import Credential, CredentialError, CredentialStore
from shipcard.pin.lock import LockEntry, load_lock, write_lock
from shipcard.pin.pinning import pinned_text
from shipcard.pin.registry import (
    api_repository,
    endpoint_for,
    is_loopback,
    may_send_credentials,
    parse_challenge,
    parse_retry_after,
    resolution_key,
)
from shipcard.yamlio.edit import replace_scalars

DIGEST = "sha256:" + "ab" * 32


# --------------------------------------------------------------------------- addressing


@pytest.mark.parametrize("registry, host, scheme", [
    ("", "registry-1.docker.io", "https"),
    ("docker.io", "registry-1.docker.io", "https"),
    ("index.docker.io", "registry-1.docker.io", "https"),
    ("ghcr.io", "ghcr.io", "https"),
    ("localhost:5000", "localhost:5000", "http"),
    ("127.0.0.5:5000", "127.0.0.5:5000", "http"),
    ("[::1]:5000", "[::1]:5000", "http"),
    ("registry.internal:5000", "registry.internal:5000", "https"),
])
def test_endpoints_follow_docker_addressing(registry: str, host: str, scheme: str) -> None:
    endpoint = endpoint_for(registry)
    assert (endpoint.host, endpoint.scheme) == (host, scheme)


def test_insecure_registry_by_host_or_host_and_port() -> None:
    assert endpoint_for("registry.internal:5000", frozenset({"registry.internal:5000"})).scheme == "http"
    assert endpoint_for("registry.internal:5000", frozenset({"registry.internal"})).scheme == "http"
    assert endpoint_for("other.internal:5000", frozenset({"registry.internal"})).scheme == "https"


def test_loopback_detection() -> None:
    assert all(is_loopback(h) for h in ["localhost", "localhost:80", "127.0.0.1", "127.1.2.3:9", "[::1]:5000"])
    assert not any(is_loopback(h) for h in ["10.0.0.1", "localhost.example.com", "ghcr.io", "[::2]:1"])


@pytest.mark.parametrize("text, repository", [
    ("nginx:1.25", "library/nginx"),
    ("docker.io/nginx:1.25", "library/nginx"),
    ("index.docker.io/library/nginx:1.25", "library/nginx"),
    ("bitnami/redis:7", "bitnami/redis"),
    ("ghcr.io/example/notifier:2.0.0", "example/notifier"),
    ("localhost:5000/app:1", "app"),
])
def test_api_repository(text: str, repository: str) -> None:
    assert api_repository(parse_reference(text)) == repository


def test_the_same_manifest_is_resolved_once() -> None:
    keys = {resolution_key(parse_reference(t)) for t in
            ["nginx:1.25", "docker.io/nginx:1.25", "docker.io/library/nginx:1.25", "index.docker.io/nginx:1.25",
             f"nginx:1.25@{DIGEST}"]}
    assert keys == {("docker.io", "library/nginx", "1.25")}
    assert resolution_key(parse_reference("nginx")) == resolution_key(parse_reference("nginx:latest"))


def test_credentials_travel_over_https_or_to_loopback_only() -> None:
    assert may_send_credentials("https://auth.example.com/token")
    assert may_send_credentials("http://127.0.0.1:5000/token")
    assert not may_send_credentials("http://auth.example.com/token")
    assert may_send_credentials("http://auth.internal/token", frozenset({"auth.internal"}))
    assert not may_send_credentials("ftp://auth.example.com/token")


def test_parse_challenge() -> None:
    scheme, params = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                     'scope="repository:library/nginx:pull",error="insufficient_scope"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                      "scope": "repository:library/nginx:pull", "error": "insufficient_scope"}
    assert parse_challenge('Basic realm="say \\"hi\\""') == ("basic", {"realm": 'say "hi"'})
    assert parse_challenge("") == ("", {})


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


# --------------------------------------------------------------------------- credentials


def store(tmp_path: Path, config: dict | None = None, env: dict[str, str] | None = None) -> CredentialStore:
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
    return CredentialStore({"DOCKER_CONFIG": str(tmp_path), "PATH": "/usr/bin:/bin", **(env or {})})


def test_credentials_from_auths_in_every_key_form(tmp_path: Path) -> None:
    secret = "pw-" + "x" * 8
    auth = base64.b64encode(f"me:{secret}".encode()).decode()
    found = store(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": auth},
                                       "https://ghcr.io": {"username": "bot", "password": secret},
                                       "quay.io/v2/": {"identitytoken": "idt"}}})
    hub = found.lookup("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("me", secret)
    assert found.lookup("ghcr.io").username == "bot"
    assert found.lookup("quay.io").identity_token == "idt"
    assert found.lookup("example.com") is None
    assert secret not in repr(hub) and "auths in" in hub.source


def test_environment_variable_wins_and_malformed_values_are_not_echoed(tmp_path: Path) -> None:
    env = {"SHIPCARD_REGISTRY_AUTH": json.dumps({"ghcr.io": {"registrytoken": "rt-secret"}})}
    found = store(tmp_path, {"auths": {"ghcr.io": {"username": "a", "password": "b"}}}, env).lookup("ghcr.io")
    assert found == Credential("$SHIPCARD_REGISTRY_AUTH", registry_token="rt-secret")
    with pytest.raises(CredentialError) as error:
        store(tmp_path, env={"SHIPCARD_REGISTRY_AUTH": "ghcr.io=user:hunter2"})
    assert "hunter2" not in str(error.value)
    with pytest.raises(CredentialError) as error:
        store(tmp_path, {"auths": {"ghcr.io": {"auth": "not base64 hunter2"}}}).lookup("ghcr.io")
    assert "hunter2" not in str(error.value)


# --------------------------------------------------------------------------- splicing into card text


def card_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.service.yaml"
    path.write_bytes(text.encode("utf-8"))
    return path


def pin_all(path: Path) -> str:
    card = load_card(path)
    return replace_scalars(card.text, card.document, card.name,
                           {site.path: pinned_text(site, DIGEST) for site in card.sites})


@pytest.mark.parametrize("before, after", [
    ("image: app:1\n", f"image: app:1@{DIGEST}\n"),
    ("image: 'app:1' # c\n", f"image: 'app:1@{DIGEST}' # c\n"),
    ('image: "app:1"\n', f'image: "app:1@{DIGEST}"\n'),
    ("\ufeffimage: app:1\n", f"\ufeffimage: app:1@{DIGEST}\n"),
    ("image: app:1", f"image: app:1@{DIGEST}"),
    ("jobs: [{name: a, image: app:1}, {name: b}]\n", f"jobs: [{{name: a, image: app:1@{DIGEST}}}, {{name: b}}]\n"),
    ("image: app\n", f"image: app:latest@{DIGEST}\n"),
    (f"image: app:1@{'sha256:' + 'cd' * 32}\n", f"image: app:1@{DIGEST}\n"),
    ("image: &a app:1\nenvironments:\n  prod: {image: *a}\n",
     f"image: &a app:1@{DIGEST}\nenvironments:\n  prod: {{image: *a}}\n"),
    ("x: 1\r\nimage: app:1\r\ny: 2\r\n", f"x: 1\r\nimage: app:1@{DIGEST}\r\ny: 2\r\n"),
    ("x: 1\rimage: app:1\ry: 2\r", f"x: 1\rimage: app:1@{DIGEST}\ry: 2\r"),
])
def test_splice_keeps_everything_but_the_image(tmp_path: Path, before: str, after: str) -> None:
    assert pin_all(card_file(tmp_path, before)) == after


def test_an_alias_shared_with_another_field_is_refused(tmp_path: Path) -> None:
    path = card_file(tmp_path, "description: &a app:1\nimage: *a\n")
    with pytest.raises(ShipcardError, match="would change other values"):
        pin_all(path)


@pytest.mark.parametrize("text", ['image: "app\\x3a1"\n', "image: >-\n  app:1\n"])
def test_scalars_that_cannot_be_spliced_are_refused_with_their_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError) as error:
        pin_all(card_file(tmp_path, text))
    assert str(error.value).startswith(f"{tmp_path / 'c.service.yaml'}:1:8: image: cannot rewrite")


# --------------------------------------------------------------------------- the lock file


def test_lock_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pins.lock.yaml"
    write_lock(path, {"ghcr.io/b:2": LockEntry(DIGEST, "2024-05-01T00:00:00Z"),
                      "nginx:1.25": LockEntry(DIGEST, "2024-05-01T00:00:00Z")})
    assert load_lock(path) == {"ghcr.io/b:2": DIGEST, "nginx:1.25": DIGEST}
    text = path.read_text()
    assert text.startswith("# Written by `shipcard pin --lock`")
    assert text.index("ghcr.io/b:2") < text.index("nginx:1.25")


def test_malformed_lock_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pins.lock.yaml"
    path.write_text("version: 1\nimages:\n  nginx:1.25:\n    digest: sha256:short\n")
    with pytest.raises(InputError) as error:
        load_lock(path)
    assert str(error.value) == f"{path}:4:5: images.nginx:1.25.digest: 'sha256:short' is not an image digest, " \
                               "sha256:<64 hex digits>"
    path.write_text("version: 9\nimages: {}\n")
    with pytest.raises(InputError, match="unsupported lock file version 9"):
        load_lock(path)
