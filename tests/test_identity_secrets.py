"""Issue 17, items 3 and 4: a cloud identity for the pods (`serviceAccount.awsRole`, IRSA) and secrets as
people keep them: `{env}`/`{name}` placeholders in remote keys, a provider and store per value (one
ExternalSecret per store) and `secrets.files`. helm, kubectl kustomize and helmfile render LEDGER_CARD
in tests/test_helmfile*.py; the real ESO CRD validates its ExternalSecrets in tests/test_real_crds.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from shipcard.card.load import load_card, load_card_text
from shipcard.card.model import SecretValue
from shipcard.k8s.objects import environment_objects
from tests.conftest import example_cards, run_cli
from tests.test_helmfile import KUBERNETES_VERSION, LEDGER_CARD

ROLE_DEV = "arn:aws:iam::123456789012:role/ledger-dev"
ROLE_PROD = "arn:aws-us-gov:iam::210987654321:role/payments/ledger-prod"
LABELS = {"app.kubernetes.io/name": "ledger", "app.kubernetes.io/instance": "ledger",
          "app.kubernetes.io/managed-by": "shipcard"}
REMOTE_DEFAULTS = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}


def ledger_objects() -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    card = load_card_text(LEDGER_CARD, "ledger.service.yaml", "ledger.service.yaml")
    return {env.name: {(o["kind"], o["metadata"]["name"]): o for o in environment_objects(env)}
            for env in card.environments}


def pod_specs(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pod spec of the Deployment, the hook Job and the CronJob."""
    return {"server": objects[("Deployment", "ledger")]["spec"]["template"]["spec"],
            "migrate": objects[("Job", "ledger-migrate")]["spec"]["template"]["spec"],
            "sweep": objects[("CronJob", "ledger-sweep")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]}


# --------------------------------------------------------------------------- serviceAccount.awsRole


def test_the_role_annotates_the_service_account_per_environment() -> None:
    expected = {"dev": ROLE_DEV, "staging": None, "prod": ROLE_PROD}
    for env, objects in ledger_objects().items():
        annotations = {"argocd.argoproj.io/sync-wave": "-2"}
        if expected[env]:
            annotations["eks.amazonaws.com/role-arn"] = expected[env]
        assert objects[("ServiceAccount", "ledger")] == {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "ledger", "namespace": f"ledger-{env}",
                         "labels": {**LABELS, "app.kubernetes.io/component": "identity"}, "annotations": annotations},
            "automountServiceAccountToken": False}, env
        for name, pod in pod_specs(objects).items():
            assert pod["serviceAccountName"] == "ledger", (env, name)  # jobs and cron jobs: the same identity


def test_the_pods_mount_the_api_token_only_with_a_role() -> None:
    """With a role, the pod specs (what the kubelet and the rule read first) mount the token; the
    ServiceAccount keeps it off, so a pod started by hand with that account mounts none unless it asks."""
    for env, objects in ledger_objects().items():
        assert objects[("ServiceAccount", "ledger")]["automountServiceAccountToken"] is False, env
        for name, pod in pod_specs(objects).items():
            assert pod["automountServiceAccountToken"] is (env != "staging"), (env, name)


def test_a_new_role_rolls_the_pods() -> None:
    """The webhook sets AWS_ROLE_ARN when a pod is created: the pod templates carry the role, so a change rolls them."""
    for env, objects in ledger_objects().items():
        for name, template in (("server", objects[("Deployment", "ledger")]["spec"]["template"]),
                               ("migrate", objects[("Job", "ledger-migrate")]["spec"]["template"])):
            annotations = template["metadata"].get("annotations", {})
            assert annotations.get("shipcard.io/aws-role") == {"dev": ROLE_DEV, "staging": None,
                                                               "prod": ROLE_PROD}[env], (env, name)


