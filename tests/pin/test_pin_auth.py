"""Credentials: htpasswd basic auth on a real registry, the docker config file (auths, credHelpers,
credsStore), $SHIPCARD_REGISTRY_AUTH, the bearer-token flow, and secrets never printed or forwarded."""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.parse
from pathlib import Path

import pytest
from pinhelpers import PASSWORD, USER, Proxy, ProxyHandler, Registry, basic_auth_entry, write_card, write_docker_config

pytestmark = pytest.mark.registry


def private_card(directory: Path, registry_host: str, repository: str = "private/app") -> tuple[Path, str]:
    text = f"name: private\nimage: {registry_host}/{repository}:1.0\n"
    return write_card(directory, "private.service.yaml", text), text


def assert_no_secret(output: str, *values: str) -> None:
    for value in values:
        assert value not in output
    assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in output


def test_basic_auth_with_docker_config(auth_registry: Registry, shipcard, docker_config: Path,
                                       tmp_path: Path) -> None:
    auth_registry.push_image("private/app", "1.0")
    write_docker_config(docker_config, {"auths": {auth_registry.host: basic_auth_entry(USER, PASSWORD)}})
    card, text = private_card(tmp_path, auth_registry.host)

    run = shipcard(str(card))

    assert run.code == 0, run.output
    digest = auth_registry.reported_digest("private/app", "1.0")
    assert card.read_text() == text.replace(":1.0\n", f":1.0@{digest}\n")
    assert_no_secret(run.output, PASSWORD)


def test_basic_auth_without_credentials_fails_clearly(auth_registry: Registry, shipcard, docker_config: Path,
                                                      tmp_path: Path) -> None:
    auth_registry.push_image("private/app", "1.0")
    card, text = private_card(tmp_path, auth_registry.host)

    run = shipcard(str(card))

    assert run.code == 2
    assert (f"{card}:2:8: image: {auth_registry.host}/private/app:1.0: unauthorized: private/app at "
            f"{auth_registry.host} needs credentials (basic auth) and anonymous: no credentials for "
            f"{auth_registry.host} in $SHIPCARD_REGISTRY_AUTH and {docker_config}/config.json") in run.stderr
    assert card.read_text() == text
    assert_no_secret(run.output, PASSWORD)


def test_wrong_password_names_the_credential_source(auth_registry: Registry, shipcard, docker_config: Path,
                                                    tmp_path: Path) -> None:
    wrong = "wrong-Pa55word-also-secret"
    write_docker_config(docker_config, {"auths": {f"https://{auth_registry.host}/v1/": basic_auth_entry(USER, wrong)}})
    card, text = private_card(tmp_path, auth_registry.host)

    run = shipcard(str(card))

    assert run.code == 2
    assert f"access refused (401) with credentials from auths in {docker_config}/config.json" in run.stderr
    assert card.read_text() == text
    assert_no_secret(run.output, PASSWORD, wrong)


def test_environment_variable_for_ci(auth_registry: Registry, shipcard, docker_config: Path,
                                     tmp_path: Path) -> None:
    auth_registry.push_image("private/app", "1.0")
    # The variable wins over a docker config holding a wrong password.
    write_docker_config(docker_config, {"auths": {auth_registry.host: basic_auth_entry(USER, "stale")}})
    card, text = private_card(tmp_path, auth_registry.host)
    variable = json.dumps({auth_registry.host: {"username": USER, "password": PASSWORD}})

    run = shipcard(str(card), env={"SHIPCARD_REGISTRY_AUTH": variable})

    assert run.code == 0, run.output
    assert "@sha256:" in card.read_text()
    assert_no_secret(run.output, PASSWORD)


def test_malformed_environment_variable_is_not_echoed(shipcard, tmp_path: Path, registry: Registry) -> None:
    card, _ = private_card(tmp_path, registry.host)

    run = shipcard(str(card), env={"SHIPCARD_REGISTRY_AUTH": '{"x": "' + PASSWORD})

    assert run.code == 2
    assert "$SHIPCARD_REGISTRY_AUTH is not valid JSON" in run.stderr
    assert_no_secret(run.output, PASSWORD)


