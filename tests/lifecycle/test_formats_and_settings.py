"""Issue 6, small pieces: the v1alpha1 → v1 migration, shipcard.yaml and the defaults cards take
from it, and the fast card reader that must read exactly what the round-trip reader reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipcard.card.load import card_schema, load_card, load_card_text
from shipcard.card.migrate import FORMATS, migrate_text, v1alpha1_to_v1
from shipcard.errors import InputError
from shipcard.settings import RepoSettings, parse_repo
from shipcard.validation import Schema
from shipcard.yamlio.roundtrip import NeedsRoundtrip, load_plain_like_roundtrip, load_roundtrip, to_plain
from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import as_v1alpha1, init_repository

V1ALPHA1 = """\
# billing, as it was
apiVersion: shipcard/v1alpha1   # the old format
kind: Service
name: billing
image: ghcr.io/example/billing:1.0.0
containerPort: 3000     # the port
secretsFrom:
  provider: vault
  store: vault
  env: {DB: billing/db}
jobs:
  - name: nightly
    cron: "0 1 * * *"   # at one
environments:
  dev:
    containerPort: 3001
    secretsFrom: {env: {DB: billing/dev-db}}
  prod: {}
gitops: {repoURL: "https://example.com/gitops.git"}
"""


# --------------------------------------------------------------------------- migration


def test_v1alpha1_to_v1_renames_keys_in_place_and_keeps_every_other_byte() -> None:
    text, changes = migrate_text(V1ALPHA1, "billing.service.yaml")
    expected = (V1ALPHA1.replace("shipcard/v1alpha1", "shipcard/v1").replace("containerPort", "port")
                .replace("secretsFrom", "secrets").replace("    cron:", "    schedule:"))
    assert text == expected
    assert changes == ["apiVersion shipcard/v1alpha1 → shipcard/v1", "containerPort → port",
                       "secretsFrom → secrets", "jobs[0].cron → jobs[0].schedule",
                       "environments.dev.containerPort → environments.dev.port",
                       "environments.dev.secretsFrom → environments.dev.secrets"]
    card = load_card_text(text, "billing.service.yaml", "billing.service.yaml")
    assert card.base.ports[0].port == 3000 and card.environments[0].spec.ports[0].port == 3001
    assert card.base.jobs[0].schedule == "0 1 * * *" and card.environments[0].spec.secrets is not None


def test_the_step_function_only_names_the_renames() -> None:
    renames = v1alpha1_to_v1(load_roundtrip(V1ALPHA1, "x"))
    assert [(r.path, r.old, r.new) for r in renames] == [
        ((), "containerPort", "port"), ((), "secretsFrom", "secrets"), (("jobs", 0), "cron", "schedule"),
        (("environments", "dev"), "containerPort", "port"), (("environments", "dev"), "secretsFrom", "secrets")]


@pytest.mark.parametrize("card", example_cards(), ids=lambda p: p.name)
def test_every_example_goes_back_to_its_exact_text(card: Path) -> None:
    text = card.read_text()
    migrated, changes = migrate_text(as_v1alpha1(text), card.name)
    assert migrated == text and changes[0] == "apiVersion shipcard/v1alpha1 → shipcard/v1"
    assert migrate_text(text, card.name) == (text, [])  # already current: untouched


def test_a_card_with_both_the_old_and_the_new_key_is_refused_with_its_line() -> None:
    text = V1ALPHA1.replace("containerPort: 3000     # the port", "containerPort: 3000\nport: 3000")
    with pytest.raises(InputError) as caught:
        migrate_text(text, "billing.service.yaml")
    assert str(caught.value).startswith("billing.service.yaml:7:1: port: both containerPort and port")


def test_migrations_only_go_forward_and_know_their_formats() -> None:
    assert FORMATS[-1] == "shipcard/v1"
    with pytest.raises(InputError, match="only go forward"):
        migrate_text(V1ALPHA1.replace("v1alpha1", "v1"), "x", to="shipcard/v1alpha1")
    with pytest.raises(InputError, match="unknown card format 'shipcard/v9'"):
        migrate_text(V1ALPHA1.replace("v1alpha1", "v9"), "x")


def test_loading_an_old_card_says_to_run_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "billing.service.yaml"
    path.write_text(V1ALPHA1)
    with pytest.raises(InputError) as caught:
        load_card(path)
    assert "2:" in str(caught.value) and "older than shipcard/v1" in str(caught.value)
    assert "run `shipcard upgrade`" in str(caught.value)
    path.write_text(V1ALPHA1.replace("v1alpha1", "v3"))
    with pytest.raises(InputError, match="unsupported card format 'shipcard/v3'"):
        load_card(path)


# --------------------------------------------------------------------------- shipcard.yaml


def test_settings_fill_in_what_a_card_leaves_out(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git", "--set", "environments=dev,prod")
    settings = repo / "shipcard.yaml"
    settings.write_text(settings.read_text().replace(
        "  prod:\n    cluster: https://kubernetes.default.svc",
        "  prod:\n    cluster: https://prod.example.com\n    namespace: \"{service}\""))
    card = repo / "services/api.service.yaml"
    card.write_text("apiVersion: shipcard/v1\nkind: Service\nname: api\nimage: ghcr.io/example/api:1.0.0\nport: 80\n")
    loaded = load_card(card)
    assert loaded.gitops.repo_url == "https://github.com/example/gitops.git" and loaded.gitops.project == "platform"
    assert loaded.gitops.target_revision == "main"
    assert [(e.name, e.cluster, e.namespace) for e in loaded.environments] == [
        ("dev", "https://kubernetes.default.svc", "api-dev"), ("prod", "https://prod.example.com", "api")]
    card.write_text(card.read_text() + "environments:\n  prod: {namespace: special}\n")
    assert [(e.name, e.namespace) for e in load_card(card).environments] == [("prod", "special")]


def test_an_environment_shipcard_yaml_does_not_declare_is_refused(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    card = repo / "services/api.service.yaml"
    card.write_text("apiVersion: shipcard/v1\nkind: Service\nname: api\nimage: ghcr.io/example/api:1.0.0\n"
                    "port: 80\nenvironments:\n  prdo: {}\n")
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 2
    expected = "api.service.yaml:7:3: environments.prdo: environment 'prdo' is not declared in shipcard.yaml"
    assert expected in result.stderr


@pytest.mark.parametrize("text,where", [
    ("repoURL: [1]\n", "shipcard.yaml:1:1: repoURL: must be string"),
    ("kubernetesVersion: 1.30\n", "shipcard.yaml:1:1: kubernetesVersion: write the version as a string"),
    ("environments:\n  Prod: {}\n", "shipcard.yaml:2:3: environments.Prod: invalid name 'Prod'"),
    ("environments:\n  prod: {clster: x}\n", "shipcard.yaml:2:10: environments.prod.clster: unknown field"),
    ("reopURL: x\n", "shipcard.yaml:1:1: reopURL: unknown field (did you mean 'repoURL'?)"),
    ("check: {fail-on: error}\nproject: Platform\n", "shipcard.yaml:2:1: project:"),
    ("check: {anything: [goes, here]}\n", "shipcard.yaml:1:9: check.anything: unknown field (known fields:"),
    ("check: {kubernetes-version: '1.30'}\n", "shipcard.yaml:1:9: check.kubernetes-version: set kubernetesVersion"),
    ('kubernetesVersion: "1.24"\n', "shipcard.yaml:1:1: kubernetesVersion: shipcard renders for Kubernetes 1.25 "),
    ('argocdNamespace: "argocd\\n"\n', "shipcard.yaml:1:1: argocdNamespace:"),  # `$` matches before a newline
    ('environments:\n  prod: {cluster: "https://k8s.example.com\\n"}\n',
     "shipcard.yaml:2:10: environments.prod.cluster:"),
])
def test_a_bad_setting_is_one_located_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "shipcard.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        parse_repo(text, path)
    assert str(caught.value).startswith(f"{tmp_path}/{where}"), str(caught.value)
    (tmp_path / "services").mkdir()
    (tmp_path / "services/web.service.yaml").write_text(next(c for c in example_cards()
                                                             if c.name == "web-frontend.service.yaml").read_text())
    result = run_cli("render", cwd=tmp_path)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and not (tmp_path / "apps").exists()


def test_the_check_section_does_not_shape_renders() -> None:
    assert parse_repo('kubernetesVersion: "v1.29"\n', Path("s.yaml")).kubernetes_version == (1, 29)
    same = parse_repo('check: {fail-on: warning}\n', Path("a.yaml")).fingerprint
    assert same == parse_repo('check: {fail-on: error}\n', Path("b.yaml")).fingerprint  # renders are unaffected
    assert RepoSettings().environments == {}


# --------------------------------------------------------------------------- the fast reader


TRICKY = ["a: yes", "a: 010", "a: 1e3", "a: 1_000", "a: 2024-01-01", "a: .inf", "a: 0x1F", "a: 3:30", "a: on",
          "a: !!str 1", "a: 0o17", "a: 1.0e5", "<<: {a: 1}", "%YAML 1.1\n---\na: yes", "1: a", "a: .5"]
SAME = ["a: ~", "a: +1", "a: 1.5", "a: -0", "a: &x 1\nb: *x", "a: 'x'", "a: [1, true, null]", "a: NULL",
        "a: True", "a: |\n  multi\n  line\n", "a: \"\\u00e9\"", "a: 0 1 * * *", "a: 500m", "a: 1Gi"]


@pytest.mark.parametrize("text", TRICKY)
def test_the_fast_reader_leaves_what_yaml_versions_read_differently_to_ruamel(text: str) -> None:
    with pytest.raises(NeedsRoundtrip):
        load_plain_like_roundtrip(text, "x")


@pytest.mark.parametrize("text", SAME + [c.read_text() for c in example_cards()])
def test_the_fast_reader_reads_what_ruamel_reads(text: str) -> None:
    fast = load_plain_like_roundtrip(text, "x")
    assert json.dumps(fast) == json.dumps(to_plain(load_roundtrip(text, "x")))


def test_the_compiled_schema_accepts_only_what_jsonschema_accepts() -> None:
    schema = Schema(card_schema().schema, label="card", compile_after=0)  # compiled from the first card on
    base = to_plain(load_roundtrip(example_cards()[0].read_text(), "x"))
    assert schema.passes(base) and schema._fast is not None
    variants = [base, {**base, "replicas": True}, {**base, "replicas": 2.5}, {**base, "name": "web\n"},
                {**base, "extra": 1}, {**base, "resources": {"cpu": float("nan")}}, {**base, "port": 0}]
    for variant in variants:
        if schema.passes(variant):  # what the compiled check refuses, jsonschema judges (and explains)
            assert schema.validator.is_valid(variant), variant
