"""Bad input (issue 7): every hostile or broken card and manifest ends in exit 2 (render) or an
error finding (check) with one line naming file:line, never a traceback, never a file written
outside the output directory, never a half-written tree.

Wrong types, broken constraints and Jinja are generated from the card's JSON Schema
(`build_schema()`), one named case per field, so a field added later is attacked too.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardhelpers import (
    FULL_CARD,
    SMALL_CARD,
    Run,
    assert_located_refusal,
    card,
    diff_keys,
    dump_card,
    field_name,
    set_path,
    shipcard,
    snapshot,
    temporary_files,
    write_repo,
)

from shipcard.card.schema import build_schema
from tests.conftest import ROOT, run_cli

PathKey = tuple[str | int, ...]


# --------------------------------------------------------------------------- helpers


def render_in_process(repo: Path, *args: str) -> Run:
    """`shipcard render --out REPO` through the click group (a traceback fails the test)."""
    result = run_cli("render", "--out", str(repo), *args, cwd=repo)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def rendered_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with one valid card, rendered: the tree a bad card must leave untouched."""
    repo = write_repo(tmp_path_factory.mktemp("rendered-small") / "repo", {"small.service.yaml": dump_card(SMALL_CARD)})
    run = render_in_process(repo)
    assert run.code == 0, run.output
    return repo


@pytest.fixture
def sandbox(tmp_path: Path, rendered_small: Path) -> Path:
    """tmp/sandbox/{repo (a copy of the rendered repository), outside/} — outside must never change."""
    root = tmp_path / "sandbox"
    shutil.copytree(rendered_small, root / "repo", symlinks=True)
    (root / "outside").mkdir()
    (root / "outside" / "victim.yaml").write_text("# belongs to someone else\n")
    return root


def assert_untouched(sandbox: Path, before_repo: dict[str, bytes], before_outside: dict[str, bytes]) -> None:
    repo = sandbox / "repo"
    assert diff_keys(before_repo, snapshot(repo)) == [], "a refused render changed the tree"
    assert diff_keys(before_outside, snapshot(sandbox / "outside")) == [], "something was written outside"
    assert sorted(p.name for p in sandbox.iterdir()) == ["outside", "repo"], "something was written beside the repo"
    assert temporary_files(repo) == []


def refuse_card(sandbox: Path, name: str, content: str | bytes, *, subprocess_run: bool = False) -> Run:
    """Add a card to the rendered repository, render everything, and check the refusal's shape."""
    repo = sandbox / "repo"
    before_repo, before_outside = snapshot(repo), snapshot(sandbox / "outside")
    path = repo / "services" / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before_repo = {**before_repo, f"services/{name}": path.read_bytes()}
    if subprocess_run:
        run = shipcard("render", "--out", ".", cwd=repo)
    else:
        run = render_in_process(repo)
    assert_located_refusal(run, f"services/{name}")
    assert_untouched(sandbox, before_repo, before_outside)
    return run


# --------------------------------------------------------------------------- YAML-level attacks on a card


