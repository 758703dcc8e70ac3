"""Issue 15 item 3: ref-missing-service-account, ref-missing-configmap, ref-missing-secret.

A workload's reference to a ServiceAccount, ConfigMap or Secret that nothing in the input provides,
judged only in namespaces where the input has a provider of that kind (see `cross/_refs.py`).
"""

from __future__ import annotations

import pytest

from shipcard.check.rules import load_rules
from shipcard.check.rules.cross._refs import ref_index
from shipcard.check.rules.kube import Context
from tests.check.rule_examples import example_objects

RULES = load_rules()
REF_RULES = ["ref-missing-service-account", "ref-missing-configmap", "ref-missing-secret"]


def findings(text: str) -> list[tuple[str, int, str]]:
    objects, _ = example_objects(text)
    return [(f.rule, f.line, f.message) for f in RULES.only(REF_RULES).evaluate(objects) if f.rule in REF_RULES]


def deployment(pod: str, *, namespace: str = "shop") -> str:
    """A Deployment `web` whose pod spec is `pod` (indented by 6), starting at line 1."""
    body = "\n".join("      " + line if line else line for line in pod.strip("\n").splitlines())
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
{body}
"""


CONTAINER = """\
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
"""
CM = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\n"
SECRET = "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n"
SA = "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: {ns}}}\n"


def cm(name: str, ns: str = "shop") -> str:
    return CM.format(name=name, ns=ns)


def secret(name: str, ns: str = "shop") -> str:
    return SECRET.format(name=name, ns=ns)


def sa(name: str, ns: str = "shop") -> str:
    return SA.format(name=name, ns=ns)


def external_secret(name: str, target: str = "", policy: str = "", ns: str = "shop") -> str:
    fields = ([f"name: {target}"] if target else []) + ([f"creationPolicy: {policy}"] if policy else [])
    spec = "{" + ", ".join(fields) + "}"
    return (f"---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, "
            f"namespace: {ns}}}\nspec:\n  secretStoreRef: {{kind: ClusterSecretStore, name: vault}}\n"
            f"  target: {spec}\n")


ENV_SECRET = CONTAINER + """\
    env:
      - name: DATABASE_URL
        valueFrom:
          secretKeyRef: {name: web-secrets, key: url}
"""
MISSING_WEB_SECRETS = [("ref-missing-secret", 19, "Deployment/shop/web container 'web' env DATABASE_URL: Secret "
                        "'web-secrets' is not provided by any Secret, ExternalSecret, SealedSecret or Certificate "
                        "of the checked input in namespace 'shop'")]

CASES = [
    # ConfigMaps
    pytest.param(deployment(CONTAINER + """\
    env:
      - name: LEVEL
        valueFrom:
          configMapKeyRef: {name: web-env, key: level}
""") + cm("other"), [("ref-missing-configmap", 19, "Deployment/shop/web container 'web' env LEVEL: ConfigMap "
                      "'web-env' is not provided by any ConfigMap of the checked input in namespace 'shop'")],
        id="configmap-key-ref-missing"),
    pytest.param(deployment(CONTAINER + """\
volumes:
  - name: config
    projected:
      sources:
        - configMap: {name: web-config}
        - secret: {name: web-secrets}
""") + cm("other") + secret("web-secrets"),
        [("ref-missing-configmap", 20, "Deployment/shop/web volume 'config': ConfigMap 'web-config' is not "
          "provided by any ConfigMap of the checked input in namespace 'shop'")], id="projected-configmap-missing"),
    pytest.param(deployment("""\
initContainers:
  - name: init
    image: ghcr.io/example/init:1.0.0
    envFrom:
      - configMapRef: {name: init-env}
""" + CONTAINER) + cm("other"), [("ref-missing-configmap", 17, "Deployment/shop/web container 'init' envFrom[0]: "
                                  "ConfigMap 'init-env' is not provided by any ConfigMap of the checked input in "
                                  "namespace 'shop'")], id="init-container-envfrom-missing"),
    pytest.param(deployment(CONTAINER + """\
    envFrom:
      - configMapRef: {name: web-env, optional: true}
volumes:
  - name: config
    configMap: {name: web-config, optional: true}
""") + cm("other"), [], id="optional-refs-are-skipped"),
    pytest.param(deployment(CONTAINER + """\
    envFrom:
      - configMapRef: {name: web-env}
"""), [], id="no-configmap-in-the-input-is-not-judged"),
    pytest.param(deployment(CONTAINER + """\
    envFrom:
      - configMapRef: {name: web-env}
""") + cm("web-env", ns="other") + cm("x"), [
        ("ref-missing-configmap", 17, "Deployment/shop/web container 'web' envFrom[0]: ConfigMap 'web-env' is not "
         "provided by any ConfigMap of the checked input in namespace 'shop'")], id="provider-in-another-namespace"),
    pytest.param(deployment(CONTAINER + """\
    envFrom:
      - configMapRef: {name: web-env}