def api_token_mutation(pod: dict[str, Any]) -> dict[str, Any]:
    """What the API server's ServiceAccount admission plugin does to a pod that mounts the API token.

    From the Kubernetes documentation ("Managing Service Accounts", bound service account token volume):
    a projected volume `kube-api-access-<suffix>` (a token of 3607 s, the `kube-root-ca.crt` ConfigMap's
    `ca.crt` and the pod's namespace), mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
    in every container; nothing when `automountServiceAccountToken` is false.
    """
    mutated = json.loads(json.dumps(pod))
    if not pod.get("automountServiceAccountToken", True):
        return mutated
    mutated["volumes"].append({"name": "kube-api-access-x7k2q", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                       "fieldPath": "metadata.namespace"}}]}}]}})
    for container in mutated["containers"]:
        container["volumeMounts"].append({"name": "kube-api-access-x7k2q", "readOnly": True,
                                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    return mutated


def webhook_mutation(pod: dict[str, Any], role: str) -> dict[str, Any]:
    """What the EKS Pod Identity Webhook does to a pod whose ServiceAccount has the role annotation.

    From aws/amazon-eks-pod-identity-webhook (README, pkg/handler/handler.go): it adds a projected
    volume `aws-iam-token` (a ServiceAccount token for audience sts.amazonaws.com, 86400 s), mounts it
    read-only at /var/run/secrets/eks.amazonaws.com/serviceaccount in every container, and sets
    AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, unless a container sets them already. It does not
    read `automountServiceAccountToken`, which governs only the Kubernetes API token beside it.
    """
    mutated = json.loads(json.dumps(pod))
    mount = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
    mutated["volumes"].insert(0, {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
        "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}})
    for container in mutated["containers"]:
        container.setdefault("env", []).extend([{"name": "AWS_ROLE_ARN", "value": role},
                                                {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{mount}/token"}])
        container["volumeMounts"].append({"name": "aws-iam-token", "mountPath": mount, "readOnly": True})
    return mutated


def test_with_a_role_the_pods_get_both_tokens_and_nothing_in_the_webhooks_way() -> None:
    """Documented behaviour of the API server's admission and of the EKS Pod Identity Webhook (see
    `api_token_mutation` and `webhook_mutation`), which cannot run here.

    The SDKs' web identity provider reads AWS_ROLE_ARN and the file AWS_WEB_IDENTITY_TOKEN_FILE names,
    in the webhook's volume; the Kubernetes API token is mounted beside it, at its own path, for what
    reads it there (docs/cards.md, "Cloud identity"). The webhook's README asks a non-root container for
    an fsGroup to read the token: every pod has one. No `eks.amazonaws.com/sts-regional-endpoints`: EKS
    defaults to the regional STS endpoint since Kubernetes 1.23 (the AWS EKS user guide, "Configure the
    AWS STS endpoint"), older than any target.
    """
    objects = ledger_objects()["prod"]
    assert set(objects[("ServiceAccount", "ledger")]["metadata"]["annotations"]) == {
        "argocd.argoproj.io/sync-wave", "eks.amazonaws.com/role-arn"}
    for name, pod in pod_specs(objects).items():
        assert pod["automountServiceAccountToken"] is True, name
        assert pod["securityContext"]["fsGroup"] == 10001, name
        for container in pod["containers"]:
            assert not {e["name"] for e in container.get("env", [])} & {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}
        mutated = webhook_mutation(api_token_mutation(pod), ROLE_PROD)
        for container in mutated["containers"]:
            token_file = next(e["value"] for e in container["env"] if e["name"] == "AWS_WEB_IDENTITY_TOKEN_FILE")
            mounts = [m["mountPath"] for m in container["volumeMounts"]]
            assert [m for m in mounts if token_file.startswith(m + "/")] == [
                "/var/run/secrets/eks.amazonaws.com/serviceaccount"], name  # only the webhook's volume has it
            assert "/var/run/secrets/kubernetes.io/serviceaccount" in mounts, name
            assert len(set(mounts)) == len(mounts), name
        pod_object = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": mutated}
        kubernetes_validate.validate(pod_object, KUBERNETES_VERSION, strict=True)
        assert len({v["name"] for v in mutated["volumes"]}) == len(mutated["volumes"]), name
    for name, pod in pod_specs(ledger_objects()["staging"]).items():  # no role: no token, no webhook
        assert api_token_mutation(pod) == pod, name


UPLOADER = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: media{annotations}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: media
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      serviceAccountName: {name}
      automountServiceAccountToken: true
      containers:
        - name: {name}
          image: ghcr.io/example/{name}:1.0.0
"""


def test_the_automount_rule_takes_an_irsa_role_as_the_reason_and_nothing_else(tmp_path: Path) -> None:
    """shipcard's pods with a role (dev, prod) and a hand-written pod whose ServiceAccount has one pass;
    the same pod without the annotation gets the finding, on its field."""
    rendered = tmp_path / "ledger.service.yaml"
    rendered.write_text(LEDGER_CARD)
    assert run_cli("render", str(rendered), "--out", str(tmp_path / "tree")).exit_code == 0
    manifests = tmp_path / "irsa.yaml"
    role = f"\n  annotations:\n    eks.amazonaws.com/role-arn: {ROLE_DEV}"
    manifests.write_text(UPLOADER.format(name="uploader", annotations=role) + "---\n"
                         + UPLOADER.format(name="resizer", annotations=""))
    result = run_cli("check", str(tmp_path / "tree" / "apps"), str(manifests), "--format", "json")
    findings = [(Path(f["file"]).name, f["line"], f["column"], f["message"])
                for f in json.loads(result.stdout)["findings"] if f["rule"] == "service-account-token-automount"]
    assert findings == [("irsa.yaml", 46, 7, 'pods of Deployment/media/resizer get a Kubernetes API token '
                         '(ServiceAccount "resizer")')]


# --------------------------------------------------------------------------- placeholders and stores


def test_placeholders_expand_per_environment_and_stay_as_written_in_the_base() -> None:
    card = load_card_text(LEDGER_CARD, "ledger.service.yaml", "ledger.service.yaml")
    assert card.base.secrets is not None
    assert dict(card.base.secrets.env)["DATABASE_URL"] == SecretValue(
        key="{name}/{env}", property="database_url", provider="aws-secrets-manager", store="aws-secrets")
    prod = card.environments[2].spec.secrets
    assert prod is not None
    assert prod.env == (
        ("DATABASE_URL", SecretValue("ledger/prod", "database_url", "aws-secrets-manager", "aws-secrets")),
        ("SECRET_KEY_BASE", SecretValue("ledger/prod", "secret_key_base", "aws-secrets-manager", "aws-secrets")),
        ("STRIPE_KEY", SecretValue("/ledger/prod/stripe_key", None, "aws-parameter-store", "aws-parameters")),
        ("AUDIT_TOKEN", SecretValue("audit/prod", None, "vault", "vault")))
    assert prod.files == (
        ("/etc/ledger/tls/key.pem", SecretValue("ledger/prod", "tls_key", "aws-secrets-manager", "aws-secrets")),
        ("/etc/ledger/tls/ca.pem", SecretValue("/ledger/prod/ca", None, "aws-parameter-store", "aws-parameters")),
        ("/etc/ledger/keys/signing.pem",
         SecretValue("ledger/prod", "signing_key", "aws-secrets-manager", "aws-secrets")))


def external_secret(name: str, secret: str, provider: str, store: str, data: list[tuple[str, str, str | None]],
                    env: str = "prod") -> dict[str, Any]:
    entries = [{"secretKey": k, "remoteRef": {"key": key, **({"property": p} if p else {}), **REMOTE_DEFAULTS}}
               for k, key, p in data]
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": f"ledger-{env}",
                         "labels": {**LABELS, "app.kubernetes.io/component": "secrets"},
                         "annotations": {"shipcard.io/provider": provider, "argocd.argoproj.io/sync-wave": "-2"}},
            "spec": {"refreshInterval": "1h", "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
                     "target": {"name": secret, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                     "data": entries}}


def test_one_external_secret_per_store_with_stable_names() -> None:
    objects = ledger_objects()["prod"]
    secrets = [o for o in objects.values() if o["kind"] == "ExternalSecret"]
    assert secrets == [
        external_secret("ledger", "ledger-secrets", "aws-secrets-manager", "aws-secrets",
                        [("DATABASE_URL", "ledger/prod", "database_url"),
                         ("SECRET_KEY_BASE", "ledger/prod", "secret_key_base")]),
        external_secret("ledger-aws-parameters", "ledger-aws-parameters-secrets", "aws-parameter-store",
                        "aws-parameters", [("STRIPE_KEY", "/ledger/prod/stripe_key", None)]),
        external_secret("ledger-vault", "ledger-vault-secrets", "vault", "vault", [("AUDIT_TOKEN", "audit/prod", None)]),
        external_secret("ledger-files", "ledger-files", "aws-secrets-manager", "aws-secrets",
                        [("key.pem", "ledger/prod", "tls_key"), ("signing.pem", "ledger/prod", "signing_key")]),
        external_secret("ledger-aws-parameters-files", "ledger-aws-parameters-files", "aws-parameter-store",
                        "aws-parameters", [("ca.pem", "/ledger/prod/ca", None)]),
    ]
    assert [o["metadata"]["name"] for o in ledger_objects()["dev"].values() if o["kind"] == "ExternalSecret"] == [
        "ledger", "ledger-aws-parameters", "ledger-files", "ledger-aws-parameters-files"]


def test_every_pod_reads_each_env_secret_and_mounts_the_files_read_only() -> None:
    for name, pod in pod_specs(ledger_objects()["prod"]).items():
        [container] = pod["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": "ledger-secrets"}},
                                        {"secretRef": {"name": "ledger-aws-parameters-secrets"}},
                                        {"secretRef": {"name": "ledger-vault-secrets"}}], name
        script = [{"name": "script", "mountPath": "/opt/shipcard", "readOnly": True}] if name == "sweep" else []
        assert container["volumeMounts"] == [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "secret-files-0", "mountPath": "/etc/ledger/keys", "readOnly": True},
            {"name": "secret-files-1", "mountPath": "/etc/ledger/tls", "readOnly": True}, *script], name
        assert pod["volumes"][:3] == [
            {"name": "tmp", "emptyDir": {}},
            {"name": "secret-files-0", "projected": {"defaultMode": 0o400, "sources": [
                {"secret": {"name": "ledger-files", "items": [{"key": "signing.pem", "path": "signing.pem"}]}}]}},
            {"name": "secret-files-1", "projected": {"defaultMode": 0o400, "sources": [
                {"secret": {"name": "ledger-files", "items": [{"key": "key.pem", "path": "key.pem"}]}},
                {"secret": {"name": "ledger-aws-parameters-files",
                            "items": [{"key": "ca.pem", "path": "ca.pem"}]}}]}}], name


def test_a_billing_api_card_without_its_per_environment_repetition_renders_the_same_objects() -> None:
    example = next(p for p in example_cards() if p.name == "billing-api.service.yaml")
    text = example.read_text()
    shorter = text.replace("billing/prod#", "billing/{env}#")
    for env in ("dev", "staging"):
        shorter = shorter.replace(f"""    secrets:
      env:
        DATABASE_URL: billing/{env}#database_url
        SECRET_KEY_BASE: billing/{env}#secret_key_base
""", "")
    assert len(shorter.splitlines()) == len(text.splitlines()) - 8
    original, compact = load_card(example), load_card_text(shorter, str(example), example.name)
    for before, after in zip(original.environments, compact.environments, strict=True):
        assert environment_objects(before) == environment_objects(after), before.name


# --------------------------------------------------------------------------- card errors

CARD = """\
apiVersion: shipcard/v1
kind: Service
name: shop
image: ghcr.io/example/shop:1.0.0
port: 8080
serviceAccount:
  awsRole: arn:aws:iam::123456789012:role/shop
secrets:
  provider: aws-secrets-manager
  store: aws-secrets
  env:
    DATABASE_URL: "shop/{env}#url"
  files:
    /etc/shop/tls/key.pem: "shop/{env}#key"
environments:
  prod: {}
gitops:
  repoURL: https://github.com/example/gitops.git
"""
ARN_SHAPE = "is not an IAM role ARN, arn:aws|aws-cn|aws-us-gov:iam::<12-digit account>:role/[<path>/]<name>"
PATH_SHAPE = ("is not an absolute file path at least two directories deep, such as /etc/app/key.pem "
              "(letters, digits, '.', '_' and '-')")
KEY_LINE = '    /etc/shop/tls/key.pem: "shop/{env}#key"'

# (id, text replaced, replacement, the one error line after `shipcard: <file>:`)
BROKEN = [
    ("arn-partition", "arn:aws:iam", "arn:aws-eu:iam",
     f"7:3: serviceAccount.awsRole: 'arn:aws-eu:iam::123456789012:role/shop' {ARN_SHAPE}"),
    ("arn-account", "123456789012", "12345", f"7:3: serviceAccount.awsRole: 'arn:aws:iam::12345:role/shop' {ARN_SHAPE}"),
    ("arn-not-a-role", ":role/shop", ":user/shop",
     f"7:3: serviceAccount.awsRole: 'arn:aws:iam::123456789012:user/shop' {ARN_SHAPE}"),
    ("arn-in-an-environment", "  prod: {}", "  prod:\n    serviceAccount: {awsRole: 'arn:aws-cn:iam::123456789012:role/'}",
     f"17:22: environments.prod.serviceAccount.awsRole: 'arn:aws-cn:iam::123456789012:role/' {ARN_SHAPE}"),
    ("unknown-placeholder", "shop/{env}#url", "shop/{stage}#url",
     "12:5: secrets.env.DATABASE_URL: has an unknown placeholder: only {env} and {name} are expanded"),
    ("unbalanced-brace", "shop/{env}#url", "shop/{env#url",
     "12:5: secrets.env.DATABASE_URL: has an unbalanced '{' or '}': placeholders are {env} and {name}"),
    ("empty-property", "shop/{env}#url", "{name}/{env}#",
     "12:5: secrets.env.DATABASE_URL: has an empty property after '#': write remote-key[#property]"),
    ("value-field-typo", '"shop/{env}#url"', "{key: /shop/url, providr: vault}",
     "12:36: secrets.env.DATABASE_URL.providr: unknown field (did you mean 'provider'?)"),
    ("value-without-key-in-an-environment", "  prod: {}", "  prod:\n    secrets: {env: {DATABASE_URL: {store: other}}}",
     "17:21: environments.prod.secrets.env.DATABASE_URL: missing required field 'key'"),
    ("own-provider-without-store", '"shop/{env}#url"', '{key: /shop/url, provider: aws-parameter-store}',
     "12:5: secrets.env.DATABASE_URL: a value with a provider of its own needs a store of its own "
     "(a ClusterSecretStore serves one provider; or name aws-parameter-store's store in shipcard.yaml, "
     "secrets.stores)"),
    ("one-store-two-providers", '"shop/{env}#url"', '{key: /shop/url, provider: vault, store: aws-secrets}',
     "12:5: secrets.env.DATABASE_URL: store 'aws-secrets' already serves aws-secrets-manager; a ClusterSecretStore "
     "serves one provider: name the vault store"),
    ("file-relative", "/etc/shop/tls/key.pem", "etc/shop/key.pem",
     f"14:5: secrets.files.etc/shop/key.pem: invalid name 'etc/shop/key.pem': 'etc/shop/key.pem' {PATH_SHAPE}"),
    ("file-in-a-top-directory", "/etc/shop/tls/key.pem", "/app/key.pem",
     f"14:5: secrets.files./app/key.pem: invalid name '/app/key.pem': '/app/key.pem' {PATH_SHAPE}"),
    ("file-climbing", "/etc/shop/tls/key.pem", "/etc/shop/../key.pem",
     "14:5: secrets.files./etc/shop/../key.pem: must not have '.' or '..' parts"),
    ("file-over-tmp", "/etc/shop/tls/key.pem", "/tmp/shop/key.pem",
     "14:5: secrets.files./tmp/shop/key.pem: its directory /tmp/shop would be mounted over or inside /tmp "
     "(a mount every pod has): put the file in a directory of its own"),
    ("file-over-the-token", "/etc/shop/tls/key.pem", "/var/run/token",
     "14:5: secrets.files./var/run/token: its directory /var/run would be mounted over or inside /var/run/secrets "
     "(a mount every pod has): put the file in a directory of its own"),
    ("file-in-another-files-directory", KEY_LINE, KEY_LINE + '\n    /etc/shop/tls/ca/ca.pem: "shop/{env}#ca"',
     "15:5: secrets.files./etc/shop/tls/ca/ca.pem: its directory /etc/shop/tls/ca would be mounted over or inside "
     "/etc/shop/tls (another file's directory): put the file in a directory of its own"),
    ("file-names-share-a-secret-key", KEY_LINE, KEY_LINE + '\n    /etc/shop/old/key.pem: "shop/{env}#old"',
     "15:5: secrets.files./etc/shop/old/key.pem: /etc/shop/tls/key.pem of the same store has the same file name "
     "'key.pem', the key of the Secret both go to: rename one"),
    ("store-names-collide", '"shop/{env}#url"', "{key: /shop/url, store: files}",
     "14:5: secrets.files./etc/shop/tls/key.pem: store 'aws-secrets' makes ExternalSecret 'shop-files', the name "
     "store 'files' makes: rename one of the stores"),
    ("no-provider", "  provider: aws-secrets-manager\n", "",
     "8:1: secrets.provider: secrets.env needs a provider other than none"),
]


@pytest.mark.parametrize("case_id,old,new,error", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_identity_or_secret_is_one_located_line_and_exit_2(tmp_path: Path, case_id: str, old: str, new: str,
                                                                      error: str) -> None:
    assert old in CARD
    card = tmp_path / "shop.service.yaml"
    card.write_text(CARD.replace(old, new, 1))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"shipcard: {card}:{error}\n"
    assert not (tmp_path / "out").exists()


def test_the_valid_card_renders(tmp_path: Path) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(CARD)
    assert run_cli("render", str(card), "--out", str(tmp_path / "out")).exit_code == 0


def test_a_remote_key_is_never_quoted_in_an_error(tmp_path: Path) -> None:
    canary = "sk_live_canary_4f3a"
    card = tmp_path / "shop.service.yaml"
    card.write_text(CARD.replace("shop/{env}#url", "{" + canary + "}"))
    result = run_cli("render", str(card), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and canary not in result.output


def test_an_environment_changes_one_part_of_a_value_written_as_a_mapping() -> None:
    text = CARD.replace('"shop/{env}#url"', "{key: /shop/url, provider: aws-parameter-store, store: ssm-east}") \
        .replace("  prod: {}", "  prod:\n    secrets: {env: {DATABASE_URL: {store: ssm-west}}}")
    prod = load_card_text(text, "shop.service.yaml", "shop.service.yaml").environments[0].spec.secrets
    assert prod is not None
    assert prod.env == (("DATABASE_URL", SecretValue("/shop/url", None, "aws-parameter-store", "ssm-west")),)