def alias_bomb(document_prefix: str = "") -> str:
    lines = [document_prefix + 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


VALID = dump_card(card(SMALL_CARD, name="bad"))

YAML_ATTACKS: list[tuple[str, str | bytes, str]] = [
    ("alias-bomb", VALID + alias_bomb(), "alias bomb"),
    ("duplicate-key", VALID + "port: 9090\n", "duplicate key"),
    ("invalid-utf8", (VALID + "description: caf\xe9\n").encode("latin-1"), "not valid UTF-8"),
    ("tab-indentation", VALID.replace("  dev: {}", "\tdev: {}"), "tab"),
    ("empty-file", "", "empty"),
    ("only-comments", "# a card will go here\n# one day\n", "empty"),
    ("stream-with-a-non-mapping-document", VALID + "---\n- just\n- a list\n", "several"),
    ("list-document", "- name: bad\n- image: x\n", "mapping"),
    ("scalar-document", "just a string\n", "mapping"),
    ("syntax-error", VALID + "env: {A: [1, 2\n", ""),
    ("nul-byte", VALID + "description: a\x00b\n", ""),
    ("python-object-tag", VALID.replace("name: bad", "name: !!python/object/apply:os.system ['touch PWNED']"), ""),
    ("ruamel-custom-tag", VALID + "description: !include /etc/passwd\n", ""),
    ("mapping-as-key", VALID + "? {a: 1}\n: x\n", ""),
]


@pytest.mark.parametrize("content,words", [pytest.param(c, w, id=i) for i, c, w in YAML_ATTACKS])
def test_yaml_attack_on_a_card_is_refused_with_a_located_line(sandbox: Path, content: str | bytes, words: str) -> None:
    run = refuse_card(sandbox, "bad.service.yaml", content)
    assert words in run.stderr
    assert not (sandbox / "repo" / "PWNED").exists()


def test_fifty_megabyte_card_is_refused_without_reading_it(sandbox: Path) -> None:
    path = sandbox / "big.service.yaml.src"
    with open(path, "w") as handle:
        handle.write(VALID + "description: |\n")
        line = "  " + "x" * 1022 + "\n"
        for _ in range(50 * 1024):
            handle.write(line)
    data = path.read_bytes()
    path.unlink()
    started = time.monotonic()
    run = refuse_card(sandbox, "big.service.yaml", data, subprocess_run=True)
    assert "more than" in run.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("text", [
    pytest.param(VALID + "description: " + "[" * 10_000 + "]" * 10_000 + "\n", id="flow-brackets"),
    pytest.param(VALID + "args:\n" + "  " + "- " * 10_000 + "x\n", id="block-sequences"),
    pytest.param(VALID + "env: " + "{a: " * 10_000 + "x" + "}" * 10_000 + "\n", id="flow-mappings"),
])
def test_nesting_ten_thousand_deep_is_refused_not_a_crash(sandbox: Path, text: str) -> None:
    run = refuse_card(sandbox, "deep.service.yaml", text, subprocess_run=True)
    assert "nesting deeper than" in run.stderr or "invalid" in run.stderr or "must be" in run.stderr


# --------------------------------------------------------------------------- names and paths


def _bad(**changes: Any) -> str:
    return dump_card(card(SMALL_CARD, **changes))


NAME_ATTACKS: list[tuple[str, str, str]] = [
    ("name-climbs", _bad(name="../evil"), "name"),
    ("name-with-slash", _bad(name="a/b"), "name"),
    ("name-upper-case", _bad(name="Evil"), "name"),
    ("name-64-characters", _bad(name="a" * 64), "name"),
    ("name-trailing-newline", _bad(name="evil\n"), "name"),
    ("name-leading-digit", _bad(name="1evil"), "name"),
    ("name-cyrillic-a", _bad(name="\u0430pp"), "name"),
    ("name-fullwidth", _bad(name="\uff45vil"), "name"),
    ("name-zero-width-joiner", _bad(name="ev\u200dil"), "name"),
    ("environment-climbs", _bad(environments={"../prod": {}}), "environments"),
    ("environment-cyrillic", _bad(environments={"pr\u043ed": {}}), "environments"),
    ("environment-trailing-newline", _bad(environments={"prod\n": {}}), "environments"),
    ("environment-upper-case", _bad(environments={"Prod": {}}), "environments"),
    ("namespace-cyrillic", _bad(environments={"dev": {"namespace": "t\u0435am"}}), "namespace"),
    ("job-name-with-slash", _bad(jobs=[{"name": "a/b", "schedule": "@daily", "command": ["x"]}]), "jobs[0].name"),
    ("port-name-digits-only", _bad(port=None, ports=[{"name": "80", "port": 80}]), "ports[0].name"),
    ("ingress-host-cyrillic", _bad(ingress={"host": "\u0430pple.com"}), "ingress.host"),
    ("image-registry-cyrillic", _bad(image="gh\u0441r.io/example/app:1.0"), "image"),
    ("image-tag-cyrillic", _bad(image="ghcr.io/example/app:1.\u041e"), "image"),
    ("image-registry-with-fragment", _bad(image="evil.example#/app:1.0"), "image"),
    ("team-not-a-label-value", _bad(team="Payments Team"), "team"),
    ("cluster-with-newline", _bad(environments={"dev": {"cluster": "https://a\nb"}}), "cluster"),
    ("repo-url-with-space", _bad(gitops={"repoURL": "https://example.com/a b.git"}), "gitops.repoURL"),
    ("schedule-on-several-lines", _bad(jobs=[{"name": "j", "schedule": "0\n1\n*\n*\n*", "command": ["x"]}]),
     "schedule"),
    ("timeout-overflows", _bad(jobs=[{"name": "j", "schedule": "@daily", "command": ["x"],
                                      "timeout": "9" * 400 + "h"}]), "timeout"),
    ("negative-quantity", _bad(resources={"cpu": -1}), "resources.cpu"),
    ("nan-quantity", _bad(resources={"cpu": float("nan")}), "resources.cpu"),
    ("infinite-quantity", _bad(resources={"memory": float("inf")}), "resources.memory"),
    ("gitops-path-absolute", _bad(gitops={"repoURL": "x", "path": "/etc/evil"}), "gitops.path"),
    ("gitops-path-climbs", _bad(gitops={"repoURL": "x", "path": "apps/../../evil"}), "gitops.path"),
    ("gitops-path-backslash", _bad(gitops={"repoURL": "x", "path": "apps\\..\\..\\evil"}), "gitops.path"),
    ("gitops-path-root", _bad(gitops={"repoURL": "x", "path": "."}), "gitops.path"),
    ("gitops-path-dot-git", _bad(gitops={"repoURL": "x", "path": ".git/hooks"}), "gitops.path"),
    ("gitops-path-state-dir", _bad(gitops={"repoURL": "x", "path": ".shipcard"}), "gitops.path"),
    ("gitops-path-services", _bad(gitops={"repoURL": "x", "path": "services"}), "gitops.path"),
    ("gitops-path-argocd", _bad(gitops={"repoURL": "x", "path": "argocd/apps"}), "gitops.path"),
    ("gitops-path-charts", _bad(gitops={"repoURL": "x", "path": "charts/service"}), "gitops.path"),
]
@pytest.mark.parametrize("text,field", [pytest.param(t, f, id=i) for i, t, f in NAME_ATTACKS])
def test_hostile_name_or_path_is_refused(sandbox: Path, text: str, field: str) -> None:
    run = refuse_card(sandbox, "bad.service.yaml", text)
    assert field in run.stderr


def test_integers_written_as_floats_render_as_integers(tmp_path: Path) -> None:
    data = card(SMALL_CARD, port=None, ports=[{"name": "http", "port": 8080.0, "servicePort": 80.0}],
                health={"liveness": {"http": 8080.0, "path": "/", "initialDelay": 5.0, "period": 3.0,
                                     "failureThreshold": 2.0}, "startup": {"tcp": "http"}})
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(data)})
    run = render_in_process(repo)
    assert run.code == 0, run.output
    text = "".join(p.read_text() for p in sorted((repo / "apps").rglob("*.yaml")))
    assert "initialDelaySeconds: 5\n" in text and "port: 80\n" in text
    assert not re.search(r"(Seconds|Threshold|[pP]ort): [0-9]+\.0\n", text), text


