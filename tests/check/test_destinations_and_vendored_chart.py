"""Issue 14, item 12: duplicates keyed by destination cluster, ALB actions as backends, the unused vendored chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from shipcard.check.inputs.paths import display
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.model import K8sObject
from shipcard.check.rules.cross import duplicate_object, ingress_backend_missing
from shipcard.check.rules.cross._destinations import fill_template, generated_applications
from shipcard.writers.chart import CHART_DIR, chart_files
from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import init_repository

RELEASE = "helm template notifier charts/service --namespace notifier"
KUSTOMIZE = "kubectl kustomize apps/web/overlays/prod"


def _application(name: str, server: str, source: dict[str, Any], namespace: str = "notifier") -> K8sObject:
    data = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://github.com/example/gitops.git", **source},
                     "destination": {"server": server, "namespace": namespace}}}
    return K8sObject(data, f"argocd/{name}.yaml")


def _chart_app(name: str, server: str) -> K8sObject:
    return _application(name, server, {"path": "charts/service", "helm": {"releaseName": "notifier"}})


def _config_map(origin: str, file: str = "charts/service/templates/configmap-env.yaml") -> K8sObject:
    data = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notifier-env", "namespace": "notifier"}}
    return K8sObject(data, file, origin=origin)


def _duplicates(objects: list[K8sObject]) -> list[str]:
    return [f.message for f in duplicate_object.check(objects)]


def test_one_release_deployed_to_two_clusters_is_not_a_duplicate() -> None:
    objects = [_chart_app("notifier-staging", "https://staging.k8s.example.com"),
               _chart_app("notifier-prod", "https://prod.k8s.example.com/"),
               _config_map(RELEASE), _config_map(RELEASE)]
    assert _duplicates(objects) == []


def test_one_release_deployed_twice_to_one_cluster_is_a_duplicate() -> None:
    objects = [_chart_app("notifier-staging", "https://prod.k8s.example.com"),
               _chart_app("notifier-prod", "https://PROD.k8s.example.com/"),
               _config_map(RELEASE), _config_map(RELEASE)]
    assert _duplicates(objects) == [
        "ConfigMap/notifier/notifier-env is already defined at charts/service/templates/configmap-env.yaml"]


def test_a_copy_beyond_one_per_cluster_is_a_duplicate() -> None:
    objects = [_chart_app("notifier-staging", "https://staging.k8s.example.com"),
               _chart_app("notifier-prod", "https://prod.k8s.example.com"),
               *[_config_map(RELEASE) for _ in range(3)]]
    assert len(_duplicates(objects)) == 1


def test_a_render_no_application_deploys_keeps_one_destination() -> None:
    other_release = _application("notifier-prod", "https://prod.k8s.example.com",
                                 {"path": "charts/service", "helm": {"releaseName": "mailer"}})
    other_namespace = _application("notifier-staging", "https://staging.k8s.example.com",
                                   {"path": "charts/service", "helm": {"releaseName": "notifier"}}, "notifier-staging")
    objects = [other_release, other_namespace, _config_map(RELEASE), _config_map(RELEASE)]
    assert _duplicates(objects) == [
        "ConfigMap/notifier/notifier-env is already defined at charts/service/templates/configmap-env.yaml"]


def test_an_overlay_deployed_to_two_clusters_is_not_a_duplicate() -> None:
    overlay = {"path": "apps/web/overlays/prod"}
    objects = [_application("web-tokyo", "https://tokyo.k8s.example.com", overlay),
               _application("web-osaka", "https://osaka.k8s.example.com", overlay),
               _config_map(KUSTOMIZE, "apps/web/base/configmap.yaml"),
               _config_map(KUSTOMIZE, "apps/web/base/configmap.yaml")]
    assert _duplicates(objects) == []
    assert len(_duplicates(objects[1:])) == 1


def _appset(generator: dict[str, Any], server: str, *, go_template: bool | None = None,
            release: str = "notifier", **spec: Any) -> K8sObject:
    """An ApplicationSet of `generator` deploying the chart's release `release`; `server` as its template says it."""
    data = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "notifier", "namespace": "argocd"},
            "spec": {**({} if go_template is None else {"goTemplate": go_template}), "generators": [generator],
                     "template": {"metadata": {"name": "notifier"}, "spec": {
                         "project": "default",
                         "source": {"repoURL": "https://github.com/example/gitops.git", "path": "charts/service",
                                    "helm": {"releaseName": release}},
                         "destination": {"server": server, "namespace": "notifier"}}}, **spec}}
    return K8sObject(data, "argocd/notifier-set.yaml")


TWO_CLUSTERS = {"list": {"elements": [{"env": "staging", "url": "https://staging.k8s.example.com"},
                                      {"env": "prod", "url": "https://prod.k8s.example.com"}]}}
ONE_CLUSTER = {"list": {"elements": [{"env": "staging", "url": "https://prod.k8s.example.com"},
                                     {"env": "prod", "url": "https://prod.k8s.example.com"}]}}
