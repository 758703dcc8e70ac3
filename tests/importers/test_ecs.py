"""Issue 17: `shipcard import ecs` — an ECS task definition (a Rails API with a FireLens log router, Parameter
Store and Secrets Manager secrets, a task role) as a card that renders, builds with the real kubectl and
helm, and checks clean; secret values never copied; what has no card field reported.

ECS and the External Secrets Operator cannot run here. What the tests encode from their documentation and
source: ECS `secrets[].valueFrom` is a Parameter Store ARN `arn:…:ssm:…:parameter/NAME` (the name without
its leading `/`) or a parameter name, or a Secrets Manager ARN `…:secret:NAME-XXXXXX[:json-key:version-stage:
version-id]` (ECS developer guide, "Pass sensitive data to a container"; AWS CDK's `arnForParameterName`);
ESO's Parameter Store provider passes `remoteRef.key` to GetParameter as it is, so a name with a path keeps
its leading `/` (external-secrets providers/v1/aws/parameterstore/parameterstore.go), and appends
`:<remoteRef.version>` to it; its Secrets Manager provider reads `remoteRef.version` as a version stage, or with
the prefix `uuid/` as a version id. The rendered ExternalSecrets are validated against ESO v2.9.0's real CRD
(`../shared/crds`).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shipcard.card.load import load_card
from shipcard.importers.ecs import PARAMETER_STORE, SECRETS_MANAGER, SecretRef, secret_ref
from shipcard.importers.result import Origin
from shipcard.yamlio.read import load_plain
from tests.conftest import run_cli
from tests.importers.helpers import FIXTURES, every_output, render_build_check, setup, shipcard_import, written
from tests.test_helmfile import by_key, helm_objects, kustomize_objects
from tests.test_real_crds import real_problems

FIXTURE = FIXTURES / "storefront-api.task-definition.json"
TASK = "../legacy/storefront-api.task-definition.json"
CARD = "services/storefront-api.service.yaml"
ROLE = "arn:aws:iam::123456789012:role/storefront-api-task"
# Values of the fixture that are secrets: a password in a URL, a Sentry DSN's key.
SECRET_VALUES = ("Zq8vRedisPw4417", "5f3c2a91d0")
C0 = "taskDefinition.containerDefinitions[0]"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return setup(tmp_path, FIXTURE)


def test_the_service_container_is_a_card_with_the_origin_of_every_value(repo: Path) -> None:
    result = shipcard_import(repo, "ecs", TASK)
    assert result.stdout == f"wrote {CARD}\n"
    assert (repo / CARD).read_text() == f"""\
# Imported by `shipcard import` from {TASK}: each comment names where the value came from.
apiVersion: shipcard/v1
kind: Service
name: storefront-api  # from {TASK}:163 taskDefinition.family
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/storefront-api:2024.11.3 # from {TASK}:7 {C0}.image
command: # from {TASK}:21 {C0}.entryPoint
  - /rails/bin/docker-entrypoint
args: # from {TASK}:24 {C0}.command
  - ./bin/rails
  - server
  - -b
  - 0.0.0.0
  - -p
  - '3000'
ports:
  - name: web-3000  # from {TASK}:12 {C0}.portMappings[0]
    port: 3000
    protocol: http
env:
  RAILS_ENV: production  # from {TASK}:33 {C0}.environment[0]
  RAILS_LOG_TO_STDOUT: '1' # from {TASK}:37 {C0}.environment[1]
  WEB_CONCURRENCY: '2' # from {TASK}:41 {C0}.environment[2]
