"""Issue 17: `shipcard import manifests` — online-boutique's manifests (../shared/corpus) as cards whose
rendered overlays, built by the real `kubectl kustomize`, run the same containers, images, ports, env
and probes; what has no card field kept in `custom/`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shipcard.yamlio.read import load_plain_all
from tests.importers.helpers import CORPUS, FIXTURES, render_build_check, setup, shipcard_import, written

BOUTIQUE = CORPUS / "online-boutique.yaml"
WORKLOADS = ["frontend", "adservice", "currencyservice", "cartservice", "redis-cart", "loadgenerator",
             "recommendationservice", "checkoutservice", "emailservice", "paymentservice", "shippingservice",
             "productcatalogservice"]


def _env(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom ConfigMaps, then env (which wins)."""
    values: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        name = (source.get("configMapRef") or {}).get("name")
        config = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name) \
            if name else None
        values.update((config or {}).get("data") or {})
    for entry in container.get("env") or []:
        values[entry["name"]] = entry.get("value", json.dumps(entry.get("valueFrom")))
    return values


def _probe(probe: dict[str, Any] | None, container: dict[str, Any]) -> dict[str, Any] | None:
    """A probe with named ports written as numbers (shipcard names the ports it declares)."""
    if probe is None:
        return None
    numbers = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
    result = json.loads(json.dumps(probe))
    for kind in ("httpGet", "tcpSocket", "grpc"):
        if kind in result and result[kind].get("port") in numbers:
            result[kind]["port"] = numbers[result[kind]["port"]]
    return result


def semantic_view(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "image": container["image"],
        "command": container.get("command"), "args": container.get("args"),
        "ports": sorted(p["containerPort"] for p in container.get("ports") or []),
        "env": _env(container, objects),
        **{kind: _probe(container.get(kind), container) for kind in ("readinessProbe", "livenessProbe",
                                                                     "startupProbe")},
    }


def differences(source: dict[str, Any], source_objects: list[dict[str, Any]], built: dict[str, Any],
                built_objects: list[dict[str, Any]]) -> list[str]:
    """What differs between the source's pod and the built one, container by container."""
    found = []
    source_pod, built_pod = source["spec"]["template"]["spec"], built["spec"]["template"]["spec"]
    for group in ("initContainers", "containers"):
        ours, theirs = source_pod.get(group) or [], built_pod.get(group) or []
        if len(ours) != len(theirs):
            found.append(f"{group}: {len(ours)} in the source, {len(theirs)} built")
            continue
        for mine, made in zip(ours, theirs, strict=True):
            if mine["name"] != made["name"]:
                found.append(f"{group} {mine['name']} is named {made['name']}")
            a, b = semantic_view(mine, source_objects), semantic_view(made, built_objects)
            found += [f"{group} {mine['name']} {key}: {a[key]!r} became {b[key]!r}" for key in a if a[key] != b[key]]
    return found


@pytest.mark.kubectl
def test_online_boutique_imports_as_twelve_cards_that_run_the_same_containers(tmp_path: Path, kubectl: str) -> None:
    """Every Deployment of online-boutique, imported with --all, rendered and built by the real kubectl,
    has the source's containers, images, ports, env and probes; the differences are only shipcard's
    names (its container is named after the service)."""
    repo = setup(tmp_path, BOUTIQUE)
    shipcard_import(repo, "manifests", "../legacy/online-boutique.yaml", "--all")
    assert sorted(p.name for p in (repo / "services").glob("*.service.yaml")) == \
        sorted(f"{name}.service.yaml" for name in WORKLOADS)
    built, findings = render_build_check(repo, kubectl)
    source_objects = load_plain_all(BOUTIQUE.read_text())
    report = {}
    for name in WORKLOADS:
        source = next(o for o in source_objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)
        objects = built[f"apps/{name}/overlays/prod"]
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        report[name] = differences(source, source_objects, deployment, objects)
    main_name = {"redis-cart": "redis", "loadgenerator": "main"}
    assert report == {name: [f"containers {main_name.get(name, 'server')} is named {name}"] for name in WORKLOADS}
    assert findings == Counter({
        ("info", "argocd-unpinned-revision"): 37,  # the repository's targetRevision `main`, as init writes it
        ("warning", "image-not-pinned"): 12,  # the source's tags: `shipcard pin` pins them
        ("warning", "single-replica"): 12,  # online-boutique runs one pod of each
        ("warning", "service-open-to-world"): 1,  # frontend-external, the source's LoadBalancer
        ("info", "recommended-labels-missing"): 1,  # frontend-external, kept as it is
        ("warning", "liveness-probe-missing"): 1,  # loadgenerator has none in the source
    })