DUPLICATE = "ConfigMap/notifier/notifier-env is already defined at charts/service/templates/configmap-env.yaml"


@pytest.mark.parametrize("appset", [
    pytest.param(_appset(TWO_CLUSTERS, "{{url}}"), id="fasttemplate"),
    pytest.param(_appset(TWO_CLUSTERS, "{{ url }}", go_template=False), id="fasttemplate-spaces"),
    pytest.param(_appset(TWO_CLUSTERS, "{{.url}}", go_template=True), id="go-template"),
    pytest.param(_appset(TWO_CLUSTERS, "{{- .url -}}", go_template=True), id="go-template-trimmed"),
    pytest.param(_appset({"list": {"elements": [{"values": {"url": "https://staging.k8s.example.com"}},
                                                {"values": {"url": "https://prod.k8s.example.com"}}]}},
                         "{{values.url}}"), id="fasttemplate-values"),
    pytest.param(_appset({"list": {"elements": [{"cluster": {"url": "https://staging.k8s.example.com"}},
                                                {"cluster": {"url": "https://prod.k8s.example.com"}}]}},
                         "{{ .cluster.url }}", go_template=True), id="go-template-nested"),
    pytest.param(_appset({"list": {"elements": [{"env": "staging"}, {"env": "prod"}]}},
                         "https://{{env}}.k8s.example.com"), id="part-of-the-url"),
])
def test_an_applicationsets_list_elements_on_two_clusters_are_two_destinations(appset: K8sObject) -> None:
    """Argo CD's list generator (docs operator-manual/applicationset/Generators-List.md and Template.md;
    applicationset/utils Replace): one Application per element, the template's strings filled by
    fasttemplate (`{{key}}`, spaces trimmed, `values` flattened to `values.key`) or by Go's text/template
    with `goTemplate: true` (`{{.key}}`, the element as it is)."""
    assert _duplicates([appset, _config_map(RELEASE), _config_map(RELEASE)]) == []


@pytest.mark.parametrize("appset", [
    pytest.param(_appset(ONE_CLUSTER, "{{url}}"), id="both-elements-on-one-cluster"),
    pytest.param(_appset(TWO_CLUSTERS, "{{.url}}"), id="go-syntax-without-goTemplate-stays-unfilled"),
    pytest.param(_appset(TWO_CLUSTERS, "{{url}}", go_template=True), id="fasttemplate-syntax-under-goTemplate"),
    pytest.param(_appset(TWO_CLUSTERS, "{{ .url | lower }}", go_template=True), id="go-pipeline-not-evaluated"),
    pytest.param(_appset({"list": {"elements": [{"url": "https://staging.k8s.example.com", "replicas": 2},
                                                {"url": "https://prod.k8s.example.com"}]}}, "{{url}}"),
                 id="a-non-string-value-fails-the-generator"),
    pytest.param(_appset({"clusters": {}}, "{{server}}"), id="clusters-generator-not-expanded"),
    pytest.param(_appset({"list": {"elementsYaml": "- url: https://prod.k8s.example.com"}}, "{{url}}"),
                 id="elementsYaml-not-expanded"),
    pytest.param(_appset(TWO_CLUSTERS, "{{.url}}", go_template=True, templatePatch="spec: {}"),
                 id="templatePatch-not-expanded"),
    pytest.param(_appset(TWO_CLUSTERS, "{{url}}", release="mailer"), id="another-release"),
])
def test_what_cannot_be_told_offline_is_no_destination(appset: K8sObject) -> None:
    assert _duplicates([appset, _config_map(RELEASE), _config_map(RELEASE)]) == [DUPLICATE]


def test_a_generated_application_is_the_template_filled_from_its_element() -> None:
    appset = _appset(TWO_CLUSTERS, "{{url}}")
    appset.data["spec"]["template"]["metadata"]["name"] = "notifier-{{env}}-{{unknown}}"
    generated = generated_applications(appset)
    assert [(app.kind, app.name, app.data["spec"]["destination"], app.file) for app in generated] == [
        ("Application", "notifier-staging-{{unknown}}", {"server": "https://staging.k8s.example.com",
                                                         "namespace": "notifier"}, "argocd/notifier-set.yaml"),
        ("Application", "notifier-prod-{{unknown}}", {"server": "https://prod.k8s.example.com",
                                                      "namespace": "notifier"}, "argocd/notifier-set.yaml")]


@pytest.mark.parametrize("text,params,go_template,expected", [
    ("a-{{x}}-{{ y }}", {"x": "1", "y": "2"}, False, "a-1-2"),
    ("{{x}}{{missing}}", {"x": "1"}, False, "1{{missing}}"),
    ("{{}}", {"": "no"}, False, "{{}}"),
    ("a {{- .x -}} b", {"x": "1"}, True, "a1b"),
    ("{{.n}}/{{.f}}/{{.b}}", {"n": 3, "f": 3.0, "b": True}, True, "3/3/true"),
    ("{{.x}} {{ normalize .x }}", {"x": "A"}, True, "{{.x}} {{ normalize .x }}"),
    ("{{.missing}}", {}, True, "{{.missing}}"),
    ("{{" * 50000, {}, True, "{{" * 50000),
])
def test_template_filling_as_argo_cd_renders_it(text: str, params: dict[str, Any], go_template: bool,
                                                expected: str) -> None:
    assert fill_template(text, params, go_template) == expected


