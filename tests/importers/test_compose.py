"""Issue 17: `shipcard import compose` — a Compose file of several services as cards that render, build
with the real kubectl and check clean; secrets never copied; what has no card field reported."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from tests.conftest import run_cli
from tests.importers.helpers import FIXTURES, every_output, render_build_check, setup, shipcard_import, written
from tests.test_helmfile import by_key, helm_objects, kustomize_objects

SOURCES = (FIXTURES / "compose.yaml", FIXTURES / "api.env")
COMPOSE = "../legacy/compose.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return setup(tmp_path, *SOURCES)


def test_each_service_is_a_card_with_the_origin_of_every_value(repo: Path) -> None:
    result = shipcard_import(repo, "compose", COMPOSE)
    assert result.stdout == "".join(f"wrote services/{name}.service.yaml\n" for name in ("web", "api", "worker",
                                                                                        "cache"))
    assert (repo / "services/web.service.yaml").read_text() == f"""\
# Imported by `shipcard import` from {COMPOSE}: each comment names where the value came from.
apiVersion: shipcard/v1
kind: Service
name: web  # from {COMPOSE}:9 services.web
image: ghcr.io/example/shop-web:4.12.1 # from {COMPOSE}:10 services.web.image
args: # from {COMPOSE}:11 services.web.command
  - node
  - server.js
  - --port
  - '3000'
ports:
  - name: http  # from {COMPOSE}:13 services.web.ports[0]
    port: 3000
    servicePort: 80
    protocol: http
env:
  NODE_ENV: production  # from {COMPOSE}:15 services.web.environment.NODE_ENV
  API_URL: http://api:8000 # from {COMPOSE}:16 services.web.environment.API_URL
secrets:
  provider: aws-secrets-manager
  store: fill-in-secret-store
  env:
    SESSION_SECRET: fill-in/web/SESSION_SECRET  # from {COMPOSE}:17 services.web.environment.SESSION_SECRET
health:
  readiness:  # from {COMPOSE}:18 services.web.healthcheck
    http: 3000  # from {COMPOSE}:19 services.web.healthcheck.test
    path: /healthz
    initialDelay: 10
    period: 15
    failureThreshold: 3
  liveness: # from {COMPOSE}:18 services.web.healthcheck
    http: 3000  # from {COMPOSE}:19 services.web.healthcheck.test
    path: /healthz
    initialDelay: 10
    period: 15
    failureThreshold: 3
replicas: 3 # from {COMPOSE}:25 services.web.deploy.replicas
resources:
  cpu: 250m  # from {COMPOSE}:28 services.web.deploy.resources.reservations.cpus
  memory: 256Mi # from {COMPOSE}:28 services.web.deploy.resources.reservations.memory
  limits:
    cpu: 500m  # from {COMPOSE}:27 services.web.deploy.resources.limits.cpus
    memory: 512Mi # from {COMPOSE}:27 services.web.deploy.resources.limits.memory
shutdown:
  gracePeriod: 45  # from {COMPOSE}:29 services.web.stop_grace_period
allowFrom:  # reachable in {COMPOSE}: narrow to the real callers
  - service: api
  - service: worker
  - service: cache
