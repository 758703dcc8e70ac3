"""The bundled custom-resource schemas: realistic objects pass, typical mistakes fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from shipcard.schemas import bundled_kinds, crd_schema
from tests.conftest import run_cli

# --------------------------------------------------------------------------- helpers


def _validator(doc: dict[str, Any]) -> Draft202012Validator:
    schema = crd_schema(doc["apiVersion"], doc["kind"])
    assert schema is not None, f"no bundled schema for {doc['apiVersion']} {doc['kind']}"
    return Draft202012Validator(schema)


def _flatten(errors) -> list[tuple[str, str]]:
    out = []
    for err in errors:
        out.append((err.json_path, err.message))
        out.extend(_flatten(err.context or []))
    return out


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (json path, message) the schema reports, sub-schema errors included."""
    return _flatten(_validator(doc).iter_errors(doc))


def assert_valid(doc: dict[str, Any]) -> None:
    errors = sorted(_validator(doc).iter_errors(doc), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def assert_invalid(doc: dict[str, Any], *needles: str) -> None:
    """The document fails, and some reported problem mentions every needle (path or message)."""
    found = problems(doc)
    assert found, "expected the document to be rejected"
    for needle in needles:
        assert any(needle in path or needle in message for path, message in found), (
            f"no problem mentions {needle!r}: {found}"
        )


def load(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def edit(doc: dict[str, Any], path: str, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    """A copy of doc with the dotted path set (or deleted); digits index lists."""
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if delete:
        del node[key]
    else:
        node[key] = value
    return doc


# --------------------------------------------------------------------------- loader


EXPECTED_KINDS = {
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1", "SecretStore"),
    ("external-secrets.io/v1", "ClusterSecretStore"),
    ("bitnami.com/v1alpha1", "SealedSecret"),
}


def test_bundled_kinds_lists_every_kind_sorted():
    kinds = bundled_kinds()
    assert set(kinds) == EXPECTED_KINDS
    assert kinds == sorted(kinds)


@pytest.mark.parametrize(("api_version", "kind"), sorted(EXPECTED_KINDS))
def test_every_bundled_schema_is_a_valid_2020_12_schema(api_version, kind):
    schema = crd_schema(api_version, kind)
    assert schema is not None
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["kind"] == {"const": kind}
    # the schema accepts its own apiVersion and nothing else
    api = schema["properties"]["apiVersion"]
    assert api_version in api.get("enum", [api.get("const")])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("argoproj.io/v1alpha1", "Rollout"),
        ("argoproj.io/v1beta1", "Application"),
        ("external-secrets.io/v1alpha1", "ExternalSecret"),
        ("v1", "Secret"),
        ("", ""),
    ],
)
def test_unknown_kinds_have_no_schema(api_version, kind):
    assert crd_schema(api_version, kind) is None


def test_crd_schema_returns_a_private_copy():
    first = crd_schema("argoproj.io/v1alpha1", "Application")
    first["properties"].clear()
    second = crd_schema("argoproj.io/v1alpha1", "Application")
    assert second["properties"], "mutating one result must not leak into the cache"


def test_external_secrets_versions_eso_no_longer_serves_have_no_schema():
    """v1beta1 is `crd-version-not-served` (shipcard.check.deprecations), not a schema."""
    for kind in ("ExternalSecret", "SecretStore", "ClusterSecretStore"):
        assert crd_schema("external-secrets.io/v1beta1", kind) is None


def test_wrong_kind_and_extra_top_level_fields_fail():
    validator = Draft202012Validator(crd_schema("argoproj.io/v1alpha1", "Application"))
    doc = load(RENDERED_APPLICATION)
    assert any(e.json_path == "$.kind" for e in validator.iter_errors(edit(doc, "kind", "ApplicationSet")))
    assert any("specs" in e.message for e in validator.iter_errors(edit(doc, "specs", {})))


# --------------------------------------------------------------------------- Application

RENDERED_APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-api-prod
  namespace: argocd
  labels: {app.kubernetes.io/name: billing-api, app.kubernetes.io/managed-by: shipcard}
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: payments
  source: {repoURL: https://github.com/example/gitops.git, targetRevision: main, path: apps/billing-api/overlays/prod}
  destination: {server: https://prod.k8s.example.com, namespace: billing}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
"""

FULL_APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: storefront
  namespace: argocd
  annotations: {notifications.argoproj.io/subscribe.on-sync-failed.slack: deploys}
  uid: 6b0c7c5e-1111-2222-3333-444455556666
  resourceVersion: "12345"
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  project: web
  revisionHistoryLimit: 5
  info:
  - {name: runbook, value: https://wiki.example.com/storefront}
  sources:
  - repoURL: https://charts.example.com
    chart: storefront
    targetRevision: 4.2.1
    helm:
      releaseName: storefront
      valueFiles: [$values/storefront/values-prod.yaml]
      ignoreMissingValueFiles: true
      values: |
        replicaCount: 3
      valuesObject:
        ingress: {enabled: true, hosts: [shop.example.com]}
        resources: {limits: {cpu: 1}}
      parameters:
      - {name: image.tag, value: "1.2.3"}
      - {name: featureFlag, value: "true", forceString: true}
      fileParameters:
      - {name: config, path: files/config.json}
      skipCrds: true
      passCredentials: false
  - repoURL: https://github.com/example/values.git
    targetRevision: main
    ref: values
  - repoURL: https://github.com/example/gitops.git
    path: storefront/overlays/prod
    targetRevision: v1.4.0
    kustomize:
      namePrefix: prod-
      images: [ghcr.io/example/storefront:1.2.3]
      commonLabels: {team: web}
      commonAnnotations: {owner: web-team}
      forceCommonLabels: true
      components: [../../components/monitoring]
      patches:
      - target: {kind: Deployment, name: storefront}
        patch: |-
          - op: replace
            path: /spec/replicas
            value: 4
      replicas:
      - {name: storefront, count: 4}
      - {name: worker, count: "2"}
  - repoURL: https://github.com/example/jsonnet.git
    path: dashboards
    directory:
      recurse: true
      include: "*.jsonnet"
      jsonnet:
        extVars: [{name: env, value: prod}, {name: debug, value: "false", code: true}]
        tlas: [{name: cluster, value: prod-eu}]
        libs: [vendor]
  - repoURL: https://github.com/example/cmp.git
    path: app
    plugin:
      name: envsubst
      env: [{name: FOO, value: bar}]
      parameters:
      - {name: regions, array: [eu-west-1, us-east-1]}
      - {name: labels, map: {tier: web}}
      - {name: mode, string: strict}
  destination:
    name: prod-eu
    namespace: storefront
  syncPolicy:
    automated: {enabled: true, prune: true, selfHeal: false, allowEmpty: false}
    syncOptions: [CreateNamespace=true, ServerSideApply=true, PrunePropagationPolicy=foreground]
    retry:
      limit: 5
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
    managedNamespaceMetadata:
      labels: {istio-injection: enabled}
      annotations: {owner: web}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
  - kind: Secret
    name: storefront-tls
    jqPathExpressions: [.data]
    managedFieldsManagers: [kube-controller-manager]
operation:
  sync: {revision: main}
status:
  sync: {status: Synced}
  health: {status: Healthy}
"""


def test_rendered_application_is_valid():
    assert_valid(load(RENDERED_APPLICATION))


def test_full_multi_source_application_is_valid():
    assert_valid(load(FULL_APPLICATION))


def test_application_with_source_hydrator_is_valid():
    doc = edit(load(RENDERED_APPLICATION), "spec.source", delete=True)
    doc["spec"]["sourceHydrator"] = {
        "drySource": {"repoURL": "https://github.com/example/gitops.git", "targetRevision": "HEAD", "path": "app"},
        "syncSource": {"targetBranch": "environments/prod", "path": "app"},
    }
    assert_valid(doc)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        # misspelled fields
        ("spec.destination.sever", "https://x", "sever"),
        ("spec.sourc", {}, "sourc"),
        ("spec.syncPolicy.automated.selfheal", True, "selfheal"),
        ("spec.syncPolicy.syncOption", ["Validate=false"], "syncOption"),
        ("spec.source.repoUrl", "https://x", "repoUrl"),
        ("spec.source.helm", {"valueFile": ["values.yaml"]}, "valueFile"),
        ("spec.source.kustomize", {"namePrefx": "prod-"}, "namePrefx"),
        ("spec.syncPolicy.retry", {"limit": 2, "backof": {}}, "backof"),
        # wrong types
        ("spec.syncPolicy.automated.prune", "yes", "prune"),
        ("spec.revisionHistoryLimit", "10", "revisionHistoryLimit"),
        ("spec.source.helm", {"valueFiles": "values.yaml"}, "valueFiles"),
        ("spec.source.helm", {"values": {"replicaCount": 2}}, "values"),
        ("spec.source.helm", {"parameters": [{"name": "a", "value": 1}]}, "value"),
        ("spec.syncPolicy.syncOptions", ["CreateNamespace: true"], "syncOptions"),
        ("spec.syncPolicy.syncOptions", "CreateNamespace=true", "syncOptions"),
        ("spec.syncPolicy.retry", {"limit": "five"}, "limit"),
        ("metadata.labels", {"team": True}, "labels"),
        ("metadata.finalizers", "resources-finalizer.argocd.argoproj.io", "finalizers"),
        ("spec.project", 7, "project"),
    ],
)
def test_application_mistakes_fail(path, value, needle):
    assert_invalid(edit(load(RENDERED_APPLICATION), path, value), needle)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("spec.destination", "destination"),
        ("spec.project", "project"),
        ("spec.source.repoURL", "repoURL"),
        ("spec", "spec"),
        ("metadata", "metadata"),
        ("metadata.name", "name"),
    ],
)
def test_application_missing_required_fields_fail(path, needle):
    assert_invalid(edit(load(RENDERED_APPLICATION), path, delete=True), needle)


