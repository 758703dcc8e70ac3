"""The card's JSON Schema ships in the package and in docs/, identical to what the code builds."""

from __future__ import annotations

import json

from shipcard.card.load import card_from_document
from shipcard.card.model import SecretValue
from shipcard.card.schema import build_schema, shipped_schema
from shipcard.yamlio.read import read_text
from shipcard.yamlio.roundtrip import load_roundtrip
from tests.conftest import ROOT, example_cards


def schema_json() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"


def test_shipped_and_docs_schema_equal_the_built_one() -> None:
    assert shipped_schema() == build_schema()
    assert (ROOT / "docs" / "card-v1.schema.json").read_text() == schema_json()
    assert (ROOT / "generator" / "shipcard" / "card" / "card-v1.schema.json").read_text() == schema_json()


def test_bundled_examples_are_the_users_cards() -> None:
    for card in example_cards():
        assert (ROOT / "examples" / card.name).read_text() == card.read_text()


def test_every_example_field_is_in_the_schema() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(build_schema())
    for card in example_cards():
        doc = load_roundtrip(read_text(card), str(card))
        assert not list(validator.iter_errors(json.loads(json.dumps(doc)))), card.name


def test_environment_overrides_merge_deeply_and_null_removes() -> None:
    card_path = next(c for c in example_cards() if c.name == "billing-api.service.yaml")
    card = card_from_document(load_roundtrip(read_text(card_path), str(card_path)), str(card_path), card_path.name)
    dev, staging, prod = card.environments
    assert dev.spec.autoscaling is None and dev.spec.replicas == 1
    assert dev.spec.resources.cpu == "100m" and dev.spec.resources.limit_memory == "512Mi"
    assert dict(dev.spec.secrets.env)["DATABASE_URL"] == SecretValue(
        key="billing/dev", property="database_url", provider="aws-secrets-manager", store="aws-secrets")
    assert dev.spec.ingress.host == "billing.dev.example.com" and dev.spec.ingress.class_name == "alb"
    assert staging.spec.autoscaling.min == 2 and staging.namespace == "billing-api-staging"
    assert prod.namespace == "billing" and prod.cluster == "https://prod.k8s.example.com"
    assert prod.spec.autoscaling.min == 3  # replicas next to autoscaling is the HPA's floor
