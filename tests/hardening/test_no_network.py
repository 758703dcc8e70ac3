"""Issue 13, class 8 (and the Kustomize loops of class 4): `check` fetches nothing a repository names.

Every remote reference points at a loopback server (127.0.0.1, a random port) that counts the
connections made to it. Without `--allow-remote` each is a finding (`kustomize-remote-resource`,
`helm-remote-dependency`, `schema-remote-ref`) at its line, the target is not rendered and the
server sees nothing; with `--allow-remote` the tool is let loose and the server sees it try, where
the tool fetches at all (`kubectl kustomize` downloads files and clones with git; `helm template`
never downloads a dependency, and kustomize inflates no chart without `--enable-helm`).
A kustomization that reaches itself is one `kustomize-loop` finding naming the entry, never a
traceback or a hang.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardhelpers import shipcard

from shipcard.check.inputs.tools import offline_environment

BODY = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\ndata: {a: b}\n"
SCHEMA = b'{"type": "object"}'


class Loopback:
    """A server on 127.0.0.1 that counts connections and answers any HTTP request with `body`."""

    def __init__(self, body: bytes = BODY) -> None:
        self.body = body
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                   + str(len(self.body)).encode() + b"\r\nConnection: close\r\n\r\n" + self.body)
            except OSError:
                pass

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    loopback = Loopback()
    yield loopback
    loopback.close()


@pytest.fixture
def schema_server() -> Iterator[Loopback]:
    loopback = Loopback(SCHEMA)
    yield loopback
    loopback.close()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[tuple[str, str, int, str]]]:
    run = shipcard("check", *args, "--format", "json", cwd=root, env=env, timeout=120)
    assert "Traceback" not in run.output, run.output[-3000:]
    assert run.code in (0, 1, 2), run.output[-3000:]
    findings = sorted((f["rule"], f["file"], f["line"], f["message"]) for f in json.loads(run.stdout)["findings"])
    return run.code, findings


def remote_finding(file: str, line: int, field: str, url: str) -> tuple[str, str, int, str]:
    return ("kustomize-remote-resource", file, line,
            f"{field} {url} is fetched from the network: not rendered, its objects are not checked "
            "(--allow-remote fetches it)")


# --------------------------------------------------------------------------- Kustomize


# (kustomization text with {url}, the field, the line of the entry, the URL as the finding shows it)
KUSTOMIZE_REMOTES = [
    pytest.param("resources:\n  - {url}/remote.yaml\n", "resources[0]", 2, "{url}/remote.yaml", id="resource-http-file"),
    pytest.param("resources:\n  - {upper}/remote.yaml\n", "resources[0]", 2, "{upper}/remote.yaml",
                 id="resource-upper-case-scheme"),
    pytest.param("resources:\n  - git::{url}/org/repo.git//base?ref=v1\n", "resources[0]", 2,
                 "git::{url}/org/repo.git//base?ref=v1", id="resource-git-prefix"),
    pytest.param("resources:\n  - {url}/org/repo.git//base?ref=v1\n", "resources[0]", 2,
                 "{url}/org/repo.git//base?ref=v1", id="resource-git-over-http"),
    pytest.param("resources:\n  - ssh://git@127.0.0.1:{port}/org/repo.git//base\n", "resources[0]", 2,
                 "ssh://***@127.0.0.1:{port}/org/repo.git//base", id="resource-ssh"),
    pytest.param("resources:\n  - http://user:s3cr3t@127.0.0.1:{port}/remote.yaml\n", "resources[0]", 2,
                 "http://***@127.0.0.1:{port}/remote.yaml", id="resource-url-with-credentials"),
    pytest.param("resources:\n  - git@github.com:example/platform//base?ref=v1\n", "resources[0]", 2,
                 "git@github.com:example/platform//base?ref=v1", id="resource-scp-like"),
    pytest.param("resources:\n  - github.com/example/platform//base?ref=v1\n", "resources[0]", 2,
                 "github.com/example/platform//base?ref=v1", id="resource-github-shorthand"),
    pytest.param("bases:\n  - {url}/org/base.git\n", "bases[0]", 2, "{url}/org/base.git", id="bases"),
    pytest.param("components:\n  - {url}/org/component.git\n", "components[0]", 2, "{url}/org/component.git",
                 id="components"),
    pytest.param("resources: [cm.yaml]\npatches:\n  - path: {url}/patch.yaml\n", "patches[0].path", 3,
                 "{url}/patch.yaml", id="patch-path"),
    pytest.param("resources: [cm.yaml]\npatchesStrategicMerge:\n  - {url}/patch.yaml\n", "patchesStrategicMerge[0]", 3,
                 "{url}/patch.yaml", id="patches-strategic-merge"),
    pytest.param("resources: [cm.yaml]\npatchesJson6902:\n  - target: {{kind: ConfigMap, name: cm}}\n"
                 "    path: {url}/patch.json\n", "patchesJson6902[0].path", 4, "{url}/patch.json", id="patches-json6902"),
    pytest.param("configMapGenerator:\n  - name: conf\n    files:\n      - conf.txt={url}/conf.txt\n",
                 "configMapGenerator[0].files[0]", 4, "{url}/conf.txt", id="generator-file"),
    pytest.param("secretGenerator:\n  - name: env\n    envs: [{url}/secret.env]\n", "secretGenerator[0].envs[0]", 3,
                 "{url}/secret.env", id="generator-envs"),
    pytest.param("resources: [cm.yaml]\ncrds:\n  - {url}/crd.json\n", "crds[0]", 3, "{url}/crd.json", id="crds"),
    pytest.param("resources: [cm.yaml]\nopenapi:\n  path: {url}/openapi.json\n", "openapi.path", 3,
                 "{url}/openapi.json", id="openapi-path"),
    pytest.param("resources: [cm.yaml]\ntransformers:\n  - {url}/transformer.yaml\n", "transformers[0]", 3,
                 "{url}/transformer.yaml", id="transformers"),
    pytest.param("generators:\n  - {url}/generator.yaml\n", "generators[0]", 2, "{url}/generator.yaml",
                 id="generators"),
    pytest.param("resources: [cm.yaml]\nreplacements:\n  - path: {url}/replacement.yaml\n", "replacements[0].path", 3,
                 "{url}/replacement.yaml", id="replacements"),
    pytest.param("resources: [cm.yaml]\nhelmCharts:\n  - name: app\n    valuesFile: {url}/values.yaml\n",
                 "helmCharts[0].valuesFile", 4, "{url}/values.yaml", id="helm-chart-values-file"),
]
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {a: b}\n"


@pytest.mark.kubectl
@pytest.mark.parametrize(("text", "field", "line", "shown"), KUSTOMIZE_REMOTES)
def test_a_remote_kustomize_location_is_a_finding_and_never_fetched(tmp_path: Path, kubectl: str, server: Loopback,
                                                                    text: str, field: str, line: int,
                                                                    shown: str) -> None:
    values = {"url": server.url, "upper": server.url.replace("http://", "HTTP://"), "port": server.port}
    write(tmp_path, {"overlay/kustomization.yaml": text.format(**values), "overlay/cm.yaml": CONFIGMAP})
    code, findings = check(tmp_path, "overlay", env={"SHIPCARD_KUBECTL": kubectl})
    assert (code, findings) == (1, [remote_finding("overlay/kustomization.yaml", line, field, shown.format(**values))])
    assert server.connections == 0
    assert "s3cr3t" not in json.dumps(findings)


@pytest.mark.kubectl
def test_a_remote_resource_of_a_base_is_reported_through_its_overlay(tmp_path: Path, kubectl: str,
                                                                     server: Loopback) -> None:
    write(tmp_path, {"base/kustomization.yaml": f"resources:\n  - cm.yaml\n  - {server.url}/remote.yaml\n",
                     "base/cm.yaml": CONFIGMAP, "prod/kustomization.yaml": "resources: [../base]\nnamespace: prod\n",
                     "dev/kustomization.yaml": "resources: [../base]\nnamespace: dev\n"})
    code, findings = check(tmp_path, env={"SHIPCARD_KUBECTL": kubectl})
    assert (code, findings) == (1, [remote_finding("base/kustomization.yaml", 3, "resources[1]",
                                                   f"{server.url}/remote.yaml")])
    assert server.connections == 0


@pytest.mark.kubectl
def test_a_remote_chart_of_a_kustomization_is_a_finding(tmp_path: Path, kubectl: str, server: Loopback) -> None:
    write(tmp_path, {"overlay/kustomization.yaml": f"helmCharts:\n  - name: redis\n    repo: {server.url}/charts\n"
                                                   "    version: 1.0.0\n"})
    code, findings = check(tmp_path, "overlay", env={"SHIPCARD_KUBECTL": kubectl})
    assert (code, findings) == (1, [("helm-remote-dependency", "overlay/kustomization.yaml", 3,
                                     f"helmCharts[0].repo {server.url}/charts: chart redis would be downloaded: "
                                     "not rendered, its objects are not checked (--allow-remote)")])
    assert server.connections == 0


@pytest.mark.kubectl
@pytest.mark.parametrize("entry", [pytest.param("{url}/remote.yaml", id="http-file"),
                                   pytest.param("git::{url}/org/repo.git//base?ref=v1", id="git-over-http")])
def test_allow_remote_lets_kubectl_fetch(tmp_path: Path, kubectl: str, server: Loopback, entry: str) -> None:
    write(tmp_path, {"overlay/kustomization.yaml": f"resources:\n  - {entry.format(url=server.url)}\n"})
    code, findings = check(tmp_path, "overlay", "--allow-remote", env={"SHIPCARD_KUBECTL": kubectl})
    assert server.connections > 0
    assert not [f for f in findings if f[0] == "kustomize-remote-resource"]


@pytest.mark.kubectl
def test_the_tools_run_with_the_network_closed(tmp_path: Path, kubectl: str, server: Loopback) -> None:
    """What the plan might miss, kubectl cannot fetch either: git may use no transport in its environment."""
    write(tmp_path, {"kustomization.yaml": f"resources:\n  - git::{server.url}/org/repo.git//base?ref=v1\n"})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = subprocess.run([kubectl, "kustomize", str(tmp_path)], env=offline_environment(scratch),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0 and server.connections == 0, done.stderr
    subprocess.run([kubectl, "kustomize", str(tmp_path)], env=dict(os.environ), capture_output=True, timeout=120,
                   check=False)
    assert server.connections > 0  # the same build in the ordinary environment reaches the server


# --------------------------------------------------------------------------- Helm

CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: {name}\n    version: 1.0.0\n" \
        "    repository: {repository}\n"
TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels: {app.kubernetes.io/name: app}\n" \
           "data: {a: b}\n"


def helm_finding(repository: str, name: str = "redis") -> tuple[str, str, int, str]:
    return ("helm-remote-dependency", "chart/Chart.yaml", 7,
            f"dependencies[0].repository {repository}: chart {name} is not under charts/ and would be downloaded: "
            "not rendered, its objects are not checked (vendor it with `helm dependency build`)")


@pytest.mark.helm
@pytest.mark.parametrize("repository", [pytest.param("{url}/charts", id="https-repository"),
                                        pytest.param("oci://127.0.0.1:{port}/charts", id="oci-registry"),
                                        pytest.param("{url_with_user}/charts", id="repository-with-credentials")])
def test_a_remote_chart_dependency_is_a_finding_and_never_fetched(tmp_path: Path, helm: str, server: Loopback,
                                                                  repository: str) -> None:
    values = {"url": server.url, "port": server.port,
              "url_with_user": server.url.replace("http://", "http://bot:t0ken@")}
    write(tmp_path, {"chart/Chart.yaml": CHART.format(name="redis", repository=repository.format(**values)),
                     "chart/templates/cm.yaml": TEMPLATE})
    code, findings = check(tmp_path, "chart", env={"SHIPCARD_HELM": helm})
    shown = repository.format(**values).replace("bot:t0ken@", "***@")
    assert (code, findings) == (1, [helm_finding(shown)])
    code, findings = check(tmp_path, "chart", "--allow-remote", env={"SHIPCARD_HELM": helm})
    assert [(rule, file) for rule, file, _, _ in findings] == [("render-failed", "chart/Chart.yaml")]
    assert "missing in charts/ directory" in findings[0][3]
    assert server.connections == 0  # helm template never downloads a dependency


@pytest.mark.helm
@pytest.mark.parametrize("vendor", [pytest.param({"chart/charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\n"
                                                  "version: 1.0.0\n"}, id="vendored-directory"),
                                    pytest.param({}, id="file-repository")])
def test_a_vendored_or_local_dependency_is_rendered(tmp_path: Path, helm: str, server: Loopback,
                                                    vendor: dict[str, str]) -> None:
    repository = server.url if vendor else "file://../redis"
    files = {"chart/Chart.yaml": CHART.format(name="redis", repository=repository),
             "chart/templates/cm.yaml": TEMPLATE, "redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
             **vendor}
    write(tmp_path, files)
    code, findings = check(tmp_path, "chart", env={"SHIPCARD_HELM": helm})
    assert not [f for f in findings if f[0] == "helm-remote-dependency"], findings
    assert server.connections == 0


# --------------------------------------------------------------------------- policy schemas

POLICY = """\
id: org-rule
severity: error
category: organisation
title: ConfigMap is organised
rationale: Because.
fix: Organise it.
target: object
kinds: [ConfigMap]
schema:
{schema}
message: '{{kind}} "{{name}}" is not organised'
examples:
  pass: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: a}}\\n"]
  fail: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: a}}\\n"]
