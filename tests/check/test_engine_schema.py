"""Issue 3, engine layers 2 and 3: strict Kubernetes schemas with the verdicts of kubernetes-validate,
errors at the offending field's line, custom resources from CRDs and bundled schemas, unknown kinds."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import kubernetes_validate
import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.model import K8sObject
from shipcard.check.schema import SchemaValidator, structural_to_json_schema
from shipcard.yamlio.read import load_documents

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "online-boutique.yaml"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 8080
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
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
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
                port: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 2\n  port: http\n"


def objects_of(text: str, name: str = "x.yaml") -> list[K8sObject]:
    return [K8sObject(d.data, name, d) for d in load_documents(text, name)]


def kv_verdict(data: dict) -> str:
    try:
        kubernetes_validate.validate(data, SchemaValidator().version, strict=True)
        return "valid"
    except kubernetes_validate.ValidationError:
        return "invalid"
    except kubernetes_validate.SchemaNotFoundError:
        return "no-schema"


def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], **options):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=options.pop("paths", list(files)), **options))


def schema_findings(result, rule: str = "schema"):
    return [f for f in result.findings if f.rule == rule]


# ------------------------------------------------------------------ strictness and lines


def test_misspelled_field_is_an_error_at_its_line_with_a_suggestion(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, {"d.yaml": DEPLOYMENT.replace("replicas: 2", "replica: 2")})
    [finding] = schema_findings(result)
    assert (finding.line, finding.column) == (6, 3)
    assert "spec.replica: unknown field" in finding.message and "replicas" in finding.message
    assert finding.severity == "error" and result.exit_code == 1


def test_wrong_type_points_at_the_value(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, {"d.yaml": DEPLOYMENT.replace("containerPort: 8080",
                                                                         'containerPort: "8080"')})
    [finding] = schema_findings(result)
    assert finding.line == 17
    assert "containerPort: must be integer" in finding.message


def test_missing_required_field_names_it(tmp_path, monkeypatch):
    text = DEPLOYMENT.replace("    matchLabels: {app: web}\n", "").replace("  selector:\n", "")
    result = check(tmp_path, monkeypatch, {"d.yaml": text})
    assert any("spec: missing required field 'selector'" in f.message for f in schema_findings(result))


def test_valid_deployment_has_no_schema_finding(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, {"d.yaml": DEPLOYMENT})
    assert not schema_findings(result) and not schema_findings(result, "unknown-kind")


def test_document_without_kind_is_not_an_object(tmp_path, monkeypatch):
    result = check(tmp_path, monkeypatch, {"d.yaml": DEPLOYMENT + "---\napiVersion: v1\nmetadata: {name: x}\n"})
    assert any("kind missing" in f.message for f in schema_findings(result))


def test_older_kubernetes_version_uses_its_schemas(tmp_path, monkeypatch):
    # sleepAction in lifecycle hooks exists only since 1.29's schemas
    text = DEPLOYMENT + "          lifecycle:\n            preStop:\n              sleep: {seconds: 5}\n"
    new = check(tmp_path, monkeypatch, {"d.yaml": text})
    old = run_check(CheckOptions(paths=["d.yaml"], kubernetes_version="1.25"))
    assert not schema_findings(new)
    assert any("sleep" in f.message for f in schema_findings(old))
    assert old.kubernetes_version == "1.25"


# ------------------------------------------------------------------ same verdicts as kubernetes-validate


@pytest.fixture(scope="module")
def corpus_objects() -> list[dict]:
    if not CORPUS.is_file():
        pytest.skip("../shared/corpus is not there")
    return [d.data for d in load_documents(CORPUS.read_text(), str(CORPUS))]


def test_verdicts_equal_kubernetes_validate_on_the_corpus(corpus_objects):
    validator = SchemaValidator()
    assert [validator.verdict(o) for o in corpus_objects] == [kv_verdict(o) for o in corpus_objects]


def _mutations(objects: list[dict], count: int) -> list[dict]:
    """Corpus objects with one random change each: wrong types, renamed, removed and extra fields."""
    rng = random.Random(3)
    values = ["x", 3, 3.0, 3.5, True, None, [], {}, ["a"], {"a": 1}, "100m", -1]
    out = []

    def paths(node, prefix=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*prefix, key)
                yield from paths(value, (*prefix, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield (*prefix, index)
                yield from paths(value, (*prefix, index))

    while len(out) < count:
        data = copy.deepcopy(rng.choice(objects))
        path = rng.choice([p for p in paths(data) if p[0] not in ("apiVersion", "kind")])
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        roll = rng.random()
        if roll < 0.5:
            parent[path[-1]] = rng.choice(values)
        elif isinstance(parent, dict) and roll < 0.75:
            parent[f"{path[-1]}x"] = parent.pop(path[-1])
        elif isinstance(parent, dict):
            del parent[path[-1]]
        out.append(data)
    return out


def test_verdicts_equal_kubernetes_validate_on_mutated_objects(corpus_objects):
    validator = SchemaValidator()
    mutated = _mutations(corpus_objects, 200)
    ours = [validator.verdict(o) for o in mutated]
    assert ours == [kv_verdict(o) for o in mutated]
    assert {"valid", "invalid"} <= set(ours)


# ------------------------------------------------------------------ custom resources


def test_crd_in_the_input_validates_its_custom_resources(tmp_path, monkeypatch):
    bad = WIDGET.replace("size: 2", "size: 0").replace("port: http", "port: http\n  colour: red")
    result = check(tmp_path, monkeypatch, {"crd.yaml": CRD, "good.yaml": WIDGET, "bad.yaml": bad})
    assert not [f for f in result.findings if f.file == "good.yaml" and f.rule in ("schema", "unknown-kind")]
    messages = {f.message for f in schema_findings(result) if f.file == "bad.yaml"}
    assert any("spec.colour: unknown field" in m for m in messages)
    assert any("spec.size: must be at least 1" in m for m in messages)


def test_crd_dir_validates_custom_resources(tmp_path, monkeypatch):
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widget.yaml").write_text(CRD)
    result = check(tmp_path, monkeypatch, {"w.yaml": WIDGET.replace("size: 2", "size: two")},
                   crd_dirs=[tmp_path / "crds"])
    [finding] = schema_findings(result)
    assert finding.line == 6 and "spec.size: must be integer" in finding.message


def test_crd_schema_semantics():
    schema = structural_to_json_schema({
        "type": "object", "properties": {
            "n": {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
            "s": {"type": "string", "nullable": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {}}}}})
    assert schema["additionalProperties"] is False
    assert schema["properties"]["n"]["exclusiveMinimum"] == 1
    assert schema["properties"]["s"]["type"] == ["string", "null"]
    assert "additionalProperties" not in schema["properties"]["free"]


def test_unknown_kind_is_a_warning_or_with_strict_kinds_an_error(tmp_path, monkeypatch):
    files = {"w.yaml": WIDGET}
    lenient = check(tmp_path, monkeypatch, files)
    strict = check(tmp_path, monkeypatch, files, strict_kinds=True)
    [warning] = schema_findings(lenient, "unknown-kind")
    [error] = schema_findings(strict, "unknown-kind")
    assert (warning.severity, error.severity) == ("warning", "error")
    assert warning.line == 2
    assert (lenient.exit_code, strict.exit_code) == (0, 1)


def test_bundled_schema_validates_argocd_applications(tmp_path, monkeypatch):
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: shop
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: v1.2.0
    path: apps/web
  destination:
    server: https://kubernetes.default.svc
    namespace: web
  syncPolicy:
    automatd: {prune: true}
"""
    result = check(tmp_path, monkeypatch, {"app.yaml": app})
    [finding] = schema_findings(result)
    assert finding.line == 16 and "automatd" in finding.message


def test_removed_api_is_not_also_an_unknown_kind(tmp_path, monkeypatch):
    text = DEPLOYMENT.replace("apps/v1", "extensions/v1beta1")
    result = check(tmp_path, monkeypatch, {"d.yaml": text})
    assert [f.rule for f in result.findings if f.rule in ("removed-api", "unknown-kind", "schema")] == ["removed-api"]


def test_compiled_validators_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPCARD_CACHE_DIR", str(tmp_path / "cache"))
    SchemaValidator().verdict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    cached = list((tmp_path / "cache" / "schemas").glob("*.bin"))
    assert len(cached) == 1
    # a second validator loads the cached code and gives the same verdicts
    validator = SchemaValidator()
    assert validator.verdict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) == "valid"
    assert validator.verdict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"nam": "x"}}) == "invalid"