secrets:
  provider: aws-secrets-manager
  store: fill-in-secret-store
  env:
    REDIS_URL: fill-in/storefront-api/REDIS_URL  # from {TASK}:45 {C0}.environment[3]
    SENTRY_DSN: fill-in/storefront-api/SENTRY_DSN # from {TASK}:49 {C0}.environment[4]
    DATABASE_URL: storefront/prod/database # from {TASK}:72 {C0}.secrets[0]
    DATABASE_PASSWORD: storefront/prod/rds#password # from {TASK}:76 {C0}.secrets[1]
    SIDEKIQ_WEB_PASSWORD: # from {TASK}:80 {C0}.secrets[2]
      key: storefront/prod/sidekiq#web_password
      version: AWSPREVIOUS
    SECRET_KEY_BASE: # from {TASK}:84 {C0}.secrets[3]
      key: /storefront/prod/secret-key-base
      provider: aws-parameter-store
      store: fill-in-parameter-store
    STRIPE_SECRET_KEY: # from {TASK}:88 {C0}.secrets[4]
      key: /storefront/prod/stripe-secret-key
      provider: aws-parameter-store
      store: fill-in-parameter-store
      version: '3'
health:
  readiness:  # from {TASK}:123 {C0}.healthCheck
    http: 3000  # from {TASK}:124 {C0}.healthCheck.command
    path: /up
    initialDelay: 30
    period: 15
    failureThreshold: 3
  liveness: # from {TASK}:123 {C0}.healthCheck
    http: 3000  # from {TASK}:124 {C0}.healthCheck.command
    path: /up
    initialDelay: 30
    period: 15
    failureThreshold: 3
resources:
  cpu: 750m  # from {TASK}:8 {C0}.cpu
  memory: 1Gi # from {TASK}:10 {C0}.memoryReservation
  limits:
    memory: 1792Mi  # from {TASK}:9 {C0}.memory
shutdown:
  gracePeriod: 60  # from {TASK}:99 {C0}.stopTimeout
serviceAccount:
  awsRole: {ROLE}  # from {TASK}:164 taskDefinition.taskRoleArn
allowFrom:  # reachable in {TASK}: narrow to the real callers
  - anywhere: true
