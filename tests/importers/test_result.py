"""Issue 17: the pieces every importer shares — secret detection, names, commented cards as YAML."""

from __future__ import annotations

import pytest

from shipcard.importers.result import CardBuilder, ImportResult, Origin, job_name, looks_secret
from shipcard.yamlio.roundtrip import dump_roundtrip, load_roundtrip


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("DB_PASSWORD", "x", True), ("GITHUB_TOKEN", "x", True), ("STRIPE_API_KEY", "x", True),
    ("SECRET_KEY_BASE", "x", True), ("SENTRY_DSN", "x", True), ("JWT_SIGNING_KEY", "x", True),
    ("DATABASE_URL", "postgres://shop:pw@db/shop", True), ("UPLOADS", "AKIAIOSFODNN7EXAMPLE", True),
    ("DATABASE_URL", "postgres://db/shop", False), ("LOG_LEVEL", "info", False), ("KEYSPACE", "orders", False),
    ("CACHE_KEY_PREFIX", "shop:", False), ("PORT", "8080", False),
])
def test_secret_looking_variables(name: str, value: str, secret: bool) -> None:
    assert looks_secret(name, value) is secret


def test_job_names_are_unique_dns_labels_within_the_cronjob_limit() -> None:
    taken: set[str] = set()
    assert [job_name(text, "billing", taken) for text in ("Nightly_Export", "nightly-export", "---", "x" * 60)] == [
        "nightly-export", "nightly-export-2", "job", "x" * 44]


def test_a_card_is_written_with_a_comment_naming_each_origin_and_reads_back() -> None:
    result = ImportResult()
    card = CardBuilder("web", Origin("compose.yaml", 3, "services.web"), result)
    card.image(("image",), "nginx:1.27", Origin("compose.yaml", 4, "services.web.image"))
    card.env("MODE", "live", Origin("compose.yaml", 6, "services.web.environment.MODE"))
    card.env("API_TOKEN", "hunter2-hunter2", Origin("compose.yaml", 7, "services.web.environment.API_TOKEN"))
    text = dump_roundtrip(card.doc)
    assert text == (
        "apiVersion: shipcard/v1\n"
        "kind: Service\n"
        "name: web  # from compose.yaml:3 services.web\n"
        "image: nginx:1.27 # from compose.yaml:4 services.web.image\n"
        "env:\n"
        "  MODE: live  # from compose.yaml:6 services.web.environment.MODE\n"
        "secrets:\n"
        "  provider: aws-secrets-manager\n"
        "  store: fill-in-secret-store\n"
        "  env:\n"
        "    API_TOKEN: fill-in/web/API_TOKEN  # from compose.yaml:7 services.web.environment.API_TOKEN\n")
    assert load_roundtrip(text, "web.service.yaml")["secrets"]["env"] == {"API_TOKEN": "fill-in/web/API_TOKEN"}
    assert [(n.line, n.field) for n in result.notes] == [(7, "services.web.environment.API_TOKEN")]