def credential_helper(directory: Path, name: str, server: str) -> dict[str, str]:
    """A real `docker-credential-NAME` program on PATH that knows one server."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(exist_ok=True)
    helper = bin_dir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": server, "Username": USER, "Secret": PASSWORD})
    helper.write_text("#!/bin/sh\n"
                      '[ "$1" = get ] || exit 1\n'
                      "read -r server\n"
                      f'if [ "$server" != "{server}" ]; then\n'
                      '  echo "credentials not found in native keychain"; exit 1\n'
                      'fi\n'
                      f"echo '{answer}'\n")
    helper.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize("kind", ["credHelpers", "credsStore"])
def test_docker_credential_helpers(auth_registry: Registry, shipcard, docker_config: Path, tmp_path: Path,
                                   kind: str) -> None:
    auth_registry.push_image("private/app", "1.0")
    env = credential_helper(tmp_path, "pintest", auth_registry.host)
    config = {"credHelpers": {auth_registry.host: "pintest"}} if kind == "credHelpers" else {"credsStore": "pintest"}
    write_docker_config(docker_config, config)
    card, _ = private_card(tmp_path, auth_registry.host)

    run = shipcard(str(card), env=env)

    assert run.code == 0, run.output
    assert "@sha256:" in card.read_text()
    assert_no_secret(run.output, PASSWORD)


def test_missing_credential_helper_is_named(auth_registry: Registry, shipcard, docker_config: Path,
                                            tmp_path: Path) -> None:
    write_docker_config(docker_config, {"credHelpers": {auth_registry.host: "absent-helper"}})
    card, text = private_card(tmp_path, auth_registry.host)

    run = shipcard(str(card))

    assert run.code == 2
    assert "docker-credential-absent-helper is not on PATH" in run.stderr
    assert card.read_text() == text


# --------------------------------------------------------------------------- bearer tokens


def token_gate(proxy: Proxy, accepts) -> list[str]:
    """Make `proxy` a registry front that demands a bearer token from its own /token service.

    `accepts(handler, params)` decides whether a token request is granted; the
    tokens issued are returned (the list fills as the test runs).
    """
    issued: list[str] = []

    def intercept(handler: ProxyHandler) -> bool:
        parts = urllib.parse.urlsplit(handler.path)
        if parts.path == "/token":
            body = handler.request_body().decode()
            params = dict(urllib.parse.parse_qsl(body or parts.query))
            if not accepts(handler, params):
                handler.answer(401, {"Content-Type": "application/json"}, b'{"details":"denied"}')
                return True
            issued.append(secrets.token_hex(16))
            handler.answer(200, {"Content-Type": "application/json"},
                           json.dumps({"token": issued[-1], "expires_in": 300}).encode())
            return True
        if handler.headers.get("Authorization", "") in {f"Bearer {t}" for t in issued}:
            return False
        repository = parts.path[len("/v2/"):].split("/manifests/")[0].split("/tags/")[0]
        challenge = (f'Bearer realm="http://{proxy.host}/token",service="pin-test",'
                     f'scope="repository:{repository}:pull"')
        handler.answer(401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
                       b'{"errors":[{"code":"UNAUTHORIZED"}]}')
        return True

    proxy.intercept = intercept
    return issued


def test_anonymous_bearer_token_flow(registry: Registry, make_proxy, shipcard, tmp_path: Path) -> None:
    digest = registry.push_image("bearer/app", "1.0")
    proxy = make_proxy(registry.host)
    issued = token_gate(proxy, lambda handler, params: params.get("scope") == "repository:bearer/app:pull"
                        and params.get("service") == "pin-test" and "Authorization" not in handler.headers)
    card, text = private_card(tmp_path, proxy.host, "bearer/app")

    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert issued
    assert card.read_text() == text.replace(":1.0\n", f":1.0@{digest}\n")


def test_identity_token_is_exchanged_for_a_bearer_token(registry: Registry, make_proxy, shipcard,
                                                        docker_config: Path, tmp_path: Path) -> None:
    registry.push_image("bearer/app", "1.0")
    identity = "identity-token-secret-42"
    proxy = make_proxy(registry.host)
    token_gate(proxy, lambda handler, params: handler.command == "POST"
               and params.get("grant_type") == "refresh_token" and params.get("refresh_token") == identity)
    card, text = private_card(tmp_path, proxy.host, "bearer/app")

    refused = shipcard(str(card))
    assert refused.code == 2
    assert f"unauthorized: token service {proxy.host} for bearer/app at {proxy.host}: access refused (401) " \
           f"with anonymous" in refused.stderr
    assert card.read_text() == text

    write_docker_config(docker_config, {"auths": {proxy.host: {"identitytoken": identity}}})
    run = shipcard(str(card))

    assert run.code == 0, run.output
    assert "@sha256:" in card.read_text()
    assert_no_secret(run.output + refused.output, identity)


def test_basic_credentials_go_to_the_token_service_only(registry: Registry, make_proxy, shipcard,
                                                        docker_config: Path, tmp_path: Path) -> None:
    registry.push_image("bearer/app", "1.0")
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    proxy = make_proxy(registry.host)
    token_gate(proxy, lambda handler, params: handler.headers.get("Authorization") == expected)
    write_docker_config(docker_config, {"auths": {proxy.host: basic_auth_entry(USER, PASSWORD)}})
    card, _ = private_card(tmp_path, proxy.host, "bearer/app")

    run = shipcard(str(card))

    assert run.code == 0, run.output
    registry_requests = [s for s in proxy.seen if s.path.startswith("/v2/")]
    assert registry_requests
    assert all(not s.headers.get("Authorization", "").startswith("Basic") for s in registry_requests)
    assert_no_secret(run.output, PASSWORD)


def test_credentials_are_not_forwarded_on_redirect(auth_registry: Registry, make_proxy, shipcard,
                                                   docker_config: Path, tmp_path: Path) -> None:
    auth_registry.push_image("private/app", "1.0")
    elsewhere = make_proxy(auth_registry.host)  # another host, in front of the same registry
    other_host = elsewhere.host.replace("127.0.0.1", "localhost")
    front = make_proxy(auth_registry.host)

    def redirect_once_authorized(handler: ProxyHandler) -> bool:
        if "Authorization" not in handler.headers:
            handler.answer(401, {"WWW-Authenticate": 'Basic realm="front"'})
        else:
            handler.answer(307, {"Location": f"http://{other_host}{handler.path}"})
        return True

    front.intercept = redirect_once_authorized
    write_docker_config(docker_config, {"auths": {front.host: basic_auth_entry(USER, PASSWORD)}})
    card, text = private_card(tmp_path, front.host)

    run = shipcard(str(card))

    assert elsewhere.seen, "the redirect was followed"
    assert all("Authorization" not in s.headers for s in elsewhere.seen)
    assert run.code == 2  # the other host wants credentials it was, rightly, not given
    assert card.read_text() == text
    assert_no_secret(run.output, PASSWORD)