"""


def test_the_report_says_what_the_card_does_not_express_and_no_secret_value_appears(repo: Path,
                                                                                     tmp_path: Path) -> None:
    report = tmp_path / "import-report.json"
    result = shipcard_import(repo, "ecs", TASK, "--report", str(report))
    for value in SECRET_VALUES:
        assert value not in every_output(result, repo, report)
    notes = json.loads(report.read_text())["notes"]
    assert {note["file"] for note in notes} == {TASK}
    volume = "a volume has no card field: not imported (the root file system is read-only, /tmp writable)"
    suffix = ("the ARN's last six characters are taken for the suffix Secrets Manager appends to a name; if they "
              "are part of the name (a partial ARN), write the whole name as the key")
    assert [(n["line"], n["field"], n["reason"]) for n in notes] == [
        (45, f"{C0}.environment[3]", "looks secret: its value was not copied; it is secrets.env.REDIS_URL, remote "
         "key 'fill-in/storefront-api/REDIS_URL' in store 'fill-in-secret-store' (provider aws-secrets-manager): "
         "store the value there and fill in the key and store"),
        (49, f"{C0}.environment[4]", "looks secret: its value was not copied; it is secrets.env.SENTRY_DSN, remote "
         "key 'fill-in/storefront-api/SENTRY_DSN' in store 'fill-in-secret-store' (provider aws-secrets-manager): "
         "store the value there and fill in the key and store"),
        (54, f"{C0}.environmentFiles", "environment files in S3 are not fetched: add their variables to env (or "
         "secrets)"),
        (60, f"{C0}.mountPoints", volume),
        (68, f"{C0}.linuxParameters", "has no card field: not imported"),
        (72, f"{C0}.secrets[0]", f"DATABASE_URL: secret 'storefront/prod/database': {suffix}"),
        (72, f"{C0}.secrets[0]", "store 'fill-in-secret-store' stands for the ClusterSecretStore "
         "(aws-secrets-manager) that reads region us-east-1 of account 123456789012: write its name"),
        (76, f"{C0}.secrets[1]", f"DATABASE_PASSWORD: secret 'storefront/prod/rds': {suffix}"),
        (80, f"{C0}.secrets[2]", f"SIDEKIQ_WEB_PASSWORD: secret 'storefront/prod/sidekiq': {suffix}"),
        (84, f"{C0}.secrets[3]", "store 'fill-in-parameter-store' stands for the ClusterSecretStore "
         "(aws-parameter-store) that reads region us-east-1 of account 123456789012: write its name"),
        (93, f"{C0}.dependsOn", "has no card field: not imported"),
        (100, f"{C0}.user", "the pods run as UID 10001 (the restricted Pod Security Standard): the image must "
         "allow it"),
        (102, f"{C0}.ulimits", "has no card field: not imported"),
        (109, f"{C0}.logConfiguration", "the pod's standard output goes to the cluster's log agent: the log "
         "configuration (and its secretOptions) is not imported"),
        (129, f"{C0}.healthCheck.timeout", "has no card field: the probe keeps Kubernetes' default (1s)"),
        (135, "taskDefinition.containerDefinitions[1]", "container log-router is not imported (a FireLens log "
         "router: the cluster's log agent does its work; the card runs one container: pass --container to "
         "import another)"),
        (163, "taskDefinition.family", "the ECS service's desired count is not in the task definition: replicas "
         "keep shipcard's default (2)"),
        (164, "taskDefinition.taskRoleArn", "the role trusted ecs-tasks.amazonaws.com: for IRSA its trust policy "
         "must allow the cluster's OIDC provider for system:serviceaccount:<namespace>:<name> in each "
         "environment's namespace"),
        (165, "taskDefinition.executionRoleArn", "the execution role pulled the image and read the secrets for "
         "ECS: on Kubernetes the nodes pull the image, and the External Secrets Operator reads the secrets with "
         "its ClusterSecretStore's identity, which needs that role's read access"),
        (168, "taskDefinition.volumes", volume),
        (196, "taskDefinition.runtimePlatform", "has no card field: the pods run on the cluster's nodes, whose "
         "CPU architecture must be the image's"),
        (0, "storefront-api.allowFrom", "its ports were reachable from every caller in the source: any source may "
         "call it; narrow allowFrom to its callers"),
    ]
    assert result.stderr == "".join(f"note: {TASK}:{n['line']}: {n['field']}: {n['reason']}\n" for n in notes[:-1]) + \
        f"note: {TASK}: storefront-api.allowFrom: {notes[-1]['reason']}\n" + \
        f"imported 1 service(s) from {TASK}, 22 note(s); next: `shipcard render`\n"


def external_secrets(objects: list[dict[str, Any]]) -> dict[str, tuple[str, str, list[tuple[str, str, str | None]]]]:
    """Each ExternalSecret: its store, its Secret and its (variable, remote key, property) entries."""
    return {o["metadata"]["name"]: (o["spec"]["secretStoreRef"]["name"], o["spec"]["target"]["name"],
                                    [(d["secretKey"], d["remoteRef"]["key"], d["remoteRef"].get("property"))
                                     for d in o["spec"]["data"]])
            for o in objects if o["kind"] == "ExternalSecret"}


def eso_versions(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The `remoteRef.version` of each ExternalSecret entry that has one, by its Secret key."""
    return {d["secretKey"]: d["remoteRef"]["version"] for o in objects if o["kind"] == "ExternalSecret"
            for d in o["spec"]["data"] if "version" in d["remoteRef"]}


