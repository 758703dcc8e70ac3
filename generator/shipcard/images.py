"""Container image references, parsed and normalised the way docker does it."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"
# docker/distribution's reference grammar, ASCII only (`\w` would admit look-alike letters such as
# Cyrillic `а`), matched whole with fullmatch (a `$` would also match before a trailing newline).
_SPACE = re.compile(r"\s")  # str.isspace() characters, as CPython's re defines \s for str
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_REGISTRY = re.compile(rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")


class ReferenceError(ValueError):
    """The string is not a valid image reference."""


@dataclass(frozen=True)
class ImageReference:
    """`registry/repository[:tag][@digest]`, with the registry as written (may be empty)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The reference without tag and digest, as written (no docker.io added)."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def canonical_registry(self) -> str:
        return self.registry or DEFAULT_REGISTRY

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    @property
    def floating(self) -> bool:
        """No tag or the tag `latest`: a name every push moves, refused by `pin` unless allowed."""
        return self.tag is None or self.tag == "latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageReference:
    """Parse `[registry/]repository[:tag][@digest]`; raise ReferenceError with a reason."""
    if not text or _SPACE.search(text):
        raise ReferenceError("an image reference cannot be empty or contain spaces")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise ReferenceError(f"invalid digest {digest!r} (expected sha256:<64 hex digits>)")
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise ReferenceError(f"invalid tag {tag!r}")
    registry, repository = "", rest
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
        if not _REGISTRY.fullmatch(registry):
            raise ReferenceError(f"invalid registry host {registry!r} (ASCII host name or address, optional :port)")
    if not repository or not all(_COMPONENT.fullmatch(part) for part in repository.split("/")):
        raise ReferenceError(f"invalid repository name {repository!r} (lower case letters, digits, . _ - and /)")
    return ImageReference(registry, repository, tag, digest)
