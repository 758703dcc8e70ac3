"""Issue 13, class 10: every regex applied to user data runs in linear time, every rule in O(n log n).

Each pattern that meets repository content (the policy pack's schemas, the card schema, the
bundled CRD schemas, `shipcard.patterns`, and the module-level regexes of shipcard that read
user data) is run on 100 kB of its own near-misses: long runs of each of its characters, pairs
of runs, its literals repeated, each followed by what makes the match fail. Every call must end
within a second: the bound guards catastrophic backtracking (a quadratic pattern takes minutes on
100 kB), not speed; `bench/check_bench.py --big-configmap` times the real case. The rules are run
on objects with tens of thousands of entries (env, containers, ports, keys, objects sharing a
namespace) under a generous bound that a quadratic loop would break.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml

import shipcard.schemas
from shipcard import patterns
from shipcard.card.model import duration_seconds
from shipcard.card.schema import build_schema
from shipcard.check.rules import DataRule, load_rules
from shipcard.images import ReferenceError, parse_reference
from tests.check.rule_examples import run_example
from tests.conftest import run_cli

N = 100_000
CEILING = 1.0  # seconds per call on 100 kB: far above linear, far below quadratic
RULES = load_rules()


class TooSlow(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TooSlow


def timed(call: Callable[[], Any], ceiling: float = CEILING) -> float:
    """CPU seconds `call` took; TooSlow when it uses more than `ceiling` (Python's regex engine checks signals).

    CPU time of this process, not wall time: other processes on a busy machine do not count.
    """
    previous = signal.signal(signal.SIGVTALRM, _alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, ceiling)
    start = time.process_time()
    try:
        call()
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
    return time.process_time() - start


# --------------------------------------------------------------------------- the patterns


def schema_patterns(node: Any) -> Iterator[str]:
    """Every `pattern` and `patternProperties` key of a JSON Schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from value
            yield from schema_patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_patterns(value)


def all_schema_patterns() -> list[Any]:
    """(source, pattern) of every pattern JSON Schema validation applies to user strings (with re.search)."""
    found: dict[str, str] = {}
    for rule in RULES:
        if isinstance(rule, DataRule):
            for pattern in schema_patterns(rule.schema):
                found.setdefault(pattern, f"policy-{rule.id}")
    for pattern in schema_patterns(build_schema()):
        found.setdefault(pattern, "card")
    for path in sorted((Path(shipcard.schemas.__file__).parent / "crds").glob("*.json")):
        for pattern in schema_patterns(json.loads(path.read_text(encoding="utf-8"))):
            found.setdefault(pattern, f"crd-{path.stem}")
    for name, value in vars(patterns).items():
        if name.isupper() and isinstance(value, str) and value.startswith("^"):
            found.setdefault(value, f"patterns-{name}")
    counts: dict[str, int] = {}
    params = []
    for pattern, source in found.items():
        counts[source] = counts.get(source, 0) + 1
        params.append(pytest.param(pattern, id=f"{source}-{counts[source]}"))
    return params


def near_misses(pattern: str) -> Iterator[str]:
    """100 kB strings built from the pattern's own characters and literals, each ending in a mismatch."""
    own = sorted({c for c in pattern if " " <= c <= "~"} | set("aA0 -./:@_"))
    for c in [*own, "\n"]:
        yield c * N
        yield c * N + "!"
        yield c * N + "\n"
    separators = [c for c in own if not c.isalnum()] + ["a", "A", "0", "\n"]
    for c, d in itertools.permutations(separators, 2):  # 50 kB: still minutes for a quadratic pattern
        yield c * (N // 4) + d * (N // 4) + "!"
        yield (c + d) * (N // 4) + "!"
    for literal in set(re.findall(r"[A-Za-z0-9:/@._{}=-]{2,}", pattern)):
        for c in ("a", "A", "0", " ", "-", ".", "\n"):
            yield literal + c * N
            yield (literal + c) * (N // (len(literal) + 1)) + "!"
        yield literal * (N // len(literal)) + "!"


@pytest.mark.parametrize("pattern", all_schema_patterns())
def test_every_schema_pattern_is_linear_on_its_near_misses(pattern: str) -> None:
    compiled = re.compile(pattern)
    for text in near_misses(pattern):
        try:
            timed(lambda text=text: compiled.search(text))
        except TooSlow:
            pytest.fail(f"{pattern!r} takes over {CEILING}s on {text[:20]!r}...{text[-5:]!r} ({len(text)} chars)")


# The module-level regexes of shipcard that read repository content, with the way they are applied.
CODE_REGEXES = [
    pytest.param("shipcard.images", "_DIGEST", "fullmatch", id="image-digest"),
    pytest.param("shipcard.images", "_TAG", "fullmatch", id="image-tag"),
    pytest.param("shipcard.images", "_COMPONENT", "fullmatch", id="image-component"),
    pytest.param("shipcard.images", "_REGISTRY", "fullmatch", id="image-registry"),
    pytest.param("shipcard.images", "_SPACE", "search", id="image-space"),
    pytest.param("shipcard.card.model", "_DURATION_PART", "findall", id="duration-part"),
    pytest.param("shipcard.patterns", "_TIME_ZONE_PART", "fullmatch", id="time-zone-part"),
    pytest.param("shipcard.patterns", "_GO_INT", "fullmatch", id="cron-number"),
    pytest.param("shipcard.patterns", "_GO_DURATION", "fullmatch", id="every-duration"),
    pytest.param("shipcard.errors", "_UNPRINTABLE", "sub", id="one-line"),
    pytest.param("shipcard.yamlio.read", "_ANCHOR", "search", id="yaml-anchor"),
    pytest.param("shipcard.yamlio.read", "_ALIAS", "search", id="yaml-alias"),
    pytest.param("shipcard.yamlio.read", "_LONG_INDICATOR_RUN", "search", id="yaml-indicator-run"),
    pytest.param("shipcard.yamlio.roundtrip", "_TAG_PROPERTY", "search", id="yaml-tag"),
    pytest.param("shipcard.yamlio.dump", "_OTHER_READERS_NOT_STR", "fullmatch", id="dump-not-str"),
    pytest.param("shipcard.yamlio.dump", "_NEEDS_A_STYLE", "search", id="dump-style"),
    pytest.param("shipcard.yamlio.edit", "_PLAIN_SAFE", "match", id="edit-plain"),
    pytest.param("shipcard.check.rules.data", "RULE_ID", "match", id="rule-id"),
    pytest.param("shipcard.check.rules.cross._api_ports", "_PORT_NAME_CHARSET", "fullmatch", id="port-name"),
    pytest.param("shipcard.check.rules.cross._api_ports", "_DNS_LABEL", "fullmatch", id="port-dns-label"),
    pytest.param("shipcard.check.rules.cross.hook_dependency_order", "_GO_INT", "fullmatch", id="hook-int"),
]


@pytest.mark.parametrize("module,name,mode", CODE_REGEXES)
def test_every_code_regex_on_user_data_is_linear(module: str, name: str, mode: str) -> None:
    compiled = getattr(__import__(module, fromlist=[name]), name)
    apply = getattr(compiled, mode)
    for text in near_misses(compiled.pattern):
        call = (lambda text=text: apply("", text)) if mode == "sub" else (lambda text=text: apply(text))
        try:
            timed(call)
        except TooSlow:
            pytest.fail(f"{module}.{name} ({mode}) takes over {CEILING}s on {text[:20]!r}... ({len(text)} chars)")


@pytest.mark.parametrize("text", [
    pytest.param("a" * N + "!", id="letters"),
    pytest.param("a-" * (N // 2) + ":", id="dashes-then-colon"),
    pytest.param("example.com/" + "a/" * (N // 2) + ":1", id="many-components"),
    pytest.param("a" * N + "@sha256:" + "0" * N, id="long-digest"),
    pytest.param("a." * (N // 2) + "com:99999/x", id="long-registry"),
    pytest.param("x:" + "1" * N, id="long-tag"),
])
def test_image_parsing_is_linear(text: str) -> None:
    def parse() -> None:
        try:
            parse_reference(text)
        except ReferenceError:
            pass

    timed(parse)


def test_durations_are_read_in_linear_time() -> None:
    timed(lambda: duration_seconds("0" * N + "s"))
    assert duration_seconds("1h30m") == 5400


@pytest.mark.parametrize("schedule", [
    pytest.param("1," * (N // 2) + " * * * *", id="long-list"),
    pytest.param("1-" * (N // 2) + " * * * *", id="many-hyphens"),
    pytest.param("@every " + "1h" * (N // 2), id="long-every"),
    pytest.param("0 " * N, id="many-fields"),
])
def test_cron_and_time_zone_checks_are_linear(schedule: str) -> None:
    timed(lambda: patterns.cron_problem(schedule))
    timed(lambda: patterns.time_zone_problem(schedule.replace(" ", "/")))


# --------------------------------------------------------------------------- rules on large objects


def config_map(values: dict[str, str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                           "data": values}, sort_keys=False, width=10**9)


SECRET_DETECTION_CASES = [
    pytest.param("A" * N, id="letters"),
    pytest.param("A" * N + "://u:" + "p" * N, id="long-scheme-and-password"),
    pytest.param("a1" * (N // 2), id="letters-and-digits"),
    pytest.param("a://" * (N // 4), id="schemes"),
    pytest.param("a://u:" * (N // 6), id="userinfo-without-host"),
    pytest.param("password" * (N // 8), id="keyword-run"),
    pytest.param("password=" * (N // 9), id="keyword-assignments"),
    pytest.param("-----BEGIN " * (N // 11), id="pem-headers"),
    pytest.param("-----BEGIN " + "A " * (N // 2), id="pem-header-long-type"),
    pytest.param(" " * N + "password", id="indent"),
    pytest.param("\n" * N + "x", id="newlines"),
]


@pytest.mark.parametrize("value", SECRET_DETECTION_CASES)
def test_secret_detection_in_a_config_map_is_linear(value: str) -> None:
    manifest = config_map({"config.txt": value, "SECRET_" + "A" * 1000: value})
    timed(lambda: run_example(RULES, manifest), ceiling=3.0)


@pytest.mark.parametrize("revision", [
    pytest.param("{" * (N // 2) + "\n" * (N // 2) + "!", id="braces-then-newlines"),
    pytest.param("1." * (N // 2) + "!", id="dotted-numbers"),
    pytest.param("refs/tags/" + "\n" * N + "!", id="tag-then-newlines"),
])
def test_argocd_revision_check_is_linear(revision: str) -> None:
    manifest = yaml.safe_dump({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {
        "name": "web", "namespace": "argocd"}, "spec": {"project": "web", "source": {
            "repoURL": "https://git.example.com/gitops.git", "path": "apps/web", "targetRevision": revision},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}, width=10**9)
    timed(lambda: run_example(RULES, manifest), ceiling=3.0)


def deployment(name: str, containers: list[dict[str, Any]], labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "big"},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": containers}}}}


def container(index: int, **fields: Any) -> dict[str, Any]:
    return {"name": f"c{index}", "image": "ghcr.io/example/web:1.0.0", **fields}


def many_objects(count: int) -> list[dict[str, Any]]:
    """`count` each of Deployments, Services, NetworkPolicies, HPAs and PDBs in one namespace."""
    objects: list[dict[str, Any]] = []
    for i in range(count):
        labels = {"app": f"app{i}", "tier": "web"}
        objects.append(deployment(f"app{i}", [container(0, ports=[{"name": "http", "containerPort": 8080}])], labels))
        objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"app{i}", "namespace": "big"},
                        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": f"app{i}", "namespace": "big"},
                        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"]}})
        objects.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": {"name": f"app{i}", "namespace": "big"},
                        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app{i}"},
                                 "minReplicas": 2, "maxReplicas": 4}})
        objects.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": f"app{i}", "namespace": "big"},
                        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}})
    return objects


LARGE_OBJECTS = [
    pytest.param([deployment("web", [container(0, env=[{"name": f"E{i}", "value": "v"} for i in range(20_000)])])],
                 id="20000-env-vars"),
    pytest.param([deployment("web", [container(0, env=[{"name": "SAME", "value": str(i)} for i in range(20_000)])])],
                 id="20000-duplicate-env-vars"),
    pytest.param([deployment("web", [container(i, ports=[{"name": f"p{i}", "containerPort": 1000 + i}],
                                               readinessProbe={"httpGet": {"path": "/", "port": f"p{i}"}})
                                     for i in range(3_000)])], id="3000-containers-with-ports-and-probes"),
    pytest.param([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": f"p{i}", "port": 1 + i, "targetPort": f"p{i}"}
                                              for i in range(5_000)]}}], id="5000-service-ports"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                   "data": {f"key-{i}": "value" for i in range(50_000)}}], id="50000-configmap-keys"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "big", "labels": {f"l{i}": "v" for i in range(10_000)},
        "annotations": {f"a{i}": "v" for i in range(10_000)}}}], id="10000-labels-and-annotations"),
    pytest.param(many_objects(1_000), id="1000-services-workloads-policies"),
]


@pytest.mark.parametrize("objects", LARGE_OBJECTS)
def test_rules_stay_fast_on_large_objects(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(objects, sort_keys=False)
    seconds = timed(lambda: run_example(RULES, text), ceiling=20.0)
    assert seconds < 20.0


def test_check_of_a_one_megabyte_config_map_ends_within_seconds(tmp_path: Path) -> None:
    """End to end (schema, every rule, the text report), the `check` the benchmark times precisely."""
    (tmp_path / "big.yaml").write_text(config_map({"blob": "A" * (1024 * 1024 - 100) + "://u:p"}))
    result: list[Any] = []
    timed(lambda: result.append(run_cli("check", "big.yaml", cwd=tmp_path)), ceiling=10.0)
    assert result[0].exit_code == 0, result[0].output


@pytest.mark.parametrize(("glob", "path"), [
    pytest.param("*a" * 15 + "b", "a" * 200, id="stars-and-letters"),
    pytest.param("**/" * 30 + "x", "a/" * 1000 + "y", id="directory-stars"),
    pytest.param("?" * 50 + "*" * 50 + "c", "b" * 5000, id="marks-and-stars"),
])
def test_a_suppression_glob_from_shipcard_yaml_is_matched_in_bounded_time(glob: str, path: str) -> None:
    """`check.ignore` paths come from shipcard.yaml, repository content: no exponential backtracking."""
    from shipcard.check.suppress import glob_matches

    timed(lambda: glob_matches(glob, path))
    assert glob_matches(glob, path) is False


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                code: {type: string, pattern: '{pattern}'}
"""


@pytest.mark.parametrize("pattern, value, expected", [
    pytest.param("^(a+)+$", "a" * 30_000 + "!", [1], id="nested-quantifier-near-miss"),
    pytest.param("^(a|aa)+$", "a" * 30_000 + "b", [1], id="alternation-near-miss"),
    pytest.param("^(a+)+$", "a" * 30_000, [], id="nested-quantifier-match"),
    pytest.param("^(a)\\1$", "ab", [], id="backreference-re2-refuses-is-not-checked"),
])
def test_a_crd_pattern_from_the_repository_is_matched_in_linear_time(tmp_path: Path, pattern: str, value: str,
                                                                     expected: list[int]) -> None:
    """Repository content supplies both the pattern (a CRD) and the text: RE2 matches it, as the API
    server's Go regexp does (Python's re takes hours on the first two)."""
    (tmp_path / ".git").mkdir()
    widget = f"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  code: {value}\n"
    (tmp_path / "all.yaml").write_text(CRD.replace("{pattern}", pattern) + "---\n" + widget)
    result: list[Any] = []
    timed(lambda: result.append(run_cli("check", "all.yaml", "--format", "json", cwd=tmp_path)), ceiling=10.0)
    findings = json.loads(result[0].stdout)["findings"]
    line = (CRD.count("\n") + 1) + 7  # the CRD, `---`, then Widget's `code:` on its 7th line
    assert [(f["rule"], f["line"], f["column"], f["object"], f["path"]) for f in findings] == \
        [("schema", line, 3, "Widget/shop/w", "spec.code") for _ in expected]


ORG_RULE = """id: org-code
severity: warning
category: organisation
title: Codes follow the house style
rationale: Because.
fix: Follow it.
target: object
kinds: [ConfigMap]
schema:
  properties:
    data:
{schema}
message: '{{kind}} "{{name}}" breaks the house style'
examples:
  pass: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: a}}\\n"]
  fail: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: a}}\\n"]
"""


@pytest.mark.parametrize("schema, where", [
    pytest.param("      properties:\n        code: {pattern: '^(a+)\\1$'}", "13:16: schema.properties.data"
                 ".properties.code.pattern", id="backreference"),
    pytest.param("      patternProperties:\n        '^(?=x)': {type: string}", "13:9: schema.properties.data"
                 ".patternProperties.^(?=x)", id="lookahead-property-name"),
    pytest.param("      additionalProperties:\n        not: {pattern: '(?<!a)b'}", "13:15: schema.properties.data"
                 ".additionalProperties.not.pattern", id="lookbehind-nested"),
])
def test_a_policy_dir_pattern_re2_cannot_compile_is_refused(tmp_path: Path, schema: str, where: str) -> None:
    """A rule from the repository's policy-dirs is untrusted: a pattern only a backtracking engine can
    run would let a pull request pick the check's running time, so the rule is refused (exit 2)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "shipcard.yaml").write_text("apiVersion: shipcard/v1\nkind: Repository\n"
                                            "check:\n  policy-dirs: [org]\n")
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "org-code.yaml").write_text(ORG_RULE.format(schema=schema))
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {code: aa}\n")
    result = run_cli("check", "cm.yaml", cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"shipcard: org/org-code.yaml:{where}: RE2 cannot compile this pattern (backreferences "
                             "and lookaround are not matched in linear time); write it in RE2 syntax\n")

