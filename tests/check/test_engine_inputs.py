"""Issue 3, inputs: Kustomize roots rendered with the real kubectl (bases not checked twice, findings traced
to the source file), Helm charts with the real helm, Argo CD Applications resolved to their source,
service cards, and rendering failures as findings."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

import shipcard.yamlio.read as yamlio_read
from shipcard.card import load as card_load
from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.inputs.plan import plan_inputs
from shipcard.lifecycle import rendering
from tests.conftest import example_cards, run_cli

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app.kubernetes.io/name: web}
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
          imagePullPolicey: Always
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app.kubernetes.io/name: web}
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
"""
REPLICAS_PATCH = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def kustomize_repo(tmp_path: Path) -> Path:
    write(tmp_path, {
        ".git/HEAD": "ref: refs/heads/main\n",
        "apps/web/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
        "apps/web/base/deployment.yaml": DEPLOYMENT,
        "apps/web/base/service.yaml": SERVICE,
        "apps/web/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: prod\nnamePrefix: prod-\n"
                                                     "patches:\n  - path: replicas.yaml\n",
        "apps/web/overlays/prod/replicas.yaml": REPLICAS_PATCH,
        "apps/web/overlays/dev/kustomization.yaml": "resources: [../../base]\nnamespace: dev\n",
    })
    return tmp_path


def check(root: Path, monkeypatch: pytest.MonkeyPatch, *paths: str, **options):
    monkeypatch.chdir(root)
    return run_check(CheckOptions(paths=list(paths), **options))


def test_plan_renders_overlays_not_bases_and_never_reads_patches_raw(kustomize_repo):
    plan = plan_inputs([str(kustomize_repo)])
    assert [(t.kind, t.path.relative_to(kustomize_repo).as_posix()) for t in plan.targets] == [
        ("kustomize", "apps/web/overlays/dev"), ("kustomize", "apps/web/overlays/prod")]
    assert any("Kustomize base, checked through" in note for note in plan.notes)


def test_explicit_base_is_rendered_too(kustomize_repo):
    plan = plan_inputs([str(kustomize_repo / "apps/web/base")])
    assert [t.kind for t in plan.targets] == ["kustomize"]


@pytest.mark.kubectl
def test_kustomize_findings_point_at_the_source_file_and_line(kustomize_repo, monkeypatch, kubectl):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    result = check(kustomize_repo, monkeypatch, ".")
    [schema] = [f for f in result.findings if f.rule == "schema"]  # the base's line, once for both overlays
    assert (schema.file, schema.line) == ("apps/web/base/deployment.yaml", 17)
    assert [(v.origin, v.object_ref) for v in schema.via] == [
        ("kubectl kustomize apps/web/overlays/dev", "Deployment/dev/web"),
        ("kubectl kustomize apps/web/overlays/prod", "Deployment/prod/prod-web")]
    assert result.objects == 4  # two overlays x (Deployment + Service); the base and the patch not on their own
    assert not any(f.file.endswith("replicas.yaml") for f in result.findings)


@pytest.mark.kubectl
def test_kustomize_failure_is_a_finding_with_kubectl_stderr(kustomize_repo, monkeypatch, kubectl):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    write(kustomize_repo, {"apps/web/overlays/dev/kustomization.yaml": "resources: [../../missing]\n"})
    result = check(kustomize_repo, monkeypatch, "apps/web/overlays/dev")
    [failed] = [f for f in result.findings if f.rule == "render-failed"]
    assert failed.file == "apps/web/overlays/dev/kustomization.yaml"
    assert "kubectl kustomize apps/web/overlays/dev" in failed.message and "missing" in failed.message
    assert result.exit_code == 1


def test_missing_kubectl_is_a_finding(kustomize_repo, monkeypatch):
    monkeypatch.setenv("SHIPCARD_KUBECTL", str(kustomize_repo / "no-kubectl"))
    result = check(kustomize_repo, monkeypatch, "apps/web/overlays/dev")
    [failed] = [f for f in result.findings if f.rule == "render-failed"]
    assert "kubectl not found" in failed.message and result.exit_code == 1


CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "chart/values.yaml": "image: nginx:1.27\nreplicas: 2\n",
    "chart/templates/deployment.yaml": DEPLOYMENT.replace("image: nginx:1.27", "image: {{ .Values.image }}")
    .replace("replicas: 2", "replicas: {{ .Values.replicas }}").replace("          imagePullPolicey: Always\n", ""),
}


@pytest.mark.helm
def test_helm_chart_is_rendered_with_values(tmp_path, monkeypatch, helm):
    monkeypatch.setenv("SHIPCARD_HELM", helm)
    write(tmp_path, {**CHART, "prod-values.yaml": "image: nginx:latest\nreplicas: two\n"})
    result = check(tmp_path, monkeypatch, "chart", values=[tmp_path / "prod-values.yaml"])
    files = {f.file for f in result.findings}
    assert files == {"chart/templates/deployment.yaml"}
    assert any(f.rule == "schema" and "spec.replicas: must be integer" in f.message for f in result.findings)
    assert any(f.rule == "image-latest-or-untagged" for f in result.findings)
    assert {f.origin for f in result.findings} == {"helm template chart chart"}


def test_missing_helm_is_a_finding(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPCARD_HELM", str(tmp_path / "no-helm"))
    write(tmp_path, CHART)
    result = check(tmp_path, monkeypatch, "chart")
    [failed] = [f for f in result.findings if f.rule == "render-failed"]
    assert "helm not found" in failed.message and failed.file == "chart/Chart.yaml"


APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-prod
  namespace: argocd
spec:
  project: shop
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: v1.0.0
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: prod
"""


@pytest.mark.kubectl
def test_argocd_application_source_is_rendered(kustomize_repo, monkeypatch, kubectl):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    write(kustomize_repo, {"argocd/web-prod.yaml": APP.format(path="apps/web/overlays/prod")})
    result = check(kustomize_repo, monkeypatch, "argocd")
    assert "apps/web/overlays/prod (kustomize)" in result.files
    assert any(f.object_ref == "Deployment/prod/prod-web" and f.rule == "schema" for f in result.findings)


def test_argocd_application_of_another_repository_is_not_rendered(kustomize_repo, monkeypatch):
    write(kustomize_repo, {"argocd/web-prod.yaml": APP.format(path="apps/web/overlays/prod"),
                           ".git/config": '[remote "origin"]\n\turl = git@github.com:example/other.git\n'})
    plan = plan_inputs([str(kustomize_repo / "argocd")])
    assert [t.kind for t in plan.targets] == ["manifest"]
    assert any("another repository" in note for note in plan.notes)


def test_invalid_card_is_card_invalid_with_its_line(tmp_path, monkeypatch):
    card = example_cards()[0]
    broken = card.read_text() + "replicass: 2\n"
    write(tmp_path, {"services/broken.service.yaml": broken})
    result = check(tmp_path, monkeypatch, "services")
    [finding] = [f for f in result.findings if f.rule == "card-invalid"]
    assert finding.file == "services/broken.service.yaml"
    assert finding.line == broken.count("\n") and "replicass" in finding.message


def test_valid_card_has_no_finding(tmp_path, monkeypatch):
    card = example_cards()[0]
    write(tmp_path, {f"services/{card.name}": card.read_text()})
    result = check(tmp_path, monkeypatch, "services")
    assert result.findings == [] and result.files == [f"services/{card.name}"]


@pytest.mark.kubectl
def test_rendered_examples_have_no_error_and_hand_edits_are_found(tmp_path, monkeypatch, kubectl):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    kustomize_cards = [c for c in example_cards() if "format: helmfile" not in c.read_text()]
    (tmp_path / "services").mkdir()
    for card in kustomize_cards:
        shutil.copy(card, tmp_path / "services" / card.name)
    monkeypatch.chdir(tmp_path)
    rendered = run_cli("render", "--out", str(tmp_path), cwd=tmp_path)
    assert rendered.exit_code == 0, rendered.output
    clean = check(tmp_path, monkeypatch, ".")
    assert [f for f in clean.findings if f.severity == "error"] == []
    assert clean.exit_code == 0
    edited = next(tmp_path.glob("apps/*/base/deployment.yaml"))
    edited.write_text(edited.read_text() + "# tuned by hand\n")
    result = check(tmp_path, monkeypatch, ".")
    shown = edited.relative_to(tmp_path).as_posix()
    messages = [f.message for f in result.findings if f.rule == "generated-file-edited" and f.file == shown]
    assert any("edited by hand" in m for m in messages)  # the digest in the header
    assert any("differs from its card" in m for m in messages)  # the card's drift
    assert result.exit_code == 1


@pytest.mark.kubectl
@pytest.mark.helm
def test_rendered_tree_of_every_example_card_has_no_error(tmp_path, monkeypatch, kubectl, helm):
    monkeypatch.setenv("SHIPCARD_KUBECTL", kubectl)
    monkeypatch.setenv("SHIPCARD_HELM", helm)
    (tmp_path / "services").mkdir()
    for card in example_cards():
        shutil.copy(card, tmp_path / "services" / card.name)
    rendered = run_cli("render", "--out", str(tmp_path), cwd=tmp_path)
    assert rendered.exit_code == 0, rendered.output
    result = check(tmp_path, monkeypatch, ".")
    assert [f"{f.file}:{f.line} {f.rule}: {f.message}" for f in result.findings if f.severity == "error"] == []
    assert any(t.endswith("(helm release notifier)") for t in result.files)
    assert result.exit_code == 0


def test_each_card_is_read_and_built_once_and_the_vendored_chart_compared_once(tmp_path, monkeypatch):
    """Two helmfile cards share the vendored chart: an edit in it is one finding, not one per card."""
    (tmp_path / "services").mkdir()
    for card in example_cards():
        shutil.copy(card, tmp_path / "services" / card.name)
    notifier = (tmp_path / "services" / "notifier.service.yaml").read_text()
    assert "format: helmfile" in notifier
    (tmp_path / "services" / "mailer.service.yaml").write_text(notifier.replace("name: notifier\n", "name: mailer\n"))
    assert run_cli("render", "--out", str(tmp_path), cwd=tmp_path).exit_code == 0
    template = tmp_path / "charts" / "service" / "templates" / "deployment.yaml"
    template.write_text(template.read_text() + "# tuned by hand\n")
    cards = sorted(p.name for p in (tmp_path / "services").iterdir())
    reads: Counter[str] = Counter()
    builds: Counter[str] = Counter()
    read_file = yamlio_read.read_regular_file  # what read_text reads every file through
    monkeypatch.setattr(yamlio_read, "read_regular_file", lambda path, limit: (reads.update([Path(path).name]), read_file(path, limit))[1])
    for module in (card_load, rendering):  # check imports card.load's at use
        build = module.load_card_text
        monkeypatch.setattr(module, "load_card_text",
                            lambda text, filename, *args, build=build: (builds.update([Path(filename).name]),
                                                                        build(text, filename, *args))[1])
    result = check(tmp_path, monkeypatch, "services")
    assert {name: reads[name] for name in cards} == dict.fromkeys(cards, 1)
    assert builds == Counter(cards)
    assert [(f.rule, f.file, f.message) for f in result.findings if f.severity == "error"] == [
        ("generated-file-stale", "charts/service/templates/deployment.yaml",
         "differs from its card: rendered before the card, shipcard.yaml or shipcard changed "
         "(card services/mailer.service.yaml; run `shipcard render`)")]
