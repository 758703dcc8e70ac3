"""What an internal error (a bug) shows: one line naming the exception's type, exit 3 (`shipcard.cli`);
with $SHIPCARD_DEBUG set, the traceback before it, credentials and the cards' env and secrets values
masked. Imported only when a command fails that way.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import traceback
from collections.abc import Iterable
from pathlib import Path

import click
import yaml

from shipcard.errors import ShipcardError

DEBUG_VARIABLE = "SHIPCARD_DEBUG"


def report_internal_error(exc: BaseException, command: str) -> None:
    """One line naming the exception's type; before it, with $SHIPCARD_DEBUG set, the traceback masked."""
    if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
        text = "".join(traceback.format_exception(exc))
        click.echo(mask_credentials(text, configured_credentials() | card_values(Path.cwd())), err=True, nl=False)
    click.echo(f"shipcard: internal error in {command}: {type(exc).__name__}; "
               f"rerun with {DEBUG_VARIABLE}=1 for details", err=True)


# Credentials as they appear in exception messages: an Authorization header's scheme and value, a
# `key: value` or `key=value` whose key names a secret (JSON bodies, forms, docker configs), the
# password of a URL. Each pattern is a fixed prefix and one character class: linear time.
_CREDENTIAL_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\",;]+"), r"\1\2***"),
    (re.compile(r"(?i)([\"']?\b(?:authorization|password|passwd|secret|token|access_token|refresh_token|"
                r"identitytoken|registrytoken|auth|api[-_]?key)[\"']?\s{0,4}[:=]\s{0,4}[\"']?)[^\s\"',;}&]+"),
     r"\1***"),
    (re.compile(r"(://[^/\s:@]{0,256}:)[^/\s@]+@"), r"\1***@"),
)
_MIN_SECRET_LENGTH = 4  # shorter strings of a config (`{}`, `""`) would mask half of any text


def mask_credentials(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every credential it may hold written as `***`: the values in `known` (as they are
    and as a repr escapes them), then whatever the credential patterns find."""
    for value in sorted({v for v in known if len(v) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        for form in {value, value.encode("unicode_escape").decode("ascii")}:
            text = text.replace(form, "***")
    for pattern, replacement in _CREDENTIAL_TEXT:
        text = pattern.sub(replacement, text)
    return text


def configured_credentials() -> set[str]:
    """Every secret string of $SHIPCARD_REGISTRY_AUTH and of the docker config's `auths` (a user name,
    an e-mail or a server address aside), the passwords inside `auth` values included."""
    from shipcard.pin.credentials import ENV_VARIABLE, MAX_CONFIG_BYTES, CredentialStore

    raw = os.environ.get(ENV_VARIABLE, "")
    found = {raw.strip()} | _secret_strings(_json(raw))
    try:
        path: Path = CredentialStore({**os.environ, ENV_VARIABLE: ""}).config_path
        if path.stat().st_size <= MAX_CONFIG_BYTES:
            config = _json(path.read_text(encoding="utf-8", errors="replace"))
            found |= _secret_strings(config.get("auths") if isinstance(config, dict) else None)
    except (ShipcardError, OSError):
        pass
    for value in list(found):  # `auth` is base64 of user:password
        try:
            found.add(base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return {value for value in found if value}


MAX_CARDS_MASKED = 2000  # a debug aid: enough for any repository, bounded for a hostile one


def card_values(start: Path) -> set[str]:
    """Every string under `env` and `secrets` (an environment's too) of the cards of the repository
    around `start`, read as plainly as possible: what a card holds there may be a secret."""
    from shipcard.render import find_cards
    from shipcard.settings import find_repo_root
    from shipcard.yamlio.read import read_text

    found: set[str] = set()
    for path in find_cards(find_repo_root(start) or start)[:MAX_CARDS_MASKED]:
        try:
            data = yaml.safe_load(read_text(path))
        except Exception:  # a card that does not load: its values cannot be told apart, and masking must not fail
            continue
        if not isinstance(data, dict):
            continue
        holders = [data, *((data.get("environments") or {}).values()
                           if isinstance(data.get("environments"), dict) else [])]
        for holder in holders:
            if isinstance(holder, dict):
                found |= _secret_strings([holder.get("env"), holder.get("secrets")], names=())
    return found


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _secret_strings(node: object, key: str = "", names: tuple[str, ...] = ("username", "email", "serveraddress")
                    ) -> set[str]:
    """Every string in `node`, but those under a key in `names` (which are not secret)."""
    if isinstance(node, dict):
        return {s for k, v in node.items() for s in _secret_strings(v, str(k).lower(), names)}
    if isinstance(node, list):
        return {s for item in node for s in _secret_strings(item, key, names)}
    return {node} if isinstance(node, str) and key not in names else set()
