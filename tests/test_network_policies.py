"""Issue 14, item 11: NetworkPolicies from declared callers (`allowFrom`, the card's ingress) and an optional
egress allow-list (`egressTo`), with other cards resolved to their namespace in the same environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from shipcard.k8s.objects import environment_objects
from shipcard.yamlio.read import load_plain
from tests.conftest import run_cli

SETTINGS = """\
apiVersion: shipcard/v1
kind: Repository
repoURL: https://github.com/example/gitops.git
environments:
  dev: {}
  prod:
    namespace: "{service}"
"""
CARD = """\
apiVersion: shipcard/v1
kind: Service
name: {name}
image: ghcr.io/example/{name}:1.0.0
"""
INGRESS_NGINX = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
DNS = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def repository(root: Path, cards: dict[str, str], settings: str = SETTINGS) -> Path:
    (root / "services").mkdir(parents=True)
    (root / "shipcard.yaml").write_text(settings)
    for name, extra in cards.items():
        (root / "services" / f"{name}.service.yaml").write_text(CARD.format(name=name) + extra)
    return root


def policies(root: Path, name: str, env: str) -> dict[str, dict]:
    """The card's NetworkPolicies in one environment: name → spec."""
    card = load_card(root / "services" / f"{name}.service.yaml")
    environment = next(e for e in card.environments if e.name == env)
    return {o["metadata"]["name"]: o["spec"] for o in environment_objects(environment) if o["kind"] == "NetworkPolicy"}


def test_a_service_with_ports_and_no_callers_keeps_the_default_deny_alone(tmp_path: Path) -> None:
    root = repository(tmp_path, {"api": "port: 8080\n"})
    assert list(policies(root, "api", "dev")) == ["api-default-deny"]


def test_an_ingress_admits_the_ingress_controller_on_its_port_only(tmp_path: Path) -> None:
    root = repository(tmp_path, {"web": "ports:\n  - {name: http, port: 8080}\n  - {name: metrics, port: 9090}\n"
                                        "ingress: {host: web.example.com}\n"})
    assert policies(root, "web", "dev")["web-allow-ports"]["ingress"] == [
        {"from": [INGRESS_NGINX], "ports": [{"port": 8080, "protocol": "TCP"}]}]


def test_the_ingress_controller_and_the_vpc_come_from_shipcard_yaml(tmp_path: Path) -> None:
    settings = SETTINGS + ("network:\n  ingressController: {namespace: traefik, podLabels: "
                           "{app.kubernetes.io/name: traefik}}\n  vpcCIDR: 10.20.0.0/16\n")
    root = repository(tmp_path, {"web": "port: 8080\ningress: {host: web.example.com}\n",
                                 "shop": "port: 3000\ningress: {host: shop.example.com, className: alb}\n"},
                      settings)
    assert policies(root, "web", "dev")["web-allow-ports"]["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}}}],
        "ports": [{"port": 8080, "protocol": "TCP"}]}]
    # target-type ip: the ALB connects to the pod from its own addresses in the VPC's subnets.
    assert policies(root, "shop", "dev")["shop-allow-ports"]["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 3000, "protocol": "TCP"}]}]


def test_an_alb_without_a_vpc_cidr_admits_its_port_from_anywhere(tmp_path: Path) -> None:
    root = repository(tmp_path, {"shop": "port: 3000\ningress: {host: shop.example.com, className: alb}\n"})
    assert policies(root, "shop", "dev")["shop-allow-ports"]["ingress"] == [
        {"ports": [{"port": 3000, "protocol": "TCP"}]}]


def test_a_service_caller_is_its_pods_in_its_namespace_of_the_same_environment(tmp_path: Path) -> None:
    root = repository(tmp_path, {
        "api": "port: 8080\nallowFrom:\n  - {service: web}\n  - {namespace: monitoring}\n  - {cidr: 10.1.0.0/16}\n",
        "web": "port: 80\nenvironments:\n  dev: {namespace: storefront}\n  prod: {}\n"})

    def caller(namespace: str) -> dict:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}

    every_port = [{"port": 8080, "protocol": "TCP"}]
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    block = {"ipBlock": {"cidr": "10.1.0.0/16"}}
    assert policies(root, "api", "dev")["api-allow-ports"]["ingress"] == [
        {"from": [caller("storefront"), monitoring, block], "ports": every_port}]
    assert policies(root, "api", "prod")["api-allow-ports"]["ingress"] == [
        {"from": [caller("web"), monitoring, block], "ports": every_port}]