"""
    api = (repo / "services/api.service.yaml").read_text()
    assert f"command: # from {COMPOSE}:35 services.api.entrypoint\n  - /usr/local/bin/gunicorn\n" in api
    assert "  DJANGO_SETTINGS_MODULE: app.settings.production  # from ../legacy/api.env:2 " \
           "DJANGO_SETTINGS_MODULE\n" in api
    assert "    STRIPE_API_KEY: fill-in/api/STRIPE_API_KEY" in api


def test_secret_values_appear_nowhere_and_the_report_names_the_variables(repo: Path, tmp_path: Path) -> None:
    """`SESSION_SECRET: hunter2…`, a password in a URL and an AWS key from the env_file: references, not values."""
    report = tmp_path / "import-report.json"
    result = shipcard_import(repo, "compose", COMPOSE, "--report", str(report))
    everything = every_output(result, repo, report)
    for value in ("hunter2-but-longer", "s3cr3t-pw", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"):
        assert value not in everything
    notes = json.loads(report.read_text())["notes"]
    assert [(n["file"], n["line"], n["field"]) for n in notes] == [
        (COMPOSE, 13, "services.web.ports[0]"),
        (COMPOSE, 17, "services.web.environment.SESSION_SECRET"),
        (COMPOSE, 21, "services.web.healthcheck.timeout"),
        (COMPOSE, 30, "services.web.depends_on"),
        (COMPOSE, 31, "services.web.logging"),
        (COMPOSE, 38, "services.api.ports[0]"),
        ("../legacy/api.env", 4, "AWS_SECRET_ACCESS_KEY"),
        (COMPOSE, 43, "services.api.environment[0]"),
        (COMPOSE, 45, "services.api.environment[2]"),
        (COMPOSE, 47, "services.api.secrets[0]"),
        (COMPOSE, 51, "services.api.restart"),
        ("../legacy/api.env", 4, "AWS_SECRET_ACCESS_KEY"),
        (COMPOSE, 62, "services.worker.deploy.resources.limits.memory"),
        (COMPOSE, 68, "services.cache.volumes"),
        (COMPOSE, 0, "web.allowFrom"), (COMPOSE, 0, "api.allowFrom"), (COMPOSE, 0, "cache.allowFrom"),
    ]
    assert notes[1]["reason"] == (
        "looks secret: its value was not copied; it is secrets.env.SESSION_SECRET, remote key "
        "'fill-in/web/SESSION_SECRET' in store 'fill-in-secret-store' (provider aws-secrets-manager): store the "
        "value there and fill in the key and store")
    assert notes[-3]["reason"] == ("its ports were reachable from every caller in the source: the 3 other "
                                   "imported service(s) may call it; narrow allowFrom to its callers")
    assert f"note: {COMPOSE}:45: services.api.environment[2]: RELEASE takes its value from the shell running " \
           "Compose: not imported\n" in result.stderr


@pytest.mark.kubectl
def test_the_imported_cards_render_build_and_check_clean(repo: Path, kubectl: str) -> None:
    shipcard_import(repo, "compose", COMPOSE)
    built, findings = render_build_check(repo, kubectl)
    web = next(o for o in built["apps/web/overlays/prod"] if o["kind"] == "Deployment")
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert (web["spec"]["replicas"], container["args"], container["readinessProbe"]) == (
        3, ["node", "server.js", "--port", "3000"],
        {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 15,
         "failureThreshold": 3})
    assert findings == Counter({
        ("info", "argocd-unpinned-revision"): 13,  # init's targetRevision `main`
        ("warning", "image-not-pinned"): 4,  # tags until `shipcard pin`
        ("warning", "liveness-probe-missing"): 2,  # worker and cache have no healthcheck
    })


def test_an_existing_card_is_refused_unless_forced(repo: Path) -> None:
    shipcard_import(repo, "compose", COMPOSE)
    (repo / "services/web.service.yaml").write_text("# mine\n")
    before = written(repo)
    refused = shipcard_import(repo, "compose", COMPOSE, code=2)
    assert refused.output == "shipcard: services/api.service.yaml: already exists (rerun with --force to " \
                             "overwrite, 3 more)\n"
    assert written(repo) == before
    shipcard_import(repo, "compose", COMPOSE, "--force")
    assert (repo / "services/web.service.yaml").read_text().startswith("# Imported by `shipcard import`")


@pytest.mark.parametrize(("old", "new", "line"), [
    pytest.param('      - "80:3000"', '      - "80:web"', "../legacy/compose.yaml:13:9: services.web.ports[0]: "
                 "not a Compose port ([HOST:]CONTAINER[/PROTOCOL])", id="port"),
    pytest.param("    env_file: api.env", "    env_file: ../../etc/passwd", "../legacy/compose.yaml:41:5: "
                 "services.api.env_file: an env_file outside the Compose file's directory is not read", id="env-file"),
    pytest.param("    stop_grace_period: 45s", "    stop_grace_period: soon", "../legacy/compose.yaml:29:5: "
                 "services.web.stop_grace_period: not a Compose duration (such as 10s or 1m30s)", id="duration"),
    pytest.param("    image: redis:7", "    image: Redis 7", "../legacy/compose.yaml:66:5: services.cache.image: "
                 "an image reference cannot be empty or contain spaces", id="image"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(repo: Path, old: str, new: str, line: str) -> None:
    compose = repo.parent / "legacy/compose.yaml"
    compose.write_text(compose.read_text().replace(old, new, 1))
    before = written(repo)
    assert shipcard_import(repo, "compose", COMPOSE, code=2).output == f"shipcard: {line}\n"
    assert written(repo) == before


@pytest.mark.helm
@pytest.mark.kubectl
def test_imported_cards_render_the_same_objects_in_the_helmfile_format(repo: Path, tmp_path: Path, helm: str,
                                                                       kubectl: str) -> None:
    """The Compose and crontab cards hold card fields only: the real `helm template` of their helmfile
    trees gives, per environment, exactly what `kubectl kustomize` builds from their Kustomize trees."""
    shutil.copy(FIXTURES / "batch01.crontab", repo.parent / "legacy")
    shipcard_import(repo, "compose", COMPOSE)
    shipcard_import(repo, "crontab", "../legacy/batch01.crontab", "--image", "ghcr.io/example/shop-batch:2024.11.1")
    trees = {"kustomize": repo, "helmfile": tmp_path / "helmfile"}
    shutil.copytree(repo, trees["helmfile"])
    for fmt, tree in trees.items():
        result = run_cli("render", "--format", fmt, cwd=tree)
        assert result.exit_code == 0, result.output
    cards = sorted((repo / "services").glob("*.service.yaml"))
    for path in cards:
        card = load_card(path)
        for env in card.environments:
            assert by_key(helm_objects(helm, trees["helmfile"], card, env)) == \
                by_key(kustomize_objects(kubectl, trees["kustomize"], card, env)), f"{card.name} {env.name}"


def test_an_image_without_a_version_is_reported(repo: Path) -> None:
    compose = repo.parent / "legacy/compose.yaml"
    compose.write_text(compose.read_text().replace("image: redis:7", "image: redis", 1)
                       .replace("image: ghcr.io/example/shop-web:4.12.1", "image: ghcr.io/example/shop-web:latest"))
    result = shipcard_import(repo, "compose", COMPOSE)
    assert [line for line in result.stderr.splitlines() if "pin a version" in line] == [
        f"note: {COMPOSE}:10: services.web.image: image ghcr.io/example/shop-web has no version tag (or `latest`): "
        "pin a version, then `shipcard pin`",
        f"note: {COMPOSE}:66: services.cache.image: image redis has no version tag (or `latest`): pin a version, "
        "then `shipcard pin`"]


def test_the_report_may_not_overwrite_the_source(repo: Path) -> None:
    before = written(repo)
    result = shipcard_import(repo, "compose", COMPOSE, "--report", COMPOSE, code=2)
    assert result.output == f"shipcard: {COMPOSE}: --report names an input of the import; write the report " \
                            "elsewhere\n"
    assert written(repo) == before
