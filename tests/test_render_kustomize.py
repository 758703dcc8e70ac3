"""Issue 2: the Kustomize tree of the example cards builds with the real kubectl, equals the model's
objects, and passes strict Kubernetes schemas and shipcard's bundled CRD schemas."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
from jsonschema import Draft202012Validator

from shipcard.card.load import load_card
from shipcard.k8s.objects import environment_objects
from shipcard.yamlio.read import load_plain_all
from tests.conftest import example_cards, run_cli

KUSTOMIZE_CARDS = [c for c in example_cards() if "format: helmfile" not in c.read_text()]
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()


def build(kubectl: str, overlay: Path) -> list[dict]:
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return load_plain_all(result.stdout)


def by_key(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tree")
    result = run_cli("render", *map(str, KUSTOMIZE_CARDS), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_the_kustomize_examples_are_the_ones_the_issue_names() -> None:
    assert {c.name for c in KUSTOMIZE_CARDS} >= {"billing-api.service.yaml", "web-frontend.service.yaml"}


@pytest.mark.kubectl
@pytest.mark.parametrize("card_path", KUSTOMIZE_CARDS, ids=lambda p: p.name)
def test_every_overlay_builds_to_exactly_the_environment_objects(rendered: Path, kubectl: str, card_path: Path) -> None:
    card = load_card(card_path)
    for env in card.environments:
        built = by_key(build(kubectl, rendered / card.gitops.path / "overlays" / env.name))
        expected = by_key(environment_objects(env))
        assert built.keys() == expected.keys(), env.name
        for key, obj in expected.items():
            assert built[key] == obj, f"{env.name}: {key} differs after kustomize build"


@pytest.mark.kubectl
def test_every_built_object_passes_strict_schema_validation(rendered: Path, kubectl: str) -> None:
    checked = 0
    for overlay in sorted(rendered.glob("apps/*/overlays/*")):
        for obj in build(kubectl, overlay):
            if obj["kind"] == "ExternalSecret":
                continue  # a custom resource: checked against the bundled schema below
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            checked += 1
    assert checked > 30


def bundled_validator(api_version: str, kind: str) -> Draft202012Validator:
    from shipcard.schemas import crd_schema

    schema = crd_schema(api_version, kind)
    assert schema is not None, f"no bundled schema for {api_version} {kind}"
    return Draft202012Validator(schema)


@pytest.mark.kubectl
def test_applications_and_external_secrets_pass_the_bundled_schemas(rendered: Path, kubectl: str) -> None:
    applications = [doc for f in sorted(rendered.glob("argocd/*/*.yaml")) for doc in load_plain_all(f.read_text())
                    if f.parent.name != "projects"]
    assert len(applications) == sum(len(load_card(c).environments) for c in KUSTOMIZE_CARDS)
    projects = [load_plain_all(f.read_text())[0] for f in sorted(rendered.glob("argocd/projects/*.yaml"))]
    assert [p["metadata"]["name"] for p in projects] == ["payments"]  # billing-api's; web-frontend: default
    for project in projects:
        assert not list(bundled_validator(project["apiVersion"], project["kind"]).iter_errors(project))
    for app in applications:
        assert not list(bundled_validator(app["apiVersion"], app["kind"]).iter_errors(app))
        source = app["spec"]["source"]["path"]
        assert (rendered / source / "kustomization.yaml").is_file()
    secrets = [o for overlay in sorted(rendered.glob("apps/*/overlays/*")) for o in build(kubectl, overlay)
               if o["kind"] == "ExternalSecret"]
    assert secrets
    for obj in secrets:
        assert not list(bundled_validator(obj["apiVersion"], obj["kind"]).iter_errors(obj))


def test_billing_api_prod_application(rendered: Path) -> None:
    app = load_plain_all((rendered / "argocd/prod/billing-api.yaml").read_text())[0]
    assert app["spec"]["destination"] == {"server": "https://prod.k8s.example.com", "namespace": "billing"}
    assert app["spec"]["source"] == {"repoURL": "https://github.com/example/gitops.git", "targetRevision": "main",
                                     "path": "apps/billing-api/overlays/prod"}
    assert app["spec"]["project"] == "payments"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def test_overlays_carry_only_what_differs(rendered: Path) -> None:
    prod = load_plain_all((rendered / "apps/billing-api/overlays/prod/kustomization.yaml").read_text())[0]
    assert prod["namespace"] == "billing"
    assert prod["images"] == [{"name": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/billing-api",
                               "newTag": "1.4.2"}]
    assert "replicas" not in prod  # an HPA owns the replica count: the card's replicas: 3 becomes its floor
    assert prod["patches"] == [{"path": "patches/hpa.yaml", "target": {
        "group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler", "name": "billing-api"}}]
    hpa_patch = load_plain_all((rendered / "apps/billing-api/overlays/prod/patches/hpa.yaml").read_text())[0]
    assert hpa_patch == [{"op": "replace", "path": "/spec/minReplicas", "value": 3}]
    assert prod["resources"] == ["../../base", "externalsecret.yaml"]
    base = (rendered / "apps/billing-api/base").iterdir()
    assert not any(p.name.startswith("externalsecret") for p in base)


def test_no_rendered_file_holds_a_secret_value_or_a_secret_object(rendered: Path) -> None:
    for path in rendered.rglob("*.yaml"):
        for doc in load_plain_all(path.read_text()):
            if isinstance(doc, dict):
                assert doc.get("kind") != "Secret", path