def test_application_needs_a_source():
    assert_invalid(edit(load(RENDERED_APPLICATION), "spec.source", delete=True), "source")


def test_application_destination_needs_exactly_one_of_server_and_name():
    doc = load(RENDERED_APPLICATION)
    assert_invalid(edit(doc, "spec.destination", {"namespace": "billing"}), "destination")
    both = {"server": "https://prod.k8s.example.com", "name": "prod", "namespace": "billing"}
    assert_invalid(edit(doc, "spec.destination", both), "destination")
    assert_valid(edit(doc, "spec.destination", {"name": "prod", "namespace": "billing"}))


def test_application_replicas_entry_needs_name_and_count():
    doc = load(FULL_APPLICATION)
    assert_invalid(edit(doc, "spec.sources.2.kustomize.replicas.0", {"name": "storefront"}), "count")


# --------------------------------------------------------------------------- ApplicationSet

APPLICATIONSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: billing-api
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
  - list:
      elements:
      - {env: staging, cluster: https://staging.k8s.example.com}
      - {env: prod, cluster: https://prod.k8s.example.com}
  - matrix:
      generators:
      - git:
          repoURL: https://github.com/example/gitops.git
          revision: HEAD
          directories: [{path: apps/*}, {path: apps/legacy, exclude: true}]
      - clusters:
          selector: {matchLabels: {env: prod}}
  - merge:
      mergeKeys: [server]
      generators:
      - clusters: {values: {kafka: "true"}}
      - list: {elements: [{server: https://2.4.6.8, values.redis: "true"}]}
  - git:
      repoURL: https://github.com/example/gitops.git
      revision: main
      files: [{path: "clusters/**/config.json"}]
      pathParamPrefix: cfg
      values: {team: payments}
    selector:
      matchExpressions: [{key: env, operator: In, values: [prod]}]
  - clusters: {}
  - scmProvider:
      github: {organization: example, tokenRef: {secretName: gh, key: token}}
      filters: [{repositoryMatch: ^svc-}]
  - pullRequest:
      github: {owner: example, repo: billing-api, labels: [preview]}
      requeueAfterSeconds: 1800
  - clusterDecisionResource: {configMapRef: ocm-placement, name: prod, requeueAfterSeconds: 60}
  - plugin:
      configMapRef: {name: my-plugin}
      input: {parameters: {key: value}}
  template:
    metadata:
      name: 'billing-api-{{.env}}'
      labels: {app.kubernetes.io/name: billing-api}
      finalizers: [resources-finalizer.argocd.argoproj.io]
    spec:
      project: payments
      source:
        repoURL: https://github.com/example/gitops.git
        targetRevision: main
        path: 'apps/billing-api/overlays/{{.env}}'
      destination: {server: '{{.cluster}}', namespace: billing}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
  templatePatch: |
    spec:
      syncPolicy:
        automated:
          prune: {{ .autoPrune }}
  syncPolicy:
    preserveResourcesOnDeletion: true
    applicationsSync: create-update
  strategy:
    type: RollingSync
    rollingSync:
      steps:
      - matchExpressions: [{key: env, operator: In, values: [staging]}]
      - matchExpressions: [{key: env, operator: In, values: [prod]}]
        maxUpdate: 10%
  preservedFields: {annotations: [note], labels: [owner]}
  ignoreApplicationDifferences:
  - jsonPointers: [/spec/source/targetRevision]
  - name: billing-api-prod
    jqPathExpressions: [.spec.source.helm.values]
"""


def test_applicationset_is_valid():
    assert_valid(load(APPLICATIONSET))


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("spec.generators.0", {"lists": {"elements": []}}, "lists"),
        ("spec.generators.3.git.repoUrl", "https://x", "repoUrl"),
        ("spec.template.metadata.labelz", {}, "labelz"),
        ("spec.template.spec.destination.sever", "https://x", "sever"),
        ("spec.syncPolicy.applicationsSync", "create-all", "applicationsSync"),
        ("spec.syncPolicy.syncOptions", ["CreateNamespace=true"], "syncOptions"),
        ("spec.goTemplate", "true", "goTemplate"),
        ("spec.generators.2.merge.mergeKeys", "server", "mergeKeys"),
        ("spec.strategy.rollingSync.steps.1.maxUpdate", 1.5, "maxUpdate"),
        ("spec.generatorz", [], "generatorz"),
    ],
)
def test_applicationset_mistakes_fail(path, value, needle):
    assert_invalid(edit(load(APPLICATIONSET), path, value), needle)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("spec.generators", "generators"),
        ("spec.template", "template"),
        ("spec.template.spec.project", "project"),
        ("spec.template.spec.destination", "destination"),
        ("spec.generators.2.merge.mergeKeys", "mergeKeys"),
    ],
)
def test_applicationset_missing_required_fields_fail(path, needle):
    assert_invalid(edit(load(APPLICATIONSET), path, delete=True), needle)


def test_applicationset_generator_item_holds_exactly_one_generator():
    doc = load(APPLICATIONSET)
    two = {"list": {"elements": []}, "clusters": {}}
    assert_invalid(edit(doc, "spec.generators.0", two), "generators")
    assert_invalid(edit(doc, "spec.generators.0", {"selector": {"matchLabels": {"a": "b"}}}), "generators")
    assert_invalid(edit(doc, "spec.generators", []), "generators")


# --------------------------------------------------------------------------- AppProject

APPPROJECT = """
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: payments
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  description: Payments team
  sourceRepos: ['https://github.com/example/*']
  sourceNamespaces: [argocd-apps-*]
  destinations:
  - {namespace: billing, server: https://prod.k8s.example.com}
  - {namespace: 'billing-*', name: in-cluster}
  destinationServiceAccounts:
  - {server: https://prod.k8s.example.com, namespace: billing, defaultServiceAccount: argocd-deployer}
  clusterResourceWhitelist:
  - {group: '', kind: Namespace}
  - {group: rbac.authorization.k8s.io, kind: ClusterRole, name: 'payments-*'}
  clusterResourceBlacklist: [{group: '', kind: Node}]
  namespaceResourceBlacklist:
  - {group: '', kind: ResourceQuota}
  namespaceResourceWhitelist:
  - {group: apps, kind: Deployment}
  orphanedResources:
    warn: true
    ignore: [{kind: ConfigMap, name: kube-root-ca.crt}]
  roles:
  - name: ci
    description: CI sync
    policies: ['p, proj:payments:ci, applications, sync, payments/*, allow']
    groups: [payments-ci]
    jwtTokens: [{iat: 1535390316, id: abc}]
  syncWindows:
  - {kind: allow, schedule: '10 1 * * *', duration: 1h, applications: ['*-prod'], manualSync: true}
  - {kind: deny, schedule: '0 22 * * *', duration: 1h, namespaces: [default], timeZone: Europe/Paris,
     andOperator: true, description: change freeze}
  signatureKeys: [{keyID: 4AEE18F83AFDEB23}]
  permitOnlyProjectScopedClusters: false
"""


def test_appproject_is_valid():
    assert_valid(load(APPPROJECT))


def test_minimal_appproject_is_valid():
    assert_valid(load("""
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default}
spec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}
"""))


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("spec.sourceRepo", ["*"], "sourceRepo"),
        ("spec.destinations.0.sever", "https://x", "sever"),
        ("spec.syncWindows.0.kind", "block", "kind"),
        ("spec.roles.0.policies", "p, proj:payments:ci, applications, get, payments/*, allow", "policies"),
        ("spec.roles.0.jwtTokens.0.iat", "yesterday", "iat"),
        ("spec.clusterResourceWhitelist.0", {"group": ""}, "kind"),
        ("spec.roles.0", {"description": "no name"}, "name"),
        ("spec.orphanedResources.warn", "true", "warn"),
        ("spec.description", "x" * 256, "description"),
    ],
)
def test_appproject_mistakes_fail(path, value, needle):
    assert_invalid(edit(load(APPPROJECT), path, value), needle)


# --------------------------------------------------------------------------- ExternalSecret

RENDERED_EXTERNALSECRET = """
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: billing-api, labels: {app.kubernetes.io/name: billing-api}}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws-secrets, kind: ClusterSecretStore}
  target: {name: billing-api-secrets, creationPolicy: Owner}
  data:
  - secretKey: DATABASE_URL
    remoteRef: {key: billing/prod, property: database_url}
"""

FULL_EXTERNALSECRET = """
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: storefront, namespace: web}
spec:
  refreshInterval: 1h30m
  refreshPolicy: Periodic
  secretStoreRef: {name: vault-backend, kind: SecretStore}
  target:
    name: storefront-env
    creationPolicy: Merge
    deletionPolicy: Retain
    immutable: false
    template:
      type: kubernetes.io/dockerconfigjson
      engineVersion: v2
      mergePolicy: Replace
      metadata:
        labels: {team: web}
        annotations: {reloader.stakater.com/match: "true"}
      data:
        .dockerconfigjson: '{"auths": {"ghcr.io": {"auth": "{{ .token | b64enc }}"}}}'
      templateFrom:
      - configMap: {name: tmpl, items: [{key: config.yaml, templateAs: Values}]}
      - target: Annotations
        literal: 'checksum: {{ .token | sha256sum }}'
  data:
  - secretKey: token
    remoteRef:
      key: secret/data/storefront
      property: token
      version: "3"
      conversionStrategy: Default
      decodingStrategy: None
      metadataPolicy: None
  - secretKey: other
    remoteRef: {key: other}
    sourceRef: {storeRef: {name: aws-secrets, kind: ClusterSecretStore}}
  dataFrom:
  - extract: {key: storefront/config, decodingStrategy: Auto}
  - find:
      path: storefront
      name: {regexp: ^STOREFRONT_}
      tags: {env: prod}
    rewrite:
    - regexp: {source: ^STOREFRONT_, target: ''}
    - transform: {template: '{{ .value | lower }}'}
  - sourceRef:
      generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: db-password}
