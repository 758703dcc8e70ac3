"""Issue 13, class 12: `check --base REF` never checks less than it must.

Every case is a real git repository in tmp_path: a commit on `main`, then a pull request on a branch
(or in the working tree) that adds a privileged Pod somewhere, and a change of the kind the case is
named after: unusual file names (not UTF-8, newlines, tabs, quotes, leading dashes), symbolic links
whose target changed, submodules, renames and copies, deletions, a changed `shipcard.yaml`, policy
or CRD, a base git cannot compare with. Each asserts the exact findings of the run (the Pod's among
them, in every case) and, where everything is checked, the one line saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hardhelpers import shipcard

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app.kubernetes.io/name: {name}}}
spec:
  automountServiceAccountToken: false
  serviceAccountName: {name}
  securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
  containers:
    - name: c
      image: ghcr.io/example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{memory: 16Mi}}}}
      livenessProbe: {{httpGet: {{path: /, port: 8080}}}}
      readinessProbe: {{httpGet: {{path: /, port: 8080}}}}
      securityContext:
        privileged: {privileged}
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {{drop: [ALL]}}
"""
BAD_POD = POD.format(name="bad", privileged="true")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{app.kubernetes.io/name: {name}}}\n" \
            "data: {{a: b}}\n"
REPOSITORY = "apiVersion: shipcard/v1\nkind: Repository\n"


def bad_pod_findings(file: str) -> set[tuple[str, str, int]]:
    """What the privileged Pod yields, wherever it is read from."""
    return {("naked-pod", file, 2), ("pods-without-networkpolicy", file, 5), ("privileged-container", file, 17)}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=cwd, capture_output=True,
                          check=True, timeout=60)
    return done.stdout.decode("utf-8", "replace")


def write(root: Path, files: dict[str | bytes, str]) -> None:
    """Files under `root`; a value `-> target` is a symbolic link; a bytes name is used as it is."""
    for name, text in files.items():
        path = Path(os.fsdecode(os.path.join(os.fsencode(root), os.fsencode(name))))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if text.startswith("-> "):
            path.symlink_to(text[3:])
        else:
            path.write_text(text, encoding="utf-8")