@pytest.mark.kubectl
def test_the_imported_card_renders_builds_and_checks_clean(repo: Path, kubectl: str) -> None:
    shipcard_import(repo, "ecs", TASK)
    built, findings = render_build_check(repo, kubectl)
    assert sorted(built) == [f"apps/storefront-api/overlays/{env}" for env in ("dev", "prod", "staging")]
    for objects in built.values():
        assert external_secrets(objects) == {  # one per store
            "storefront-api": ("fill-in-secret-store", "storefront-api-secrets", [
                ("REDIS_URL", "fill-in/storefront-api/REDIS_URL", None),
                ("SENTRY_DSN", "fill-in/storefront-api/SENTRY_DSN", None),
                ("DATABASE_URL", "storefront/prod/database", None),
                ("DATABASE_PASSWORD", "storefront/prod/rds", "password"),
                ("SIDEKIQ_WEB_PASSWORD", "storefront/prod/sidekiq", "web_password")]),
            "storefront-api-fill-in-parameter-store": (
                "fill-in-parameter-store", "storefront-api-fill-in-parameter-store-secrets", [
                    ("SECRET_KEY_BASE", "/storefront/prod/secret-key-base", None),
                    ("STRIPE_SECRET_KEY", "/storefront/prod/stripe-secret-key", None)])}
        assert eso_versions(objects) == {"SIDEKIQ_WEB_PASSWORD": "AWSPREVIOUS", "STRIPE_SECRET_KEY": "3"}
        assert [problem for o in objects if o["kind"] == "ExternalSecret" for problem in real_problems(o)] == []
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        assert [c["name"] for c in pod["containers"]] == ["storefront-api"]  # the log router stays behind
        container = pod["containers"][0]
        assert (container["command"], container["args"][:2], container["resources"], container["livenessProbe"],
                pod["terminationGracePeriodSeconds"]) == (
            ["/rails/bin/docker-entrypoint"], ["./bin/rails", "server"],
            {"requests": {"cpu": "750m", "memory": "1Gi"}, "limits": {"memory": "1792Mi"}},
            {"httpGet": {"path": "/up", "port": "web-3000"}, "initialDelaySeconds": 30, "periodSeconds": 15,
             "failureThreshold": 3}, 60)
        assert container["envFrom"] == [{"configMapRef": {"name": "storefront-api-env"}},
                                        {"secretRef": {"name": "storefront-api-secrets"}},
                                        {"secretRef": {"name": "storefront-api-fill-in-parameter-store-secrets"}}]
        account = next(o for o in objects if o["kind"] == "ServiceAccount")
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE
    assert findings == Counter({
        ("info", "argocd-unpinned-revision"): 4,  # init's targetRevision `main`
        ("warning", "image-not-pinned"): 1,  # a tag until `shipcard pin`
        ("warning", "networkpolicy-allows-world"): 1,  # port 3000 takes traffic from anywhere, as on ECS
    })


@pytest.mark.helm
@pytest.mark.kubectl
def test_the_imported_card_renders_the_same_objects_in_the_helmfile_format(repo: Path, tmp_path: Path, helm: str,
                                                                           kubectl: str) -> None:
    """The card holds card fields only: the real `helm template` of its helmfile tree gives, per environment,
    exactly what `kubectl kustomize` builds from its Kustomize tree (both ExternalSecrets, the role)."""
    shipcard_import(repo, "ecs", TASK)
    trees = {"kustomize": repo, "helmfile": tmp_path / "helmfile"}
    shutil.copytree(repo, trees["helmfile"])
    for fmt, tree in trees.items():
        result = run_cli("render", "--format", fmt, cwd=tree)
        assert result.exit_code == 0, result.output
    card = load_card(repo / CARD)
    for env in card.environments:
        from_helm = helm_objects(helm, trees["helmfile"], card, env)
        assert by_key(from_helm) == by_key(kustomize_objects(kubectl, trees["kustomize"], card, env)), env.name
        assert eso_versions(from_helm) == {"SIDEKIQ_WEB_PASSWORD": "AWSPREVIOUS", "STRIPE_SECRET_KEY": "3"}


ORIGIN = Origin("task.json", 9, "secrets[0].valueFrom", 34)


