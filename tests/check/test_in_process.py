"""Issue 16 item 1: `check` builds intact generated Kustomize overlays and chart releases in-process,
never differently from the real `kubectl kustomize` and `helm template`, and reports exactly what the
tool path reports."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.inputs.generated import GeneratedTrees
from shipcard.check.inputs.kustomize import KustomizeTree
from shipcard.check.inputs.parse import Loaded, _load_helm_output
from shipcard.check.inputs.paths import display
from shipcard.check.inputs.targets import Target
from shipcard.check.inputs.tools import render_target
from shipcard.yamlio.read import load_documents
from tests.conftest import example_cards, run_cli
from tests.test_helmfile import LEDGER_CARD

pytestmark = [pytest.mark.kubectl, pytest.mark.helm]

SETTINGS = """\
apiVersion: shipcard/v1
kind: Repository
repoURL: https://github.com/example/gitops.git
targetRevision: main
project: platform
environments:
  dev: {}
  staging: {}
  prod: {cluster: https://prod.k8s.example.com}
"""
COMPONENT = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- extra.yaml
"""
EXTRA = """\
apiVersion: v1
kind: Service
metadata:
  name: billing-api-extra
spec:
  selector:
    app.kubernetes.io/name: nothing-has-this
  ports:
  - port: 80
"""



def examples_repository(root: Path) -> Path:
    """The users' example cards rendered, each in its own format, into a repository at `root`."""
    (root / "services").mkdir(parents=True)
    (root / "shipcard.yaml").write_text(SETTINGS)
    for card in example_cards():
        shutil.copy(card, root / "services" / card.name)
    result = run_cli("render", cwd=root)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return examples_repository(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def customised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples with a user's component in billing-api's prod overlay, its dev overlay edited by hand,
    and a user's values file for notifier's prod release."""
    root = examples_repository(tmp_path_factory.mktemp("customised"))
    custom = root / "apps/billing-api/custom/prod"
    custom.mkdir(parents=True)
    (custom / "kustomization.yaml").write_text(COMPONENT)
    (custom / "extra.yaml").write_text(EXTRA)
    (root / "apps/notifier/values/prod.custom.yaml").write_text("replicas: 1\n")
    result = run_cli("render", cwd=root)
    assert result.exit_code == 0, result.output
    dev = root / "apps/billing-api/overlays/dev/kustomization.yaml"
    dev.write_text(dev.read_text() + "commonAnnotations:\n  note: edited by hand\n")
    return root


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Issue 17 item 3: a card with an IAM role in dev and prod (none in staging), in both formats."""
    root = tmp_path_factory.mktemp("identity")
    (root / "services").mkdir()
    (root / "shipcard.yaml").write_text(SETTINGS)
    (root / "services/ledger.service.yaml").write_text(LEDGER_CARD)
    chart_card = LEDGER_CARD.replace("name: ledger\n", "name: ledger-chart\n", 1) + "  format: helmfile\n"
    (root / "services/ledger-chart.service.yaml").write_text(chart_card)
    result = run_cli("render", cwd=root)
    assert result.exit_code == 0, result.output
    return root


Built = list[tuple[Target, list[tuple[str, dict[str, Any]]]]]  # (target, [(file, object)])


def in_process_builds(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Built, list[Target]]:
    """Run a whole-repository check: the targets it built in-process (with their objects) and the others."""
    built: Built = []
    by_tool: list[Target] = []
    overlay, release = GeneratedTrees.overlay, GeneratedTrees.release

    def note(target: Target, objects: list[tuple[str, dict[str, Any]]] | None) -> None:
        (by_tool.append(target) if objects is None else built.append((target, objects)))

    def spy_overlay(self: GeneratedTrees, target: Target, tree: KustomizeTree) -> list[dict[str, Any]] | None:
        objects = overlay(self, target, tree)
        note(target, None if objects is None else [("", data) for data in objects])
        return objects

    def spy_release(self: GeneratedTrees, target: Target) -> list[tuple[Path, dict[str, Any]]] | None:
        objects = release(self, target)
        note(target, None if objects is None else [(display(template), data) for template, data in objects])
        return objects

    monkeypatch.chdir(root)
    monkeypatch.setattr(GeneratedTrees, "overlay", spy_overlay)
    monkeypatch.setattr(GeneratedTrees, "release", spy_release)
    run_check(CheckOptions())
    return built, by_tool


def tool_objects(target: Target) -> list[tuple[str, dict[str, Any]]]:
    """What the real kubectl or helm renders for `target`, parsed as check parses it (helm's objects
    with the template of their `# Source:` comment)."""
    result = render_target(target)
    assert result.text is not None, result.findings
    if target.kind == "kustomize":
        return [("", document.data) for document in load_documents(result.text, "rendered")]
    loaded = Loaded()
    _load_helm_output(loaded, target, result)
    return [(obj.file, obj.data) for obj in loaded.objects]


@pytest.mark.parametrize("repository", ["examples", "customised", "identity"])
def test_every_tree_built_in_process_is_what_kubectl_or_helm_builds(
        repository: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard against drift: every overlay and release a check builds in-process is sampled through
    the real kubectl or helm on every run: the same objects, from the same templates, in the same order."""
    root: Path = request.getfixturevalue(repository)
    built, _ = in_process_builds(root, monkeypatch)
    assert {target.kind for target, _ in built} == {"kustomize", "helm"}
    for target, objects in built:
        assert objects == tool_objects(target), target.describe()
    if repository == "identity":  # both writers mount the API token exactly where a role is set
        mounted = {(data["metadata"]["namespace"], data["kind"], data["metadata"]["name"]):
                   _pod_spec(data)["automountServiceAccountToken"]
                   for _, objects in built for _, data in objects if _pod_spec(data) is not None}
        assert len(mounted) == 18  # Deployment, hook Job, CronJob × 3 environments × 2 formats
        assert all(value is (not namespace.endswith("-staging")) for (namespace, *_), value in mounted.items())


def _pod_spec(data: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = data.get("spec") or {}
    template = spec.get("jobTemplate", {}).get("spec", {}).get("template") if data["kind"] == "CronJob" \
        else spec.get("template") if data["kind"] in ("Deployment", "Job") else None
    return None if template is None else template["spec"]


def described(targets: list[Target]) -> list[str]:
    return sorted(target.describe() for target in targets)


def test_what_a_user_touched_goes_through_the_tools(customised: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built, by_tool = in_process_builds(customised, monkeypatch)
    # dev is edited by hand, prod includes custom/prod; notifier's prod release has a user's values file.
    assert described(by_tool) == ["apps/billing-api/overlays/dev (kustomize)",
                                  "apps/billing-api/overlays/prod (kustomize)",
                                  "charts/service (helm release notifier)"]
    assert described([target for target, _ in built]) == [
        "apps/billing-api/overlays/staging (kustomize)", "apps/web-frontend/overlays/prod (kustomize)",
        "charts/service (helm release notifier)", "charts/service (helm release url-pinger)"]


def test_examples_build_every_tree_in_process(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built, by_tool = in_process_builds(examples, monkeypatch)
    assert by_tool == []
    assert len(built) == 7  # 4 overlays, 3 releases


def findings(root: Path, monkeypatch: pytest.MonkeyPatch, *, in_process: bool) -> list[tuple[Any, ...]]:
    monkeypatch.chdir(root)
    result = run_check(CheckOptions(in_process=in_process))
    return [(f.rule, f.severity, f.file, f.line, f.column, f.message, f.object_ref, f.origin, f.via, f.suppressed)
            for f in result.findings]


@pytest.mark.parametrize("repository", ["examples", "customised"])
def test_findings_are_the_same_built_in_process_or_by_kubectl(
        repository: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    root: Path = request.getfixturevalue(repository)
    in_process = findings(root, monkeypatch, in_process=True)
    assert in_process == findings(root, monkeypatch, in_process=False)
    # Findings in the overlays built in-process point at lines of the base's files.
    assert any(file.startswith("apps/billing-api/base/") and line > 0 for _, _, file, line, *_ in in_process)


def test_jobs_does_not_change_the_output(customised: Path) -> None:
    one, default = run_cli("check", "--jobs", "1", cwd=customised), run_cli("check", cwd=customised)
    assert (one.exit_code, one.output) == (default.exit_code, default.output)
    assert "apps/billing-api/custom/prod/extra.yaml" in one.output


def test_the_layout_index_of_generated_files_is_what_parsing_them_gives(examples: Path) -> None:
    """`SourceIndex(rendered_now=True)` reads kind and name off shipcard's layout and parses a file only on
    demand: for every generated YAML file of the examples it names the same objects as parsing does, and its
    documents give the parsed data and positions."""
    from shipcard.check.inputs.kustomize import _laid_out_by_shipcard

    files = sorted(p for p in (examples / "apps").rglob("*.yaml") if "charts" not in p.parts)
    assert len(files) > 40
    for path in files:
        laid_out = _laid_out_by_shipcard(path, path.name)
        parsed = [d for d in load_documents(path.read_text(encoding="utf-8"), path.name)
                  if isinstance(d.data, dict) and isinstance(d.data.get("metadata"), dict)]
        if laid_out is None:
            continue
        assert [(kind, name) for kind, name, _ in laid_out] == [
            (str(d.data.get("kind") or ""), str(d.data["metadata"].get("name") or "")) for d in parsed], path
        for (_, _, lazy), document in zip(laid_out, parsed, strict=True):
            assert lazy.data == document.data
            assert lazy.line_of(("metadata", "name")) == document.line_of(("metadata", "name"))
    # Every resource file is read off its layout (patches and values files, a list or `$patch` first, are not
    # resource files: they are parsed as before).
    resources = [p for p in files if not {"patches", "values"} & set(p.parts)]
    assert len(resources) > 25
    assert [p for p in resources if _laid_out_by_shipcard(p, p.name) is None] == []


@pytest.mark.parametrize("text", [
    pytest.param("kind: A\nmetadata: {name: x}\n", id="flow-metadata"),
    pytest.param("kind: 'A'\nmetadata:\n  name: x\n", id="quoted-kind"),
    pytest.param("kind: A\nmetadata:\n  name: 'x'\n", id="quoted-name"),
    pytest.param("kind: A\nmetadata:\n  name: x # comment\n", id="comment-after-name"),
    pytest.param("- kind: A\n", id="a-list"),
    pytest.param("kind: A\n? metadata\n", id="complex-key"),
    pytest.param("kind: A\nmetadata:\n  name: &n x\n", id="anchor"),
    pytest.param('"kind": A\nmetadata:\n  name: x\n', id="quoted-key"),
])
def test_a_layout_shipcard_does_not_write_is_left_to_the_parser(tmp_path: Path, text: str) -> None:
    from shipcard.check.inputs.kustomize import _laid_out_by_shipcard

    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert _laid_out_by_shipcard(path, "x.yaml") is None


def test_a_metadata_that_is_a_list_is_no_object() -> None:
    """As parsing says: an object needs a metadata mapping."""
    import tempfile

    from shipcard.check.inputs.kustomize import _laid_out_by_shipcard
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "x.yaml")
        path.write_text("kind: A\nmetadata:\n- name\n", encoding="utf-8")
        assert _laid_out_by_shipcard(path, "x.yaml") is None
        path.write_text("kind: A\nitems:\n- name: x\nmetadata:\n  name: y\n", encoding="utf-8")
        laid_out = _laid_out_by_shipcard(path, "x.yaml")
        assert laid_out is not None and [(k, n) for k, n, _ in laid_out] == [("A", "y")]