def test_a_thousand_environments_render_or_are_refused_quickly(tmp_path: Path) -> None:
    environments = {f"e{i}": {} for i in range(1000)}
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(card(SMALL_CARD, environments=environments))})
    started = time.monotonic()
    run = render_in_process(repo)
    assert time.monotonic() - started < 60
    assert run.code == 0, run.output
    assert len(list((repo / "argocd").glob("*/small.yaml"))) == 1000
    again = render_in_process(repo)
    assert again.code == 0 and "0 added, 0 modified, 0 removed" in again.stdout


# --------------------------------------------------------------------------- symbolic links


def assert_link_refused(sandbox: Path) -> None:
    """Render the sandbox's repository, whose tree now holds a link leading to `outside`: exit 2 with one
    line naming the link, no traceback, nothing changed outside."""
    repo, outside = sandbox / "repo", sandbox / "outside"
    before_outside = snapshot(outside)
    run = render_in_process(repo)
    assert run.code == 2 and "Traceback" not in run.output, run.output
    assert "symbolic link" in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert snapshot(outside) == before_outside


def test_a_tree_directory_linked_outside_is_not_written_through(sandbox: Path) -> None:
    (sandbox / "outside" / "elsewhere").mkdir()
    target = sandbox / "repo" / "apps" / "small" / "overlays" / "dev"
    shutil.rmtree(target)
    target.symlink_to(sandbox / "outside" / "elsewhere")
    assert_link_refused(sandbox)