"""
REPOSITORY = "apiVersion: shipcard/v1\nkind: Repository\ncheck:\n  policy-dirs: [policies/org]\n"


def ref_finding(line: int, column: int, ref: str, file: str = "policies/org/org-rule.yaml") -> tuple[str, str, int, str]:
    return ("schema-remote-ref", file, line, f"$ref {ref} leads outside the schema: not fetched, so the rule "
            "checks nothing (--allow-remote fetches it)")


SCHEMAS = [
    pytest.param("  $ref: {url}/schema.json", 10, "{url}/schema.json", id="top-level"),
    pytest.param("  properties:\n    data:\n      $ref: {url}/data.json", 12, "{url}/data.json", id="under-properties"),
    pytest.param("  allOf:\n    - $ref: {url}/a.json", 11, "{url}/a.json", id="in-all-of"),
    pytest.param("  items:\n    $ref: '{url}/item.json'", 11, "{url}/item.json", id="under-items"),
    pytest.param("  $ref: 'http://u:pw@127.0.0.1:{port}/s.json'", 10, "http://***@127.0.0.1:{port}/s.json",
                 id="with-credentials"),
    pytest.param("  $ref: file:///etc/passwd", 10, "file:///etc/passwd", id="file-outside-the-repository"),
    pytest.param("  $ref: other.json", 10, "other.json", id="relative-file"),
    pytest.param("  definitions:\n    x: {{$ref: '{url}/x.json'}}\n  $ref: '#/definitions/x'", 11, "{url}/x.json",
                 id="behind-a-local-ref"),
]


@pytest.mark.parametrize(("schema", "line", "shown"), SCHEMAS)
def test_a_remote_ref_in_a_policy_schema_is_a_finding_and_never_fetched(tmp_path: Path, schema_server: Loopback,
                                                                        schema: str, line: int, shown: str) -> None:
    values = {"url": schema_server.url, "port": schema_server.port}
    write(tmp_path, {"shipcard.yaml": REPOSITORY, "m/cm.yaml": CONFIGMAP,
                     "policies/org/org-rule.yaml": POLICY.format(schema=schema.format(**values))})
    code, findings = check(tmp_path)
    assert [f for f in findings if f[0] == "schema-remote-ref"] == [ref_finding(line, 0, shown.format(**values))]
    assert not [f for f in findings if f[0] == "org-rule"]
    assert code == 1 and schema_server.connections == 0
    assert "pw@" not in json.dumps(findings)


def test_allow_remote_fetches_a_policy_schema(tmp_path: Path, schema_server: Loopback) -> None:
    write(tmp_path, {"shipcard.yaml": REPOSITORY, "m/cm.yaml": CONFIGMAP,
                     "policies/org/org-rule.yaml": POLICY.format(schema=f"  $ref: {schema_server.url}/s.json")})
    code, findings = check(tmp_path, "--allow-remote")
    assert not [f for f in findings if f[0] == "schema-remote-ref"]
    assert schema_server.connections > 0


def test_a_remote_ref_in_a_policy_dir_given_on_the_command_line_is_a_finding(tmp_path: Path,
                                                                            schema_server: Loopback) -> None:
    write(tmp_path, {"org/org-rule.yaml": POLICY.format(schema=f"  $ref: {schema_server.url}/s.json"),
                     "m/cm.yaml": CONFIGMAP})
    code, findings = check(tmp_path, "m", "--policy-dir", "org")
    assert [f for f in findings if f[0] == "schema-remote-ref"] == [
        ref_finding(10, 0, f"{schema_server.url}/s.json", file="org/org-rule.yaml")]
    assert schema_server.connections == 0


def test_a_property_named_ref_is_not_a_reference(tmp_path: Path, schema_server: Loopback) -> None:
    schema = "  properties:\n    data:\n      properties:\n        $ref: {type: string}\n      required: [$ref]"
    write(tmp_path, {"shipcard.yaml": REPOSITORY, "m/cm.yaml": CONFIGMAP,
                     "policies/org/org-rule.yaml": POLICY.format(schema=schema)})
    code, findings = check(tmp_path)
    assert [(rule, file, line) for rule, file, line, _ in findings] == [("org-rule", "m/cm.yaml", 5),
                                                                        ("recommended-labels-missing", "m/cm.yaml", 3)]
    assert code == 1 and schema_server.connections == 0


def test_a_remote_ref_in_a_crd_is_a_finding_and_never_fetched(tmp_path: Path, schema_server: Loopback) -> None:
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n"
           "spec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n"
           "    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n"
           f"          type: object\n          properties:\n            spec: {{$ref: '{schema_server.url}/w.json'}}\n")
    widgets = "".join(f"---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w{i}}}\nspec: {{a: 1}}\n"
                      for i in range(60))  # enough for the schema to be compiled
    write(tmp_path, {"crd.yaml": crd + widgets})
    code, findings = check(tmp_path, "crd.yaml")
    assert [f for f in findings if f[0] == "schema-remote-ref"] == [
        ("schema-remote-ref", "crd.yaml", 17, f"$ref {schema_server.url}/w.json leads outside the schema: not "
         "fetched, so the rule checks nothing (--allow-remote fetches it)")]
    assert schema_server.connections == 0


# --------------------------------------------------------------------------- Kustomize loops (class 4)


def loop(file: str, line: int, message: str) -> tuple[str, str, int, str]:
    return ("kustomize-loop", file, line, message)


LOOPS = [
    pytest.param({"a/kustomization.yaml": "resources: [.]\n"}, "a",
                 [loop("a/kustomization.yaml", 1, "resources[0] . leads back to a, which includes it: a kustomization loop")],
                 id="resources-self"),
    pytest.param({"a/kustomization.yaml": "resources:\n  - ./\n"}, "a",
                 [loop("a/kustomization.yaml", 2, "resources[0] ./ leads back to a, which includes it: a kustomization "
                       "loop")], id="resources-self-slash"),
    pytest.param({"a/kustomization.yaml": "generators: [.]\n"}, "a",
                 [loop("a/kustomization.yaml", 1, "generators[0] . leads back to a, which includes it: a kustomization "
                       "loop")], id="generators-self"),
    pytest.param({"a/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [../t]\n", "a/cm.yaml": CONFIGMAP,
                  "t/kustomization.yaml": "transformers: [../a]\n"}, "a",
                 [loop("t/kustomization.yaml", 1, "transformers[0] ../a leads back to a, which includes it: a "
                       "kustomization loop")], id="mutual-transformers"),
    pytest.param({"a/kustomization.yaml": "resources: [../b]\n", "b/kustomization.yaml": "resources: [../a]\n"}, ".",
                 [loop("a/kustomization.yaml", 1, "resources[0] ../b leads back to b, which includes it: a kustomization "
                       "loop"),
                  loop("b/kustomization.yaml", 1, "resources[0] ../a leads back to a, which includes it: a kustomization "
                       "loop")], id="mutual-resources-walked"),
    pytest.param({"a/kustomization.yaml": "resources: [x]\n", "a/x/kustomization.yaml": "resources: [..]\n"}, "a",
                 [loop("a/x/kustomization.yaml", 1, "resources[0] .. leads back to a, which includes it: a "
                       "kustomization loop")], id="child-includes-parent"),
    pytest.param({"o/kustomization.yaml": "components: [../c]\n",
                  "c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                          "components: [../c]\n"}, ".",
                 [loop("c/kustomization.yaml", 3, "components[0] ../c leads back to c, which includes it: a "
                       "kustomization loop")], id="component-cycle"),
    pytest.param({"a/kustomization.yaml": "resources: [loop/cm.yaml]\n"}, "a",
                 [loop("a/kustomization.yaml", 1, "resources[0] loop/cm.yaml: a symbolic link loop")],
                 id="symlink-loop"),
    pytest.param({"a/kustomization.yaml": "resources: [loop]\n"}, ".",
                 [loop("a/kustomization.yaml", 1, "resources[0] loop: a symbolic link loop")], id="symlink-loop-walked"),
]


@pytest.mark.parametrize(("files", "path", "expected"), LOOPS)
def test_a_kustomization_loop_is_one_finding_never_a_hang(tmp_path: Path, files: dict[str, str], path: str,
                                                          expected: list[tuple[str, str, int, str]]) -> None:
    write(tmp_path, files)
    if "loop" in files.get("a/kustomization.yaml", ""):
        (tmp_path / "a" / "loop").symlink_to("loop")
    code, findings = check(tmp_path, path, env={"SHIPCARD_KUBECTL": "/nonexistent/kubectl"})
    assert (code, findings) == (1, expected)


def test_a_fifo_named_by_a_kustomization_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"a/kustomization.yaml": "resources: [pipe.yaml]\n"})
    os.mkfifo(tmp_path / "a" / "pipe.yaml")
    code, findings = check(tmp_path, "a", env={"SHIPCARD_KUBECTL": "/nonexistent/kubectl"})
    assert (code, findings) == (2, [("input-unreadable", "a/pipe.yaml", 0, "not a regular file (named by resources[0] "
                                     "of a/kustomization.yaml): kustomize would block reading it")])