def new_repo(root: Path, files: dict[str | bytes, str]) -> Path:
    """A repository whose `main` holds `files`, checked out on branch `pr`."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    write(root, {"m/base.yaml": CONFIGMAP.format(name="base"), **files})
    commit_all(root, "base")
    git(root, "checkout", "--quiet", "-b", "pr")
    return root


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message)


def check(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, set[tuple[str, str, int]], str]:
    run = shipcard("check", *args, "--format", "json", cwd=root, env=env)
    assert "Traceback" not in run.output and "Exception in thread" not in run.output, run.output[-3000:]
    assert run.code in (0, 1), run.output[-3000:]
    findings = {(f["rule"], f["file"], f["line"]) for f in json.loads(run.stdout)["findings"]}
    return run.code, findings, run.stderr


# --------------------------------------------------------------------------- changed files, exactly


def _pr(files: dict[str | bytes, str]) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        write(root, files)
        commit_all(root, "pr")
    return change


def _rename_to_pod(root: Path) -> None:
    git(root, "mv", "m/old.yaml", "m/new name.yaml")
    write(root, {"m/new name.yaml": BAD_POD})
    commit_all(root, "rename")


def _copy_as_pod(root: Path) -> None:
    shutil.copy(root / "m/template.yaml", root / "m/copy.yaml")
    (root / "m/copy.yaml").write_text((root / "m/copy.yaml").read_text().replace("privileged: false", "privileged: true"))
    commit_all(root, "copy")


def _delete_and_add(root: Path) -> None:
    git(root, "rm", "--quiet", "m/old.yaml")
    write(root, {"m/pod.yaml": BAD_POD})
    commit_all(root, "swap")


def _staged_only(root: Path) -> None:
    write(root, {"m/pod.yaml": BAD_POD})
    git(root, "add", "m/pod.yaml")


def _unstaged_edit(root: Path) -> None:
    (root / "m/old.yaml").write_text(BAD_POD)


def _committed_but_ignored(root: Path) -> None:
    write(root, {".gitignore": "*.yaml\n", "m/pod.yaml": BAD_POD})
    git(root, "add", "--force", ".gitignore", "m/pod.yaml")
    git(root, "commit", "--quiet", "-m", "ignored")


def _submodule(tmp: Path, files: dict[str | bytes, str]) -> Path:
    """A repository to add as a submodule, holding `files`."""
    sub = tmp / "upstream"
    sub.mkdir()
    git(sub, "init", "--quiet", "--initial-branch=main")
    git(sub, "config", "user.name", "Test")
    git(sub, "config", "user.email", "test@example.com")
    write(sub, files)
    commit_all(sub, "upstream")
    return sub


def _add_submodule(root: Path) -> None:
    upstream = _submodule(root.parent, {"pod.yaml": BAD_POD})
    git(root, "submodule", "--quiet", "add", str(upstream), "vendor-manifests")
    commit_all(root, "submodule")


CASES = [
    pytest.param({}, _pr({b"m/caf\xe9-pod.yaml": BAD_POD, b"m/caf\xe9.yaml": CONFIGMAP.format(name="cafe")}),
                 bad_pod_findings("m/caf\\xe9-pod.yaml"), id="name-not-utf8"),
    pytest.param({}, _pr({"m/new\nline.yaml": BAD_POD}), bad_pod_findings("m/new\nline.yaml"), id="name-with-newline"),
    pytest.param({}, _pr({'m/a b\t"q\'.yaml': BAD_POD}), bad_pod_findings('m/a b\t"q\'.yaml'),
                 id="name-with-space-tab-quotes"),
    pytest.param({}, _pr({"-rf.yaml": BAD_POD, "m/--base.yaml": CONFIGMAP.format(name="dash")}),
                 bad_pod_findings("-rf.yaml"), id="name-with-leading-dash"),
    pytest.param({}, _pr({"m/\u00e9t\u00e9 \u2028.yaml": BAD_POD}), bad_pod_findings("m/\u00e9t\u00e9 \u2028.yaml"),
                 id="name-unicode-line-separator"),
    pytest.param({"m/old.yaml": CONFIGMAP.format(name="old")}, _rename_to_pod, bad_pod_findings("m/new name.yaml"),
                 id="rename-with-edit"),
    pytest.param({"m/template.yaml": POD.format(name="bad", privileged="false")}, _copy_as_pod,
                 bad_pod_findings("m/copy.yaml"), id="copy-with-edit"),
    pytest.param({"m/old.yaml": CONFIGMAP.format(name="old")}, _delete_and_add, bad_pod_findings("m/pod.yaml"),
                 id="deleted-and-added"),
    pytest.param({".store/cm.yaml": CONFIGMAP.format(name="cm"), ".store/pod.yaml": BAD_POD,
                  "m/link.yaml": "-> ../.store/cm.yaml"}, _pr({"m/link.yaml": "-> ../.store/pod.yaml"}),
                 bad_pod_findings("m/link.yaml"), id="symlink-retargeted"),
    pytest.param({".store/x.yaml": CONFIGMAP.format(name="x"), "m/link.yaml": "-> ../.store/x.yaml"},
                 _pr({".store/x.yaml": BAD_POD}), bad_pod_findings("m/link.yaml"), id="symlink-target-edited"),
    pytest.param({"m/old.yaml": CONFIGMAP.format(name="old")}, _staged_only, bad_pod_findings("m/pod.yaml"),
                 id="staged-not-committed"),
    pytest.param({"m/old.yaml": CONFIGMAP.format(name="old")}, _unstaged_edit, bad_pod_findings("m/old.yaml"),
                 id="unstaged-edit"),
    pytest.param({}, _committed_but_ignored, bad_pod_findings("m/pod.yaml"), id="committed-but-gitignored"),
    pytest.param({}, _add_submodule, bad_pod_findings("vendor-manifests/pod.yaml"), id="submodule-added"),
]


@pytest.mark.parametrize(("base", "change", "expected"), CASES)
def test_the_changed_files_are_checked_and_nothing_else(tmp_path: Path, base: dict[str | bytes, str],
                                                        change: Callable[[Path], None],
                                                        expected: set[tuple[str, str, int]]) -> None:
    root = new_repo(tmp_path / "repo", {**base, "m/untouched.yaml": BAD_POD.replace("bad", "old")})
    change(root)
    code, findings, stderr = check(root, "--base", "main")
    assert (code, findings) == (1, expected), stderr
    for line in stderr.splitlines():  # every line of the selection is one line, whatever the names hold
        assert line.startswith(("--base main: ", "selected ", "not checked: ", "FAIL: ")), line


def test_a_changed_submodule_commit_checks_what_it_holds(tmp_path: Path) -> None:
    upstream = _submodule(tmp_path, {"cm.yaml": CONFIGMAP.format(name="cm")})
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    git(root, "submodule", "--quiet", "add", str(upstream), "upstream-manifests")
    commit_all(root, "base")
    git(root, "checkout", "--quiet", "-b", "pr")
    write(root / "upstream-manifests", {"pod.yaml": BAD_POD})
    commit_all(root / "upstream-manifests", "pod upstream")
    commit_all(root, "bump the submodule")
    code, findings, stderr = check(root, "--base", "main")
    assert (code, findings) == (1, bad_pod_findings("upstream-manifests/pod.yaml")), stderr
    assert "selected upstream-manifests/pod.yaml: upstream-manifests changed" in stderr.splitlines()


# --------------------------------------------------------------------------- when everything is checked


ORG_POLICY = """\
id: team-label
severity: error
category: organisation
title: ConfigMap has no team label
rationale: Every object names its team.
fix: Add the example.com/team label.
target: object
kinds: [ConfigMap]
schema:
  required: [metadata]
  properties:
    metadata: {required: [labels], properties: {labels: {required: [example.com/team]}}}
