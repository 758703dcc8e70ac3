"""Class 12: `check --base` validates a changed custom resource against the repository's own
CustomResourceDefinition, as a full check does, although the file holding the CRD did not change.

Before, the CRDs came only from the targets `--base` selected: a Widget whose `spec.size` broke its
CRD's schema got `unknown-kind` (a warning) and the pull request passed, exit 0, where a full check
exits 1. A changed CRD however written (JSON, flow YAML) still makes `--base` check everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.check.test_engine_base import commit
from tests.conftest import feature_branch_repo, run_cli

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {
                "size": {"type": "integer"}}}}}}}],
    },
}
CRD_YAML = json.dumps(CRD, indent=1) + "\n"  # JSON is YAML: the same text serves both suffixes
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: a\nspec:\n  size: {size}\n"
BROKEN = "  apps/w.yaml:7:3: error   schema: spec.size: must be integer, not a string [Widget/a/w]"

WHERE_THE_CRD_IS = [
    pytest.param({"crds/widget.yaml": CRD_YAML}, id="plain-manifest"),
    pytest.param({"crds/widget.json": CRD_YAML}, id="plain-json-manifest"),
    pytest.param({"platform/crds/kustomization.yaml": "resources: [widget.yaml]\n",
                  "platform/crds/widget.yaml": CRD_YAML}, id="kustomize-resource"),
]


@pytest.mark.parametrize("files", WHERE_THE_CRD_IS)
def test_a_changed_custom_resource_is_validated_against_the_unchanged_crd(
        tmp_path: Path, files: dict[str, str]) -> None:
    repository = feature_branch_repo(tmp_path, {**files, "apps/w.yaml": WIDGET.format(size=1)})
    commit(repository, {"apps/w.yaml": WIDGET.format(size='"big"')})
    full = run_cli("check", cwd=tmp_path)
    base = run_cli("check", "--base", "main", cwd=tmp_path)
    assert BROKEN in full.stdout.splitlines()
    assert (base.exit_code, full.exit_code) == (1, 1)
    assert BROKEN in base.stdout.splitlines()
    assert "unknown-kind" not in base.stdout
    assert base.stderr.splitlines()[:2] == ["--base main: 1 changed file(s)",
                                            "selected apps/w.yaml: apps/w.yaml changed"]


@pytest.mark.parametrize("text", [
    pytest.param(CRD_YAML, id="json"),
    pytest.param("{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: x}}\n",
                 id="flow-yaml"),
    pytest.param("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apiextensions.k8s.io/v1\n"
                 "    kind: CustomResourceDefinition\n    metadata: {name: x}\n", id="list-item"),
])
def test_a_changed_crd_however_written_checks_everything(tmp_path: Path, text: str) -> None:
    repository = feature_branch_repo(tmp_path, {"apps/w.yaml": WIDGET.format(size=1), "misc/cm.yaml":
                                                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n"})
    commit(repository, {"crds/widget.json": text})
    base = run_cli("check", "--base", "main", cwd=tmp_path)
    assert base.stderr.splitlines()[0] == \
        "--base main: checking everything: crds/widget.json changed, a CustomResourceDefinition"
