"""Issue 5: the helmfile format. One shared chart, values per environment, and, through the real
helm (4, and 3 as Argo CD bundles it) and kubectl, exactly the objects of the Kustomize format and
of the model. The real helmfile runs these trees in test_helmfile_real.py."""

from __future__ import annotations

import json
import posixpath
import shutil
import subprocess
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
from jsonschema import Draft202012Validator

from shipcard import __version__
from shipcard.card.load import load_card
from shipcard.card.model import Card, Environment
from shipcard.k8s.objects import environment_objects
from shipcard.schemas import crd_schema
from shipcard.transaction import STATE_DIR
from shipcard.writers.argocd import application_path
from shipcard.writers.chart import CHART_DIR, chart_semver
from shipcard.writers.helmfile import values_for
from shipcard.writers.tree import GENERATED_LIST, HEADER_PREFIX, is_generated
from shipcard.yamlio.read import load_plain, load_plain_all
from tests.conftest import example_cards, find_tool, run_cli

KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
DIGEST = "sha256:" + "0123456789abcdef" * 4
TEMPLATE_MARKER = "helmfile-ran-a-values-template"  # the file EDGE's TEMPLATE would create if templated

# Beyond the examples: a card that reaches the corners of the chart (pinned image, every probe kind,
# grpc/tcp ports, literal env values YAML would retype or helmfile could take for a template, script
# without #!, a job with its own image, a description for a manual job's annotation that JSON escapes,
# environments that remove env, probes, ingress, limits and the description; callers and egress of every
# kind, other cards' among them, opened to anyone and unrestricted in dev).
EDGE_CARD = f"""\
apiVersion: shipcard/v1
kind: Service
name: edge
description: "edge: \\"quoted\\" {{{{ .Values.name }}}} <&> ✓\\nsecond line"
image: registry.example.com/team/edge:1.0@{DIGEST}
command: [./server]
args: ["--flag", "yes", "1"]
ports:
  - {{name: http, port: 8080, servicePort: 80}}
  - {{name: admin, port: 9000, protocol: tcp}}
  - {{name: api, port: 9090, protocol: grpc}}
env:
  ENABLED: true
  COUNT: 3
  QUOTE: "it's \\"quoted\\" \\\\ and ünïcode ✓"
  EMPTY: ""
  MULTI: "line1\\nline2"
  TEMPLATE: '{{{{ exec "touch" (list "{TEMPLATE_MARKER}") }}}}'
resources:
  cpu: 0.5
  memory: 256Mi
  limits: {{cpu: 2, memory: 1Gi}}
health:
  liveness: {{exec: [cat, /tmp/healthy], initialDelay: 0, period: 5, failureThreshold: 1}}
  readiness: {{tcp: 9000}}
  startup: {{http: 8080, path: /started}}
shutdown: {{preStopSleep: 0, gracePeriod: 10}}
ingress: {{host: edge.example.com, path: /api, className: nginx, tls: false}}
allowFrom:
  - {{service: web-frontend}}
  - {{namespace: monitoring, podLabels: {{app.kubernetes.io/name: prometheus, team: ops}}}}
  - {{cidr: 10.1.0.0/16}}
  - {{ingressController: true}}
egressTo:
  - {{service: url-pinger, ports: [8080, 8443]}}
  - {{namespace: queues}}
  - {{cidr: 0.0.0.0/0, ports: [443]}}
jobs:
  - name: hook
    hook: pre-sync
    script: "echo migrating"
  - name: manual
    manual: true
    image: docker.io/library/busybox
    args: [sh, -c, "echo hi"]
    resources: {{cpu: 10m, memory: 16Mi}}
  - name: paused
    schedule: "@daily"
    suspend: true
    concurrency: replace
    timeout: 300h
    command: [./paused]
environments:
  dev:
    allowFrom: [{{anywhere: true}}]
    egressTo: null
    env: {{COUNT: 4}}
    health: null
    ingress: null
    image: registry.example.com/team/edge:2.0
    resources: {{cpu: 250m, memory: 256Mi, limits: {{memory: 512Mi}}}}
    jobs:
      - {{name: paused, suspend: false}}
  prod:
    namespace: edge
    description: null
    replicas: 1
    autoscaling: {{min: 2, max: 4}}
    env: null
gitops:
  repoURL: https://example.com/gitops.git
  format: helmfile
"""
EDGE = "edge.service.yaml"
# Issue 17: an IAM role per environment (none in staging), remote keys with placeholders, values from
# three stores of three providers (one only in prod), and files in two directories from two stores.
# In dev, what a card accepts on purpose: one pod and no liveness probe, each with its reason (quoted).
LEDGER_CARD = """\
apiVersion: shipcard/v1
kind: Service
name: ledger
image: ghcr.io/example/ledger:2.0.0
port: 8080
serviceAccount:
  awsRole: arn:aws:iam::123456789012:role/ledger-dev
secrets:
  provider: aws-secrets-manager
  store: aws-secrets
  env:
    DATABASE_URL: "{name}/{env}#database_url"
    SECRET_KEY_BASE: "{name}/{env}#secret_key_base"
    STRIPE_KEY: {key: "/{name}/{env}/stripe_key", provider: aws-parameter-store, store: aws-parameters}
  files:
    /etc/ledger/tls/key.pem: "{name}/{env}#tls_key"
    /etc/ledger/tls/ca.pem: {key: "/{name}/{env}/ca", provider: aws-parameter-store, store: aws-parameters}
    /etc/ledger/keys/signing.pem: "{name}/{env}#signing_key"
jobs:
  - name: migrate
    hook: pre-sync
    command: [./migrate]
  - name: sweep
    schedule: "0 3 * * *"
    script: "./sweep --all"
environments:
  dev:
    singleReplica: "dev: one pod is enough"
    health: {liveness: {none: "dev's \\"pods\\" restart on every push"}}
  staging:
    serviceAccount: null
  prod:
    serviceAccount: {awsRole: "arn:aws-us-gov:iam::210987654321:role/payments/ledger-prod"}
    secrets:
      env:
        AUDIT_TOKEN: {key: "audit/{env}", provider: vault, store: vault}
gitops:
  repoURL: https://github.com/example/gitops.git
"""
LEDGER = "ledger.service.yaml"
CARD_NAMES = [p.name for p in example_cards()] + [EDGE, LEDGER]
HELMFILE_EXAMPLES = {"url-pinger.service.yaml", "notifier.service.yaml"}

