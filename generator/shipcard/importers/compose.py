"""`shipcard import compose FILE`: one card per service of a Compose file (the Compose Specification).

Mapped: image, entrypoint/command, environment and env_file, ports, healthcheck, deploy.replicas,
deploy.resources, stop_grace_period, secrets. Everything else of a service is reported.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

from shipcard.importers.result import (
    CardBuilder,
    ImportResult,
    Origin,
    Source,
    read_lines,
    read_sources,
    service_name,
    shaped,
    unquote,
)
from shipcard.yamlio.read import real_path

MAPPED = {"image", "command", "entrypoint", "environment", "env_file", "ports", "expose", "healthcheck", "deploy",
          "stop_grace_period", "secrets", "container_name"}
TOP_LEVEL = {"services", "secrets", "name", "version", "volumes", "networks", "configs"}
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# A part starts only where no number goes on (as card.model's): else a long run of digits is scanned from each one.
_DURATION_PART = re.compile(r"(?<![0-9.])([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)")
# [HOST_IP:][HOST_PORT:]CONTAINER_PORT[-END][/PROTOCOL]
_PORT = re.compile(r"^(?:(?:\[[0-9a-fA-F:.]+\]|[0-9]+\.[0-9.]+):)?(?:([0-9]+)(?:-[0-9]+)?:)?"
                   r"([0-9]+)(-[0-9]+)?(?:/(tcp|udp))?$")
_BYTES = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)b?$", re.IGNORECASE)


def read_compose(path: Path) -> ImportResult:
    sources = read_sources(path)
    if len(sources) != 1 or not isinstance(sources[0].data, dict):
        raise Origin(str(path), 1, "").error("a Compose file is one YAML mapping")
    source = sources[0]
    services = source.data.get("services")
    if not isinstance(services, dict) or not services:
        raise source.at("services").error("a Compose file needs a `services` mapping")
    result = ImportResult()
    for key in source.data:
        if key not in TOP_LEVEL and not str(key).startswith("x-"):
            result.note(source.at(key), "has no card field: not imported")
    for name, service in services.items():
        if not isinstance(service, dict):
            raise source.at("services", name).error("a service is a mapping")
        with shaped(source.at("services", name)):
            _service(source, str(name), service, path.parent, result)
    return result


def _service(source: Source, name: str, service: dict[str, Any], directory: Path, result: ImportResult) -> None:
    where = ("services", name)
    if "image" not in service:
        result.note(source.at(*where), "has no image (only `build`): not imported; build and push it, add `image`")
        return
    card = CardBuilder(service_name(name, source.at(*where), "rename the service"), source.at(*where), result)
    image = _interpolated(service["image"], source.at(*where, "image"), result)
    if image is None:
        raise source.at(*where, "image").error("the image is interpolated from the environment: write it out")
    card.image(("image",), image, source.at(*where, "image"))
    for key in ("entrypoint", "command"):
        if key in service and service[key] is not None:
            words = _words(service[key], source.at(*where, key))
            if words:  # entrypoint is the container's command; Compose's command, its args (the image's CMD)
                field = "command" if key == "entrypoint" else "args"
                card.set((field,), card.words(words, source.at(*where, key), field), source.at(*where, key))
    _ports(source, where, service, card)
    _environment(source, where, service, directory, card)
    _healthcheck(source, where, service.get("healthcheck"), card)
    _deploy(source, where, service.get("deploy"), card)
    if "stop_grace_period" in service:
        seconds = _seconds(service["stop_grace_period"], source.at(*where, "stop_grace_period"))
        card.set(("shutdown", "gracePeriod"), seconds, source.at(*where, "stop_grace_period"))
    _secrets(source, where, service.get("secrets"), card)
    for key in service:
        if key not in MAPPED and not str(key).startswith("x-"):
            result.note(source.at(*where, key), "has no card field: not imported")
    card.finish()


def _interpolated(value: Any, origin: Origin, result: ImportResult) -> str | None:
    """A value with `${VAR:-default}` taking its default (reported); None when it needs the environment."""
    text = str(value)
    if "$" not in text:
        return text
    missing = False

    def default(match: re.Match[str]) -> str:
        nonlocal missing
        if match.group(3) is None:
            missing = True
            return ""
        return match.group(3)

    replaced = _INTERPOLATION.sub(default, text.replace("$$", "\0")).replace("\0", "$")
    if missing:
        return None
    result.note(origin, "is interpolated by Compose: imported with its default value")
    return replaced


def _words(value: Any, origin: Origin) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise origin.error(f"cannot be split into words: {exc}") from None


def _ports(source: Source, where: tuple[str, ...], service: dict[str, Any], card: CardBuilder) -> None:
    entries: list[tuple[int, int | None, Origin]] = []
    for index, port in enumerate(service.get("ports") or []):
        origin = source.at(*where, "ports", index)
        if isinstance(port, dict):
            target, published, protocol = port.get("target"), port.get("published"), port.get("protocol", "tcp")
            if not isinstance(target, int):
                raise origin.error("a long-syntax port needs a numeric target")
            exposed = int(str(published)) if str(published or "").isdigit() else None
        else:
            short = _short_port(str(port), origin, card)
            if short is None:
                continue
            target, exposed, protocol = short
        if protocol != "tcp":
            card.result.note(origin, f"a {protocol} port has no card field: not imported")
            continue
        if not all(1 <= number <= 65535 for number in (target, exposed or 1)):
            raise origin.error("a port is a number from 1 to 65535")
        entries.append((target, exposed, origin))
    for index, port in enumerate(service.get("expose") or []):
        origin = source.at(*where, "expose", index)
        short = _short_port(str(port), origin, card)
        if short is not None and short[1] is None and short[2] == "tcp":
            entries.append((short[0], None, origin))
        elif short is not None:
            card.result.note(origin, "expose takes a container port (tcp): not imported")
    seen: set[int] = set()
    for target, exposed, origin in entries:
        if target in seen:
            continue
        seen.add(target)
        card.port(target, origin, service_port=exposed)
        if exposed:
            card.result.note(origin, f"published on the host as {exposed}: the Service port is {exposed} "
                                     "inside the cluster (add `ingress` to reach it from outside)")


def _short_port(text: str, origin: Origin, card: CardBuilder) -> tuple[int, int | None, str] | None:
    """(container port, published port, protocol) of `[HOST:]CONTAINER[/PROTOCOL]`; None for a range (reported)."""
    match = _PORT.match(text)
    if not match:
        raise origin.error("not a Compose port ([HOST:]CONTAINER[/PROTOCOL])")
    if match.group(3):
        card.result.note(origin, "a port range has no card field: not imported")
        return None
    return int(match.group(2)), int(match.group(1)) if match.group(1) else None, match.group(4) or "tcp"


def _environment(source: Source, where: tuple[str, ...], service: dict[str, Any], directory: Path,
                 card: CardBuilder) -> None:
    values: dict[str, tuple[Any, Origin]] = {}
    env_files = service.get("env_file") or []
    for index, entry in enumerate([env_files] if isinstance(env_files, (str, dict)) else env_files):
        origin = source.at(*where, "env_file", *([index] if not isinstance(env_files, (str, dict)) else []))
        relative = entry.get("path") if isinstance(entry, dict) else entry
        required = entry.get("required", True) if isinstance(entry, dict) else True
        values.update(_env_file(str(relative), directory, origin, required, card))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs: list[tuple[str, Any, Origin]] = []
        for index, item in enumerate(environment):
            name, equals, value = str(item).partition("=")
            pairs.append((name, value if equals else None, source.at(*where, "environment", index)))
    else:
        pairs = [(str(k), v, source.at(*where, "environment", k)) for k, v in environment.items()]
    for name, value, origin in pairs:
        values[name] = (value, origin)
    for name, (value, origin) in values.items():
        if value is None:
            card.result.note(origin, f"{name} takes its value from the shell running Compose: not imported")
            continue
        text = _interpolated(value, origin, card.result) if isinstance(value, str) else value
        if text is None:
            card.result.note(origin, f"{name} is interpolated from the shell running Compose: not imported")
            continue
        card.env(name, text, origin)


def _env_file(relative: str, directory: Path, origin: Origin, required: bool,
              card: CardBuilder) -> dict[str, tuple[Any, Origin]]:
    """`KEY=VALUE` lines of an env file beside the Compose file (never one outside its directory)."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        raise origin.error("an env_file outside the Compose file's directory is not read")
    path = directory / pure
    if not path.is_file() or real_path(path).is_relative_to(real_path(directory)) is False:
        if required:
            raise origin.error(f"{relative}: no such file beside the Compose file")
        return {}
    found: dict[str, tuple[Any, Origin]] = {}
    for number, line in enumerate(read_lines(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        here = Origin(str(Path(origin.file).parent / pure), number, name.strip())
        if not equals:
            found[name.strip()] = (None, here)
            continue
        value = value.strip()
        if unquote(value) != value:
            value = unquote(value)
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[name.strip()] = (value, here)
    return found


def _healthcheck(source: Source, where: tuple[str, ...], check: Any, card: CardBuilder) -> None:
    if not isinstance(check, dict) or check.get("disable"):
        return
    here = (*where, "healthcheck")
    test = check.get("test")
    if test is None:
        return
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return
    timing: dict[str, int] = {}
    for key, field in (("start_period", "initialDelay"), ("interval", "period")):
        if key in check:
            timing[field] = max(_seconds(check[key], source.at(*here, key)), 1 if field == "period" else 0)
    if "retries" in check:
        timing["failureThreshold"] = int(check["retries"])
    for key in ("timeout", "start_interval"):
        if key in check:
            card.result.note(source.at(*here, key), "has no card field: the probe keeps Kubernetes' default")
    card.health([str(t) for t in test], source.at(*here, "test"), source.at(*here), timing)


def _deploy(source: Source, where: tuple[str, ...], deploy: Any, card: CardBuilder) -> None:
    if not isinstance(deploy, dict):
        return
    here = (*where, "deploy")
    if "replicas" in deploy:
        card.set(("replicas",), int(deploy["replicas"]), source.at(*here, "replicas"))
    resources = deploy.get("resources") or {}
    limits, reservations = resources.get("limits") or {}, resources.get("reservations") or {}
    requests = {key: reservations.get(key, limits.get(key)) for key in ("cpus", "memory")}
    for group, values in (("reservations", requests), ("limits", limits)):
        for key, field in (("cpus", "cpu"), ("memory", "memory")):
            if values.get(key) is None:
                continue
            written = group if key in reservations or group == "limits" else "limits"
            origin = source.at(*here, "resources", written, key)
            path = ("resources", field) if group == "reservations" else ("resources", "limits", field)
            card.set(path, _quantity(values[key], key, origin), origin)
            if written != group:
                card.result.note(origin, f"no reservation: the {field} request is the limit")
    for key in deploy:
        if key not in ("replicas", "resources"):
            card.result.note(source.at(*here, key), "has no card field: not imported")
    for key in reservations:
        if key not in ("cpus", "memory"):
            card.result.note(source.at(*here, "resources", "reservations", key), "has no card field: not imported")


def _quantity(value: Any, key: str, origin: Origin) -> str:
    """Compose's `cpus: "0.5"` → `500m`, `memory: 512M` → `512Mi` (Compose's units are binary)."""
    text = str(value).strip()
    if key == "cpus":
        try:
            return f"{round(float(text) * 1000)}m"
        except ValueError:
            raise origin.error("not a number of CPUs") from None
    match = _BYTES.match(text)
    if not match:
        raise origin.error("not a Compose byte value (such as 512m or 1g)")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = number * {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit]
    for suffix, factor in (("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if size >= factor and size % factor == 0:
            return f"{int(size // factor)}{suffix}"
    return str(int(size))


def _seconds(value: Any, origin: Origin) -> int:
    """A Compose duration (`1m30s`, `10s`) in whole seconds."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise origin.error("not a Compose duration (such as 10s or 1m30s)")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return round(sum(float(n) * scale[u] for n, u in parts))


def _secrets(source: Source, where: tuple[str, ...], secrets: Any, card: CardBuilder) -> None:
    for index, entry in enumerate(secrets or []):
        name = entry.get("source") if isinstance(entry, dict) else entry
        variable = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).upper()
        if variable[:1].isdigit():
            variable = f"_{variable}"
        card.secret(variable, source.at(*where, "secrets", index),
                    f"Compose mounts secret {name} as a file under /run/secrets; the card gives it as "
                    f"variable {variable}")
