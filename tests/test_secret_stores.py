"""Issue 17: the ESO store each secrets provider uses, named once in shipcard.yaml (`secrets.stores`).

A card (hand-written or imported) that names no store for a provider's values reads them from the store
shipcard.yaml names for that provider; the store's `kind` is ESO's `secretStoreRef.kind`: a ClusterSecretStore
(the default, shared by every namespace) or a SecretStore of the service's namespace (the ESO CRD's enum,
`../shared/crds`). ESO cannot run here: the rendered ExternalSecrets are validated against its real CRD.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from shipcard.card.load import load_card
from shipcard.settings import RepoSettings, SecretStore, load_repo
from tests.conftest import run_cli
from tests.importers.helpers import FIXTURES, shipcard_import
from tests.lifecycle.helpers import init_repository, snapshot
from tests.test_helmfile import by_key, helm_objects, kustomize_objects
from tests.test_real_crds import real_problems

STORES = """
secrets:
  stores:
    aws-secrets-manager: {name: aws-secrets}
    aws-parameter-store: {name: parameters, kind: SecretStore}
"""
CARD = """\
apiVersion: shipcard/v1
kind: Service
name: pay
image: ghcr.io/example/pay:1.0.0
port: 8080
secrets:
  provider: aws-secrets-manager
  env:
    API_KEY: "pay/{env}#api"
    DB_PASSWORD: {key: "/pay/{env}/db", provider: aws-parameter-store}
    AUDIT: {key: audit, provider: vault, store: vault-eu}
environments:
  dev: {}
  staging:
    secrets: {store: aws-secrets-eu}
  prod:
    secrets:
      provider: aws-parameter-store
      env:
        API_KEY: /pay/prod/api
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repository(tmp_path / "gitops", "--no-git")
    with (root / "shipcard.yaml").open("a") as settings:
        settings.write(STORES)
    return root


def stores(objects: list[dict[str, Any]]) -> dict[str, tuple[str, str, list[str]]]:
    """Each ExternalSecret: the kind and name of its store, and its Secret keys."""
    return {o["metadata"]["name"]: (o["spec"]["secretStoreRef"]["kind"], o["spec"]["secretStoreRef"]["name"],
                                    [d["secretKey"] for d in o["spec"]["data"]])
            for o in objects if o["kind"] == "ExternalSecret"}


def test_the_settings_name_a_store_per_provider(repo: Path) -> None:
    assert load_repo(repo).secret_stores == {"aws-secrets-manager": SecretStore("aws-secrets", "ClusterSecretStore"),
                                             "aws-parameter-store": SecretStore("parameters", "SecretStore")}
    assert RepoSettings().secret_stores == {}


EXPECTED = {
    "dev": {"pay": ("ClusterSecretStore", "aws-secrets", ["API_KEY"]),
            "pay-parameters": ("SecretStore", "parameters", ["DB_PASSWORD"]),
            "pay-vault-eu": ("ClusterSecretStore", "vault-eu", ["AUDIT"])},
    # the card's own store named in the environment wins; a store the settings do not name is a ClusterSecretStore
    "staging": {"pay": ("ClusterSecretStore", "aws-secrets-eu", ["API_KEY"]),
                "pay-parameters": ("SecretStore", "parameters", ["DB_PASSWORD"]),
                "pay-vault-eu": ("ClusterSecretStore", "vault-eu", ["AUDIT"])},
    # an environment that changes the provider gets that provider's store, not the card's
    "prod": {"pay": ("SecretStore", "parameters", ["API_KEY", "DB_PASSWORD"]),
             "pay-vault-eu": ("ClusterSecretStore", "vault-eu", ["AUDIT"])},
}


@pytest.mark.helm
@pytest.mark.kubectl
def test_render_reads_each_provider_from_its_store_in_both_formats(repo: Path, tmp_path: Path, helm: str,
                                                                    kubectl: str) -> None:
    (repo / "services/pay.service.yaml").write_text(CARD)
    trees = {"kustomize": repo, "helmfile": tmp_path / "helmfile"}
    shutil.copytree(repo, trees["helmfile"])
    for tree, args in ((trees["kustomize"], ()), (trees["helmfile"], ("--format", "helmfile"))):
        result = run_cli("render", *args, cwd=tree)  # the repository's own format: what check expects
        assert result.exit_code == 0, result.output
    card = load_card(repo / "services/pay.service.yaml")
    for env in card.environments:
        from_kustomize = kustomize_objects(kubectl, trees["kustomize"], card, env)
        assert stores(from_kustomize) == EXPECTED[env.name], env.name
        assert by_key(helm_objects(helm, trees["helmfile"], card, env)) == by_key(from_kustomize), env.name
        assert [p for o in from_kustomize if o["kind"] == "ExternalSecret" for p in real_problems(o)] == []
    checked = run_cli("check", ".", cwd=repo)
    assert checked.exit_code == 0, checked.output


def test_a_card_naming_the_settings_store_gets_its_kind(repo: Path) -> None:
    card = CARD.replace('{key: "/pay/{env}/db", provider: aws-parameter-store}',
                        '{key: "/pay/{env}/db", provider: aws-parameter-store, store: parameters}')
    (repo / "services/pay.service.yaml").write_text(card)
    loaded = load_card(repo / "services/pay.service.yaml")
    secrets = loaded.environments[0].spec.secrets
    assert secrets is not None
    assert [(name, value.store, value.store_kind) for name, value in secrets.env] == [
        ("API_KEY", "aws-secrets", "ClusterSecretStore"), ("DB_PASSWORD", "parameters", "SecretStore"),
        ("AUDIT", "vault-eu", "ClusterSecretStore")]