Key = tuple[str, str, str]


def by_key(objects: list[dict]) -> dict[Key, dict]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}


def write_cards(directory: Path) -> Path:
    """The example cards and EDGE, in `directory`."""
    for card in example_cards():
        shutil.copy(card, directory / card.name)
    (directory / EDGE).write_text(EDGE_CARD, encoding="utf-8")
    (directory / LEDGER).write_text(LEDGER_CARD, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def cards_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cards(tmp_path_factory.mktemp("cards"))


@pytest.fixture(params=["helm", "helm3"])
def any_helm(request: pytest.FixtureRequest) -> str:
    """helm 4 (the project's `helm`) and helm 3 (`helm3`, the major Argo CD bundles)."""
    return find_tool(request.param)


def render_all(cards_dir: Path, out: Path, fmt: str) -> Path:
    cards = sorted(str(p) for p in cards_dir.glob("*.service.yaml"))
    result = run_cli("render", *cards, "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def helmfile_tree(cards_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_all(cards_dir, tmp_path_factory.mktemp("helmfile"), "helmfile")


@pytest.fixture(scope="module")
def kustomize_tree(cards_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_all(cards_dir, tmp_path_factory.mktemp("kustomize"), "kustomize")


@cache
def _helm_template(helm: str, tree: Path, release: str, namespace: str, value_files: tuple[str, ...]) -> str:
    chart = tree / CHART_DIR
    values = [arg for rel in value_files for arg in ("-f", str(chart / rel))]
    result = subprocess.run([helm, "template", release, str(chart), "--namespace", namespace, *values],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def helm_objects(helm: str, tree: Path, card: Card, env: Environment) -> list[dict]:
    """What Argo CD renders for the environment's Application: its release name, namespace and value files."""
    spec = load_plain((tree / application_path(card, env)).read_text())["spec"]
    source = spec["source"]["helm"]
    return load_plain_all(_helm_template(helm, tree, source["releaseName"], spec["destination"]["namespace"],
                                         tuple(source["valueFiles"])))


def kustomize_objects(kubectl: str, tree: Path, card: Card, env: Environment) -> list[dict]:
    overlay = tree / card.gitops.path / "overlays" / env.name
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return load_plain_all(result.stdout)


# --------------------------------------------------------------------------- two formats, one truth


@pytest.mark.helm
@pytest.mark.kubectl
@pytest.mark.parametrize("card_name", CARD_NAMES)
def test_helm_renders_exactly_the_kustomize_objects_and_the_model(
        cards_dir: Path, helmfile_tree: Path, kustomize_tree: Path, any_helm: str, kubectl: str, card_name: str) -> None:
    card = load_card(cards_dir / card_name)
    for env in card.environments:
        from_helm = by_key(helm_objects(any_helm, helmfile_tree, card, env))
        from_kustomize = by_key(kustomize_objects(kubectl, kustomize_tree, card, env))
        from_model = by_key(environment_objects(env))
        assert from_helm.keys() == from_model.keys() == from_kustomize.keys(), env.name
        for key, obj in from_model.items():
            # helm adds no label or annotation of its own to these templates, so nothing is ignored.
            assert from_helm[key] == obj, f"{env.name}: {key} differs between helm and the model"
            assert from_kustomize[key] == obj, f"{env.name}: {key} differs between kustomize and the model"


@pytest.mark.helm
def test_every_helm_object_passes_strict_schemas(cards_dir: Path, helmfile_tree: Path, helm: str) -> None:
    external_secret = Draft202012Validator(crd_schema("external-secrets.io/v1", "ExternalSecret"))
    checked = secrets = 0
    for card_name in CARD_NAMES:
        card = load_card(cards_dir / card_name)
        for env in card.environments:
            for obj in helm_objects(helm, helmfile_tree, card, env):
                if obj["kind"] == "ExternalSecret":
                    assert not list(external_secret.iter_errors(obj)), obj["metadata"]
                    secrets += 1
                else:
                    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
                checked += 1
    assert checked > 60 and secrets == 5 + 4 + 4 + 5  # the examples', then ledger's dev, staging, prod


@pytest.mark.helm
@pytest.mark.parametrize("bad_values,helm4_says,helm3_says", [
    ("replicas: three\n", "at '/replicas'", "- replicas: Invalid type. Expected: integer, given: string"),
    ("ports: [{name: http, port: '3000x'}]\n", "at '/ports/0/port'",
     "- ports.0.port: Invalid type. Expected: integer, given: string"),
    ("autoscaling: {min: 2, max: ten, cpu: 50}\n", "at '/autoscaling/max'",
     "- autoscaling.max: Invalid type. Expected: integer, given: string"),
    ("replica: 3\n", "replica", "- (root): Additional property replica is not allowed"),
])
def test_the_values_schema_is_enforced_by_helm(helmfile_tree: Path, any_helm: str, tmp_path: Path, bad_values: str,
                                                helm4_says: str, helm3_says: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(bad_values)
    common = helmfile_tree / "apps/billing-api/values/common.yaml"
    result = subprocess.run([any_helm, "template", "billing-api", str(helmfile_tree / CHART_DIR), "-f", str(common),
                             "-f", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    says = helm3_says if Path(any_helm).name == "helm3" else helm4_says
    assert "schema" in result.stderr and says in result.stderr, result.stderr


def test_generated_values_satisfy_the_chart_schema(cards_dir: Path, helmfile_tree: Path) -> None:
    schema = json.loads((helmfile_tree / CHART_DIR / "values.schema.json").read_text())
    validator = Draft202012Validator(schema)
    for card_name in CARD_NAMES:
        card = load_card(cards_dir / card_name)
        for spec in [card.base] + [env.spec for env in card.environments]:
            assert not list(validator.iter_errors(values_for(spec))), card.name


# --------------------------------------------------------------------------- the tree


def test_helmfile_yaml_agrees_with_the_card_and_references_only_existing_files(
        cards_dir: Path, helmfile_tree: Path) -> None:
    for card_name in CARD_NAMES:
        card = load_card(cards_dir / card_name)
        directory = helmfile_tree / card.gitops.path
        parts = load_plain_all((directory / "helmfile.yaml").read_text())
        assert list(parts[0]) == ["values", "environments"] and list(parts[1]) == ["releases"]  # as helmfile asks
        defaults, environments, releases = parts[0]["values"], parts[0]["environments"], parts[1]["releases"]
        assert list(environments) == [env.name for env in card.environments]
        assert len(releases) == len(card.environments)
        for env, release in zip(card.environments, releases, strict=False):
            state_values = _state_values(defaults + environments[env.name]["values"])
            enabled = [r for r in releases if _condition_holds(r["condition"], state_values)]
            assert enabled == [release], f"{card.name}/{env.name}: exactly its own release is enabled"
            assert release["name"] == card.name
            assert release["namespace"] == env.namespace
            assert (directory / release["chart"] / "Chart.yaml").is_file()
            assert (directory / release["chart"]).resolve() == (helmfile_tree / CHART_DIR).resolve()
            assert release["values"] == ["values/common.yaml", f"values/{env.name}.yaml"]
            for values_file in release["values"]:
                assert (directory / values_file).is_file(), values_file


def _state_values(entries: list[dict]) -> dict:
    """helmfile's state values: the root `values:`, then the environment's, merged key by key."""
    merged: dict = {}
    for entry in entries:
        for key, value in entry.items():
            merged[key] = {**merged.get(key, {}), **value}
    return merged


def _condition_holds(condition: str, state_values: dict) -> bool:
    """helmfile's rule: `<key>.enabled` is true in the state values; a missing `<key>` is an error."""
    key, field = condition.split(".")
    assert field == "enabled" and key in state_values, f"helmfile fails: field '.{key}' not found"
    return state_values[key].get("enabled") is True


def test_applications_render_the_chart_with_argo_cds_helm_support(cards_dir: Path, helmfile_tree: Path) -> None:
    validator = Draft202012Validator(crd_schema("argoproj.io/v1alpha1", "Application"))
    for card_name in CARD_NAMES:
        card = load_card(cards_dir / card_name)
        for env in card.environments:
            app = load_plain((helmfile_tree / f"argocd/{env.name}/{card.name}.yaml").read_text())
            assert not list(validator.iter_errors(app))
            source = app["spec"]["source"]
            assert source["path"] == CHART_DIR and "plugin" not in source
            assert source["helm"]["releaseName"] == card.name
            assert app["spec"]["destination"]["namespace"] == env.namespace
            resolved = [posixpath.normpath(posixpath.join(CHART_DIR, f)) for f in source["helm"]["valueFiles"]]
            assert resolved == [f"{card.gitops.path}/values/common.yaml", f"{card.gitops.path}/values/{env.name}.yaml"]
            for rel in resolved:  # inside the repository, as Argo CD requires
                assert not rel.startswith("..") and (helmfile_tree / rel).is_file()


def test_environment_values_hold_only_what_differs(helmfile_tree: Path) -> None:
    def values(rel: str) -> dict:
        return load_plain((helmfile_tree / rel).read_text())

    assert values("apps/notifier/values/prod.yaml") == {}
    assert values("apps/notifier/values/staging.yaml") == {"replicas": 1, "secrets": {"env": [
        {"name": "APNS_KEY", "key": "/notifier/staging/apns_key"},
        {"name": "FCM_TOKEN", "key": "/notifier/staging/fcm_token"}]}}
    dev = values("apps/billing-api/values/dev.yaml")
    assert set(dev) == {"secrets", "resources", "replicas", "ingress", "autoscaling"}
    assert dev["autoscaling"] is None and dev["ingress"] == {"host": "billing.dev.example.com"}
    assert values("apps/billing-api/values/prod.yaml") == {"replicas": 3, "autoscaling": {"min": 3}}
    assert values("apps/url-pinger/values/prod.yaml") == {}


def test_image_digests_go_into_image_digest(helmfile_tree: Path) -> None:
    common = load_plain((helmfile_tree / "apps/edge/values/common.yaml").read_text())
    assert common["image"] == {"repository": "registry.example.com/team/edge", "tag": "1.0", "digest": DIGEST}
    dev = load_plain((helmfile_tree / "apps/edge/values/dev.yaml").read_text())
    assert dev["image"] == {"tag": "2.0", "digest": None}  # dev runs an unpinned tag: null removes the digest


def test_the_chart_is_vendored_stamped_and_claimed(helmfile_tree: Path) -> None:
    chart = helmfile_tree / CHART_DIR
    meta = load_plain((chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == "service"
    assert meta["version"] == chart_semver(__version__)
    assert meta["annotations"]["shipcard.io/version"] == __version__
    for name in ("values.yaml", "values.schema.json", "README.md", "templates/deployment.yaml"):
        assert (chart / name).is_file(), name
    listed = (chart / GENERATED_LIST).read_text().splitlines()
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        rel = path.relative_to(chart).as_posix()
        text = path.read_text()
        assert is_generated(text) or rel in listed, f"{rel} is neither headed nor listed"
        if rel.startswith("templates/") and rel.endswith(".yaml"):
            assert "DO NOT EDIT" in text.splitlines()[0] and not text.startswith("#"), rel  # renders to nothing


def test_example_cards_keep_their_own_format_by_default(tmp_path: Path) -> None:
    result = run_cli("render", *map(str, example_cards()), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for card_path in example_cards():
        card = load_card(card_path)
        helmfile = (tmp_path / card.gitops.path / "helmfile.yaml").is_file()
        overlays = (tmp_path / card.gitops.path / "overlays").is_dir()
        expected = (True, False) if card_path.name in HELMFILE_EXAMPLES else (False, True)
        assert (helmfile, overlays) == expected, card.name
    kustomize_examples = {"billing-api.service.yaml", "web-frontend.service.yaml"}
    assert {c.name for c in example_cards()} >= HELMFILE_EXAMPLES | kustomize_examples
    assert (tmp_path / CHART_DIR / "Chart.yaml").is_file()


# --------------------------------------------------------------------------- writing the tree


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and STATE_DIR not in p.parts}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "services").mkdir()
    for card in example_cards():
        shutil.copy(card, tmp_path / "services" / card.name)
    assert run_cli("render", cwd=tmp_path).exit_code == 0
    return tmp_path


def test_second_render_is_byte_identical_and_check_passes(repo: Path) -> None:
    before = snapshot(repo)
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0 and "0 added, 0 modified, 0 removed" in result.output
    assert snapshot(repo) == before
    assert run_cli("render", "--check", cwd=repo).exit_code == 0
    assert run_cli("render", "--check", "--format", "helmfile", cwd=repo).exit_code == 1  # the override is seen


def test_files_that_cannot_hold_the_header_are_still_shipcards(repo: Path) -> None:
    schema = repo / CHART_DIR / "values.schema.json"
    schema.write_text("{}\n")  # edited by hand: --check sees it, render puts it back
    result = run_cli("render", "--check", cwd=repo)
    assert result.exit_code == 1 and f"{CHART_DIR}/values.schema.json: differs from its card" in result.output
    assert run_cli("render", cwd=repo).exit_code == 0
    assert json.loads(schema.read_text())["title"]
    mine = repo / CHART_DIR / "templates/extra.yaml"
    mine.write_text("apiVersion: v1\n")  # not listed: the user's, kept
    assert run_cli("render", cwd=repo).exit_code == 0 and mine.exists()


def test_a_users_own_chart_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / CHART_DIR).mkdir(parents=True)
    (tmp_path / CHART_DIR / "values.schema.json").write_text("{}\n")
    card = next(c for c in example_cards() if c.name == "url-pinger.service.yaml")
    result = run_cli("render", str(card), "--out", str(tmp_path))
    assert result.exit_code == 2 and "a file you own" in result.stderr


def test_switching_format_replaces_the_cards_tree(repo: Path) -> None:
    assert run_cli("render", "--format", "kustomize", cwd=repo).exit_code == 0
    assert not (repo / "apps/notifier/helmfile.yaml").exists()
    assert (repo / "apps/notifier/overlays/prod/kustomization.yaml").is_file()
    app = load_plain((repo / "argocd/prod/notifier.yaml").read_text())
    assert app["spec"]["source"]["path"] == "apps/notifier/overlays/prod"
    assert (repo / CHART_DIR / "Chart.yaml").is_file()  # a run without helmfile cards leaves the chart alone
    assert run_cli("render", cwd=repo).exit_code == 0
    assert (repo / "apps/notifier/helmfile.yaml").is_file() and not (repo / "apps/notifier/overlays").exists()


def test_every_generated_helmfile_file_names_its_card(repo: Path) -> None:
    for path in sorted((repo / "apps/url-pinger").rglob("*")):
        if path.is_file():
            assert path.read_text().startswith(f"{HEADER_PREFIX} from services/url-pinger.service.yaml."), path


def test_an_environment_named_common_is_refused_in_the_helmfile_format(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text("apiVersion: shipcard/v1\nkind: Service\nname: shop\nimage: ghcr.io/example/shop:1.0.0\n"
                    "port: 8080\nenvironments:\n  common: {}\n"
                    "gitops:\n  repoURL: https://github.com/example/gitops.git\n  format: helmfile\n")
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "values/common.yaml" in result.stderr
    assert run_cli("render", str(card), "--format", "kustomize", "--out", str(tmp_path / "out")).exit_code == 0


@pytest.mark.helm
def test_helm_lint_passes_strictly_on_the_vendored_chart(helmfile_tree: Path, any_helm: str) -> None:
    values = helmfile_tree / "apps/billing-api/values"
    result = subprocess.run([any_helm, "lint", "--strict", str(helmfile_tree / CHART_DIR), "--namespace", "billing",
                             "-f", str(values / "common.yaml"), "-f", str(values / "prod.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