def _alb_ingress(annotation: str, port: dict[str, Any]) -> K8sObject:
    data = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "web", "annotations": {annotation: '{"type":"fixed-response"}'}},
            "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "maintenance", "port": port}}}]}}]}}
    return K8sObject(data, "ingress.yaml")


def test_an_alb_action_backend_needs_its_annotation() -> None:
    use = {"name": "use-annotation"}
    assert list(ingress_backend_missing.check([_alb_ingress("alb.ingress.kubernetes.io/actions.maintenance", use)])) \
        == []
    missing = list(ingress_backend_missing.check([_alb_ingress("alb.ingress.kubernetes.io/actions.other", use)]))
    assert [(f.message, f.path) for f in missing] == [
        ('Ingress/web/web: no annotation alb.ingress.kubernetes.io/actions.maintenance defines the action '
         '"maintenance"', ("spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"))]
    numbered = list(ingress_backend_missing.check([_alb_ingress("alb.ingress.kubernetes.io/actions.maintenance",
                                                                {"number": 80})]))
    assert [f.message for f in numbered] == ['Ingress/web/web: Service "maintenance" does not exist']


def _write_chart(directory: Path) -> None:
    for rel, text in chart_files().items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text(text)


def test_the_unused_vendored_chart_is_skipped_not_rendered(tmp_path: Path) -> None:
    _write_chart(tmp_path)
    plan = plan_inputs([str(tmp_path)])
    chart = tmp_path / CHART_DIR
    assert [t for t in plan.targets if t.kind == "helm"] == []
    assert (display(chart),
            "shipcard's vendored chart, used by no helmfile release or Application") in plan.skipped


def test_a_chart_of_the_user_no_release_uses_is_still_rendered(tmp_path: Path) -> None:
    _write_chart(tmp_path)
    chart_yaml = tmp_path / CHART_DIR / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().split("\n", 2)[2])  # without shipcard's header: the user's
    plan = plan_inputs([str(tmp_path)])
    assert [(t.kind, t.path) for t in plan.targets if t.kind == "helm"] == [("helm", (tmp_path / CHART_DIR))]


def test_render_prune_deletes_the_chart_no_card_uses_any_more(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    cards = {card.name: card for card in example_cards()}
    for name in ("notifier.service.yaml", "web-frontend.service.yaml"):
        shutil.copy(cards[name], repo / "services" / name)
    assert run_cli("render", cwd=repo).exit_code == 0
    (repo / "services/notifier.service.yaml").unlink()
    assert run_cli("render", cwd=repo).exit_code == 0
    assert (repo / CHART_DIR / "Chart.yaml").is_file()  # kept until pruned
    mine = repo / CHART_DIR / "NOTES.md"
    mine.write_text("keep me\n")
    result = run_cli("render", "--prune", cwd=repo)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(repo).as_posix() for p in (repo / "charts").rglob("*") if p.is_file()) \
        == [f"{CHART_DIR}/NOTES.md"]
    assert run_cli("render", "--check", cwd=repo).exit_code == 0


@pytest.mark.helm
def test_two_helmfile_environments_in_one_namespace_of_two_clusters_are_not_duplicates(tmp_path: Path) -> None:
    repo = init_repository(tmp_path / "gitops", "--no-git")
    card = {card.name: card for card in example_cards()}["notifier.service.yaml"].read_text()
    card = card.replace("    cluster: https://prod.k8s.example.com\n", "", 1)
    for env in ("staging", "prod"):
        card = card.replace(f"\n  {env}:\n", f"\n  {env}:\n    cluster: https://{env}.k8s.example.com\n"
                                              "    namespace: notifier\n", 1)
    (repo / "services/notifier.service.yaml").write_text(card)
    assert run_cli("render", cwd=repo).exit_code == 0
    whole = run_cli("check", "--format", "json", ".", cwd=repo)
    assert [f["rule"] for f in json.loads(whole.stdout)["findings"] if f["rule"] == "duplicate-object"] == []
    releases_only = run_cli("check", "--format", "json", "apps", "charts", cwd=repo)  # no Application: one cluster
    assert releases_only.exit_code == 1
    assert sorted(f["object"] for f in json.loads(releases_only.stdout)["findings"]
                  if f["rule"] == "duplicate-object") == [
        "ConfigMap/notifier/notifier-env", "Deployment/notifier/notifier", "ExternalSecret/notifier/notifier",
        "NetworkPolicy/notifier/notifier-default-deny",  # no callers declared: no allow-ports policy
        "Service/notifier/notifier", "ServiceAccount/notifier/notifier"]
