"""`service-account-token-automount` accepts a mounted token for an IAM role (IRSA) only when the
ServiceAccount carrying `eks.amazonaws.com/role-arn` is surely the pods' own.

A pod only ever gets a ServiceAccount of its own namespace (Kubernetes API reference, PodSpec
`serviceAccountName`), and the EKS Pod Identity Webhook looks the account up by namespace and name
(amazon-eks-pod-identity-webhook pkg/cache: key `namespace/name`), taking any non-empty annotation
value as the role. Before, a pod of no namespace in one directory was excused by a ServiceAccount of
no namespace in another directory, which another Application may deploy to another namespace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

SA = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: uploader{namespace}
  annotations:
    eks.amazonaws.com/role-arn: {role}
automountServiceAccountToken: false
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: upload{namespace}
spec:
  template:
    spec:
      serviceAccountName: uploader
      automountServiceAccountToken: true
      restartPolicy: Never
      containers:
        - name: upload
          image: ghcr.io/example/uploader:1.0.0
"""
ROLE = "arn:aws:iam::123456789012:role/uploader"


def _ns(name: str) -> str:
    return f"\n  namespace: {name}" if name else ""


CASES = [
    pytest.param("team-a/job.yaml", "", "team-b/sa.yaml", "", ROLE, True, id="no-namespace-other-directory"),
    pytest.param("team-a/job.yaml", "", "team-a/sa.yaml", "", ROLE, False, id="no-namespace-same-directory"),
    pytest.param("team-a/job.yaml", "a", "team-b/sa.yaml", "b", ROLE, True, id="another-namespace"),
    pytest.param("team-a/job.yaml", "a", "team-b/sa.yaml", "a", ROLE, False, id="same-namespace-elsewhere"),
    pytest.param("team-a/job.yaml", "", "team-b/sa.yaml", "a", ROLE, True, id="only-the-account-names-one"),
    pytest.param("team-a/job.yaml", "a", "team-a/sa.yaml", "a", '""', True, id="empty-role"),
    pytest.param("team-a/job.yaml", "a", "team-a/sa.yaml", "a", '"not an arn"', False,
                 id="any-non-empty-role-as-the-webhook-takes-it"),
]


@pytest.mark.parametrize("job_file, job_ns, sa_file, sa_ns, role, reported", CASES)
def test_the_role_excuses_the_token_only_for_the_pods_own_account(
        tmp_path: Path, job_file: str, job_ns: str, sa_file: str, sa_ns: str, role: str, reported: bool) -> None:
    for name, text in ((job_file, JOB.format(namespace=_ns(job_ns))),
                       (sa_file, SA.format(namespace=_ns(sa_ns), role=role))):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    found = [(f["file"], f["line"]) for f in json.loads(result.stdout)["findings"]
             if f["rule"] == "service-account-token-automount"]
    line = 10 if job_ns else 9  # automountServiceAccountToken: true
    assert found == ([(job_file, line)] if reported else [])