"""


def test_rendered_externalsecret_is_valid():
    assert_valid(load(RENDERED_EXTERNALSECRET))


def test_full_externalsecret_is_valid():
    assert_valid(load(FULL_EXTERNALSECRET))


def test_externalsecret_knows_only_template_engine_v2():
    doc = load(RENDERED_EXTERNALSECRET)
    doc["spec"]["target"]["template"] = {"engineVersion": "v1", "data": {"a": "{{ .b }}"}}
    assert_invalid(doc, "engineVersion")


def test_externalsecret_without_store_ref_is_valid_when_every_entry_names_its_source():
    doc = load("""
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: generated-password}
spec:
  refreshInterval: "0"
  dataFrom:
  - sourceRef:
      generatorRef: {kind: Password, name: strong}
""")
    assert_valid(doc)


def test_externalsecret_schema_rejects_other_api_versions():
    validator = Draft202012Validator(crd_schema("external-secrets.io/v1", "ExternalSecret"))
    doc = edit(load(RENDERED_EXTERNALSECRET), "apiVersion", "external-secrets.io/v1alpha1")
    assert any(e.json_path == "$.apiVersion" for e in validator.iter_errors(doc))


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("spec.data.0.remoteRef.propery", "x", "propery"),
        ("spec.secretStoreRef.kind", "Store", "kind"),
        ("spec.secretStoreRef.namespace", "infra", "namespace"),
        ("spec.target.creationPolicy", "owner", "creationPolicy"),
        ("spec.target.deletionPolicy", "Keep", "deletionPolicy"),
        ("spec.target.immutable", "yes", "immutable"),
        ("spec.target.nmae", "x", "nmae"),
        ("spec.refreshInterval", "1d", "refreshInterval"),
        ("spec.refreshInterval", 3600, "refreshInterval"),
        ("spec.refreshPolicy", "Always", "refreshPolicy"),
        ("spec.data.0.remoteRef.decodingStrategy", "base64", "decodingStrategy"),
        ("spec.data.0.secretKey", "DATABASE URL", "secretKey"),
        ("spec.data", {"secretKey": "A", "remoteRef": {"key": "b"}}, "data"),
        ("spec.dataFrom", [{}], "dataFrom"),
        ("spec.dataFrom", [{"find": {"name": {"regexp": "x"}}, "rewrite": [{"regexp": {"source": "a", "target": "b"},
                                                                             "transform": {"template": "c"}}]}],
         "rewrite"),
        ("spec.data.0.sourceRef", {}, "sourceRef"),
        ("spec.secretStoreRef.name", "Aws_Secrets", "name"),
    ],
)
def test_externalsecret_mistakes_fail(path, value, needle):
    assert_invalid(edit(load(RENDERED_EXTERNALSECRET), path, value), needle)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("spec.secretStoreRef", "secretStoreRef"),
        ("spec.secretStoreRef.name", "name"),
        ("spec.data.0.remoteRef", "remoteRef"),
        ("spec.data.0.remoteRef.key", "key"),
        ("spec.data.0.secretKey", "secretKey"),
    ],
)
def test_externalsecret_missing_required_fields_fail(path, needle):
    assert_invalid(edit(load(RENDERED_EXTERNALSECRET), path, delete=True), needle)


# --------------------------------------------------------------------------- SecretStore / ClusterSecretStore

CLUSTERSECRETSTORE = """
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: aws-secrets}
spec:
  refreshInterval: 300
  retrySettings: {maxRetries: 5, retryInterval: 10s}
  conditions:
  - namespaces: [billing, web]
  - namespaceSelector: {matchLabels: {secrets: aws}}
  - namespaceRegexes: ['^team-.*']
  provider:
    aws:
      service: SecretsManager
      region: eu-west-1
      role: arn:aws:iam::123456789012:role/eso
      auth:
        jwt:
          serviceAccountRef: {name: external-secrets, namespace: external-secrets}
