"""Properties (issue 7), with hypothesis and cards generated from the card's JSON Schema (cardgen.py).

Valid cards: render never crashes and is byte-identical when repeated; every overlay builds with
the real `kubectl kustomize` to exactly the model's objects; every built object passes strict
schema validation (kubernetes-validate; the bundled CRD schema for ExternalSecret) and the
API server's own name, label, quantity and integer rules; `shipcard check` on the output has no
error-level finding. Invalid cards: exit 2 with one located line, never a traceback.

The default example counts keep CI fast; SHIPCARD_FUZZ_EXAMPLES raises them for a long campaign
(docs/hardening.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from cardgen import SCHEMA, card_sets, raw_cards, valid_cards
from hardhelpers import ONE_LINE_ERROR, dump_card, field_name, set_path, snapshot, write_repo
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from shipcard.card.load import load_card
from shipcard.errors import InputError
from shipcard.k8s.objects import environment_objects
from shipcard.schemas import crd_schema
from shipcard.yamlio.read import load_plain_all
from tests.conftest import run_cli

EXAMPLES = int(os.environ.get("SHIPCARD_FUZZ_EXAMPLES", "0"))
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
# CI: a fixed seed and no shrinking (each example renders and builds, so shrinking takes minutes);
# a campaign (SHIPCARD_FUZZ_EXAMPLES) draws new examples and shrinks what fails.
SETTINGS = dict(deadline=None, derandomize=not EXAMPLES, print_blob=True,
                phases=list(Phase) if EXAMPLES else [Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


def examples(default: int) -> int:
    return EXAMPLES or default


# --------------------------------------------------------------------------- the API server's own rules

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
PORT_NAME = re.compile(r"(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?")
QUANTITY = re.compile(r"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?")
CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?-]+")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
MAX_NAME = {"Service": 63, "CronJob": 52, "Job": 63, "Namespace": 63}


def api_problems(obj: dict[str, Any]) -> list[str]:
    """What the Kubernetes API server would refuse that an OpenAPI schema cannot say."""
    problems: list[str] = []
    kind, meta = obj.get("kind", ""), obj.get("metadata", {})
    name = meta.get("name", "")
    pattern = DNS_1035 if kind == "Service" else DNS_SUBDOMAIN
    if not pattern.fullmatch(name) or len(name) > MAX_NAME.get(kind, 253):
        problems.append(f"{kind} name {name!r}")
    if "namespace" in meta and (not DNS_LABEL.fullmatch(meta["namespace"]) or len(meta["namespace"]) > 63):
        problems.append(f"namespace {meta['namespace']!r}")
    for labels in _all(obj, "labels") + _all(obj, "matchLabels"):
        for key, value in labels.items():
            key_name = key.rsplit("/", 1)[-1]
            if not LABEL_NAME.fullmatch(key_name) or len(key_name) > 63:
                problems.append(f"label key {key!r}")
            if value and (not LABEL_NAME.fullmatch(str(value)) or len(str(value)) > 63):
                problems.append(f"label value {value!r}")
    for container in _all(obj, "containers") + _all(obj, "initContainers"):
        for item in container:
            for port in item.get("ports", []):
                if "name" in port and (not PORT_NAME.fullmatch(port["name"]) or len(port["name"]) > 15):
                    problems.append(f"port name {port['name']!r}")
            for group in ("requests", "limits"):
                for resource, amount in (item.get("resources", {}).get(group) or {}).items():
                    if not QUANTITY.fullmatch(str(amount)) or str(amount).startswith("-"):
                        problems.append(f"{group}.{resource} {amount!r}")
    if kind == "Service":
        for port in obj["spec"].get("ports", []):
            if not PORT_NAME.fullmatch(port.get("name", "x")):
                problems.append(f"service port name {port.get('name')!r}")
    if kind == "CronJob":
        schedule = obj["spec"]["schedule"]
        fields = schedule.split()
        if not (schedule.startswith("@") or (len(fields) == 5 and all(CRON_FIELD.fullmatch(f) for f in fields))):
            problems.append(f"schedule {schedule!r}")
    if kind == "ConfigMap":
        problems += [f"ConfigMap key {k!r}" for k in obj.get("data", {}) if not CONFIG_KEY.fullmatch(k)]
    problems += [f"float {value!r} at {where}" for where, value in _floats(obj)]
    return problems


def _all(node: Any, key: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found += _all(v, key)
    elif isinstance(node, list):
        for v in node:
            found += _all(v, key)
    return found


def _floats(node: Any, where: str = "") -> list[tuple[str, float]]:
    if isinstance(node, float):
        return [(where, node)]
    if isinstance(node, dict):
        return [f for k, v in node.items() for f in _floats(v, f"{where}.{k}")]
    if isinstance(node, list):
        return [f for i, v in enumerate(node) for f in _floats(v, f"{where}[{i}]")]
    return []


@cache
def crd_validator(api_version: str, kind: str) -> Draft202012Validator:
    schema = crd_schema(api_version, kind)
    assert schema is not None, (api_version, kind)
    return Draft202012Validator(schema)


def validate_strictly(obj: dict[str, Any]) -> None:
    if obj["kind"] in ("ExternalSecret", "Application", "AppProject"):
        errors = [e.message for e in crd_validator(obj["apiVersion"], obj["kind"]).iter_errors(obj)]
        assert not errors, (obj["kind"], errors)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert api_problems(obj) == [], (obj["kind"], obj["metadata"].get("name"))


# --------------------------------------------------------------------------- helpers


def render(repo: Path, *args: str) -> Any:
    result = run_cli("render", "--out", str(repo), *args, cwd=repo)
    return result


def write_cards(repo: Path, cards: list[dict[str, Any]]) -> list[Path]:
    write_repo(repo, {f"{c['name']}.service.yaml": dump_card(c) for c in cards})
    return sorted((repo / "services").glob("*.service.yaml"))


def loads(card: dict[str, Any], tmp: Path) -> bool:
    path = tmp / f"probe-{card['name']}.service.yaml"
    path.write_text(dump_card(card), encoding="utf-8")
    try:
        load_card(path)
        return True
    except InputError:
        return False
    finally:
        path.unlink()


def build_batches(kubectl: str, repo: Path, cards: list[Any], work: Path) -> dict[tuple[str, str, str], dict]:
    """`kubectl kustomize` once per environment position, over a kustomization listing that
    environment's overlay of every card (distinct cards never share an object name)."""
    built: dict[tuple[str, str, str], dict] = {}
    depth = max(len(c.environments) for c in cards)
    for position in range(depth):
        batch = work / f"batch-{position}"
        batch.mkdir(parents=True, exist_ok=True)
        overlays = [os.path.relpath(repo / c.gitops.path / "overlays" / c.environments[position].name, batch)
                    for c in cards if position < len(c.environments)]
        (batch / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {o}\n" for o in overlays))
        result = subprocess.run([kubectl, "kustomize", str(batch)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        for obj in load_plain_all(result.stdout):
            built[(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
    return built


# --------------------------------------------------------------------------- valid cards


class _Covered(Exception):
    """Every field has been drawn: the walk may stop."""


def test_the_generator_covers_the_schema() -> None:
    """Every field of the schema, top-level and in jobs, is generated by the schema walk."""
    fields = set(SCHEMA["properties"])
    job_fields = set(SCHEMA["properties"]["jobs"]["items"]["properties"])
    seen: set[str] = set()
    seen_in_jobs: set[str] = set()

    @settings(max_examples=1000, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(raw_cards())
    def draw(card: dict[str, Any]) -> None:
        seen.update(card)
        for job in card.get("jobs") or []:
            seen_in_jobs.update(job)
        if fields <= seen and job_fields <= seen_in_jobs:
            raise _Covered

    with contextlib.suppress(_Covered):
        draw()
    assert fields - seen == set()
    assert job_fields - seen_in_jobs == set()


@pytest.mark.kubectl
@pytest.mark.helm
def test_valid_cards_render_build_validate_and_check_clean(tmp_path_factory: pytest.TempPathFactory, kubectl: str,
                                                           helm: str) -> None:
    @settings(max_examples=examples(15), **SETTINGS)
    @given(card_sets())
    def prop(cards: list[dict[str, Any]]) -> None:
        work = tmp_path_factory.mktemp("prop")
        assume(all(loads(c, work) for c in cards))
        repo = work / "repo"
        paths = write_cards(repo, cards)

        first = render(repo)
        assert first.exit_code == 0, first.output
        tree = snapshot(repo)
        again = render(repo)
        assert again.exit_code == 0 and "0 added, 0 modified, 0 removed" in again.stdout, again.output
        assert snapshot(repo) == tree, "a second render changed the tree"
        twin = work / "twin"
        write_cards(twin, cards)
        assert render(twin).exit_code == 0
        assert snapshot(twin) == tree, "the same cards rendered twice differ"

        for rel, data in tree.items():
            if rel.endswith(".yaml") and not rel.startswith(("services/", "charts/")):  # charts: templates
                for doc in load_plain_all(data.decode()):
                    assert not [w for w, _ in _floats(doc)], rel

        loaded = [load_card(p) for p in paths]
        kustomize_cards = [c for c in loaded if c.gitops.format == "kustomize"]
        if kustomize_cards:
            built = build_batches(kubectl, repo, kustomize_cards, work / "batches")
            expected = {}
            for c in kustomize_cards:
                for env in c.environments:
                    for obj in environment_objects(env):
                        expected[(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
            assert built.keys() == expected.keys()
            for key, obj in built.items():
                assert obj == expected[key], f"{key}: the overlay builds to something else than the model"
                validate_strictly(obj)
        for application in (repo / "argocd").rglob("*.yaml"):
            for doc in load_plain_all(application.read_text()):
                validate_strictly(doc)

        checked = run_cli("check", ".", "--format", "json", cwd=repo)  # in-process: a traceback fails the test
        report = json.loads(checked.stdout)
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        assert errors == [], errors

    prop()


# --------------------------------------------------------------------------- invalid cards

WRONG = st.sampled_from([{"wrong": "type"}, ["wrong"], "Not Valid!", 123456789, -1, True, None, 1.5, "", "\n"])


@st.composite
def invalid_cards(draw: st.DrawFn) -> tuple[str, str]:
    """(case, text): a valid card broken one way: a wrong value somewhere, a missing required
    field, an unknown field, or its text cut or corrupted."""
    card = draw(valid_cards())
    text = dump_card(card)
    how = draw(st.sampled_from(["value", "missing", "unknown", "cut", "corrupt"]))
    if how == "value":
        paths = list(_paths(card))
        path = draw(st.sampled_from(paths))
        wrong = draw(WRONG)
        return f"{field_name(path)}={wrong!r}", dump_card(set_path(card, path, wrong))
    if how == "missing":
        key = draw(st.sampled_from(SCHEMA["required"]))
        return f"missing {key}", dump_card({k: v for k, v in card.items() if k != key})
    if how == "unknown":
        key = draw(st.sampled_from(["nmae", "replica", "ports_", "environment", "Image"]))
        return f"unknown {key}", dump_card({**card, key: 1})
    if how == "cut":
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        return f"cut at {cut}", text[:cut]
    position = draw(st.integers(0, len(text)))
    junk = draw(st.sampled_from(["\t", "{", "[", "]", ":", "- ", "&a ", "*a", "!!binary ", "\x00", "\x1b[2J", "%YAML 1.1\n",
                                 "---\n", "\u2028", "? ", "|", ">", "'", '"', "#", "@", "`"]))
    return f"corrupt at {position} with {junk!r}", text[:position] + junk + text[position:]


def _paths(node: Any, path: tuple[str | int, ...] = ()) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path + (index,)
            yield from _paths(value, path + (index,))



def test_invalid_cards_exit_2_with_located_lines(tmp_path_factory: pytest.TempPathFactory) -> None:
    @settings(max_examples=examples(40), **SETTINGS)
    @given(invalid_cards())
    def prop(case: tuple[str, str]) -> None:
        label, text = case
        repo = write_repo(tmp_path_factory.mktemp("invalid") / "repo", {"bad.service.yaml": text})
        result = run_cli("render", "--out", str(repo), cwd=repo)  # a traceback propagates and fails
        if result.exit_code == 0:  # some corruptions leave a valid card (a comment, a quote in free text)
            # without shipcard.yaml nothing fills a required field in, and every field is known
            assert not label.startswith(("missing ", "unknown ")), f"{label}: accepted\n{result.output}"
            assert (repo / "argocd").is_dir(), result.output
            return
        assert result.exit_code == 2, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 20, result.stderr  # one located line per problem of the card
        for line in lines:
            match = ONE_LINE_ERROR.match(line)
            assert match and match["file"].endswith("services/bad.service.yaml"), line
            assert int(match["line"]) >= 1, line
        assert sorted(p.name for p in repo.iterdir() if p.name != ".shipcard") == ["services"]

    prop()
