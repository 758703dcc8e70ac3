"""The one JSON Schema validator: compiled, cached, and one explainer of its errors.

Cards, `shipcard.yaml`, lock files, data rules and Kubernetes objects are all checked here:

* the verdict comes from fastjsonschema's compiled check (several times faster than
  jsonschema). Compiling costs about as much as checking a hundred small documents, so a
  schema is compiled once it is worth it (`compile_after` checks, or `compile()` before a
  process forks workers) and its bytecode is kept in a cache directory across runs;
* jsonschema (draft 2020-12) has the last word on whatever the compiled check refuses, and
  gives every error with its path: verdicts never depend on fastjsonschema's corner cases;
* `problems` turns jsonschema's errors into `Problem(path, message)`; callers add the file,
  line and column (`raise_first`, or their own locator). A message never quotes a value,
  except one failing a pattern of `shipcard.patterns` (names, durations) outside the fields
  that may hold a secret (`env`, `secrets`, `data`, `stringData`).

The schemas use only keywords that mean the same in draft 7 (which fastjsonschema compiles)
and in draft 2020-12.

fastjsonschema, RE2 and jsonschema are imported on first use (a run that validates nothing, such as
`check` of an empty directory, loads none of them); `FastFailure` is fastjsonschema's exception, looked
up when first asked for.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipcard.errors import InputError, Location
from shipcard.patterns import MEANING
from shipcard.yamlio.read import PathKey

if TYPE_CHECKING:
    from fastjsonschema import JsonSchemaValueException as FastFailure  # noqa: F401 (for `__getattr__`)
    from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped]

COMPILE_AFTER = 50
CODEGEN_VERSION = "2"  # bump when the generated validators change shape
_CACHE_MAGIC = b"shipcard-schema:" + importlib.util.MAGIC_NUMBER

Position = Callable[[PathKey], tuple[int, int]]  # a path in the document → (line, column), 1-based
FastCheck = Callable[[Any], Any]


def __getattr__(name: str) -> Any:
    """`FastFailure`: what a compiled check raises for an invalid value (a ValueError), imported when asked for."""
    if name == "FastFailure":
        from fastjsonschema import JsonSchemaValueException

        return JsonSchemaValueException
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SchemaDefinitionError(ValueError):
    """A schema that cannot be compiled (a data rule's, say)."""


@functools.cache
def _re2() -> tuple[Any, Any]:
    """The RE2 module and its options."""
    import re2  # type: ignore[import-untyped]

    options = re2.Options()
    options.log_errors = False  # a pattern RE2 refuses is an answer (None), not a line on stderr
    return re2, options


@functools.lru_cache(maxsize=4096)
def linear_pattern(pattern: str) -> Any:
    """`pattern` compiled by RE2 (linear time in the input, the engine Kubernetes validates CRD
    patterns with), or None when RE2 cannot express it (backreferences, lookaround)."""
    re2, options = _re2()
    try:
        return re2.compile(pattern, options=options)
    except (re2.error, TypeError, ValueError):
        return None


def pattern_problem(pattern: str) -> str | None:
    """Why RE2 refuses `pattern` (its own words, such as `missing ): (abc`), or None when it compiles."""
    if linear_pattern(pattern) is not None:
        return None
    re2, options = _re2()
    try:
        re2.compile(pattern, options=options)
    except (re2.error, TypeError, ValueError) as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def pattern_search(pattern: str, text: str) -> bool:
    """JSON Schema's `pattern` on `text`: RE2 when it can, else Python's re (shipcard's own patterns only:
    a schema built from repository content keeps only the patterns RE2 compiles, see check.schema)."""
    compiled = linear_pattern(pattern)
    return bool(compiled.search(text) if compiled is not None else re.search(pattern, text))


@functools.cache
def _linear_validator_class() -> Any:
    """jsonschema's draft 2020-12 validator, matching `pattern` with `pattern_search`."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, wanted: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not pattern_search(wanted, instance):
            yield ValidationError(f"{instance!r} does not match {wanted!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


def _linear_regex_patterns(namespace: dict[str, Any]) -> None:
    """fastjsonschema's generated code matches with Python's re: swap in RE2 wherever it compiles."""
    patterns = namespace.get("REGEX_PATTERNS")
    if isinstance(patterns, dict):
        for source in list(patterns):
            compiled = linear_pattern(source)
            if compiled is not None:
                patterns[source] = compiled


def cache_root() -> Path:
    """shipcard's per-user cache: $SHIPCARD_CACHE_DIR, else the user cache directory (never the repository)."""
    configured = os.environ.get("SHIPCARD_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "shipcard"


def cache_dir() -> Path:
    """Where compiled validators are kept."""
    return cache_root() / "schemas"


def schema_key(schema: dict[str, Any]) -> str:
    """A cache key naming a schema by its content."""
    return hashlib.sha256(json.dumps(schema, sort_keys=True, default=str).encode()).hexdigest()


def compile_schema(schema: dict[str, Any], label: str, cache_key: str | None = None, *,
                   fetch_remote: bool = False) -> FastCheck:
    """fastjsonschema's check of `schema` (raising FastFailure), from the bytecode cache when there.

    A `$ref` outside the schema is fetched only with `fetch_remote` (`check --allow-remote`); without
    it the schema is a SchemaDefinitionError and nothing is fetched."""
    import fastjsonschema

    from shipcard.yamlio.dump import write_bytes_atomic

    check = _cached(cache_key, label) if cache_key else None
    if check is not None:
        return check
    body = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}  # compiled as draft 7
    try:
        source = fastjsonschema.compile_to_code(body, handlers={} if fetch_remote else _NO_FETCHING,
                                                use_formats=False, use_default=False)
    except (fastjsonschema.JsonSchemaDefinitionException, TypeError, ValueError, RecursionError, re.error) as exc:
        raise SchemaDefinitionError(str(exc)) from None
    code = compile(_without_locals_copies(source), f"<schema {label}>", "exec")
    if cache_key:
        try:
            write_bytes_atomic(_cache_file(cache_key), _CACHE_MAGIC + marshal.dumps(code))
        except OSError:
            pass  # a read-only home is fine: compile again next time
    return _function(code)


# fastjsonschema names a failing field with `".a[{data_x}]".format(**locals())`: a copy of every local
# of the validator at each raise and each `$ref` call. An f-string reads the same variables directly.
_FORMAT_WITH_LOCALS = re.compile(r'"((?:[^"\\\n]|\\.)*)"\.format\(\*\*locals\(\)\)')


def _without_locals_copies(source: str) -> str:
    """The generated validator with each `"...".format(**locals())` written as the f-string it formats."""
    return _FORMAT_WITH_LOCALS.sub(r'f"\1"', source)


class _NoFetching(Mapping[str, Callable[[str], Any]]):
    """fastjsonschema's handlers of remote references, one for every URL scheme: each refuses."""

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse_fetch

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _refuse_fetch(uri: str) -> Any:
    raise SchemaDefinitionError(f"$ref {uri}: a reference outside the schema is not fetched")


_NO_FETCHING = _NoFetching()
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})  # values, not schemas
_NAME_KEYWORDS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas"})