def test_a_generated_file_linked_outside_is_not_overwritten(sandbox: Path) -> None:
    victim = sandbox / "repo" / "apps" / "small" / "base" / "deployment.yaml"
    (sandbox / "outside" / "deployment.yaml").write_text(victim.read_text().replace("replicas: 2", "replicas: 7"))
    victim.unlink()
    victim.symlink_to(sandbox / "outside" / "deployment.yaml")
    assert_link_refused(sandbox)


def test_argocd_directory_linked_outside_is_not_written_through(sandbox: Path) -> None:
    repo, outside = sandbox / "repo", sandbox / "outside"
    shutil.move(str(repo / "argocd"), str(outside / "argocd"))
    (repo / "argocd").symlink_to(outside / "argocd")
    (repo / "services" / "small.service.yaml").write_text(dump_card(card(SMALL_CARD, environments={"qa": {}})))
    assert_link_refused(sandbox)


def test_state_directory_linked_outside_is_refused(sandbox: Path) -> None:
    repo, outside = sandbox / "repo", sandbox / "outside"
    shutil.rmtree(repo / ".shipcard", ignore_errors=True)
    (outside / "state").mkdir()
    (repo / ".shipcard").symlink_to(outside / "state")
    (repo / "services" / "small.service.yaml").write_text(dump_card(card(SMALL_CARD, replicas=3)))
    assert_link_refused(sandbox)
    assert list((outside / "state").iterdir()) == []


def test_two_cards_with_one_gitops_path_are_refused(tmp_path: Path) -> None:
    cards = {f"{n}.service.yaml": dump_card(card(SMALL_CARD, name=n, gitops={"repoURL": "x", "path": "apps/shared"}))
             for n in ("first", "second")}
    repo = write_repo(tmp_path / "repo", cards)
    run = render_in_process(repo)
    assert run.code == 2 and "gitops.path" in run.stderr


def test_a_card_rendered_alone_never_deletes_another_cards_tree(tmp_path: Path) -> None:
    outer = card(SMALL_CARD, name="outer", gitops={"repoURL": "x", "path": "apps/outer"})
    inner = card(SMALL_CARD, name="inner", gitops={"repoURL": "x", "path": "apps/outer/inner"})
    repo = write_repo(tmp_path / "repo", {"outer.service.yaml": dump_card(outer), "inner.service.yaml": dump_card(inner)})
    render_in_process(repo)
    inner_tree = {k: v for k, v in snapshot(repo).items() if k.startswith("apps/outer/inner/")}
    assert inner_tree
    render_in_process(repo, str(repo / "services" / "outer.service.yaml"))
    assert {k: v for k, v in snapshot(repo).items() if k.startswith("apps/outer/inner/")} == inner_tree


# --------------------------------------------------------------------------- every field, generated from the schema

WRONG_VALUES: list[tuple[str, Any]] = [("object", {"wrong": "type"}), ("array", ["wrong"]), ("string", "wrong"),
                                       ("integer", 12345), ("boolean", True)]


