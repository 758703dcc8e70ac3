"""Issue 16 item 6: `shipcard check --shard K/N` checks a deterministic 1/N of the services.

The repository is made by the real `shipcard init`, `new` and `render`: three Kustomize-format
cards, two helmfile-format cards (both rendered through the vendored chart), a hand-written
Kustomize tree, a hand-written chart two Applications deploy (rendered by the real helm), a plain
manifest file, and a hand-written Application deploying the `nightly`
card's prod overlay to a second cluster: a cronjob-on-several-clusters finding across two groups.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from shipcard.check.engine import CheckOptions, CheckResult, exit_code, run_check
from shipcard.check.inputs.plan import plan_inputs
from shipcard.check.report import finding_dict
from shipcard.check.shard import Ownership, Shard, shard_of
from tests.conftest import run_cli, write_files
from tests.lifecycle.helpers import DIGEST, IDENTITY, commit_all, init_repository

STANDBY = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: nightly-standby
  namespace: argocd
spec:
  project: platform
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: main
    path: apps/nightly/overlays/prod
  destination:
    server: https://standby.k8s.example.com
    namespace: nightly-prod
"""
LEGACY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
spec:
  replicas: 1
  selector:
    matchLabels: {app: legacy}
  template:
    metadata:
      labels: {app: legacy}
    spec:
      containers:
        - name: legacy
          image: nginx:1.27
