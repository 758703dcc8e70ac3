"""Issue 15 item 2: `api-immutable-field-changed` in `--base REF` mode compares each object of a
changed plain manifest with the same object at the merge base, on a real git repository."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from shipcard.check.base import base_contents
from shipcard.check.engine import CheckOptions, engine_rule_infos, run_check
from shipcard.check.immutable import ID
from tests.conftest import feature_branch_repo, write_files

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""
STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: db
          image: postgres:16
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  suspend: false
  template:
    spec:
      restartPolicy: Never
      nodeSelector:
        pool: batch
      containers:
        - name: migrate
          image: example/migrate:1.0
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 10.0.0.10
  selector:
    app: web
  ports:
    - port: 80
"""
PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources:
    requests:
      storage: 1Gi
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
immutable: true
data:
  mode: fast
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: token
type: Opaque
stringData:
  token: s3cr3t-value
"""
FILES = {"k8s/deployment.yaml": DEPLOYMENT, "k8s/statefulset.yaml": STATEFULSET, "k8s/job.yaml": JOB,
         "k8s/service.yaml": SERVICE, "k8s/pvc.yaml": PVC, "k8s/configmap.yaml": CONFIGMAP,
         "k8s/secret.yaml": SECRET}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> git.Repo:
    monkeypatch.chdir(tmp_path)  # paths in findings are relative to the working directory
    return feature_branch_repo(tmp_path, FILES)


def commit(repository: git.Repo, files: dict[str, str]) -> None:
    write_files(Path(str(repository.working_tree_dir)), files)
    repository.index.add(sorted(files))
    repository.index.commit("change")


def immutable(base: str | None = "main") -> list[tuple[str, int, str]]:
    result = run_check(CheckOptions(paths=["k8s"], base=base))
    return [(f.file, f.line, f.message) for f in result.findings if f.rule == ID]


def said(ref: str, field: str) -> str:
    return (f"{ref}: {field} changed since the base revision, and the API server refuses to update it; "
            "Argo CD's sync will fail with \"field is immutable\"")


FLAGGED = [
    ("deployment-selector", "k8s/deployment.yaml", DEPLOYMENT.replace("app: web", "app: site"),
     9, said("Deployment/web", "spec.selector")),
    ("statefulset-service-name", "k8s/statefulset.yaml", STATEFULSET.replace("serviceName: db", "serviceName: pg"),
     6, said("StatefulSet/db", "spec.serviceName")),
    ("statefulset-claim-template", "k8s/statefulset.yaml", STATEFULSET.replace("1Gi", "5Gi"),
     26, said("StatefulSet/db", "spec.volumeClaimTemplates")),
    ("statefulset-pod-management-added", "k8s/statefulset.yaml",
     STATEFULSET.replace("  replicas: 1\n", "  replicas: 1\n  podManagementPolicy: Parallel\n"),
     8, said("StatefulSet/db", "spec.podManagementPolicy")),
    ("job-template-image", "k8s/job.yaml", JOB.replace("migrate:1.0", "migrate:1.1"),
     14, said("Job/migrate", "spec.template")),
    ("replace-without-force", "k8s/deployment.yaml",
     DEPLOYMENT.replace("  name: web\n", "  name: web\n  annotations:\n"
                        "    argocd.argoproj.io/sync-options: Replace=true\n").replace("app: web", "app: site"),
     11, said("Deployment/web", "spec.selector")),
    ("job-node-selector-running", "k8s/job.yaml", JOB.replace("pool: batch", "pool: spot"),
     11, said("Job/migrate", "spec.template")),
    ("service-cluster-ip", "k8s/service.yaml", SERVICE.replace("10.0.0.10", "10.0.0.11"),
     6, said("Service/web", "spec.clusterIP")),
    ("pvc-storage-class", "k8s/pvc.yaml", PVC.replace("standard", "fast"),
     7, said("PersistentVolumeClaim/data", "spec.storageClassName")),
    ("pvc-limits-added", "k8s/pvc.yaml", PVC + "    limits:\n      storage: 2Gi\n",
     11, said("PersistentVolumeClaim/data", "spec.resources")),
    ("immutable-configmap-data", "k8s/configmap.yaml", CONFIGMAP.replace("fast", "slow"),
     7, said("ConfigMap/settings", "data")),
    ("immutable-configmap-made-mutable", "k8s/configmap.yaml", CONFIGMAP.replace("immutable: true", "immutable: false"),
     5, said("ConfigMap/settings", "immutable")),
    ("secret-type", "k8s/secret.yaml", SECRET.replace("Opaque", "kubernetes.io/basic-auth"),
     5, said("Secret/token", "type")),
]


@pytest.mark.parametrize("name,path,text,line,message", FLAGGED, ids=[c[0] for c in FLAGGED])
def test_a_change_to_an_immutable_field_is_an_error_at_its_line(repo, name, path, text, line, message):
    commit(repo, {path: text})
    assert immutable() == [(path, line, message)]


ALLOWED = [
    ("deployment-template", "k8s/deployment.yaml", DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")),
    ("statefulset-replicas-and-template", "k8s/statefulset.yaml",
     STATEFULSET.replace("replicas: 1", "replicas: 3").replace("postgres:16", "postgres:17")),
    ("job-node-selector-suspended", "k8s/job.yaml",
     JOB.replace("suspend: false", "suspend: true").replace("pool: batch", "pool: spot")),
    ("service-cluster-ip-dropped", "k8s/service.yaml", SERVICE.replace("  clusterIP: 10.0.0.10\n", "")),
    ("pvc-expanded", "k8s/pvc.yaml", PVC.replace("1Gi", "2Gi")),
    ("secret-data", "k8s/secret.yaml", SECRET.replace("s3cr3t-value", "n3w-value")),
    ("object-renamed", "k8s/deployment.yaml",
     DEPLOYMENT.replace("name: web\nspec", "name: site\nspec").replace("app: web", "app: site")),
    ("argocd-hook", "k8s/job.yaml", JOB.replace("  name: migrate\n", "  name: migrate\n  annotations:\n"
                                                "    argocd.argoproj.io/hook: PreSync\n").replace("1.0", "1.1")),
    ("force-replace", "k8s/deployment.yaml",
     DEPLOYMENT.replace("  name: web\n", "  name: web\n  annotations:\n"
                        "    argocd.argoproj.io/sync-options: Force=true, Replace=true\n").replace("app: web", "app: site")),
    ("default-written-out", "k8s/statefulset.yaml",
     STATEFULSET.replace("  replicas: 1\n", "  replicas: 1\n  podManagementPolicy: OrderedReady\n")),
    ("null-equals-absent", "k8s/pvc.yaml", PVC.replace("spec:\n", "spec:\n  volumeMode: null\n")),
]


@pytest.mark.parametrize("name,path,text", ALLOWED, ids=[c[0] for c in ALLOWED])
def test_a_change_the_api_server_accepts_is_no_finding(repo, name, path, text):
    commit(repo, {path: text})
    assert immutable() == []


def test_a_change_the_api_server_accepts_is_no_finding_from_a_mutable_base(repo):
    commit(repo, {"k8s/configmap.yaml": CONFIGMAP.replace("immutable: true\n", "")})
    assert immutable(base="HEAD~1") == [("k8s/configmap.yaml", 1, said("ConfigMap/settings", "immutable"))]
    commit(repo, {"k8s/configmap.yaml": CONFIGMAP.replace("fast", "slow")})  # made immutable with new data
    assert immutable(base="HEAD~1") == []


def test_uncommitted_changes_are_compared_too(repo):
    write_files(Path(str(repo.working_tree_dir)), {"k8s/service.yaml": SERVICE.replace("10.0.0.10", "10.0.0.12")})
    assert immutable() == [("k8s/service.yaml", 6, said("Service/web", "spec.clusterIP"))]


def test_an_object_moved_between_changed_files_is_compared(repo):
    commit(repo, {"k8s/deployment.yaml": "", "k8s/web.yaml": DEPLOYMENT.replace("app: web", "app: site")})
    assert immutable() == [("k8s/web.yaml", 9, said("Deployment/web", "spec.selector"))]


def test_without_base_the_rule_reports_nothing(repo):
    commit(repo, {"k8s/deployment.yaml": DEPLOYMENT.replace("app: web", "app: site")})
    assert immutable(base=None) == []


def test_an_unknown_base_reports_nothing(repo):
    commit(repo, {"k8s/deployment.yaml": DEPLOYMENT.replace("app: web", "app: site")})
    assert immutable(base="no-such-branch") == []


def test_the_message_never_shows_a_secret_value(repo):
    immutable_secret = SECRET.replace("type: Opaque\n", "type: Opaque\nimmutable: true\n")
    commit(repo, {"k8s/secret.yaml": immutable_secret})
    commit(repo, {"k8s/secret.yaml": immutable_secret.replace("s3cr3t-value", "n3w-value")})
    findings = immutable(base="HEAD~1")
    assert findings == [("k8s/secret.yaml", 8, said("Secret/token", "stringData"))]
    assert "s3cr3t" not in repr(findings) and "n3w" not in repr(findings)


def test_a_base_file_that_was_a_symbolic_link_is_not_read(repo, tmp_path):
    (tmp_path / "k8s/link.yaml").symlink_to("deployment.yaml")
    repo.index.add(["k8s/link.yaml"])
    repo.index.commit("link")
    (tmp_path / "k8s/link.yaml").unlink()
    (tmp_path / "k8s/link.yaml").write_text(DEPLOYMENT.replace("name: web\nspec", "name: other\nspec"))
    assert base_contents(tmp_path, "HEAD", [tmp_path.resolve() / "k8s/link.yaml"]) == {}


def test_the_rule_is_documented():
    info = next(i for i in engine_rule_infos() if i.id == ID)
    assert (info.severity, info.category) == ("error", "api")
    assert "Force=true,Replace=true" in info.fix and "field is immutable" in info.rationale