""") + cm("web-env", ns="other"), [], id="only-another-namespace-has-configmaps"),
    # Secrets
    pytest.param(deployment(ENV_SECRET) + secret("other"), MISSING_WEB_SECRETS, id="secret-key-ref-missing"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web", target="web-secrets"), [],
                 id="externalsecret-target-provides"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web-secrets"), [], id="externalsecret-name-is-the-default"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web", "web-secrets", "Orphan"), [],
                 id="externalsecret-orphan-creates"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web", "web-secrets", "None") + secret("other"),
                 MISSING_WEB_SECRETS, id="externalsecret-creation-none-provides-nothing"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web", "web-secrets", "Merge") + secret("other"),
                 MISSING_WEB_SECRETS, id="externalsecret-merge-provides-nothing"),
    pytest.param(deployment(ENV_SECRET) + external_secret("web", "web-secrets", ns="other") + secret("other"),
                 MISSING_WEB_SECRETS, id="externalsecret-in-another-namespace"),
    pytest.param(deployment(ENV_SECRET) + """\
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: sealed, namespace: shop}
spec:
  encryptedData: {url: AgBy}
  template:
    metadata: {name: web-secrets}
""", [], id="sealedsecret-template-name-provides"),
    pytest.param(deployment(ENV_SECRET) + """\
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: web-secrets, namespace: shop}
spec:
  encryptedData: {url: AgBy}
""", [], id="sealedsecret-name-provides"),
    pytest.param(deployment(ENV_SECRET) + secret("other") + """\
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: shared}
spec:
  namespaceSelectors:
    - matchLabels: {team: shop}
  externalSecretSpec:
    secretStoreRef: {kind: ClusterSecretStore, name: vault}
    target: {name: web-secrets}
""", [], id="clusterexternalsecret-provides-everywhere"),
    pytest.param(deployment(ENV_SECRET) + """\
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop}
spec:
  secretName: web-secrets
  issuerRef: {name: letsencrypt, kind: ClusterIssuer}
  dnsNames: [web.example.com]
""", [], id="certificate-secret-name-provides"),
    pytest.param(deployment(ENV_SECRET), [], id="no-secret-provider-is-not-judged"),
    pytest.param(deployment("imagePullSecrets:\n  - name: registry\n" + CONTAINER) + secret("other"), [
        ("ref-missing-secret", 14, "Deployment/shop/web imagePullSecrets[0]: Secret 'registry' is not provided by any "
         "Secret, ExternalSecret, SealedSecret or Certificate of the checked input in namespace 'shop'")],
        id="image-pull-secret-missing"),
    pytest.param(deployment(CONTAINER + """\
volumes:
  - name: tls
    secret: {secretName: web-tls}
""") + secret("other"), [("ref-missing-secret", 18, "Deployment/shop/web volume 'tls': Secret 'web-tls' is not "
                          "provided by any Secret, ExternalSecret, SealedSecret or Certificate of the checked input "
                          "in namespace 'shop'")], id="secret-volume-missing"),
    # ServiceAccounts
    pytest.param(deployment("serviceAccountName: web\n" + CONTAINER) + sa("other"), [
        ("ref-missing-service-account", 13, "Deployment/shop/web serviceAccountName: ServiceAccount 'web' is not "
         "provided by any ServiceAccount of the checked input in namespace 'shop'")], id="service-account-missing"),
    pytest.param(deployment("serviceAccount: web\n" + CONTAINER) + sa("other"), [
        ("ref-missing-service-account", 13, "Deployment/shop/web serviceAccountName: ServiceAccount 'web' is not "
         "provided by any ServiceAccount of the checked input in namespace 'shop'")],
        id="service-account-alias-points-at-the-alias"),
    pytest.param(deployment("serviceAccountName:\nserviceAccount: web\n" + CONTAINER) + sa("other"), [
        ("ref-missing-service-account", 14, "Deployment/shop/web serviceAccountName: ServiceAccount 'web' is not "
         "provided by any ServiceAccount of the checked input in namespace 'shop'")],
        id="null-service-account-name-falls-back-to-the-alias"),
    pytest.param(deployment("serviceAccountName: web\n" + CONTAINER) + sa("web"), [], id="service-account-provided"),
    pytest.param(deployment("serviceAccountName: default\n" + CONTAINER) + sa("other"), [],
                 id="default-service-account-always-exists"),
    pytest.param(deployment("serviceAccountName: web\n" + CONTAINER), [], id="no-service-account-is-not-judged"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_missing_references(text: str, expected: list[tuple[str, int, str]]) -> None:
    assert findings(text) == expected


def test_the_index_is_built_once_per_context() -> None:
    objects, _ = example_objects(deployment(ENV_SECRET) + secret("other"))
    context = Context(objects)
    assert ref_index(context) is ref_index(context)
    assert [r.name for r in ref_index(context).refs] == ["web-secrets"]
