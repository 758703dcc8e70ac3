"""Issue 15: the rule bugs the comparison with kube-linter, Polaris and kubeconform found, and the
`api-invalid-port*` rules (values the API server refuses that the OpenAPI schema lets through)."""

from __future__ import annotations

import pytest

from shipcard.check.rules import load_rules
from tests.check.rule_examples import run_example

RULES = load_rules()

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  BUDGET
  selector:
    matchLabels: {app: web}
"""


def messages(rule_id: str, text: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in run_example(RULES, text, rule_id)]


@pytest.mark.parametrize(("budget", "expected"), [
    ('minAvailable: "90%"', [(22, 'PodDisruptionBudget/web requires 90% (3 of 3) pods available but '
                                  'Deployment/web runs 3: no pod may ever be evicted')]),
    ('minAvailable: "67%"', [(22, 'PodDisruptionBudget/web requires 67% (3 of 3) pods available but '
                                  'Deployment/web runs 3: no pod may ever be evicted')]),
    ('minAvailable: "66%"', []),  # 1.98 rounds up to 2 of 3
    ('minAvailable: 3', [(22, "PodDisruptionBudget/web requires 3 pods available but Deployment/web runs 3: "
                              "no pod may ever be evicted")]),
    # The disruption controller rounds maxUnavailable up too (getExpectedPodCount): 10% of 3 is 1 pod.
    ('maxUnavailable: "10%"', []),
    ('maxUnavailable: "0%"', [(22, "PodDisruptionBudget/web sets maxUnavailable to 0%: no pod may ever be evicted")]),
])
def test_pdb_percentages_are_scaled_like_the_disruption_controller(budget: str, expected: list[tuple[int, str]]) -> None:
    assert messages("pdb-blocks-eviction", DEPLOYMENT.replace("BUDGET", budget)) == expected


def test_job_ttl_missing_leaves_cronjobs_to_their_history_limits() -> None:
    cronjob = ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: '0 1 * * *'\n"
               "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n"
               "          containers:\n            - {name: run, image: ghcr.io/example/jobs:1.0.0}\n")
    assert messages("job-ttl-missing", cronjob) == []
    job = cronjob.replace("kind: CronJob", "kind: Job").replace("  schedule: '0 1 * * *'\n  jobTemplate:\n    spec:\n",
                                                                 "")
    assert messages("job-ttl-missing", job) == [(5, 'Job "nightly" has no ttlSecondsAfterFinished; '
                                                    "finished runs stay forever")]


PROBE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: dns
spec:
  containers:
    - name: dns
      image: ghcr.io/example/dns:1.0.0
      ports:
        - {name: dns, containerPort: 53, protocol: PROTOCOL}
      livenessProbe:
        tcpSocket: {port: dns}
"""


def test_a_probe_on_a_udp_only_port_is_reported_and_tcp_is_not() -> None:
    assert messages("probe-port-unknown", PROBE_POD.replace("PROTOCOL", "UDP")) == [
        (12, 'container "dns": livenessProbe uses port "dns", which the container declares as UDP only '
             "(probes connect over TCP)")]
    assert messages("probe-port-unknown", PROBE_POD.replace("PROTOCOL", "TCP")) == []
    assert messages("probe-port-unknown", PROBE_POD.replace(", protocol: PROTOCOL", "")) == []


def test_a_pem_private_key_in_a_neutrally_named_variable_is_a_secret_literal() -> None:
    key = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n"
           "      image: ghcr.io/example/web:1.0.0\n      env:\n        - name: TLS_MATERIAL\n"
           f'          value: "{key}"\n')
    found = messages("secret-literal-in-env", pod)
    assert found == [(10, 'container "web" sets TLS_MATERIAL to a literal value (not shown); '
                          "take it from a Secret")]
    public = pod.replace("PRIVATE KEY", "CERTIFICATE")
    assert messages("secret-literal-in-env", public) == []


SA_POD = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  FIELD\n  containers:\n"
          "    - {name: web, image: ghcr.io/example/web:1.0.0}\n")


def test_the_service_account_alias_counts_as_service_account_name() -> None:
    assert messages("default-service-account", SA_POD.replace("FIELD", "serviceAccount: web")) == []
    assert messages("default-service-account", SA_POD.replace("FIELD", "serviceAccount: default")) == [
        (5, "the pod runs as the namespace's default ServiceAccount")]  # the pod spec: serviceAccountName is implied


SERVICE = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n"
           "    - name: NAME\n      port: 80\n      targetPort: TARGET\n")


@pytest.mark.parametrize(("target", "expected"), [
    ("123456", [(10, "Service/web: targetPort 123456 is not a port number: must be between 1 and 65535, inclusive")]),
    ("0", [(10, "Service/web: targetPort 0 is not a port number: must be between 1 and 65535, inclusive")]),
    ("65535", []),
    ("http", []),
])
def test_api_invalid_port_checks_service_target_ports(target: str, expected: list[tuple[int, str]]) -> None:
    service = SERVICE.replace("NAME", "http").replace("TARGET", target)
    assert messages("api-invalid-port", service) == expected


@pytest.mark.parametrize(("target", "expected"), [
    ("http-metrics-abc", [(10, 'Service/web: targetPort "http-metrics-abc" must be no more than 15 characters')]),
    ('"8080"', [(10, 'Service/web: targetPort "8080" must contain at least one letter')]),
    ("http--x", [(10, 'Service/web: targetPort "http--x" must not contain consecutive hyphens')]),
    ("-http", [(10, 'Service/web: targetPort "-http" must not begin or end with a hyphen')]),
    ("Http_1", [(10, """Service/web: targetPort "Http_1" must contain only lower case letters, digits and '-'""")]),
    ("http-metrics-ab", []),  # 15 characters
    ("8080", []),  # a number, not a name
])
def test_api_invalid_port_name_mirrors_is_valid_port_name(target: str, expected: list[tuple[int, str]]) -> None:
    service = SERVICE.replace("NAME", "http").replace("TARGET", target)
    assert messages("api-invalid-port-name", service) == expected


def test_a_service_port_name_is_a_dns_label_not_an_iana_name() -> None:
    long_label = SERVICE.replace("NAME", "a-service-port-name-longer-than-15").replace("TARGET", "8080")
    assert messages("api-invalid-port-name", long_label) == []
    assert messages("api-invalid-port-name", SERVICE.replace("NAME", "Web_UI").replace("TARGET", "8080")) == [
        (8, """Service/web: name "Web_UI" must be a DNS-1123 label: lower case letters, digits and '-', """
            "starting and ending with a letter or digit")]


def test_container_and_probe_ports_are_checked_with_the_container_named() -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n"
           "      image: ghcr.io/example/web:1.0.0\n      ports:\n        - {name: '9090', containerPort: 70000}\n"
           "      readinessProbe:\n        grpc: {port: 0}\n")
    found = run_example(RULES, pod)
    assert sorted((f.rule, f.line, f.container, f.message) for f in found if f.rule.startswith("api-")) == [
        ("api-invalid-port", 10, "web", "Pod/web: containerPort 70000 is not a port number: must be between 1 and "
                                        "65535, inclusive"),
        ("api-invalid-port", 12, "web", "Pod/web: port 0 is not a port number: must be between 1 and 65535, "
                                        "inclusive"),
        ("api-invalid-port-name", 10, "web", 'Pod/web: name "9090" must contain at least one letter'),
    ]