"""

SECRETSTORE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-backend, namespace: web}
spec:
  controller: internal
  provider:
    vault:
      server: https://vault.example.com:8200
      path: secret
      version: v2
      auth:
        kubernetes:
          mountPath: kubernetes
          role: storefront
          serviceAccountRef: {name: storefront}
"""


def test_clustersecretstore_is_valid():
    assert_valid(load(CLUSTERSECRETSTORE))


def test_secretstore_is_valid():
    assert_valid(load(SECRETSTORE))


@pytest.mark.parametrize(
    "provider",
    [
        {"gcpsm": {"projectID": "acme", "auth": {"workloadIdentity": {"clusterLocation": "europe-west1",
                                                                      "serviceAccountRef": {"name": "eso"}}}}},
        {"azurekv": {"vaultUrl": "https://acme.vault.azure.net", "authType": "WorkloadIdentity"}},
        {"kubernetes": {"remoteNamespace": "shared", "server": {"caProvider": {"type": "ConfigMap",
                                                                              "name": "kube-root-ca.crt"}}}},
        {"fake": {"data": [{"key": "a", "value": "b"}]}},
        {"onepasswordSDK": {"vault": "prod", "auth": {"serviceAccountSecretRef": {"name": "op", "key": "token"}}}},
    ],
)
def test_other_providers_are_valid(provider):
    assert_valid(edit(load(SECRETSTORE), "spec.provider", provider))