"""
MISC = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: misc
  namespace: misc
data:
  a: b
---
apiVersion: v1
kind: Pod
metadata:
  name: stray
spec:
  containers:
    - name: stray
      image: busybox
"""
PLATFORM_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: platform
  source:
    repoURL: https://github.com/example/gitops.git
    targetRevision: v1.0.0
    path: platform/charts/svc
    helm:
      releaseName: {name}
      valueFiles: [values-{name}.yaml]
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
"""
HAND_WRITTEN = {
    "platform/charts/svc/Chart.yaml": "apiVersion: v2\nname: svc\nversion: 0.1.0\n",
    "platform/charts/svc/values.yaml": "replicas: 1\n",
    "platform/charts/svc/values-alpha.yaml": "replicas: 2\n",
    "platform/charts/svc/values-beta.yaml": "replicas: 3\n",
    "platform/charts/svc/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    "platform/apps/alpha.yaml": PLATFORM_APP.format(name="alpha"),
    "platform/apps/beta.yaml": PLATFORM_APP.format(name="beta"),
    "standby/nightly-standby.yaml": STANDBY,
    "legacy/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "legacy/base/deployment.yaml": LEGACY,
    "legacy/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: legacy\n",
    "misc/cm.yaml": MISC,
}
CROSS_SHARDS = {1: [1, 1], 2: [1, 2], 3: [3, 3], 4: [1, 4]}  # two shards for N = 2 and 4
CARDS = (("web", "web"), ("notifier", "web"), ("api", "worker"), ("nightly", "cronjob"), ("billing", "web"))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The repository, committed on `main`."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in IDENTITY.items():
            patch.setenv(key, value)
        root = init_repository(tmp_path_factory.mktemp("fleet") / "gitops")
        for name, blueprint in CARDS:
            result = run_cli("new", name, "--blueprint", blueprint, "--no-input",
                             "--set", f"image=ghcr.io/example/{name}:1.0.0@{DIGEST}", cwd=root)
            assert result.exit_code == 0, result.output
        for name in ("notifier", "billing"):
            with (root / f"services/{name}.service.yaml").open("a") as card:
                card.write("gitops:\n  format: helmfile\n")
        assert run_cli("render", cwd=root).exit_code == 0
        write_files(root, HAND_WRITTEN)
        commit_all(git.Repo(root), "five services and hand-written trees")
        yield root


def check(root: Path, monkeypatch: pytest.MonkeyPatch, shard: Shard | None = None, base: str | None = None,
          ) -> CheckResult:
    monkeypatch.chdir(root)
    return run_check(CheckOptions(shard=shard, base=base))


def as_set(result: CheckResult) -> list[str]:
    return [json.dumps(finding_dict(f), sort_keys=True) for f in result.findings]


@pytest.mark.kubectl
@pytest.mark.helm
@pytest.mark.parametrize("total", [1, 2, 3, 4])
def test_the_union_of_n_shards_is_the_unsharded_run_each_finding_once(
        fleet: Path, monkeypatch: pytest.MonkeyPatch, total: int) -> None:
    whole = check(fleet, monkeypatch)
    shards = [check(fleet, monkeypatch, Shard(index, total)) for index in range(1, total + 1)]
    union = [finding for result in shards for finding in as_set(result)]
    assert sorted(union) == sorted(as_set(whole))
    assert len(set(union)) == len(union) == len(whole.findings) == 53
    assert sum(result.objects for result in shards) == whole.objects == 112
    assert sorted(file for result in shards for file in result.files) == sorted(whole.files)
    cross = [(f.file, f.line) for f in whole.findings if f.rule == "cronjob-on-several-clusters"]
    assert cross == [("argocd/prod/nightly.yaml", 20), ("standby/nightly-standby.yaml", 12)]
    # One finding of the hand-written chart's template, through both releases: one shard has both.
    chart = [f for result in shards for f in result.findings if f.file == "platform/charts/svc/templates/cm.yaml"]
    assert [[v.origin for v in f.via] for f in chart] == [["helm template alpha platform/charts/svc --namespace alpha",
                                                          "helm template beta platform/charts/svc --namespace beta"]]
    # Each side of the cross-service finding is reported by the shard of its own Application.
    reported_by = {f.file: index for index, result in enumerate(shards, start=1) for f in result.findings
                   if f.rule == "cronjob-on-several-clusters"}
    assert reported_by == {"argocd/prod/nightly.yaml": shard_of("service:nightly", total),
                           "standby/nightly-standby.yaml": shard_of("standby", total)}
    assert [shard_of(key, total) for key in ("service:nightly", "standby")] == CROSS_SHARDS[total]


@pytest.mark.kubectl
@pytest.mark.helm
def test_each_shard_exits_on_its_own_findings(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fleet)
    codes = [run_cli("check", "--shard", f"{index}/3").exit_code for index in (1, 2, 3)]
    assert codes == [0, 0, 1]  # the errors are all in legacy/ and misc/, both in shard 3
    assert run_cli("check").exit_code == 1
    for index in (1, 2, 3):
        result = check(fleet, monkeypatch, Shard(index, 3))
        assert result.exit_code == exit_code(result.findings, "error") == codes[index - 1]


def test_a_service_its_overlays_applications_and_card_are_one_group(fleet: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Kustomize cards are each a group; the helmfile cards share the vendored chart, so they are one
    group with it; hand-written targets go by top-level directory."""
    monkeypatch.chdir(fleet)
    plan = plan_inputs([str(fleet)])
    ownership = Ownership(plan, fleet)
    groups: dict[str, set[str]] = {}
    for target in plan.targets:
        groups.setdefault(ownership.key_of_input(target.describe()), set()).add(target.describe())
    assert {key: len(members) for key, members in groups.items()} == {
        "service:api": 7, "service:nightly": 7, "service:web": 7, "charts": 18,
        "argocd": 2, "legacy": 1, "misc": 1, "platform": 4, "standby": 1}
    assert groups["service:web"] == {"apps/web/overlays/dev (kustomize)", "apps/web/overlays/prod (kustomize)",
                                     "apps/web/overlays/staging (kustomize)", "argocd/dev/web.yaml",
                                     "argocd/prod/web.yaml", "argocd/staging/web.yaml",
                                     "services/web.service.yaml"}
    assert {"services/notifier.service.yaml", "services/billing.service.yaml", "argocd/prod/billing.yaml",
            "charts/service (helm release notifier)"} <= groups["charts"]
    assert groups["argocd"] == {"argocd/root.yaml", "argocd/projects/platform.yaml"}
    # A file no target reads (a drift finding's missing file) goes with its service, as merged.
    assert [ownership.key_of_file(f) for f in ("apps/web/overlays/qa/kustomization.yaml",
                                               "apps/billing/values/qa.yaml", "shipcard.yaml")] == [
        "service:web", "charts", "shipcard.yaml"]


