"""Where registry credentials come from: $SHIPCARD_REGISTRY_AUTH, then the docker config file.

Secrets are held in fields excluded from `repr`, and no message built here
ever includes them; a `Credential` names only its source.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.errors import ShipcardError

ENV_VARIABLE = "SHIPCARD_REGISTRY_AUTH"
DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"
HELPER_TIMEOUT_SECONDS = 30
MAX_CONFIG_BYTES = 1024 * 1024
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IDENTITY_TOKEN_USER = "<token>"
# Tokens travel in a header or a form as they are: visible ASCII only. A user name or password is
# sent base64-encoded, so a space may be part of it, but never a control or non-ASCII character.
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")
_BASIC_TEXT = re.compile(r"[\x20-\x7e]+")


class CredentialError(ShipcardError):
    """Credentials were configured but could not be read (never carries a secret)."""


@dataclass(frozen=True)
class Credential:
    """What to present to one registry; `source` says where it came from, for messages."""

    source: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, so callers can scrub text they did not build themselves."""
        return tuple(s for s in (self.password, self.identity_token, self.registry_token) if s)


def registry_key(name: str) -> str:
    """`https://index.docker.io/v1/`, `docker.io` and `ghcr.io/` all become a bare host key."""
    text = name.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    host = text.split("/", 1)[0]
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


class CredentialStore:
    """Looks credentials up per registry, once, from the environment and the docker config."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._cache: dict[str, Credential | None] = {}
        self._lock = threading.Lock()
        self._env_entries = self._read_env_variable()
        self.config_path = self._config_path()
        self._config = self._read_config()

    def lookup(self, registry: str) -> Credential | None:
        """Credential for `registry` (as written in the image reference), or None for anonymous."""
        key = registry_key(registry)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._find(key)
            return self._cache[key]

    def searched(self) -> str:
        """The places looked in, for an 'anonymous access refused' message."""
        return f"${ENV_VARIABLE} and {self.config_path}"

    # ------------------------------------------------------------------ sources

    def _find(self, key: str) -> Credential | None:
        entry = self._env_entries.get(key)
        if entry is not None:
            return _credential_from_entry(entry, f"${ENV_VARIABLE}")
        helpers = self._config.get("credHelpers")
        if isinstance(helpers, dict):
            for name, helper in helpers.items():
                if registry_key(name) == key and isinstance(helper, str):
                    return self._from_helper(helper, key, f"credHelpers in {self.config_path}")
        store = self._config.get("credsStore")
        if isinstance(store, str) and store:
            found = self._from_helper(store, key, f"credsStore in {self.config_path}")
            if found is not None:
                return found
        auths = self._config.get("auths")
        if isinstance(auths, dict):
            for name, entry in auths.items():
                if registry_key(name) == key and isinstance(entry, dict):
                    return _credential_from_entry(entry, f"auths in {self.config_path}")
        return None

    def _read_env_variable(self) -> dict[str, dict]:
        raw = self._environ.get(ENV_VARIABLE, "").strip()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            # The decoder's message carries a position, never the text itself.
            raise CredentialError(f"${ENV_VARIABLE} is not valid JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise CredentialError(f'${ENV_VARIABLE} must be a JSON object {{"<registry>": {{...}}}}')
        return {registry_key(name): entry for name, entry in data.items()}

    def _config_path(self) -> Path:
        directory = self._environ.get("DOCKER_CONFIG")
        if directory:
            return Path(directory) / "config.json"
        home = self._environ.get("HOME") or str(Path.home())
        return Path(home) / ".docker" / "config.json"

    def _read_config(self) -> dict[str, Any]:
        path = self.config_path
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                raise CredentialError(f"{path}: docker config larger than {MAX_CONFIG_BYTES} bytes")
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialError(f"{path}: cannot read docker config ({type(exc).__name__})") from None
        except json.JSONDecodeError as exc:
            raise CredentialError(f"{path}: docker config is not valid JSON (line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise CredentialError(f"{path}: docker config must be a JSON object")
        return data

    def _from_helper(self, helper: str, key: str, origin: str) -> Credential | None:
        if not _HELPER_NAME.match(helper):
            raise CredentialError(f"{origin}: invalid credential helper name")
        program = f"docker-credential-{helper}"
        source = f"{program} ({origin})"
        server = DOCKER_HUB_SERVER_URL if key == DOCKER_HUB else key
        try:
            result = subprocess.run([program, "get"], input=server, capture_output=True, text=True,
                                    timeout=HELPER_TIMEOUT_SECONDS, env=self._environ, check=False)
        except FileNotFoundError:
            raise CredentialError(f"{source}: {program} is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise CredentialError(f"{source}: timed out after {HELPER_TIMEOUT_SECONDS}s") from None
        except OSError as exc:
            raise CredentialError(f"{source}: cannot run ({exc.strerror})") from None
        if result.returncode != 0:
            if "credentials not found" in (result.stdout + result.stderr).lower():
                return None
            # Helper output is not echoed: it may hold a secret.
            raise CredentialError(f"{source}: exited with status {result.returncode}")
        try:
            data = json.loads(result.stdout)
            username, secret = data.get("Username", ""), data.get("Secret", "")
        except (json.JSONDecodeError, AttributeError):
            raise CredentialError(f"{source}: answered something other than a JSON credential") from None
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            return None
        if username == _IDENTITY_TOKEN_USER:
            return _checked(Credential(source, identity_token=secret))
        return _checked(Credential(source, username=username, password=secret))


def _credential_from_entry(entry: dict, source: str) -> Credential | None:
    """One `auths`-style entry: `auth` (base64 user:password), `username`/`password`,
    `identitytoken` or `registrytoken`."""
    def text(name: str) -> str:
        value = entry.get(name, "")
        return value if isinstance(value, str) else ""

    if text("registrytoken"):
        return _checked(Credential(source, registry_token=text("registrytoken")))
    if text("identitytoken"):
        return _checked(Credential(source, username=text("username"), identity_token=text("identitytoken")))
    username, password = text("username"), text("password")
    if text("auth"):
        try:
            decoded = base64.b64decode(text("auth"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialError(f"{source}: `auth` is not base64 of user:password") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialError(f"{source}: `auth` is not base64 of user:password")
    if username and password:
        return _checked(Credential(source, username=username, password=password))
    return None


def _checked(credential: Credential) -> Credential:
    """`credential`, unless a value of it could not be sent as it is; the error names the field only."""
    token, basic = "a space, a control character or a non-ASCII character", "a control or a non-ASCII character"
    fields = (("registry token", credential.registry_token, _TOKEN_TEXT, token),
              ("identity token", credential.identity_token, _TOKEN_TEXT, token),
              ("username", credential.username, _BASIC_TEXT, basic),
              ("password", credential.password, _BASIC_TEXT, basic))
    for name, value, allowed, what in fields:
        if value and not allowed.fullmatch(value):
            raise CredentialError(f"{credential.source}: the {name} has {what}; fix it there")
    if ":" in credential.username and credential.password:
        raise CredentialError(f"{credential.source}: the username has a colon, which basic auth cannot send")
    return credential
