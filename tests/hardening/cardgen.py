"""Hypothesis strategies for service cards, built by walking the card's JSON Schema.

`from_schema` turns any (sub)schema of `build_schema()` into a strategy: consts, enums, types,
patterns (`st.from_regex`), ranges, lengths, objects with required and optional properties,
maps with `propertyNames`, arrays and `anyOf`. A field added to the schema is generated
without touching this file.

`valid_cards` then shapes what the schema alone cannot say (the rules `load_card` adds: port or
ports, probes naming a declared port, one kind per job, secrets needing a store...) and keeps
names short enough for the Kubernetes length limits. Free-text fields get any Unicode text, so
quoting and escaping are exercised; identifiers come from the schema's own patterns.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from shipcard.card.schema import TEXT, build_schema

SCHEMA = build_schema()
Override = Callable[[], st.SearchStrategy[Any]]

# Any text but surrogates (which no UTF-8 file can hold).
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def _short(pattern: str, max_size: int) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: 0 < len(s) <= max_size)


def from_schema(schema: dict[str, Any], path: str = "", overrides: dict[str, Override] | None = None,
                ) -> st.SearchStrategy[Any]:
    """A strategy for values valid under `schema`; `overrides` replace the strategy of a field path
    (`jobs[].image`, `environments.*.replicas`)."""
    overrides = overrides or {}
    if path in overrides:
        return overrides[path]()
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, path, overrides) for s in schema["anyOf"]])
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return st.one_of([from_schema({**schema, "type": k}, path, overrides) for k in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "integer":
        low = schema.get("minimum", 0)
        return st.integers(low, min(schema.get("maximum", low + 10_000), low + 10_000))
    if kinds == "number":
        low, high = schema.get("minimum", 0), min(schema.get("maximum", 1e6), 1e6)
        return st.one_of(st.integers(int(low), int(high)),
                         st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False))
    if kinds == "string":
        return _string(schema)
    if kinds == "array":
        items = from_schema(schema.get("items", {}), path + "[]", overrides)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=max(schema.get("minItems", 0), 3))
    if kinds == "object":
        return _object(schema, path, overrides)
    return st.one_of(st.none(), st.booleans(), st.integers(), FREE_TEXT)


# Characters that YAML readers disagree on or that need quoting, mixed into free text.
TRICKY = st.sampled_from(["\u2028", "\u2029", "\t", "\n", "\r\n", "'", '"', "#", ": ", "- ", "{{", "}}", "&a",
                          "*a", "!", "%", "@", "`", "|", ">", "\\", "\ufeff", "\u00a0", "\u200d", "y", "0o17", "1e3"])
FREE_TEXT_CHARACTERS = st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), TRICKY)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
    if schema.get("pattern") == TEXT:  # free text: any character but control characters
        return st.lists(FREE_TEXT_CHARACTERS, min_size=low, max_size=12).map("".join).filter(lambda t: len(t) >= low)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda s: low <= len(s) <= schema.get("maxLength", math.inf) and len(s) <= 80)
    return st.text(st.characters(blacklist_categories=("Cs",)), min_size=low, max_size=max(low, high))


def _object(schema: dict[str, Any], path: str, overrides: dict[str, Override]) -> st.SearchStrategy[Any]:
    if "properties" not in schema:
        names = schema.get("propertyNames", {})
        keys = _string({"type": "string", **names}) if names else st.text(min_size=1, max_size=20)
        values = from_schema(schema.get("additionalProperties", {}), path + ".*", overrides)
        return st.dictionaries(keys, values, min_size=schema.get("minProperties", 0), max_size=3)
    required = set(schema.get("required", []))
    prefix = f"{path}." if path else ""
    fields = {k: from_schema(v, prefix + k, overrides) for k, v in schema["properties"].items()}
    return st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                 optional={k: v for k, v in fields.items() if k not in required})


# --------------------------------------------------------------------------- realistic parts

REGISTRIES = st.sampled_from(["", "ghcr.io/", "registry.example.com:5000/", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/"])


@st.composite
def images(draw: st.DrawFn) -> str:
    repository = "/".join(draw(st.lists(_short(r"[a-z0-9]+([._-][a-z0-9]+)*", 12), min_size=1, max_size=3)))
    reference = draw(REGISTRIES) + repository + ":" + draw(_short(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", 20))
    if draw(st.booleans()):
        reference += "@sha256:" + draw(st.text("0123456789abcdef", min_size=64, max_size=64))
    return reference


SCHEDULES = st.one_of(st.sampled_from(["@daily", "@hourly", "@weekly"]),
                      st.tuples(*[st.sampled_from(["*", "0", "5", "*/15", "1-5", "1,3"]) for _ in range(5)]).map(" ".join))
TIME_ZONES = st.sampled_from(["Etc/UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York"])
REMOTE_REFS = st.tuples(_short(r"[a-z][a-z0-9/_-]*", 20), st.one_of(st.none(), _short(r"[a-z_]+", 12))).map(
    lambda t: t[0] if t[1] is None else f"{t[0]}#{t[1]}")

# Fields whose schema is deliberately loose (any non-empty string) or whose value must be realistic.
OVERRIDES: dict[str, Override] = {
    "name": lambda: _short(r"[a-z]([-a-z0-9]{0,18}[a-z0-9])?", 20),
    "image": images,
    "jobs[].image": images,
    "jobs[].name": lambda: _short(r"[a-z]([-a-z0-9]{0,8}[a-z0-9])?", 10),
    "jobs[].schedule": lambda: SCHEDULES,
    "jobs[].timeZone": lambda: TIME_ZONES,
    "secrets.env.*": lambda: REMOTE_REFS,
    "gitops.path": lambda: st.just(None),  # set from the name in `shape`, so cards never share a tree
    "gitops.repoURL": lambda: st.sampled_from(["https://git.example.com/org/gitops.git", "git@github.com:org/gitops.git"]),
    "environments": lambda: st.dictionaries(_short(r"[a-z]([-a-z0-9]{0,6}[a-z0-9])?", 8), environment_overrides(),
                                            min_size=1, max_size=3),
}

SERVICE = SCHEMA["properties"]
ENVIRONMENT = next(s for s in SCHEMA["properties"]["environments"]["additionalProperties"]["anyOf"]
                   if s.get("type") == "object")
# What an environment overrides in these cards: merging arbitrary overrides would mostly produce
# cards `load_card` rightly refuses (ports removed under probes, ...), so keep to the usual ones.
OVERRIDE_FIELDS = ("replicas", "resources", "env", "autoscaling", "image", "cluster", "namespace")


def environment_overrides() -> st.SearchStrategy[Any]:
    fields = {k: from_schema(ENVIRONMENT["properties"][k], k, OVERRIDES) for k in OVERRIDE_FIELDS}
    fields["image"] = images()
    return st.one_of(st.none(), st.fixed_dictionaries({}, optional=fields))


def raw_cards() -> st.SearchStrategy[dict[str, Any]]:
    """Cards valid under the JSON Schema (not yet under load_card's extra rules)."""
    return from_schema(SCHEMA, "", OVERRIDES)


# --------------------------------------------------------------------------- load_card's rules


def shape(raw: dict[str, Any]) -> dict[str, Any]:
    """Adjust a schema-valid card so that it also follows the rules load_card adds."""
    data = copy.deepcopy(raw)
    data["gitops"] = {k: v for k, v in data["gitops"].items() if v is not None}
    data["gitops"]["path"] = f"apps/{data['name']}"
    _shape_service(data)
    secret_variables = set((data.get("secrets") or {}).get("env") or {})
    for _name, overrides in list(data["environments"].items()):
        if not isinstance(overrides, dict):
            continue
        if isinstance(overrides.get("env"), dict):
            overrides["env"] = {k: v for k, v in overrides["env"].items() if k not in secret_variables}
        scaling = overrides.get("autoscaling")
        if isinstance(scaling, dict):  # merged with the base's min (default 2), min must stay <= max
            if "max" in scaling:
                scaling["min"] = min(scaling.get("min", 1), scaling["max"])
            else:
                scaling.pop("min", None)
    return data


def _shape_service(data: dict[str, Any]) -> None:
    if "ports" in data:
        data.pop("port", None)
        seen_names, seen_numbers, ports = set(), set(), []
        for port in data["ports"]:
            if port["name"] not in seen_names and port["port"] not in seen_numbers:
                ports.append(port)
                seen_names.add(port["name"])
                seen_numbers.add(port["port"])
        data["ports"] = ports
    ports = data.get("ports") or ([{"name": "http", "port": data["port"]}] if "port" in data else [])
    health = data.get("health")
    if isinstance(health, dict):
        for kind in list(health):
            probe = _shape_probe(health[kind], ports)
            if probe is None:
                del health[kind]
            else:
                health[kind] = probe
    if data.get("ingress") and not ports:
        del data["ingress"]
    scaling = data.get("autoscaling")
    if scaling and scaling.get("min", 2) > scaling["max"]:
        scaling["min"] = scaling["max"]
    _shape_secrets(data)
    _shape_jobs(data)


def _shape_probe(probe: Any, ports: list[dict[str, Any]]) -> Any:
    if isinstance(probe, str):
        return probe if ports else None
    for kind in ("http", "tcp"):
        if kind in probe:
            if not ports:
                return None
            target = probe[kind]
            names, numbers = [p["name"] for p in ports], [p["port"] for p in ports]
            if (isinstance(target, str) and target not in names) or (isinstance(target, int) and target not in numbers):
                probe[kind] = names[0] if isinstance(target, str) else numbers[0]
    if "grpc" in probe:
        if not ports:
            return None
        probe["grpc"] = ports[0]["port"]
    return probe


def _shape_secrets(data: dict[str, Any]) -> None:
    secrets = data.get("secrets")
    if not secrets:
        return
    if secrets.get("env") and secrets.get("provider", "none") == "none":
        secrets["provider"] = "vault"
    if secrets.get("provider", "none") != "none" and not secrets.get("store"):
        secrets["store"] = "secret-store"
    literal = set(data.get("env") or {})
    if secrets.get("env"):
        secrets["env"] = {k: v for k, v in secrets["env"].items() if k not in literal}


def _shape_jobs(data: dict[str, Any]) -> None:
    jobs, names = [], set()
    for job in data.get("jobs") or []:
        if job["name"] in names:
            continue
        names.add(job["name"])
        kinds = [k for k in ("schedule", "hook", "manual") if job.get(k)]
        for extra in kinds[1:]:
            del job[extra]
        if not kinds:
            job["manual"] = True
        for kind in ("schedule", "hook", "manual"):
            if kind in job and not job[kind]:
                del job[kind]
        if job.get("script"):
            job.pop("command", None)
            job.pop("args", None)
        if job.get("timeZone") and not job.get("schedule"):
            del job["timeZone"]
        jobs.append(job)
    if "jobs" in data:
        data["jobs"] = jobs


def valid_cards() -> st.SearchStrategy[dict[str, Any]]:
    return raw_cards().map(shape)


def card_sets(max_cards: int = 3) -> st.SearchStrategy[list[dict[str, Any]]]:
    """One to `max_cards` valid cards with distinct names (rendered into one repository)."""
    return st.lists(valid_cards(), min_size=1, max_size=max_cards, unique_by=lambda c: c["name"])


def as_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)