@pytest.mark.parametrize(("value_from", "ref"), [
    pytest.param("arn:aws:ssm:eu-west-1:123456789012:parameter/billing/prod/db-password",
                 SecretRef(PARAMETER_STORE, "/billing/prod/db-password", "region eu-west-1 of account 123456789012"),
                 id="parameter-path"),
    pytest.param("arn:aws:ssm:eu-west-1:123456789012:parameter/BillingDbPassword",
                 SecretRef(PARAMETER_STORE, "BillingDbPassword", "region eu-west-1 of account 123456789012", (
                     "the ARN names parameter 'BillingDbPassword' (or '/BillingDbPassword': both have this ARN); "
                     "imported as 'BillingDbPassword'",)), id="parameter-one-level"),
    pytest.param("/billing/prod/db-password", SecretRef(PARAMETER_STORE, "/billing/prod/db-password",
                                                        "the task's region"), id="parameter-name"),
    pytest.param("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:billing/prod/stripe",
                 SecretRef(SECRETS_MANAGER, "billing/prod/stripe", "region cn-north-1 of account 123456789012"),
                 id="partial-arn"),
    pytest.param("arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing/prod/rds-9fKx2Q:username::",
                 SecretRef(SECRETS_MANAGER, "billing/prod/rds#username", "region eu-west-1 of account 123456789012", (
                     "secret 'billing/prod/rds': the ARN's last six characters are taken for the suffix Secrets "
                     "Manager appends to a name; if they are part of the name (a partial ARN), write the whole name "
                     "as the key",)), id="json-key"),
    # ESO's AWS Secrets Manager provider (docs/provider/aws-secrets-manager.md, "Secret Versions"): remoteRef.version
    # is a VersionStage, or with the prefix `uuid/` a VersionId; ECS takes one of them (AWS CDK: "at most one").
    pytest.param("arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing_token:::"
                 "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
                 SecretRef(SECRETS_MANAGER, "billing_token", "region eu-west-1 of account 123456789012",
                           version="uuid/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"), id="version-id"),
    pytest.param("arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing_token:token:AWSPREVIOUS:",
                 SecretRef(SECRETS_MANAGER, "billing_token#token", "region eu-west-1 of account 123456789012",
                           version="AWSPREVIOUS"), id="version-stage"),
    pytest.param("arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing_token::AWSCURRENT:"
                 "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
                 SecretRef(SECRETS_MANAGER, "billing_token", "region eu-west-1 of account 123456789012", (
                     "ECS read version id EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE (version stage AWSCURRENT must name "
                     "the same version): the card reads it by its id, uuid/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",),
                     "uuid/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"), id="version-stage-and-id"),
    # ESO's Parameter Store provider appends `:` and remoteRef.version to the name it passes to GetParameter
    # (providers/v1/aws/parameterstore: parameterNameWithVersion), which takes a version number or a label there;
    # a parameter's name has no `:`.
    pytest.param("/billing/prod/db-password:3", SecretRef(PARAMETER_STORE, "/billing/prod/db-password",
                                                          "the task's region", version="3"), id="parameter-version"),
    pytest.param("arn:aws:ssm:eu-west-1:123456789012:parameter/billing/prod/db-password:live",
                 SecretRef(PARAMETER_STORE, "/billing/prod/db-password", "region eu-west-1 of account 123456789012",
                           version="live"), id="parameter-arn-label"),
])
def test_value_from_names_the_provider_and_key_eso_reads(value_from: str, ref: SecretRef) -> None:
    assert secret_ref(value_from, ORIGIN) == ref


@pytest.mark.parametrize(("value_from", "problem"), [
    ("arn:aws:s3:::storefront-config/prod/web.env", "names a s3 resource: ECS reads secrets from Parameter Store "
     "(arn:…:ssm:…:parameter/NAME, or a parameter name) or Secrets Manager (arn:…:secretsmanager:…:secret:NAME)"),
    ("arn:aws:ssm:eu-west-1:123456789012:document/billing", "a Parameter Store ARN names a parameter "
     "(…:parameter/NAME)"),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a:b:c:d:e", "a Secrets Manager ARN names a secret "
     "(…:secret:NAME[:json-key:version-stage:version-id])"),
    ("arn:aws:ssm", "not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"),
    ("/billing/prod/db-password:", "a parameter is NAME or NAME:VERSION (a version number or label)"),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/billing:3:4", "a parameter is NAME or NAME:VERSION (a version "
     "number or label)"),
])
def test_value_from_of_another_kind_is_refused(value_from: str, problem: str) -> None:
    with pytest.raises(Exception) as refused:
        secret_ref(value_from, ORIGIN)
    assert str(refused.value) == f"task.json:9:34: secrets[0].valueFrom: {problem}"


def edited(repo: Path, edit: Any) -> None:
    """The fixture's JSON after `edit(task)`, written back as `json.dumps` writes it (indent 4, as the CLI)."""
    path = repo.parent / "legacy" / FIXTURE.name
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=4) + "\n")