@pytest.mark.parametrize(
    ("doc_text", "path", "value", "needle"),
    [
        (CLUSTERSECRETSTORE, "spec.provider.vault", {"server": "https://v"}, "provider"),
        (CLUSTERSECRETSTORE, "spec.provider", {}, "provider"),
        (CLUSTERSECRETSTORE, "spec.provider", {"awss": {"service": "SecretsManager", "region": "x"}}, "awss"),
        (CLUSTERSECRETSTORE, "spec.provider.aws.service", "SSM", "service"),
        (CLUSTERSECRETSTORE, "spec.provider.aws", {"region": "eu-west-1"}, "service"),
        (CLUSTERSECRETSTORE, "spec.refreshInterval", 1.5, "refreshInterval"),
        (CLUSTERSECRETSTORE, "spec.retrySettings.maxRetries", "5", "maxRetries"),
        (CLUSTERSECRETSTORE, "spec.conditions.0.namespace", ["billing"], "namespace"),
        (CLUSTERSECRETSTORE, "spec.conditions.0.namespaces", ["Billing"], "namespaces"),
        (SECRETSTORE, "spec.provider.vault", {"path": "secret"}, "server"),
        (SECRETSTORE, "spec.provider.vault.version", "v3", "version"),
        (SECRETSTORE, "spec.providers", {}, "providers"),
    ],
)
def test_store_mistakes_fail(doc_text, path, value, needle):
    assert_invalid(edit(load(doc_text), path, value), needle)