def test_anywhere_opens_every_port_to_every_source(tmp_path: Path) -> None:
    root = repository(tmp_path, {"api": "ports:\n  - {name: http, port: 8080}\n  - {name: admin, port: 9000}\n"
                                        "allowFrom: [{anywhere: true}, {namespace: monitoring}]\n"})
    assert policies(root, "api", "dev")["api-allow-ports"]["ingress"] == [
        {"ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9000, "protocol": "TCP"}]}]


def test_egress_is_restricted_only_when_listed_and_dns_is_always_allowed(tmp_path: Path) -> None:
    root = repository(tmp_path, {
        "worker": "egressTo:\n  - {service: api, ports: [8080]}\n  - {cidr: 0.0.0.0/0, ports: [443]}\n"
                  "environments:\n  dev: {egressTo: []}\n  prod: {egressTo: null}\n",
        "api": "port: 8080\n"})
    assert "worker-allow-egress" not in policies(root, "worker", "prod")
    assert policies(root, "worker", "dev")["worker-allow-egress"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}, "policyTypes": ["Egress"],
        "egress": [DNS]}
    card = load_card(root / "services/worker.service.yaml")
    assert [o["spec"]["egress"] for o in environment_objects(card.environments[0]) if
            o["metadata"]["name"] == "worker-allow-egress"] == [[DNS]]
    (root / "services/worker.service.yaml").write_text(
        CARD.format(name="worker") + "egressTo:\n  - {service: api, ports: [8080]}\n  - {cidr: 0.0.0.0/0, ports: [443]}\n")
    assert policies(root, "worker", "prod")["worker-allow-egress"]["egress"] == [
        DNS,
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "api"}},
                 "podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}],
         "ports": [{"port": 8080, "protocol": "TCP"}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]


@pytest.mark.parametrize("extra,line", [
    ("port: 8080\nallowFrom:\n  - {namespace: monitoring}\n  - {service: nope}\n",
     "services/api.service.yaml:8:6: allowFrom[1].service: no card of the repository is named 'nope'"),
    ("port: 8080\nallowFrom:\n  - {cidr: 10.0.0.0/33}\n",
     "services/api.service.yaml:7:6: allowFrom[0].cidr: '10.0.0.0/33' is not an address block such as 10.0.0.0/16"),
    ("allowFrom:\n  - {namespace: monitoring}\n",
     "services/api.service.yaml:5:1: allowFrom: callers connect to the service's ports: add port or ports, "
     "or remove allowFrom"),
    ("port: 8080\nallowFrom:\n  - {namespace: monitoring, podLabels: {/app: x}}\n",
     "services/api.service.yaml:7:41: allowFrom[0].podLabels./app: label key '/app' has an empty prefix before '/'"),
    ("port: 8080\nenvironments:\n  dev: {}\n  prod:\n    allowFrom: [{service: web}]\n",
     "services/api.service.yaml:9:18: environments.prod.allowFrom[0].service: 'web' runs on "
     "https://prod.example.com in environment 'prod', not on https://kubernetes.default.svc: a NetworkPolicy "
     "selects pods of its own cluster only (name its addresses with cidr)"),
])
def test_a_wrong_entry_is_one_line_with_its_place_and_nothing_is_written(tmp_path: Path, extra: str,
                                                                          line: str) -> None:
    root = repository(tmp_path, {"api": extra,
                                 "web": "port: 80\nenvironments:\n  prod: {cluster: https://prod.example.com}\n"})
    result = run_cli("render", cwd=root)
    assert result.exit_code == 2
    assert result.stderr == f"shipcard: {root}/{line}\n"
    assert not (root / "apps").exists()


def test_moving_a_caller_to_another_namespace_renders_the_services_it_calls_again(tmp_path: Path) -> None:
    root = repository(tmp_path, {"api": "port: 8080\nallowFrom: [{service: web}]\n", "web": "port: 80\n",
                                 "other": "port: 80\n"})
    assert run_cli("render", cwd=root).exit_code == 0
    policy = root / "apps/api/base/networkpolicy-allow-ports.yaml"
    assert "kubernetes.io/metadata.name: web-dev" in policy.read_text()
    (root / "services/web.service.yaml").write_text(CARD.format(name="web") + "port: 80\nenvironments:\n"
                                                    "  dev: {namespace: shop}\n  prod: {}\n")
    result = run_cli("render", cwd=root)
    assert result.exit_code == 0, result.output
    assert "kubernetes.io/metadata.name: shop" in policy.read_text()
    assert "rendered 2 service(s)" in result.output  # api and web; other was skipped
    prod = load_plain((root / "apps/api/overlays/prod/kustomization.yaml").read_text())
    assert prod["namespace"] == "api"


def test_check_reports_a_caller_that_names_no_card_where_it_is_written(tmp_path: Path) -> None:
    root = repository(tmp_path, {"api": "port: 8080\nallowFrom: [{service: web}]\n"})
    result = run_cli("check", "--format", "json", "services", cwd=root)
    assert result.exit_code == 1
    assert [(f["rule"], f["severity"], f["message"], f["file"], f["line"], f["column"])
            for f in json.loads(result.stdout)["findings"]] == [
        ("card-invalid", "error", "allowFrom[0].service: no card of the repository is named 'web'",
         "services/api.service.yaml", 6, 14)]
    (root / "services/web.service.yaml").write_text(CARD.format(name="web"))
    assert run_cli("check", "services", cwd=root).exit_code == 0
