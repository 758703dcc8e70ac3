"""Issue 17: a secret value read at a version of the provider's (`{key, …, version}` → ESO's `remoteRef.version`).

ESO cannot run here. What the tests encode from its documentation and source: the AWS Secrets Manager provider
reads `remoteRef.version` as a version stage (`AWSPREVIOUS`), or, prefixed `uuid/`, as a version id
(docs/provider/aws-secrets-manager.md, "Secret Versions"); the Parameter Store provider appends
`:<version>` to the parameter's name for GetParameter, which takes a version number or a label there
(providers/v1/aws/parameterstore: parameterNameWithVersion). Both writers give the field, and ESO v2.9.0's
real CRD (`../shared/crds`) accepts what they render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipcard.card.load import load_card, load_card_text
from shipcard.card.model import SecretValue
from tests.conftest import run_cli
from tests.test_helmfile import by_key, helm_objects, kustomize_objects
from tests.test_real_crds import real_problems

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: payments
image: ghcr.io/example/payments:1.0.0
port: 8080
secrets:
  provider: aws-secrets-manager
  store: aws-secrets
  env:
    API_KEY: {key: "payments/{env}#api_key", version: AWSPREVIOUS}
    SIGNING_KEY: {key: payments/signing, version: uuid/123e4567-e89b-12d3-a456-426614174000}
    DB_PASSWORD: {key: "/payments/{env}/db", provider: aws-parameter-store, store: aws-parameters, version: "3"}
    PLAIN: payments/plain
  files:
    /etc/payments/ca.pem: {key: payments/ca, version: AWSCURRENT}
environments:
  prod: {}
gitops:
  repoURL: https://github.com/example/gitops.git
"""
DEFAULTS = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}
# (ExternalSecret, store) → its data, as ESO reads it.
EXPECTED = {
    ("payments", "aws-secrets"): [
        {"secretKey": "API_KEY", "remoteRef": {"key": "payments/prod", "property": "api_key", "version": "AWSPREVIOUS",
                                               **DEFAULTS}},
        {"secretKey": "SIGNING_KEY", "remoteRef": {"key": "payments/signing",
                                                   "version": "uuid/123e4567-e89b-12d3-a456-426614174000", **DEFAULTS}},
        {"secretKey": "PLAIN", "remoteRef": {"key": "payments/plain", **DEFAULTS}}],
    ("payments-aws-parameters", "aws-parameters"): [
        {"secretKey": "DB_PASSWORD", "remoteRef": {"key": "/payments/prod/db", "version": "3", **DEFAULTS}}],
    ("payments-files", "aws-secrets"): [
        {"secretKey": "ca.pem", "remoteRef": {"key": "payments/ca", "version": "AWSCURRENT", **DEFAULTS}}],
}


def external_secrets(objects: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(o["metadata"]["name"], o["spec"]["secretStoreRef"]["name"]): o["spec"]["data"]
            for o in objects if o["kind"] == "ExternalSecret"}


def test_the_model_keeps_the_version_of_each_value() -> None:
    card = load_card_text(CARD, "payments.service.yaml", "payments.service.yaml")
    secrets = card.environments[0].spec.secrets
    assert secrets is not None
    assert dict(secrets.env)["API_KEY"] == SecretValue(key="payments/prod", property="api_key",
                                                       provider="aws-secrets-manager", store="aws-secrets",
                                                       version="AWSPREVIOUS")
    assert dict(secrets.env)["PLAIN"].version is None
    assert dict(secrets.files)["/etc/payments/ca.pem"].version == "AWSCURRENT"


@pytest.mark.helm
@pytest.mark.kubectl
def test_both_writers_give_eso_the_version_and_the_real_crd_accepts_it(tmp_path: Path, helm: str,
                                                                       kubectl: str) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "payments.service.yaml").write_text(CARD)
    trees = {fmt: tmp_path / fmt for fmt in ("kustomize", "helmfile")}
    for fmt, tree in trees.items():
        result = run_cli("render", str(cards / "payments.service.yaml"), "--format", fmt, "--out", str(tree))
        assert result.exit_code == 0, result.output
    card = load_card(cards / "payments.service.yaml")
    env = card.environments[0]
    from_kustomize = kustomize_objects(kubectl, trees["kustomize"], card, env)
    from_helm = helm_objects(helm, trees["helmfile"], card, env)
    assert by_key(from_helm) == by_key(from_kustomize)
    assert external_secrets(from_kustomize) == EXPECTED
    assert [p for o in from_kustomize if o["kind"] == "ExternalSecret" for p in real_problems(o)] == []
    checked = run_cli("check", "--format", "json", str(trees["kustomize"]))
    assert checked.exit_code == 0, checked.output  # the bundled ExternalSecret schema takes the field too


@pytest.mark.parametrize(("version", "problem"), [
    ('""', "it is not a version stage (AWSPREVIOUS), uuid/<version id>, or a version number or label (letters, "
           "digits and _+=,.@-)"),
    ('"AWS PREVIOUS"', "it is not a version stage (AWSPREVIOUS), uuid/<version id>, or a version number or label "
                       "(letters, digits and _+=,.@-)"),
    ("3", "must be string, not an integer"),
])
def test_a_bad_version_is_one_line_at_the_card_line_and_exit_2(tmp_path: Path, version: str, problem: str) -> None:
    card = tmp_path / "payments.service.yaml"
    card.write_text(CARD.replace("version: AWSPREVIOUS", f"version: {version}"))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output == f"shipcard: {card}:10:46: secrets.env.API_KEY.version: {problem}\n"
    assert not (tmp_path / "out").exists()
