"""api-duplicate-name: the API server's one name set per list, each case at its line and column."""

from __future__ import annotations

import pytest

from shipcard.check.rules import RuleSet, load_rules
from tests.check.rule_examples import run_example

RULES = RuleSet(load_rules())


def pod(body: str) -> str:
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n" + body


ONE = "    - {name: web, image: ghcr.io/example/web:1.0.0}\n"


@pytest.mark.parametrize("text, expected", [
    pytest.param(pod("  initContainers:\n" + ONE + "  containers:\n" + ONE), [(9, 8, 'container name "web"')],
                 id="init-and-regular"),
    pytest.param(pod("  containers:\n" + ONE + "  ephemeralContainers:\n" + ONE), [(9, 8, 'container name "web"')],
                 id="ephemeral-and-regular"),
    pytest.param(pod("  containers:\n" + ONE + ONE + ONE), [(8, 8, 'container name "web"'),
                                                         (9, 8, 'container name "web"')], id="three-alike"),
    pytest.param(pod("  containers:\n" + ONE + "  volumes:\n    - name: a\n      emptyDir: {}\n"
                     "    - name: a\n      emptyDir: {}\n"), [(11, 7, 'volume name "a"')], id="volumes"),
    pytest.param(pod("  containers:\n    - name: web\n      image: ghcr.io/example/web:1.0.0\n      ports:\n"
                     "        - {name: http, containerPort: 80}\n        - {name: http, containerPort: 81}\n"),
                 [(11, 12, 'port name "http"')], id="container-ports"),
])
def test_a_repeated_name_is_reported_at_the_second_entry(text: str, expected: list[tuple[int, int, str]]) -> None:
    found = [(f.line, f.column, f.message) for f in run_example(RULES, text, "api-duplicate-name")]
    assert [(line, column) for line, column, _ in found] == [(line, column) for line, column, _ in expected]
    assert all(part in message for (_, _, message), (_, _, part) in zip(found, expected, strict=True))


@pytest.mark.parametrize("text", [
    pytest.param(pod("  containers:\n" + ONE + "    - {name: sidecar, image: ghcr.io/example/s:1.0.0}\n"),
                 id="distinct"),
    pytest.param(pod("  containers:\n    - {name: web, image: ghcr.io/example/web:1.0.0, ports: [{name: http, "
                     "containerPort: 80}]}\n    - {name: side, image: ghcr.io/example/s:1.0.0, ports: [{name: http, "
                     "containerPort: 81}]}\n"), id="same-port-name-in-two-containers"),
    pytest.param(pod("  containers:\n    - {name: , image: ghcr.io/example/web:1.0.0}\n"
                     "    - {name: , image: ghcr.io/example/web:1.0.0}\n"), id="null-names-are-schema-errors"),
])
def test_distinct_names_pass(text: str) -> None:
    assert run_example(RULES, text, "api-duplicate-name") == []