def test_the_two_store_schemas_differ_only_in_their_header():
    """SecretStore and ClusterSecretStore share one spec (ESO's CRDs do): one schema, written twice."""
    namespaced = crd_schema("external-secrets.io/v1", "SecretStore")
    cluster = crd_schema("external-secrets.io/v1", "ClusterSecretStore")
    assert namespaced is not None and cluster is not None
    header = ("$id", "$comment", "title", "description")
    assert [(namespaced[k], cluster[k]) for k in header] == [
        ("urn:shipcard:crd:external-secrets.io:SecretStore", "urn:shipcard:crd:external-secrets.io:ClusterSecretStore"),
        *[(namespaced[k], namespaced[k].replace("SecretStore", "ClusterSecretStore")
           .replace("secretstores", "clustersecretstores")) for k in header[1:]]]
    for schema in (namespaced, cluster):
        for key in header:
            del schema[key]
        del schema["properties"]["kind"]
    assert namespaced == cluster


_STORES_BREAKING_CEL_RULES = """\
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: a, namespace: web}
spec:
  provider:
    secretserver:
      serverURL: https://ss
      token: {value: hunter2-not-shown, secretRef: {name: s, key: k}}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: b}
spec:
  provider:
    secretserver: {serverURL: https://ss, username: {value: eso}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: c, namespace: web}
spec:
  provider:
    crd:
      resource: {group: g, version: v1, kind: K}
      authRef: {name: a, key: b}
      auth: {serviceAccount: {name: eso}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: d, namespace: web}
spec:
  provider:
    aws:
      service: SecretsManager
      region: x
      customSessionTags: {team: billing, esoStoreName: mine}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: e, namespace: web}
spec:
  provider:
    openBao: {server: https://b, caBundle: LS0t, caProvider: {type: Secret, name: ca}}
"""