def test_without_the_setting_a_card_still_names_its_stores(tmp_path: Path) -> None:
    root = init_repository(tmp_path / "gitops", "--no-git")
    (root / "services/pay.service.yaml").write_text(CARD)
    result = run_cli("render", cwd=root)
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        f"shipcard: {root / 'services/pay.service.yaml'}:6:1: secrets: missing required field 'store' (the "
        "ClusterSecretStore name; or name aws-secrets-manager's store in shipcard.yaml, secrets.stores)")


@pytest.mark.parametrize(("stores_yaml", "error"), [
    ("    aws-parameter-store: {name: aws-secrets}",
     "36:27: secrets.stores.aws-parameter-store.name: store 'aws-secrets' is aws-secrets-manager's already: a store "
     "serves one provider"),
    ("    aws-parameter-store: {name: Bad_Name}", "36:27: secrets.stores.aws-parameter-store.name: has an invalid "
                                                  "format"),
    ("    aws-parameter-store: {name: p, kind: Store}",
     "36:36: secrets.stores.aws-parameter-store.kind: must be one of ClusterSecretStore, SecretStore"),
    ("    gcp: {name: p}", "36:5: secrets.stores.gcp: invalid name 'gcp': 'gcp' is not one of ['aws-secrets-manager', "
                           "'aws-parameter-store', 'vault']"),
    ("    aws-parameter-store: {kind: SecretStore}", "36:5: secrets.stores.aws-parameter-store: missing required "
                                                     "field 'name'"),
    ("    aws-parameter-store: parameters", "36:5: secrets.stores.aws-parameter-store: must be object, not a string"),
])
def test_a_bad_store_setting_is_one_line_at_its_line_and_exit_2(repo: Path, stores_yaml: str, error: str) -> None:
    settings = repo / "shipcard.yaml"
    text = settings.read_text()
    assert text.splitlines()[35] == "    aws-parameter-store: {name: parameters, kind: SecretStore}"
    settings.write_text(text.replace("    aws-parameter-store: {name: parameters, kind: SecretStore}", stores_yaml))
    (repo / "services/pay.service.yaml").write_text(CARD)
    before = snapshot(repo)
    result = run_cli("render", cwd=repo)
    assert (result.exit_code, result.output) == (2, f"shipcard: {settings}:{error}\n")
    assert snapshot(repo) == before


TASK = "../legacy/storefront-api.task-definition.json"


@pytest.mark.kubectl
def test_import_leaves_out_the_stores_the_settings_name(repo: Path, kubectl: str) -> None:
    legacy = repo.parent / "legacy"
    legacy.mkdir()
    shutil.copy(FIXTURES / "storefront-api.task-definition.json", legacy)
    result = shipcard_import(repo, "ecs", TASK)
    text = (repo / "services/storefront-api.service.yaml").read_text()
    assert "fill-in-secret-store" not in text and "fill-in-parameter-store" not in text and "store:" not in text
    assert "secrets:\n  provider: aws-secrets-manager\n  env:\n" in text
    assert ("    SECRET_KEY_BASE: # from ../legacy/storefront-api.task-definition.json:84 "
            "taskDefinition.containerDefinitions[0].secrets[3]\n"
            "      key: /storefront/prod/secret-key-base\n      provider: aws-parameter-store\n") in text
    notes = [line for line in result.stderr.splitlines() if "secrets.stores" in line]
    assert notes == [
        f"note: {TASK}:45: taskDefinition.containerDefinitions[0].environment[3]: looks secret: its value was not "
        "copied; it is secrets.env.REDIS_URL, remote key 'fill-in/storefront-api/REDIS_URL' in store 'aws-secrets' "
        "(shipcard.yaml secrets.stores.aws-secrets-manager): store the value there and fill in the key",
        f"note: {TASK}:49: taskDefinition.containerDefinitions[0].environment[4]: looks secret: its value was not "
        "copied; it is secrets.env.SENTRY_DSN, remote key 'fill-in/storefront-api/SENTRY_DSN' in store "
        "'aws-secrets' (shipcard.yaml secrets.stores.aws-secrets-manager): store the value there and fill in the "
        "key",
        f"note: {TASK}:72: taskDefinition.containerDefinitions[0].secrets[0]: store 'aws-secrets' (shipcard.yaml "
        "secrets.stores.aws-secrets-manager) must read region us-east-1 of account 123456789012",
        f"note: {TASK}:84: taskDefinition.containerDefinitions[0].secrets[3]: store 'parameters' (shipcard.yaml "
        "secrets.stores.aws-parameter-store) must read region us-east-1 of account 123456789012",
    ]
    rendered = run_cli("render", cwd=repo)
    assert rendered.exit_code == 0, rendered.output
    card = load_card(repo / "services/storefront-api.service.yaml")
    built = kustomize_objects(kubectl, repo, card, card.environments[0])
    assert {name: store[:2] for name, store in stores(built).items()} == {
        "storefront-api": ("ClusterSecretStore", "aws-secrets"),
        "storefront-api-parameters": ("SecretStore", "parameters")}