def _task(data: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = data["taskDefinition"]
    return task


def _web(data: dict[str, Any]) -> dict[str, Any]:
    web: dict[str, Any] = _task(data)["containerDefinitions"][0]
    return web


@pytest.mark.parametrize(("edit", "line"), [
    pytest.param(None, f"{TASK}:3:29: did not find expected ',' or '}}'", id="not-json"),
    pytest.param(lambda d: d.update(taskDefinition=[1]), f"{TASK}:2:5: taskDefinition: a task definition needs a "
                 "containerDefinitions list (the JSON of `aws ecs describe-task-definition`, or a task definition)",
                 id="task-a-list"),
    pytest.param(lambda d: _web(d).update(environment={"RAILS_ENV": "production"}), f"{TASK}:2:5: taskDefinition: "
                 "a value in it has an unexpected type or shape (a mapping, list or scalar where another goes)",
                 id="environment-a-mapping"),
    pytest.param(lambda d: _web(d).update(command="./bin/rails server"), f"{TASK}:24:17: {C0}.command: is a list of "
                 "strings in a task definition", id="command-a-string"),
    pytest.param(lambda d: _task(d).update(taskRoleArn="arn:aws:iam::123456789012:user/deploy"),
                 f"{TASK}:164:9: taskDefinition.taskRoleArn: not an IAM role ARN, arn:aws|aws-cn|aws-us-gov:iam::"
                 "<12-digit account>:role/[<path>/]<name>", id="task-role-a-user"),
    pytest.param(lambda d: _web(d)["secrets"][1].update(valueFrom="arn:aws:s3:::storefront-config/prod/db.json"),
                 f"{TASK}:78:25: {C0}.secrets[1].valueFrom: names a s3 resource: ECS reads secrets from Parameter "
                 "Store (arn:…:ssm:…:parameter/NAME, or a parameter name) or Secrets Manager "
                 "(arn:…:secretsmanager:…:secret:NAME)", id="value-from-s3"),
    pytest.param(lambda d: _task(d)["containerDefinitions"][1].update(firelensConfiguration={}, portMappings=[
        {"containerPort": 2020}]), f"{TASK}:4:9: taskDefinition.containerDefinitions: the task has 2 containers "
                 "that could be the service (web, log-router): pass --container NAME", id="two-services"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(repo: Path, edit: Any, line: str) -> None:
    if edit is None:
        path = repo.parent / "legacy" / FIXTURE.name
        path.write_text(path.read_text().replace('"taskDefinitionArn": "', '"taskDefinitionArn" "', 1))
    else:
        edited(repo, edit)
    before = written(repo)
    result = shipcard_import(repo, "ecs", TASK, code=2)
    assert result.output == f"shipcard: {line}\n"
    assert written(repo) == before


def test_a_container_is_chosen_by_name(repo: Path) -> None:
    """`--container` imports another container of the task; a name the task lacks is refused."""
    refused = shipcard_import(repo, "ecs", TASK, "--container", "worker", code=2)
    assert refused.output == "shipcard: the command line: --container: the task has no container 'worker' (it " \
                             "has web, log-router)\n"
    result = shipcard_import(repo, "ecs", TASK, "--container", "log-router", "--name", "storefront-logs")
    card = load_plain((repo / "services/storefront-logs.service.yaml").read_text())
    assert (card["name"], card["image"], card["resources"]) == (
        "storefront-logs", "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4", {"memory": "50Mi"})
    assert f"note: {TASK}:5: taskDefinition.containerDefinitions[0]: container web is not imported (a sidecar; " \
           "the card runs one container: pass --container to import another)\n" in result.stderr


def test_a_bare_task_definition_takes_the_tasks_cpu_and_memory(repo: Path) -> None:
    """The `register-task-definition` form (no `taskDefinition` wrapper), one container without its own
    cpu and memory: the task's `"0.5 vCPU"` and `"1 GB"` become the requests."""
    task = {"family": "billing-worker", "cpu": "0.5 vCPU", "memory": "1 GB", "containerDefinitions": [
        {"name": "worker", "image": "ghcr.io/example/billing:3.2.0", "command": ["bin/worker"],
         "environment": [{"name": "QUEUE", "value": "invoices"}]}]}
    (repo.parent / "legacy/billing.json").write_text(json.dumps(task, indent=2) + "\n")
    result = shipcard_import(repo, "ecs", "../legacy/billing.json")
    card = load_plain((repo / "services/billing-worker.service.yaml").read_text())
    assert (card["args"], card["env"], card["resources"]) == (
        ["bin/worker"], {"QUEUE": "invoices"}, {"cpu": "500m", "memory": "1Gi"})
    assert "note: ../legacy/billing.json:4: memory: no memoryReservation: the memory request is the limit\n" in \
        result.stderr


def test_a_parameter_store_task_keeps_its_provider_and_reports_ports_the_card_cannot_take(repo: Path) -> None:
    """A task whose first secret is in Parameter Store: that is the card's provider, so a secret-looking
    value's placeholder is a parameter name too; a gRPC port keeps its protocol, UDP and a bridge-mode
    host port are reported."""
    task = {"family": "ledger-grpc", "containerDefinitions": [{
        "name": "ledger", "image": "ghcr.io/example/ledger:5.1.0", "cpu": 512, "memory": 1024,
        "portMappings": [{"containerPort": 50051, "hostPort": 31051, "appProtocol": "grpc", "name": "grpc-api"},
                         {"containerPort": 8125, "protocol": "udp"}],
        "environment": [{"name": "LEDGER_API_TOKEN", "value": "tok-live-7f9c2e"}],
        "secrets": [{"name": "LEDGER_DB_URL", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/LedgerDbUrl"}],
        "healthCheck": {"command": ["CMD", "/bin/grpc_health_probe", "-addr=:50051"]}}]}
    (repo.parent / "legacy/ledger.json").write_text(json.dumps(task, indent=2) + "\n")
    result = shipcard_import(repo, "ecs", "../legacy/ledger.json")
    source = "../legacy/ledger.json"
    where = "containerDefinitions[0]"
    assert (repo / "services/ledger-grpc.service.yaml").read_text() == f"""\
# Imported by `shipcard import` from {source}: each comment names where the value came from.
apiVersion: shipcard/v1
kind: Service
name: ledger-grpc  # from {source}:2 family
image: ghcr.io/example/ledger:5.1.0 # from {source}:6 {where}.image
ports:
  - name: grpc-api  # from {source}:10 {where}.portMappings[0]
    port: 50051
    protocol: grpc
secrets:
  provider: aws-parameter-store
  store: fill-in-parameter-store
  env:
    LEDGER_API_TOKEN: /fill-in/ledger-grpc/LEDGER_API_TOKEN  # from {source}:22 {where}.environment[0]
    LEDGER_DB_URL: LedgerDbUrl # from {source}:28 {where}.secrets[0]
health:
  readiness:  # from {source}:33 {where}.healthCheck
    exec:  # from {source}:34 {where}.healthCheck.command
      - /bin/grpc_health_probe
      - -addr=:50051
  liveness: # from {source}:33 {where}.healthCheck
    exec:  # from {source}:34 {where}.healthCheck.command
      - /bin/grpc_health_probe
      - -addr=:50051
resources:
  cpu: 500m  # from {source}:7 {where}.cpu
  memory: 1Gi # from {source}:8 {where}.memory
  limits:
    memory: 1Gi  # from {source}:8 {where}.memory
allowFrom:  # reachable in {source}: narrow to the real callers
  - anywhere: true
"""
    assert "tok-live-7f9c2e" not in every_output(result, repo)
    assert [line for line in result.stderr.splitlines() if "portMappings" in line or "LedgerDbUrl" in line] == [
        f"note: {source}:10: {where}.portMappings[0]: hostPort 31051 is the EC2 host's port (bridge mode): the "
        "Service port is 50051 inside the cluster",
        f"note: {source}:16: {where}.portMappings[1]: a udp port has no card field: not imported",
        f"note: {source}:28: {where}.secrets[0]: LEDGER_DB_URL: the ARN names parameter 'LedgerDbUrl' (or "
        "'/LedgerDbUrl': both have this ARN); imported as 'LedgerDbUrl'"]