def test_store_cel_rules_read_as_one_line_each_and_never_quote_a_value(tmp_path: Path) -> None:
    """The CRDs' CEL rules, as the bundled schemas encode them: a finding at the mapping, saying what it needs."""
    (tmp_path / "stores.yaml").write_text(_STORES_BREAKING_CEL_RULES, encoding="utf-8")
    result = run_cli("check", str(tmp_path / "stores.yaml"), "--format", "json")
    assert result.exit_code == 1, result.output
    assert "hunter2" not in result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["line"], f["column"], f["message"]) for f in findings] == [
        ("schema", 8, 7, "spec.provider.secretserver.token: must be a mapping with value or secretRef, not both"),
        ("schema", 15, 5, "spec.provider.secretserver: must be a mapping with a token, or both a username and a "
                          "password"),
        ("schema", 22, 5, "spec.provider.crd: must be a mapping with auth or authRef, not both"),
        ("schema", 35, 42, "spec.provider.aws.customSessionTags.esoStoreName: invalid name 'esoStoreName': must be a "
                           "key other than those ESO sets itself"),
        ("schema", 42, 5, "spec.provider.openBao: must be a mapping with caBundle or caProvider, not both")]


def test_store_needs_a_provider():
    assert_invalid(edit(load(SECRETSTORE), "spec.provider", delete=True), "provider")