def _schema_nodes(schema: Any, path: PathKey) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every subschema of `schema` (a mapping) with its path; keys under `properties` and the like are
    names, and `enum`, `const`, `default` hold values, so neither is searched for keywords."""
    stack: list[tuple[PathKey, Any]] = [(path, schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, list):
            stack += [((*where, index), item) for index, item in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        yield where, node
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                continue
            if key in _NAME_KEYWORDS and isinstance(value, dict):
                stack += [((*where, key, name), sub) for name, sub in value.items()]
            elif isinstance(value, (dict, list)):
                stack.append(((*where, key), value))


def _by_path(found: list[tuple[PathKey, str]]) -> list[tuple[PathKey, str]]:
    return sorted(found, key=lambda item: [str(step) for step in item[0]])


def remote_refs(schema: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Every `$ref` of `schema` that leads outside it (anything but a `#` fragment), with its path.

    Keys under `properties` and the like are names, so a property called `$ref` is not a reference."""
    return _by_path([((*where, "$ref"), node["$ref"]) for where, node in _schema_nodes(schema, path)
                     if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#")])


def nonlinear_patterns(schema: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Every `pattern` and `patternProperties` key of `schema` that RE2 cannot compile, with its path:
    such a pattern would be matched by a backtracking engine, in time exponential in the input."""
    found: list[tuple[PathKey, str]] = []
    for where, node in _schema_nodes(schema, path):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and linear_pattern(pattern) is None:
            found.append(((*where, "pattern"), pattern))
        names = node.get("patternProperties")
        if isinstance(names, dict):
            found += [((*where, "patternProperties", name), name) for name in names
                      if isinstance(name, str) and linear_pattern(name) is None]
    return _by_path(found)


def _cache_file(cache_key: str) -> Path:
    import fastjsonschema

    key = hashlib.sha256(f"{CODEGEN_VERSION}|{fastjsonschema.VERSION}|{sys.version}|{cache_key}".encode())
    return cache_dir() / f"{key.hexdigest()}.bin"


def _cached(cache_key: str, label: str) -> FastCheck | None:
    try:
        blob = _cache_file(cache_key).read_bytes()
        if blob.startswith(_CACHE_MAGIC):
            return _function(marshal.loads(blob[len(_CACHE_MAGIC):]))
    except (OSError, ValueError, EOFError, TypeError):
        pass
    return None


def _function(code: Any) -> FastCheck:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    _linear_regex_patterns(namespace)
    check: FastCheck = namespace["validate"]
    return check


class Schema:
    """A JSON Schema: a compiled yes/no check once worth it, jsonschema for the errors."""

    def __init__(self, schema: dict[str, Any] | Callable[[], dict[str, Any]], *, label: str,
                 cache_key: str | None = None, compile_after: int = COMPILE_AFTER) -> None:
        self._schema = schema
        self.label = label
        self.cache_key = cache_key  # None: compiled in this process only (never kept on disk)
        self.compile_after = compile_after
        self._fast: FastCheck | None = None
        self._fast_failed = False
        self._checked = 0
        self._validator: Draft202012Validator | None = None

    @property
    def schema(self) -> dict[str, Any]:
        if callable(self._schema):
            self._schema = self._schema()
        return self._schema

    def compile(self) -> None:
        """Compile now (a process about to fork workers that will check many documents)."""
        if self._fast is None and not self._fast_failed:
            try:
                self._fast = compile_schema(self.schema, self.label, self.cache_key)
            except Exception:  # a schema (from a CRD, say) the generated code chokes on: jsonschema alone works
                self._fast_failed = True

    def passes(self, instance: Any) -> bool:
        self._checked += 1
        if self._fast is None and self.cache_key and self._checked == 1:
            self._fast = _cached(self.cache_key, self.label)
        if self._fast is None and self._checked > self.compile_after:
            self.compile()
        if self._fast is None:
            return bool(self.validator.is_valid(instance))
        try:
            self._fast(instance)
            return True
        except (RecursionError, TypeError, ValueError):  # FastFailure is a ValueError
            return bool(self.validator.is_valid(instance))

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            self._validator = _linear_validator_class()(self.schema)  # imported only when something fails
        return self._validator

    def errors(self, instance: Any) -> list[ValidationError]:
        """Every error, in document order of their paths."""
        return sorted(self.validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])


# --------------------------------------------------------------------------- explaining


@dataclass(frozen=True)
class Problem:
    path: PathKey  # the field it is about
    message: str  # what is wrong with it, without its name


def field_name(path: Iterable[str | int]) -> str:
    """('jobs', 1, 'schedule') → 'jobs[1].schedule'."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def all_problems(schema: Schema, instance: Any, position: Position) -> list[Problem]:
    """Every problem of `instance`, in document order (the deepest first at one place); [] when valid.

    What an `if`/`then` demands of a mapping is left out when another field of that mapping has a
    problem: the condition may rest on the very field that is wrong (`group` set, so `className`
    must be `alb`: a wrong `group` is the one problem).
    """
    if schema.passes(instance):
        return []
    plain: dict[Problem, None] = {}
    conditional: dict[Problem, PathKey] = {}
    for error in schema.validator.iter_errors(instance):
        holder: PathKey = tuple(error.absolute_path)
        holder = holder if error.validator == "required" else holder[:-1]
        for problem in _explain(error, position):
            if {"then", "else"} & set(map(str, error.absolute_schema_path)):
                conditional.setdefault(problem, holder)
            else:
                plain[problem] = None
    beside = {p.path[:len(holder)] for p in plain for holder in conditional.values()}
    found = list(plain) + [p for p, holder in conditional.items() if holder not in beside and p not in plain]
    return sorted(found, key=lambda p: (position(p.path), -len(p.path)))


def first_problem(schema: Schema, instance: Any, position: Position) -> Problem | None:
    """The problem earliest in the document (the deepest one of a place), or None when `instance` is valid."""
    return next(iter(all_problems(schema, instance, position)), None)


def raise_first(schema: Schema, instance: Any, filename: str, position: Position) -> None:
    """InputError `file:line:col: field: message` for the first problem of `instance`, if any."""
    problem = first_problem(schema, instance, position)
    if problem is not None:
        raise InputError(Location(filename, *position(problem.path)), field_name(problem.path), problem.message)


def problems(error: ValidationError) -> list[Problem]:
    """One jsonschema error as problems: one per unknown field, else one."""
    return _explain(error, None)


def _explain(error: ValidationError, position: Position | None) -> list[Problem]:
    path: PathKey = tuple(error.absolute_path)
    validator, expected = error.validator, error.validator_value
    if validator in ("anyOf", "oneOf") and error.context:
        return _explain_alternatives(error, path, position)
    if "propertyNames" in error.relative_schema_path:  # the offending instance is a key of this mapping
        meaning = MEANING.get(error.schema.get("pattern")) if validator == "pattern" else None
        described = error.schema.get("description")
        reason = f"{error.instance!r} is not {meaning}" if meaning else \
            f"must be {_lowered(described)}" if described else error.message
        return [Problem((*path, error.instance), f"invalid name {error.instance!r}: {reason}")]
    if validator == "additionalProperties" and isinstance(error.instance, dict) and expected is False:
        from difflib import get_close_matches

        known = list(error.schema.get("properties") or {})
        patterns = list(error.schema.get("patternProperties") or {})
        found = []
        for key in error.instance:
            if key in known or any(pattern_search(p, str(key)) for p in patterns):
                continue
            guess = get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else f" (known fields: {', '.join(known)})"
            found.append(Problem((*path, key), f"unknown field{hint}"))
        return found
    if validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in expected if k not in error.instance]
        return [Problem(path, f"missing required field {missing[0]!r}")]
    if validator == "type":
        types = [t for t in _as_list(expected) if t != "null"] or _as_list(expected)
        return [Problem(path, f"must be {' or '.join(types)}, not {_type_name(error.instance)}")]
    if validator == "enum":
        return [Problem(path, f"must be one of {', '.join(_shown(v) for v in expected if v is not None)}")]
    if validator == "const":
        return [Problem(path, f"must be {expected!r}")]
    if validator == "pattern":
        meaning = MEANING.get(expected)
        if meaning:
            quoted = "it" if _may_be_secret(path) else repr(error.instance)
            return [Problem(path, f"{quoted} is not {meaning}")]
        return [Problem(path, _format_problem(error.instance))]
    if validator in _BOUNDS:
        return [Problem(path, _BOUNDS[validator].format(expected))]
    if validator == "uniqueItems":
        return [Problem(path, "must not hold the same item twice")]
    if validator in ("oneOf", "not") and "description" in error.schema:  # two fields of which one may be given
        return [Problem(path, f"must be {_lowered(error.schema['description'])}")]
    return [Problem(path, "does not match the schema")]


def _lowered(description: str) -> str:
    """A schema's description as the end of a sentence: 'Two words.' → 'two words'."""
    return f"{description[0].lower()}{description[1:].rstrip('.')}"


# Fields whose values may be secret (a card's env and secrets, a Secret's data and stringData, a
# container's env, anything called a password or a token): a message about them, or about anything
# inside them, never quotes the value, whatever pattern it fails.
_SECRET_FIELDS = frozenset({"env", "secrets", "data", "stringData", "binaryData"})
_SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "auth")


def _may_be_secret(path: PathKey) -> bool:
    steps = [str(step) for step in path]
    return bool(_SECRET_FIELDS.intersection(steps)) or any(w in s.lower() for s in steps for w in _SECRET_WORDS)

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NONCHARACTER = re.compile(r"[\ufffe\uffff]")


def _format_problem(instance: Any) -> str:
    """What is wrong with a string failing a pattern that has no meaning to quote: its kind, not its text."""
    if isinstance(instance, str) and _CONTROL_CHARACTER.search(instance):
        return "contains a control character"
    if isinstance(instance, str) and _NONCHARACTER.search(instance):
        return "contains a Unicode noncharacter (U+FFFE or U+FFFF)"
    return "has an invalid format"


_BOUNDS = {
    "minimum": "must be at least {}", "maximum": "must be at most {}",
    "exclusiveMinimum": "must be more than {}", "exclusiveMaximum": "must be less than {}",
    "minLength": "must be at least {} character(s) long", "maxLength": "must be at most {} characters long",
    "minItems": "must have at least {} item(s)", "maxItems": "must have at most {} items",
    "minProperties": "must have at least {} entry(ies)", "maxProperties": "must have at most {} entries",
    "multipleOf": "must be a multiple of {}",
}


def _explain_alternatives(error: ValidationError, path: PathKey, position: Position | None) -> list[Problem]:
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

    options: Sequence[Any] = error.validator_value if isinstance(error.validator_value, list) else []
    nullable = [i for i, s in enumerate(options) if isinstance(s, dict) and s.get("type") == "null"]
    if nullable and error.instance is not None:  # `null` removes a field; explain the real alternative
        real = [e for e in error.context or () if e.relative_schema_path[0] not in nullable]
        if real:
            if position is None:
                return _explain(best_match(real), None)
            return [min((p for e in real for p in _explain(e, position)),
                        key=lambda p: (position(p.path), -len(p.path)))]
    if "description" in error.schema:
        return [Problem(path, f"must be {_lowered(error.schema['description'])}")]
    types = [t for s in options if isinstance(s, dict) and set(s) == {"type"} for t in _as_list(s["type"])
             if t != "null"]
    if options and len(types) >= len(options):
        return [Problem(path, f"must be {' or '.join(types)}, not {_type_name(error.instance)}")]
    return _explain(best_match(error.context or ()), position)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)