message: '{kind} "{name}" has no example.com/team label'
examples:
  pass: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: a\\n  labels: {example.com/team: x}\\n"]
  fail: ["apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: a\\n"]
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: %s}}}
"""
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n"
BASE_CM = ("team-label", "m/base.yaml", 5)  # the unchanged ConfigMap, once the org policy applies to it


def _shallow_clone(root: Path) -> Path:
    """A clone of `root` holding only the tips of main and pr, one commit deep each (no merge base)."""
    clone = root.parent / "clone"
    git(root.parent, "clone", "--quiet", "--depth=1", "--no-single-branch", "--branch=pr", f"file://{root}",
        str(clone))
    return clone


EVERYTHING = [
    pytest.param({}, _pr({"shipcard.yaml": REPOSITORY + "check: {fail-on: warning}\n"}), (), "main",
                 "shipcard.yaml changed", set(), id="shipcard-yaml-changed"),
    pytest.param({"policies/org/.keep": ""}, _pr({"policies/org/team-label.yaml": ORG_POLICY}), (), "main",
                 "policies/org/team-label.yaml changed, under policies/org", {BASE_CM}, id="policy-added"),
    pytest.param({"policies/org/team-label.yaml": ORG_POLICY.replace("[ConfigMap]", "[Secret]")},
                 _pr({"policies/org/team-label.yaml": ORG_POLICY}), (), "main",
                 "policies/org/team-label.yaml changed, under policies/org", {BASE_CM}, id="policy-changed"),
    pytest.param({"crds/widget.yaml": CRD % "integer", "m/widget.yaml": WIDGET}, _pr({"crds/widget.yaml": CRD % "string"}),
                 (), "main", "crds/widget.yaml changed, a CustomResourceDefinition",
                 {("schema", "m/widget.yaml", 6)}, id="crd-changed"),
    pytest.param({"org/team-label.yaml": ORG_POLICY.replace("[ConfigMap]", "[Secret]")},
                 _pr({"org/team-label.yaml": ORG_POLICY}), ("--policy-dir", "org"), "main",
                 "org/team-label.yaml changed, under org", {BASE_CM}, id="policy-dir-option-changed"),
    pytest.param({}, _pr({}), (), "no-such-branch", "cannot tell what changed (not a revision git knows)", set(),
                 id="unknown-base"),
    pytest.param({}, _pr({}), (), "--output=x", "cannot tell what changed (not a revision git knows)", set(),
                 id="base-looks-like-an-option"),
    pytest.param({}, _pr({}), (), "HEAD~5", "cannot tell what changed (not a revision git knows)", set(),
                 id="base-before-the-first-commit"),
]


@pytest.mark.parametrize(("base", "change", "args", "ref", "why", "more"), EVERYTHING)
def test_a_change_that_affects_everything_checks_everything(tmp_path: Path, base: dict[str | bytes, str],
                                                            change: Callable[[Path], None], args: tuple[str, ...],
                                                            ref: str, why: str,
                                                            more: set[tuple[str, str, int]]) -> None:
    settings = REPOSITORY + ("check: {policy-dirs: [policies/org]}\n" if "policies/org/.keep" in base or
                             "policies/org/team-label.yaml" in base else "")
    root = new_repo(tmp_path / "repo", {"shipcard.yaml": settings, "m/pod.yaml": BAD_POD, **base})
    write(root, {"m/added.yaml": POD.format(name="added", privileged="true")})
    change(root)
    code, findings, stderr = check(root, "--base", ref, *args)
    assert (code, findings) == (1, bad_pod_findings("m/pod.yaml") | bad_pod_findings("m/added.yaml") | more), stderr
    assert stderr.splitlines()[0] == f"--base {ref}: checking everything: {why}"


def test_a_shallow_clone_without_the_merge_base_checks_everything(tmp_path: Path) -> None:
    root = new_repo(tmp_path / "repo", {"m/pod.yaml": BAD_POD})
    commit_all(root, "one more on pr")
    clone = _shallow_clone(root)
    code, findings, stderr = check(clone, "--base", "origin/main")
    assert (code, findings) == (1, bad_pod_findings("m/pod.yaml")), stderr
    assert stderr.splitlines()[0] == "--base origin/main: checking everything: cannot tell what changed " \
                                     "(no common ancestor with HEAD)"


def test_outside_a_repository_everything_is_checked(tmp_path: Path) -> None:
    write(tmp_path / "tree", {"m/pod.yaml": BAD_POD})
    code, findings, stderr = check(tmp_path / "tree", "--base", "main", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert (code, findings) == (1, bad_pod_findings("m/pod.yaml")), stderr
    assert stderr.splitlines()[0] == "--base main: checking everything: cannot tell what changed (. is not inside " \
                                     "a git repository)"


def test_without_git_everything_is_checked(tmp_path: Path) -> None:
    root = new_repo(tmp_path / "repo", {"m/pod.yaml": BAD_POD})
    bin_dir = tmp_path / "bin"  # a PATH holding everything shipcard needs but git
    bin_dir.mkdir()
    code, findings, stderr = check(root, "--base", "main", env={"PATH": str(bin_dir)})
    assert (code, findings) == (1, bad_pod_findings("m/pod.yaml")), stderr
    assert stderr.splitlines()[0] == "--base main: checking everything: cannot tell what changed (git: not found " \
                                     "on PATH)"


def test_no_commit_yet_checks_everything(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    write(tmp_path, {"m/pod.yaml": BAD_POD})
    code, findings, stderr = check(tmp_path, "--base", "main")
    assert (code, findings) == (1, bad_pod_findings("m/pod.yaml")), stderr
    assert stderr.splitlines()[0] == "--base main: checking everything: cannot tell what changed (HEAD has no " \
                                     "commit yet)"




# --------------------------------------------------------------------------- Kustomize trees (real kubectl)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app.kubernetes.io/name: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: web}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web}
    spec:
      automountServiceAccountToken: false
      serviceAccountName: web
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: ghcr.io/example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 16Mi}}
          livenessProbe: {httpGet: {path: /, port: 8080}}
          readinessProbe: {httpGet: {path: /, port: 8080}}
          securityContext:
            privileged: false
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"""
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          securityContext: {privileged: %s}
"""
BASE_TREE = {"k/base/kustomization.yaml": "resources: [deployment.yaml]\n", "k/base/deployment.yaml": DEPLOYMENT}
PROD = "k/prod/kustomization.yaml"
# The Deployment through k/prod made privileged by the pull request (one replica, no NetworkPolicy).
PRIVILEGED_WEB = {("single-replica", "k/base/deployment.yaml", 7), ("pods-without-networkpolicy", "k/base/deployment.yaml", 12),
                  ("privileged-container", "k/base/deployment.yaml", 24)}


def _deleting(*names: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        for name in names:
            git(root, "rm", "--quiet", "-r", name)
        commit_all(root, "delete")
    return change


def _retarget(link: str, target: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / link).unlink()
        (root / link).symlink_to(target)
        commit_all(root, "retarget")
    return change


KUSTOMIZE_CASES = [
    pytest.param({PROD: "resources: [../base]\npatches:\n  - path: patch.yaml\n", "k/prod/patch.yaml": PATCH % "false"},
                 _pr({"k/prod/patch.yaml": PATCH % "true"}), set(), id="patch-edited"),
    pytest.param({PROD: "resources: [../base]\ncomponents: [../hardening]\n",
                  "k/hardening/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                    "patches:\n  - path: patch.yaml\n",
                  "k/hardening/patch.yaml": PATCH % "false"},
                 _pr({"k/hardening/patch.yaml": PATCH % "true"}), set(), id="component-edited"),
    pytest.param({PROD: "resources: [../base]\npatches:\n  - path: patches/p.yaml\n",
                  "k/prod/.store/off/p.yaml": PATCH % "false", "k/prod/.store/on/p.yaml": PATCH % "true",
                  "k/prod/patches": "-> .store/off"},
                 _retarget("k/prod/patches", ".store/on"), set(), id="symlinked-directory-retargeted"),
    pytest.param({PROD: "resources: [../base]\npatches:\n  - path: p.yaml\n", "k/prod/.store/off.yaml": PATCH % "false",
                  "k/prod/.store/on.yaml": PATCH % "true", "k/prod/p.yaml": "-> .store/off.yaml"},
                 _retarget("k/prod/p.yaml", ".store/on.yaml"), set(), id="symlinked-patch-retargeted"),
    pytest.param({PROD: "resources: [../base]\npatches:\n  - path: p.yaml\n", "k/prod/.store/p.yaml": PATCH % "false",
                  "k/prod/p.yaml": "-> .store/p.yaml"}, _pr({"k/prod/.store/p.yaml": PATCH % "true"}), set(),
                 id="symlinked-patch-edited"),
    pytest.param({PROD: "resources: [../shared]\n", ".store/a/kustomization.yaml": "resources: [deployment.yaml]\n",
                  ".store/a/deployment.yaml": DEPLOYMENT, ".store/b/kustomization.yaml": "resources: [deployment.yaml]\n",
                  ".store/b/deployment.yaml": DEPLOYMENT.replace("privileged: false", "privileged: true"),
                  "k/shared": "-> ../.store/a"}, _retarget("k/shared", "../.store/b"),
                 {(rule, ".store/b/deployment.yaml", line) for rule, _, line in PRIVILEGED_WEB},
                 id="symlinked-base-retargeted"),
    pytest.param({PROD: "resources: [../base, extra.yaml]\n", "k/prod/extra.yaml": CONFIGMAP.format(name="extra")},
                 _deleting("k/prod/extra.yaml"), {("render-failed", PROD, 0)}, id="deleted-resource"),
    pytest.param({PROD: "resources: [../base]\n", "k/more/kustomization.yaml": "resources: [../base]\n"},
                 _deleting("k/base"), {("render-failed", PROD, 0), ("render-failed", "k/more/kustomization.yaml", 0)},
                 id="deleted-base"),
]


@pytest.mark.kubectl
@pytest.mark.parametrize(("base", "change", "expected"), KUSTOMIZE_CASES)
def test_a_kustomization_whose_tree_changed_is_checked(tmp_path: Path, kubectl: str, base: dict[str | bytes, str],
                                                        change: Callable[[Path], None],
                                                        expected: set[tuple[str, str, int]]) -> None:
    root = new_repo(tmp_path / "repo", {**BASE_TREE, **base})
    write(root, {"m/added.yaml": BAD_POD})
    change(root)
    code, findings, stderr = check(root, "--base", "main", env={"SHIPCARD_KUBECTL": kubectl})
    assert code == 1, stderr
    assert findings == bad_pod_findings("m/added.yaml") | (expected or PRIVILEGED_WEB), stderr