@pytest.mark.kubectl
def test_what_no_card_field_holds_is_kept_by_the_custom_component(tmp_path: Path, kubectl: str) -> None:
    """frontend's second Service, its probes' headers and pod annotation, redis-cart's data volume and
    loadgenerator's init container are in the built overlays, through apps/<name>/custom/."""
    repo = setup(tmp_path, BOUTIQUE)
    shipcard_import(repo, "manifests", "../legacy/online-boutique.yaml", "--all")
    built, _ = render_build_check(repo, kubectl)
    frontend = built["apps/frontend/overlays/prod"]
    external = next(o for o in frontend if o["metadata"]["name"] == "frontend-external")
    assert (external["spec"]["type"], external["metadata"]["namespace"]) == ("LoadBalancer", "frontend-prod")
    pod = next(o for o in frontend if o["kind"] == "Deployment")["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == "frontend"  # what frontend-external selects
    assert pod["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] == "true"
    assert pod["spec"]["containers"][0]["readinessProbe"] == {
        "httpGet": {"path": "/_healthz", "port": "http",
                    "httpHeaders": [{"name": "Cookie", "value": "shop_session-id=x-readiness-probe"}]},
        "initialDelaySeconds": 10}
    redis = next(o for o in built["apps/redis-cart/overlays/prod"] if o["kind"] == "Deployment")
    assert redis["spec"]["template"]["spec"]["volumes"] == [{"name": "redis-data", "emptyDir": {}},
                                                             {"name": "tmp", "emptyDir": {}}]
    assert redis["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] == [
        {"mountPath": "/data", "name": "redis-data"}, {"name": "tmp", "mountPath": "/tmp"}]
    loader = next(o for o in built["apps/loadgenerator/overlays/prod"] if o["kind"] == "Deployment")
    init = loader["spec"]["template"]["spec"]["initContainers"][0]
    assert (init["name"], init["resources"]) == ("frontend-check", {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                                     "limits": {"memory": "128Mi"}})


def test_the_card_names_where_each_value_came_from(tmp_path: Path) -> None:
    repo = setup(tmp_path, BOUTIQUE)
    shipcard_import(repo, "manifests", "../legacy/online-boutique.yaml", "--workload", "emailservice")
    source = "../legacy/online-boutique.yaml"
    assert (repo / "services/emailservice.service.yaml").read_text() == f"""\
# Imported by `shipcard import` from {source}: each comment names where the value came from.
apiVersion: shipcard/v1
kind: Service
name: emailservice  # from {source}:690 metadata.name
image: us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/emailservice:v0.10.6 # from {source}:718 spec.template.spec.containers[0].image
ports:
  - name: grpc  # from {source}:720 spec.template.spec.containers[0].ports[0]
    port: 8080
    servicePort: 5000 # from {source}:754 spec.ports[0].port
    protocol: grpc
env:
  PORT: '8080'  # from {source}:722 spec.template.spec.containers[0].env[0]
  DISABLE_PROFILER: '1' # from {source}:724 spec.template.spec.containers[0].env[1]
resources:
  cpu: 100m  # from {source}:736 spec.template.spec.containers[0].resources.requests.cpu
  memory: 64Mi # from {source}:737 spec.template.spec.containers[0].resources.requests.memory
  limits:
    cpu: 200m  # from {source}:739 spec.template.spec.containers[0].resources.limits.cpu
    memory: 128Mi # from {source}:740 spec.template.spec.containers[0].resources.limits.memory
health:
  readiness:  # from {source}:726 spec.template.spec.containers[0].readinessProbe
    grpc: 8080
    period: 5
  liveness: # from {source}:730 spec.template.spec.containers[0].livenessProbe
    grpc: 8080
    period: 5
shutdown:
  gracePeriod: 5  # from {source}:703 spec.template.spec.terminationGracePeriodSeconds
replicas: 1 # from {source}:693 spec: no replicas, Kubernetes' default
allowFrom: # reachable in {source}: narrow to the real callers
  - anywhere: true
"""


def test_several_workloads_need_a_choice_and_nothing_is_written(tmp_path: Path) -> None:
    repo = setup(tmp_path, BOUTIQUE)
    before = written(repo)
    result = shipcard_import(repo, "manifests", "../legacy/online-boutique.yaml", code=2)
    assert result.output == (
        "shipcard: ../legacy/online-boutique.yaml: 12 workloads (" + ", ".join(WORKLOADS) + "): name one with "
        "--workload NAME, or import each with --all\n")
    missing = shipcard_import(repo, "manifests", "../legacy/online-boutique.yaml", "--workload", "cart", code=2)
    assert missing.output.startswith("shipcard: ../legacy/online-boutique.yaml: --workload: no Deployment or "
                                     "StatefulSet 'cart' (found: frontend, adservice,")
    assert written(repo) == before


def test_secret_values_of_manifests_are_never_copied(tmp_path: Path) -> None:
    """A Secret's values and a secret-looking env value appear nowhere; they become references to fill in."""
    repo = setup(tmp_path, FIXTURES / "ledger.yaml")
    report = tmp_path / "report.json"
    result = shipcard_import(repo, "manifests", "../legacy/ledger.yaml", "--report", str(report))
    everything = result.output + "".join(v.decode() for v in written(repo).values()) + report.read_text()
    for secret in ("cG9zdGdyZXM6Ly9sZWRnZXI6aHVudGVyMkBkYg==", "hunter2", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"):
        assert secret not in everything
    card = (repo / "services/ledger.service.yaml").read_text()
    assert "    DATABASE_URL: fill-in/ledger-db#url" in card and "    STRIPE_KEY: fill-in/ledger/STRIPE_KEY" in card
    assert [n["field"] for n in json.loads(report.read_text())["notes"] if "secret" in n["reason"]] == [
        "spec.template.spec.containers[0].env[1]", "metadata.name", "spec.template.spec.containers[0].env[2]"]


@pytest.mark.kubectl
def test_a_workload_with_its_service_ingress_hpa_cronjob_and_config(tmp_path: Path, kubectl: str) -> None:
    """ledger.yaml: the Service's ports, the Ingress, the HPA, the CronJob and the ConfigMap's values are card
    fields; the node selector, the pod-read env, the probe's scheme and the IRSA role annotation are patches."""
    repo = setup(tmp_path, FIXTURES / "ledger.yaml")
    shipcard_import(repo, "manifests", "../legacy/ledger.yaml")
    assert sorted((repo / "apps/ledger/custom").iterdir()) == [
        repo / "apps/ledger/custom" / name for name in ("deployment-patch.yaml", "ingress-patch.yaml",
                                                         "kustomization.yaml", "serviceaccount-patch.yaml")]
    built, findings = render_build_check(repo, kubectl)
    objects = {(o["kind"], o["metadata"]["name"]): o for o in built["apps/ledger/overlays/prod"]}
    pod = objects[("Deployment", "ledger")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert container["env"] == [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    assert container["readinessProbe"] == {"httpGet": {"path": "/ready", "port": "https", "scheme": "HTTPS"},
                                           "periodSeconds": 10, "timeoutSeconds": 3}
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert objects[("ConfigMap", "ledger-env")]["data"] == {"LOG_FORMAT": "json", "CURRENCY": "EUR",
                                                           "BOOKING_CUTOFF": "17:30"}
    assert objects[("ServiceAccount", "ledger")]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        "arn:aws:iam::123456789012:role/ledger"
    ingress = objects[("Ingress", "ledger")]
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"}
    assert ingress["spec"]["rules"][0]["host"] == "ledger.example.com"
    assert objects[("HorizontalPodAutoscaler", "ledger")]["spec"]["minReplicas"] == 3
    cron = objects[("CronJob", "ledger-close-day")]["spec"]
    assert (cron["schedule"], cron["timeZone"], cron["jobTemplate"]["spec"]["activeDeadlineSeconds"]) == \
        ("45 17 * * 1-5", "Europe/Amsterdam", 1800)
    assert [rule for severity, rule in findings if severity == "warning"] == ["image-not-pinned",
                                                                              "networkpolicy-allows-world"]


@pytest.mark.kubectl
def test_what_the_restricted_profile_forbids_is_refused_not_kept(tmp_path: Path, kubectl: str) -> None:
    """A privileged sidecar, host ports, the host's network and a hostPath volume would make the API server
    refuse the pods in a namespace enforcing the restricted standard: refused, reported, and the rest kept."""
    repo = setup(tmp_path, FIXTURES / "log-shipper.yaml")
    result = shipcard_import(repo, "manifests", "../legacy/log-shipper.yaml")
    assert result.stderr.count("note: ../legacy/log-shipper.yaml: checkout.allowFrom: its ports were reachable "
                               "from every caller in the source: any source may call it") == 1
    notes = [line.split(":", 4)[2:] for line in result.stderr.splitlines()
             if line.startswith("note: ") and ".allowFrom: " not in line]
    notes = [(line, field.strip(), reason) for line, field, reason in notes]
    assert [(line, field) for line, field, _ in notes] == [
        ("38", "spec.template.spec.volumes[1]"),
        ("19", "spec.template.spec.containers[0].ports[0].hostPort"),
        ("21", "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem"),
        ("27", "spec.template.spec.containers[1].securityContext"),
        ("25", "spec.template.spec.containers[1].resources"),
        ("25", "spec.template.spec.containers[1]"),
        ("35", "spec.template.spec.volumes"),
        ("14", "spec.template.spec.hostNetwork")]
    built, findings = render_build_check(repo, kubectl)
    pod = next(o for o in built["apps/checkout/overlays/prod"] if o["kind"] == "Deployment")["spec"]["template"]
    assert "hostNetwork" not in pod["spec"]
    assert pod["spec"]["volumes"] == [{"name": "logs", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    main, shipper = pod["spec"]["containers"]
    assert main["volumeMounts"] == [{"name": "logs", "mountPath": "/var/log/checkout"},
                                    {"name": "tmp", "mountPath": "/tmp"}]
    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert shipper["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                          "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert shipper["ports"] == [{"name": "metrics", "containerPort": 2020}]
    assert shipper["volumeMounts"] == [{"name": "logs", "mountPath": "/logs", "readOnly": True}]
    assert findings == Counter({
        ("info", "argocd-unpinned-revision"): 4, ("warning", "image-not-pinned"): 2,
        ("warning", "liveness-probe-missing"): 2, ("warning", "readiness-probe-missing"): 1,  # none in the source
        ("warning", "no-graceful-shutdown"): 1,  # the sidecar's metrics port, kept as it was
        ("warning", "networkpolicy-allows-world"): 1})
