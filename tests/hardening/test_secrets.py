"""Secrets (issue 7): canary values planted everywhere a user might put a secret — a card's env and
secrets.env, the docker config, $SHIPCARD_REGISTRY_AUTH, a credential helper, a registry's error
answers and tokens — and every output scanned for them: rendered files, stdout and stderr of
render, pin and check in every report format, reports written to files, exception messages.

A literal value in a card's `env` is rendered into the env ConfigMap by design (the card says it is
not secret); it may appear there and nowhere else, and `check` flags it when its name looks secret.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardhelpers import SMALL_CARD, Run, card, dump_card, shipcard, snapshot, write_repo
from pinhelpers import ProxyHandler, Registry, basic_auth_entry, write_docker_config

from shipcard.errors import ShipcardError
from shipcard.images import parse_reference
from shipcard.pin.credentials import CredentialStore
from shipcard.pin.registry import RegistryClient, RegistryError

CANARY_ENV = "canary-env-7f3a9c"
CANARY_REF = "canary-ref-5d2e81"
CANARY_PASSWORD = "canary-password-c41b77"
CANARY_ENV_AUTH = "canary-envauth-9e0d13"
CANARY_TOKEN = "canary-registrytoken-2b6f45"
CANARY_HELPER = "canary-helper-88aa21"
CANARY_BODY = "canary-errorbody-3c9d70"
CANARY_ISSUED = "canary-issuedtoken-61fe02"
CANARY_SECRET_DATA = "canary-secretdata-a0b1c2"
CANARY_MANIFEST_ENV = "canary-manifestenv-d3e4f5"
FORMATS = ("text", "json", "sarif", "junit", "github")


def forms(value: str) -> list[str]:
    """A canary as it could leak: itself, base64 of it, and base64 of `user:it`."""
    return [value, base64.b64encode(value.encode()).decode(), base64.b64encode(f"pinbot:{value}".encode()).decode()]


def assert_clean(text: str, *canaries: str, where: str = "") -> None:
    for canary in canaries:
        for form in forms(canary):
            assert form not in text, f"{canary} leaked ({form}) into {where}"


# --------------------------------------------------------------------------- render and check of a card


def secret_card() -> dict[str, Any]:
    return card(SMALL_CARD, env={"LOG_LEVEL": "info", "DB_PASSWORD": CANARY_ENV},
                secrets={"provider": "vault", "store": "vault", "env": {"API_TOKEN": f"{CANARY_REF}/api#token"}},
                environments={"dev": {"env": {"SIGNING_KEY": CANARY_ENV}}, "prod": {}})


def test_render_writes_env_literals_only_to_the_env_configmap_and_references_only_to_externalsecrets(
        tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(secret_card())})
    for fmt in ("kustomize", "helmfile"):
        run = shipcard("render", "--out", ".", "--format", fmt, cwd=repo)
        assert run.code == 0, run.output
        assert_clean(run.output, CANARY_ENV, CANARY_REF, where=f"render output ({fmt})")
        for rel, data in snapshot(repo).items():
            text = data.decode("utf-8", "replace")
            if rel.startswith("services/"):
                continue
            if CANARY_ENV in text:
                assert rel.endswith(("configmap-env.yaml", "kustomization.yaml", "patches/configmap-env.yaml")) \
                    or "/values/" in rel, f"an env literal reached {rel}"
            if CANARY_REF in text:
                assert "externalsecret" in rel or "/values/" in rel, f"a secret reference reached {rel}"
            assert "kind: Secret\n" not in text, f"a Secret object in {rel}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_flags_a_secret_looking_env_literal_in_a_card_without_echoing_it(tmp_path: Path, fmt: str) -> None:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(secret_card())})
    assert shipcard("render", "--out", ".", cwd=repo).code == 0
    run = shipcard("check", ".", "--format", fmt, "--format", f"{fmt}=report.out", "--verbose", cwd=repo)
    assert run.code == 1, run.output[-3000:]
    report = (repo / "report.out").read_text()
    assert_clean(run.output + report, CANARY_ENV, CANARY_REF, where=f"check --format {fmt}")
    assert "secret-literal-in-env" in run.output and "DB_PASSWORD" in run.output and "SIGNING_KEY" in run.output


def committed_secrets(directory: Path) -> None:
    (directory / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: committed\ntype: Opaque\n"
        f"data:\n  password: {base64.b64encode(CANARY_SECRET_DATA.encode()).decode()}\n"
        f"stringData:\n  token: {CANARY_SECRET_DATA}\n")
    (directory / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n"
        "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n"
        "      containers:\n        - name: web\n          image: nginx:1.0\n          env:\n"
        f"            - name: DATABASE_PASSWORD\n              value: {CANARY_MANIFEST_ENV}\n"
        f"            - name: DATABASE_URL\n              value: postgres://app:{CANARY_MANIFEST_ENV}@db/app\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_flags_committed_secrets_and_env_literals_and_never_prints_them(tmp_path: Path, fmt: str) -> None:
    directory = tmp_path / "manifests"
    directory.mkdir()
    committed_secrets(directory)
    run = shipcard("check", "manifests", "--format", fmt, "--format", f"{fmt}=report.out", "--verbose",
                   cwd=tmp_path)
    assert run.code == 1, run.output[-3000:]
    report = (tmp_path / "report.out").read_text()
    assert_clean(run.output + report, CANARY_SECRET_DATA, CANARY_MANIFEST_ENV, where=f"check --format {fmt}")
    assert "plaintext-secret" in report and "secret-literal-in-env" in report


def test_check_from_standard_input_never_prints_secret_values(tmp_path: Path) -> None:
    committed_secrets(tmp_path)
    text = (tmp_path / "secret.yaml").read_text() + "---\n" + (tmp_path / "deployment.yaml").read_text()
    run = shipcard("check", "-", "--format", "json", cwd=tmp_path, stdin=text)
    assert run.code == 1
    assert_clean(run.output, CANARY_SECRET_DATA, CANARY_MANIFEST_ENV, where="check -")


def test_a_broken_card_holding_a_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """Errors quote what is wrong; a secret-looking value next to the mistake stays out of the message."""
    text = dump_card(secret_card()).replace("port: 8080", "port: 8080\nport: 9090")
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": text})
    for args in (["render", "--out", "."], ["check", "services", "--format", "json"], ["pin", "--check"]):
        run = shipcard(*args, cwd=repo)
        assert run.code in (1, 2) and "Traceback" not in run.output
        assert_clean(run.output, CANARY_ENV, CANARY_REF, where=" ".join(args))


# --------------------------------------------------------------------------- pin and registry credentials


def pin_env(docker_config: Path, tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(docker_config), "HOME": str(tmp_path), **(extra or {})}


def canary_proxy(make_proxy: Callable[[str], Any], registry: Registry, status: int) -> Any:
    """A registry that answers every manifest request with `status` and the canaries in body and headers."""
    proxy = make_proxy(registry.host)

    def intercept(handler: ProxyHandler) -> bool:
        if "/v2/" not in handler.path:
            return False
        body = json.dumps({"errors": [{"code": "DENIED", "message": f"token {CANARY_BODY} refused",
                                       "detail": {"password": CANARY_BODY}}]}).encode()
        headers = {"Content-Type": "application/json", "X-Debug": CANARY_BODY}
        if status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{CANARY_BODY}"'
        if status in (301, 302, 307):
            headers["Location"] = f"http://{CANARY_BODY}.invalid/v2/"
        handler.answer(status, headers, body)
        return True

    proxy.intercept = intercept
    return proxy


@pytest.mark.registry
@pytest.mark.parametrize("status", [401, 403, 404, 500, 429, 418])
def test_registry_error_answers_never_reach_the_output(registry: Registry, make_proxy: Callable[[str], Any],
                                                       tmp_path: Path, docker_config: Path, status: int) -> None:
    proxy = canary_proxy(make_proxy, registry, status)
    write_docker_config(docker_config, {"auths": {proxy.host: basic_auth_entry("pinbot", CANARY_PASSWORD)}})
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(card(SMALL_CARD,
                                                                             image=f"{proxy.host}/secret/app:1.0"))})
    run = shipcard("pin", "--retries", "0", "--timeout", "5", cwd=repo, env=pin_env(docker_config, tmp_path))
    assert run.code == 2 and "Traceback" not in run.output
    assert_clean(run.output, CANARY_BODY, CANARY_PASSWORD, where=f"pin output for a {status}")


@pytest.mark.registry
def test_credentials_from_every_source_never_reach_the_output(registry: Registry, make_proxy: Callable[[str], Any],
                                                              tmp_path: Path, docker_config: Path) -> None:
    """Each source in turn against a registry that refuses everything: the messages name the source only."""
    proxy = canary_proxy(make_proxy, registry, 401)
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(card(SMALL_CARD,
                                                                             image=f"{proxy.host}/secret/app:1.0"))})
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-canary"
    helper.write_text(f'#!/bin/sh\ncat >/dev/null\necho \'{{"Username": "pinbot", "Secret": "{CANARY_HELPER}"}}\'\n')
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    failing = helper_dir / "docker-credential-failing"
    failing.write_text(f"#!/bin/sh\necho 'oops {CANARY_HELPER}' >&2\necho '{CANARY_HELPER}'\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
    path = f"{helper_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    sources: list[tuple[dict[str, Any] | None, dict[str, str]]] = [
        ({"auths": {proxy.host: basic_auth_entry("pinbot", CANARY_PASSWORD)}}, {}),
        ({"auths": {proxy.host: {"username": "pinbot", "password": CANARY_PASSWORD}}}, {}),
        ({"auths": {proxy.host: {"identitytoken": CANARY_TOKEN}}}, {}),
        ({"credHelpers": {proxy.host: "canary"}}, {"PATH": path}),
        ({"credHelpers": {proxy.host: "failing"}}, {"PATH": path}),
        (None, {"SHIPCARD_REGISTRY_AUTH": json.dumps({proxy.host: {"username": "pinbot", "password": CANARY_ENV_AUTH}})}),
        (None, {"SHIPCARD_REGISTRY_AUTH": json.dumps({proxy.host: {"registrytoken": CANARY_TOKEN}})}),
        (None, {"SHIPCARD_REGISTRY_AUTH": '{"broken": ' + json.dumps(CANARY_ENV_AUTH)}),
    ]
    outputs: list[Run] = []
    for config, extra in sources:
        (docker_config / "config.json").unlink(missing_ok=True)
        if config is not None:
            write_docker_config(docker_config, config)
        outputs.append(shipcard("pin", "--retries", "0", "--timeout", "5", cwd=repo,
                                env=pin_env(docker_config, tmp_path, extra)))
    for run in outputs:
        assert run.code == 2 and "Traceback" not in run.output, run.output
        assert_clean(run.output, CANARY_PASSWORD, CANARY_ENV_AUTH, CANARY_TOKEN, CANARY_HELPER, CANARY_BODY,
                     where="pin output")
    assert "credHelpers" in outputs[4].stderr and "exited with status 3" in outputs[4].stderr


@pytest.mark.registry
def test_an_issued_bearer_token_never_reaches_the_output_or_the_files(registry: Registry,
                                                                      make_proxy: Callable[[str], Any],
                                                                      tmp_path: Path, docker_config: Path) -> None:
    """The token service issues a canary token; pin succeeds with it and the token is nowhere to be seen."""
    digest = registry.push_image("secret/app", "1.0")
    proxy = make_proxy(registry.host)

    def intercept(handler: ProxyHandler) -> bool:
        if handler.path.startswith("/token"):
            handler.answer(200, {"Content-Type": "application/json"}, json.dumps({"token": CANARY_ISSUED}).encode())
            return True
        if handler.headers.get("Authorization") != f"Bearer {CANARY_ISSUED}":
            handler.answer(401, {"WWW-Authenticate": f'Bearer realm="http://{proxy.host}/token",service="x"'})
            return True
        return False

    proxy.intercept = intercept
    write_docker_config(docker_config, {"auths": {proxy.host: basic_auth_entry("pinbot", CANARY_PASSWORD)}})
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(card(SMALL_CARD,
                                                                             image=f"{proxy.host}/secret/app:1.0"))})
    lock = shipcard("pin", "--lock", "images.lock", cwd=repo, env=pin_env(docker_config, tmp_path))
    pinned = shipcard("pin", cwd=repo, env=pin_env(docker_config, tmp_path))
    assert lock.code == 0 and pinned.code == 0, lock.output + pinned.output
    assert digest in (repo / "services" / "small.service.yaml").read_text()
    everything = lock.output + pinned.output + "".join(d.decode() for d in snapshot(repo, skip_state=False).values())
    assert_clean(everything, CANARY_ISSUED, CANARY_PASSWORD, where="pin output and files")


@pytest.mark.registry
def test_credentials_and_registry_errors_keep_secrets_out_of_their_messages(
        registry: Registry, make_proxy: Callable[[str], Any], tmp_path: Path) -> None:
    """The objects themselves: repr of a credential, str of errors built around them."""
    proxy = canary_proxy(make_proxy, registry, 401)  # refuses the credential it is sent
    config = tmp_path / "docker"
    config.mkdir()
    write_docker_config(config, {"auths": {proxy.host: basic_auth_entry("pinbot", CANARY_PASSWORD)}})
    store = CredentialStore({"DOCKER_CONFIG": str(config), "SHIPCARD_REGISTRY_AUTH": json.dumps(
        {"other.example.com": {"registrytoken": CANARY_TOKEN}})})
    credentials = [store.lookup(proxy.host), store.lookup("other.example.com")]
    assert all(c is not None for c in credentials)
    text = " ".join(repr(c) + str(c) for c in credentials)
    client = RegistryClient(store, timeout=5, retries=0)
    with pytest.raises(RegistryError) as refused:
        client.resolve(parse_reference(f"{proxy.host}/secret/app:1.0"))
    assert "401" in str(refused.value) or "unauthorized" in str(refused.value).lower(), str(refused.value)
    with pytest.raises(ShipcardError) as malformed:
        CredentialStore({"SHIPCARD_REGISTRY_AUTH": "{" + CANARY_ENV_AUTH})
    text += "".join(str(e) + repr(e) for e in (refused.value, malformed.value))
    assert_clean(text, CANARY_PASSWORD, CANARY_TOKEN, CANARY_ENV_AUTH, CANARY_BODY, where="messages")