@pytest.mark.kubectl
@pytest.mark.helm
def test_checking_some_directories_groups_by_service_as_well(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check apps/ argocd/` reads no card as a target; the repository's cards still name the groups."""
    monkeypatch.chdir(fleet)
    plan = plan_inputs(["apps", "argocd"])
    ownership = Ownership(plan, fleet)
    assert [ownership.key_of_input(d) for d in ("apps/web/overlays/prod (kustomize)", "argocd/dev/nightly.yaml",
                                                 "apps/billing/values/prod.yaml", "argocd/root.yaml")] == [
        "service:web", "service:nightly", "charts", "argocd"]
    whole = run_check(CheckOptions(paths=["apps", "argocd"]))
    union = [f for index in (1, 2, 3) for f in as_set(run_check(CheckOptions(paths=["apps", "argocd"],
                                                                             shard=Shard(index, 3))))]
    assert sorted(union) == sorted(as_set(whole)) and len(union) == 17


def test_the_shard_of_a_group_is_a_fixed_hash_of_its_key() -> None:
    """sha256 of the key, not Python's salted hash: these numbers are the same on every runner."""
    assert [shard_of(key, 4) for key in ("service:web", "service:api", "charts", "legacy")] == [4, 3, 3, 3]
    assert [shard_of("service:web", total) for total in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 2]


@pytest.mark.kubectl
@pytest.mark.helm
def test_the_same_assignment_under_any_python_hash_seed(fleet: Path) -> None:
    outputs = []
    for seed in ("0", "1", "4242"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--shard", "2/3", "--format", "json"],
                              cwd=fleet, env=environment, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [f["file"] for f in json.loads(outputs[0])["findings"]] == [
        "apps/api/base/deployment.yaml", *[f"argocd/{env}/api.yaml" for env in ("dev", "prod")],
        "argocd/root.yaml", "argocd/staging/api.yaml"]


@pytest.mark.kubectl
@pytest.mark.helm
def test_shards_of_a_pull_request_split_what_base_selects(fleet: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "gitops"
    shutil.copytree(fleet, root, symlinks=True)
    repository = git.Repo(root)
    repository.git.checkout("-b", "feature")
    write_files(root, {"legacy/base/deployment.yaml": LEGACY.replace("replicas: 1", "replicas: 2"),
                       "standby/nightly-standby.yaml": STANDBY.replace("standby.k8s", "osaka.k8s")})
    with (root / "argocd/prod/nightly.yaml").open("a") as application:  # selected, and edited by hand
        application.write("# tried by hand\n")
    whole = check(root, monkeypatch, base="main")
    assert sorted({(f.file, f.rule) for f in whole.findings if not f.file.startswith("legacy/")}) == [
        ("argocd/prod/nightly.yaml", "argocd-unpinned-revision"),
        ("argocd/prod/nightly.yaml", "cronjob-on-several-clusters"),
        ("argocd/prod/nightly.yaml", "generated-file-edited"),
        ("standby/nightly-standby.yaml", "argocd-unpinned-revision"),
        ("standby/nightly-standby.yaml", "cronjob-on-several-clusters")]
    for total in (2, 3):
        shards = [check(root, monkeypatch, Shard(index, total), base="main") for index in range(1, total + 1)]
        assert sorted(f for result in shards for f in as_set(result)) == sorted(as_set(whole))
        assert all(result.selection == whole.selection for result in shards)


@pytest.mark.parametrize(("value", "problem"), [
    ("0/3", "expected K/N, two whole numbers from 1 (for example 2/4)"),
    ("4/3", "K is at most N (shards are numbered 1 to 3)"),
    ("2", "expected K/N, two whole numbers from 1 (for example 2/4)"),
    ("a/b", "expected K/N, two whole numbers from 1 (for example 2/4)"),
    (" 1/3", "expected K/N, two whole numbers from 1 (for example 2/4)"),
])
def test_a_bad_shard_is_one_line_and_exit_2(tmp_path: Path, value: str, problem: str) -> None:
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--shard", value], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"shipcard: --shard {value}: {problem}\n")


@pytest.mark.kubectl
@pytest.mark.helm
def test_sarif_of_a_shard_names_its_category_and_unsharded_sarif_is_unchanged(
        fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub code scanning (docs: "SARIF support for code scanning", runAutomationDetails) keeps one
    analysis per category of a commit; the category is `automationDetails.id` up to its last `/`,
    so each shard's upload stands beside the others' instead of replacing them."""
    monkeypatch.chdir(fleet)
    text = run_cli("check", "--shard", "2/3", "--format", "sarif").stdout
    assert '"columnKind": "unicodeCodePoints", "automationDetails": {"id": "shipcard/shard-2-of-3/"}, ' \
           '"invocations": ' in text
    sharded = json.loads(text)["runs"][0]
    whole = json.loads(run_cli("check", "--format", "sarif").stdout)["runs"][0]
    assert sharded["automationDetails"] == {"id": "shipcard/shard-2-of-3/"}
    assert list(sharded) == ["tool", "originalUriBaseIds", "columnKind", "automationDetails", "invocations",
                             "results"]
    assert list(whole) == ["tool", "originalUriBaseIds", "columnKind", "invocations", "results"]