# --------------------------------------------------------------------------- SealedSecret

SEALEDSECRET = """
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  creationTimestamp: null
  name: billing-api
  namespace: billing
  annotations: {sealedsecrets.bitnami.com/namespace-wide: "true"}
spec:
  encryptedData:
    DATABASE_URL: AgBy3i4OJSWK+PiTySYZZA7rO43cGDEq1Q8pU9kX2x4sRa8YV2vQHnJWCBGNrNb7x9k=
    API_TOKEN: AgCg8sT1q2w3e4r5t6y7u8i9o0p==
  template:
    metadata:
      creationTimestamp: null
      name: billing-api
      namespace: billing
      labels: {app.kubernetes.io/name: billing-api}
    type: Opaque
    data:
      DSN: 'postgres://{{ index . "DATABASE_URL" }}'
"""


def test_sealedsecret_is_valid():
    assert_valid(load(SEALEDSECRET))


def test_sealedsecret_with_null_template_data_is_valid():
    # kubeseal writes `data: null` into the template; the CRD marks it nullable
    assert_valid(edit(load(SEALEDSECRET), "spec.template.data", None))


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("spec.encryptedData.PORT", 5432, "encryptedData"),
        ("spec.encryptedData", ["AgBy3i4O"], "encryptedData"),
        ("spec.template.typ", "Opaque", "typ"),
        ("spec.template.data", {"PORT": 5432}, "data"),
        ("spec.encrypteddata", {}, "encrypteddata"),
        ("metadata.annotations", {"sealedsecrets.bitnami.com/cluster-wide": True}, "annotations"),
    ],
)
def test_sealedsecret_mistakes_fail(path, value, needle):
    assert_invalid(edit(load(SEALEDSECRET), path, value), needle)


def test_sealedsecret_missing_required_fields_fail():
    assert_invalid(edit(load(SEALEDSECRET), "spec.encryptedData", delete=True), "encryptedData")
    assert_invalid(edit(load(SEALEDSECRET), "spec", delete=True), "spec")