def allowed_types(schema: dict[str, Any]) -> set[str]:
    """JSON types a schema admits (`number` admits integers too; `{}` admits everything)."""
    types: set[str] = set()
    if "type" in schema:
        types |= set(schema["type"] if isinstance(schema["type"], list) else [schema["type"]])
    for value in ([schema["const"]] if "const" in schema else []) + list(schema.get("enum", [])):
        types.add({bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array",
                   type(None): "null"}[type(value)])
    for alternative in schema.get("anyOf", []):
        types |= allowed_types(alternative)
    if "number" in types:
        types.add("integer")
    if not types:
        types = {"object", "array", "string", "integer", "boolean", "number", "null"}
    return types


def object_alternatives(schema: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    """The object schemas of `schema` that fit `value` (its required keys are there)."""
    found: list[dict[str, Any]] = []
    if value is not None and not isinstance(value, dict):
        return found  # a probe written as a path string: its object forms are not this card's
    for alternative in schema.get("anyOf", [schema]):
        if alternative.get("type") == "object" and "properties" in alternative:
            if not isinstance(value, dict) or set(alternative.get("required", [])) <= set(value):
                found.append(alternative)
        elif "anyOf" in alternative:
            found += object_alternatives(alternative, value)
    return found


def schema_fields(schema: dict[str, Any], data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every field the schema describes, as (path in FULL_CARD, its schema); lists at index 0,
    environments at `dev`."""
    for alternative in object_alternatives(schema, data):
        for key, sub in alternative["properties"].items():
            child = data.get(key) if isinstance(data, dict) else None
            yield path + (key,), sub
            if key == "environments":
                environment = sub["additionalProperties"]
                yield from schema_fields(environment, (child or {}).get("dev"), path + (key, "dev"))
                continue
            items = sub.get("items") if sub.get("type") == "array" else None
            if isinstance(items, dict):
                yield from schema_fields(items, child[0] if isinstance(child, list) and child else None,
                                         path + (key, 0))
            else:
                yield from schema_fields(sub, child, path + (key,))


SCHEMA = build_schema()
FIELDS = list(dict.fromkeys((p, json.dumps(s, sort_keys=True)) for p, s in schema_fields(SCHEMA, FULL_CARD)))


def wrong_type_cases() -> list[Any]:
    cases = []
    for path, text in FIELDS:
        if path in (("apiVersion",), ("kind",)):
            continue
        types = allowed_types(json.loads(text))
        kind, value = next((k, v) for k, v in WRONG_VALUES if k not in types)
        cases.append(pytest.param(path, value, id=f"{field_name(path)}={kind}"))
    return cases


def constraint_cases() -> list[Any]:
    """A value of the right type that breaks the field's pattern, enum, range or length."""
    cases = []
    for path, text in FIELDS:
        schema = json.loads(text)
        for alternative in schema.get("anyOf", [schema]):
            if "anyOf" in alternative:
                continue
            if "pattern" in alternative:
                breaking = next(v for v in ("Not Valid!\n", "bell\x07", "a b") if not re.search(alternative["pattern"], v))
                cases.append(pytest.param(path, breaking, id=f"{field_name(path)}-pattern"))
            if "enum" in alternative:
                cases.append(pytest.param(path, "not-one-of-them", id=f"{field_name(path)}-enum"))
            if "maximum" in alternative:
                cases.append(pytest.param(path, alternative["maximum"] * 10 + 1, id=f"{field_name(path)}-maximum"))
            if "minimum" in alternative:
                cases.append(pytest.param(path, alternative["minimum"] - 1, id=f"{field_name(path)}-minimum"))
            if "maxLength" in alternative:
                cases.append(pytest.param(path, "a" * (alternative["maxLength"] + 1), id=f"{field_name(path)}-maxLength"))
    return list({c.id: c for c in cases}.values())


def key_lines(text: str, path: PathKey) -> set[int]:
    """1-based lines of the keys (or list items) along `path` in a YAML text (PyYAML's own positions)."""
    node, lines = yaml.compose(text), set()
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                break
            lines.add(match[0].start_mark.line + 1)
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            lines.add(node.start_mark.line + 1)
        else:
            break
    return lines


def assert_field_refused(tmp_path: Path, path: PathKey, value: Any) -> None:
    text = dump_card(set_path(FULL_CARD, path, value))
    repo = write_repo(tmp_path / "repo", {"full.service.yaml": text})
    run = render_in_process(repo)
    match = assert_located_refusal(run, "services/full.service.yaml")
    names = [field_name(path[:k]) for k in range(len(path), 0, -1)]
    assert any(name in match["message"] for name in names), (names, match["message"])
    assert int(match["line"]) in key_lines(text, path), (key_lines(text, path), match.group(0))
    assert sorted(p.name for p in repo.iterdir() if p.name != ".shipcard") == ["services"]


def test_the_full_card_is_valid_and_renders(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"full.service.yaml": dump_card(FULL_CARD)})
    run = render_in_process(repo)
    assert run.code == 0, run.output
    assert len(FIELDS) > 80  # the walk reached the nested fields, environments and jobs


@pytest.mark.parametrize("path,value", wrong_type_cases())
def test_every_field_with_a_wrong_type_is_refused(tmp_path: Path, path: PathKey, value: Any) -> None:
    assert_field_refused(tmp_path, path, value)


@pytest.mark.parametrize("path,value", constraint_cases())
def test_every_field_breaking_its_constraint_is_refused(tmp_path: Path, path: PathKey, value: Any) -> None:
    assert_field_refused(tmp_path, path, value)


# --------------------------------------------------------------------------- Jinja stays literal

JINJA = "{{ 7*191 }}{% if true %}-jinja-{% endif %}{# c #}"
EVALUATED = "1337"


def string_fields() -> list[Any]:
    cases = []
    for path, text in FIELDS:
        schema = json.loads(text)
        if "string" not in allowed_types(schema) or path in (("apiVersion",), ("kind",)) or "enum" in schema:
            continue
        cases.append(pytest.param(path, id=field_name(path)))
    return cases


def jinja_value(path: PathKey) -> Any:
    holder = FULL_CARD
    for step in path[:-1]:
        holder = holder.get(step, {}) if isinstance(holder, dict) else holder[step]
    current = holder.get(path[-1]) if isinstance(holder, dict) else None
    if isinstance(current, str) and current.startswith("/"):
        return "/" + JINJA
    return JINJA


@pytest.mark.parametrize("path", string_fields())
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_jinja_in_a_string_field_stays_literal_or_is_refused(tmp_path: Path, path: PathKey, fmt: str) -> None:
    data = set_path(FULL_CARD, ("gitops", "format"), fmt)
    data = set_path(data, path, jinja_value(path))
    repo = write_repo(tmp_path / "repo", {"full.service.yaml": dump_card(data)})
    run = render_in_process(repo)
    assert "Traceback" not in run.output
    if run.code == 2:
        assert_located_refusal(run, "services/full.service.yaml")
        return
    assert run.code == 0, run.output
    written = "".join(p.read_text() for p in sorted(repo.rglob("*")) if p.is_file() and "services" not in p.parts)
    assert EVALUATED not in written
    if path[-1] != "description":  # documentation only: no rendered file carries it
        assert "{{ 7*191 }}" in written, "the value vanished instead of staying literal"


@pytest.mark.helm
def test_jinja_in_helm_values_stays_literal_through_helm_template(tmp_path: Path, helm: str) -> None:
    import subprocess

    data = set_path(FULL_CARD, ("gitops", "format"), "helmfile")
    data = set_path(data, ("env", "GREETING"), JINJA + "{{ .Release.Name }}{{ include \"x\" . }}")
    data = set_path(data, ("jobs", 0, "command"), [JINJA])
    repo = write_repo(tmp_path / "repo", {"full.service.yaml": dump_card(data)})
    assert render_in_process(repo).code == 0
    tree = repo / "apps" / "full"
    result = subprocess.run([helm, "template", "full", str(repo / "charts" / "service"),
                             "--values", str(tree / "values" / "common.yaml"),
                             "--values", str(tree / "values" / "dev.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "{{ 7*191 }}" in result.stdout and "{{ .Release.Name }}" in result.stdout
    assert EVALUATED not in result.stdout


# --------------------------------------------------------------------------- a lock file is input too


@pytest.mark.parametrize("text,words", [
    pytest.param(alias_bomb("version: 1\nimages: {}\n"), "alias bomb", id="alias-bomb"),
    pytest.param("version: 1\nimages:\n  a: {digest: sha256:" + "0" * 64 + "}\n  a: {}\n", "duplicate key", id="duplicate-key"),
    pytest.param("version: 1\nimages:\n  nginx:1.0: {digest: md5:abc}\n", "digest", id="bad-digest"),
    pytest.param("- a\n", "lock file", id="not-a-mapping"),
])
def test_a_broken_lock_file_is_refused_with_its_line(tmp_path: Path, text: str, words: str) -> None:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": dump_card(SMALL_CARD)})
    lock = repo / "images.lock"
    lock.write_text(text)
    run = render_in_process(repo, "--lock", str(lock))
    assert_located_refusal(run, "images.lock")
    assert words in run.stderr
    assert not (repo / "apps").exists()


# --------------------------------------------------------------------------- check: cards and manifests

CHECK_CARD_CASES = ([(i, c) for i, c, _ in YAML_ATTACKS] + [(i, t) for i, t, _ in NAME_ATTACKS]
                    + [("nesting-flow", VALID + "description: " + "[" * 10_000 + "]" * 10_000 + "\n"),
                       ("wrong-type-replicas", dump_card(card(SMALL_CARD, replicas="two")))])


def findings_by_file(run: Run) -> dict[str, list[dict[str, Any]]]:
    report = json.loads(run.stdout)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        grouped.setdefault(finding["file"], []).append(finding)
    return grouped


def test_check_reports_every_bad_card_with_its_line(tmp_path: Path) -> None:
    cards = {f"{case_id}.service.yaml": content for case_id, content in CHECK_CARD_CASES}
    repo = write_repo(tmp_path / "repo", cards)
    run = shipcard("check", "services", "--format", "json", cwd=repo)
    assert run.code == 1, run.output[-3000:]
    assert "Traceback" not in run.output
    found = findings_by_file(run)
    missing = []
    for name in cards:
        errors = [f for f in found.get(f"services/{name}", []) if f["severity"] == "error"]
        if not errors or not all(f["line"] > 0 for f in errors):
            missing.append((name, errors))
    assert missing == []
    assert not (repo / "PWNED").exists()


def write_manifest_attacks(directory: Path) -> list[str]:
    deployment = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n"
                  "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n"
                  "    spec:\n      containers:\n        - name: web\n          image: nginx:1.0\n")
    attacks: dict[str, str | bytes] = {
        "alias-bomb.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
                           + "".join("  " + line + "\n" for line in alias_bomb().splitlines()),
        "duplicate-key.yaml": deployment.replace("  name: web\n", "  name: web\n  name: again\n"),
        "invalid-utf8.yaml": deployment.encode() + b"# caf\xe9\n",
        "tab-indentation.yaml": deployment.replace("    spec:", "\tspec:"),
        "stream-non-mapping.yaml": deployment + "---\n- a list\n",
        "nesting-flow.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: "
                             + "[" * 10_000 + "]" * 10_000 + "\n",
        "nesting-block.yaml": "apiVersion: v1\nkind: List\nitems:\n" + "  " + "- " * 10_000 + "x\n",
        "python-tag.yaml": deployment.replace("name: web\n", "name: !!python/object/apply:os.system ['touch PWNED']\n", 1),
        "syntax-error.yaml": deployment + "  extra: [unclosed\n",
    }
    with open(directory / "fifty-megabytes.yaml", "w") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  big: |\n")
        for _ in range(50 * 1024):
            handle.write("    " + "x" * 1019 + "\n")
    for name, content in attacks.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return sorted([*attacks, "fifty-megabytes.yaml"])


def test_check_reports_every_bad_manifest_with_its_line_in_one_run(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    directory.mkdir()
    names = write_manifest_attacks(directory)
    started = time.monotonic()
    run = shipcard("check", "manifests", "--format", "json", cwd=tmp_path)
    assert time.monotonic() - started < 120
    assert run.code == 1, run.output[-3000:]
    assert "Traceback" not in run.output
    found = findings_by_file(run)
    missing = [name for name in names
               if not any(f["severity"] == "error" and f["line"] > 0 for f in found.get(f"manifests/{name}", []))]
    assert missing == []
    assert not (tmp_path / "PWNED").exists()


def test_check_text_output_names_file_and_line_for_a_bad_card(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"dup.service.yaml": VALID + "port: 9090\n"})
    run = shipcard("check", "services", cwd=repo)
    assert run.code == 1 and "Traceback" not in run.output
    assert "services/dup.service.yaml:10:1: error   card-invalid: duplicate key" in run.stdout


# --------------------------------------------------------------------------- the tools check runs


KUSTOMIZATION_BROKEN = "resources:\n  - deployment.yaml\n  - missing-file.yaml\n"


@pytest.mark.kubectl
def test_a_failing_kustomize_build_surfaces_kubectl_stderr(tmp_path: Path, kubectl: str) -> None:
    overlay = tmp_path / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(KUSTOMIZATION_BROKEN)
    (overlay / "deployment.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    run = shipcard("check", "broken", "--format", "json", cwd=tmp_path, env={"SHIPCARD_KUBECTL": kubectl})
    assert run.code == 1 and "Traceback" not in run.output
    failures = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "render-failed"]
    assert len(failures) == 1
    assert "kubectl kustomize" in failures[0]["message"] and "missing-file.yaml" in failures[0]["message"]
    assert failures[0]["file"] == "broken/kustomization.yaml"


@pytest.mark.kubectl
def test_a_hanging_kustomize_build_is_stopped_by_the_render_timeout(tmp_path: Path, kubectl: str) -> None:
    """A remote resource on a server that accepts and never answers: kubectl would wait; check must not."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        port = listener.getsockname()[1]
        overlay = tmp_path / "hangs"
        overlay.mkdir()
        (overlay / "kustomization.yaml").write_text(f"resources:\n  - http://127.0.0.1:{port}/remote.yaml\n")
        started = time.monotonic()
        run = shipcard("check", "hangs", "--allow-remote", "--format", "json", cwd=tmp_path,
                       env={"SHIPCARD_KUBECTL": kubectl, "SHIPCARD_RENDER_TIMEOUT": "3"}, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert run.code == 1 and "Traceback" not in run.output
    failures = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "render-failed"]
    assert len(failures) == 1 and "did not finish in 3 s" in failures[0]["message"], failures
    assert elapsed < 60


@pytest.mark.helm
def test_a_failing_helm_template_surfaces_helm_stderr(tmp_path: Path, helm: str) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                                 "  name: {{ .Values.name | required \"name-is-required\" }}\n")
    run = shipcard("check", "chart", "--format", "json", cwd=tmp_path, env={"SHIPCARD_HELM": helm})
    assert run.code == 1 and "Traceback" not in run.output
    failures = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "render-failed"]
    assert len(failures) == 1 and "name-is-required" in failures[0]["message"], failures


def test_every_tool_subprocess_has_a_timeout() -> None:
    """Every subprocess call in the package passes timeout= (kubectl, helm, credential helpers)."""
    import ast

    root = ROOT / "generator" / "shipcard"
    missing = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess" \
                    and node.func.attr in ("run", "call", "check_call", "check_output") \
                    and not any(k.arg == "timeout" for k in node.keywords):
                missing.append(f"{path.relative_to(root.parent)}:{node.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Popen":
                missing.append(f"{path.relative_to(root.parent)}:{node.lineno} (Popen: no timeout possible)")
    assert missing == []

