"""Issue 17: import sources are untrusted — input of any shape is one line `FILE:LINE:COL: field: problem`,
exit 2, nothing written, no traceback, no secret value; nothing is read through a link out of a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.helpers import setup, shipcard_import, written

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
"""


@pytest.mark.parametrize(("kind", "text", "line"), [
    pytest.param("compose", "services:\n  web:\n    image: nginx:1.27\n    ports: 8080\n",
                 "x.yaml:2:3: services.web: a value in it has an unexpected type or shape (a mapping, list or scalar "
                 "where another goes)", id="compose-ports-scalar"),
    pytest.param("compose", "services:\n  web:\n    image: nginx:1.27\n    deploy: {resources: {limits: [1]}}\n",
                 "x.yaml:2:3: services.web: a value in it has an unexpected type or shape (a mapping, list or scalar "
                 "where another goes)", id="compose-limits-list"),
    pytest.param("compose", "services: [web]\n", "x.yaml:1:1: services: a Compose file needs a `services` mapping",
                 id="compose-services-list"),
    pytest.param("compose", "services:\n  web:\n    image: nginx:1.27\n    environment:\n      PASSWORD: [hunter2]\n"
                 "    ports: ['8080:80:90']\n", "x.yaml:6:13: services.web.ports[0]: not a Compose port "
                 "([HOST:]CONTAINER[/PROTOCOL])", id="compose-port-and-a-secret"),
    pytest.param("manifests", DEPLOYMENT + "        - 42\n", "x.yaml:3:12: metadata.name: a value in it has an "
                 "unexpected type or shape (a mapping, list or scalar where another goes)", id="container-scalar"),
    pytest.param("manifests", DEPLOYMENT + "        - {name: api, image: 'api:1', env: {A: b}}\n",
                 "x.yaml:3:12: metadata.name: a value in it has an unexpected type or shape (a mapping, list or "
                 "scalar where another goes)", id="env-mapping"),
    pytest.param("manifests", "kind: Deployment\nmetadata: {}\n", "x.yaml:1:1: not a Kubernetes object (kind and "
                 "metadata.name)", id="no-name"),
    pytest.param("manifests", "a: [b\n", "x.yaml:2:1: did not find expected ',' or ']'", id="yaml"),
])
def test_any_shape_is_one_line_and_nothing_written(tmp_path: Path, kind: str, text: str, line: str) -> None:
    repo = setup(tmp_path)
    (tmp_path / "legacy/x.yaml").write_text(text)
    before = written(repo)
    result = shipcard_import(repo, kind, "../legacy/x.yaml", code=2)
    assert result.output.startswith(f"shipcard: ../legacy/{line}")
    assert result.output.count("\n") == 1 and "hunter2" not in result.output
    assert written(repo) == before


def test_a_directory_of_manifests_is_read_without_following_links_out_of_it(tmp_path: Path) -> None:
    repo = setup(tmp_path)
    directory = tmp_path / "legacy/api"
    directory.mkdir()
    (directory / "deployment.yaml").write_text(DEPLOYMENT + "        - {name: api, image: 'registry.example.com/api:1.2.0'}\n")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\ndata: {A: b}\n")
    (directory / "configmap.yaml").symlink_to(outside)
    result = shipcard_import(repo, "manifests", "../legacy/api")
    assert "stolen" not in result.output
    assert sorted(p.name for p in (repo / "services").iterdir()) == ["README.md", "api.service.yaml"]


def test_an_import_needs_a_repository(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n")
    result = shipcard_import(tmp_path, "compose", "compose.yaml", code=2)
    assert result.output == "shipcard: no shipcard.yaml here or above: run `shipcard init` first (or cd into the " \
                            "repository)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]
