"""Issue 6, rendering a whole repository: every card, in parallel, skipping unchanged services;
hand-edited generated files kept unless --force (with .orig); user extension points included in a
real `kubectl kustomize` and `helm template`; removed cards' files reported, pruned only on --prune."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from shipcard.lifecycle.rendering import PARALLEL_FROM
from shipcard.lifecycle.state import STATE_DIR, VerifiedFiles
from shipcard.writers.tree import BACKUP_SUFFIX, EDITED, HEADER_PREFIX, edited_by_hand, with_header
from shipcard.yamlio.read import load_plain, load_plain_all
from shipcard.yamlio.roundtrip import load_roundtrip
from tests.conftest import example_cards, run_cli
from tests.lifecycle.helpers import init_repository, snapshot

CARDS = {card.name: card for card in example_cards()}


def dump_roundtrip(doc: object) -> str:
    stream = io.StringIO()
    YAML().dump(doc, stream)
    return stream.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An initialised repository (no git) with the four example cards, rendered once."""
    directory = init_repository(tmp_path / "gitops", "--no-git")
    for name, card in CARDS.items():
        shutil.copy(card, directory / "services" / name)
    result = run_cli("render", cwd=directory)
    assert result.exit_code == 0, result.output
    return directory


def render(repo: Path, *args: str, code: int = 0) -> str:
    result = run_cli("render", *args, cwd=repo)
    assert result.exit_code == code, result.output
    return result.output


# --------------------------------------------------------------------------- skipping what did not change


def test_a_second_render_skips_every_service_and_writes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    output = render(repo)
    assert "rendered 0 service(s), skipped 4 unchanged since their last render; 0 changed" in output
    assert "0 added, 0 modified, 0 removed" in output
    assert snapshot(repo) == before


@pytest.mark.parametrize("entry", ["/{fifo}", "../outside-fifo", "apps/./x", "a\u0000b"])
def test_a_state_naming_paths_outside_the_tree_is_not_trusted(repo: Path, tmp_path: Path, entry: str) -> None:
    """A committed render state is repository content: a file list naming a FIFO outside (which would
    hang the read) or an unplain path makes shipcard render the service again, nothing more."""
    fifo = tmp_path / "outside-fifo"
    os.mkfifo(fifo)
    state = repo / ".shipcard-state" / "url-pinger.yaml"
    data = json.loads(state.read_text().split("\n", 2)[2])
    data["files"].append(entry.format(fifo=str(fifo).lstrip("/")))
    state.write_text(with_header(data["card"], json.dumps(data, indent=1) + "\n"))  # a consistent forgery
    assert render(repo) == ("rendered 1 service(s), skipped 3 unchanged since their last render; 0 changed\n"
                            "0 added, 1 modified, 0 removed, 24 unchanged\n")  # the state, written anew
    assert entry.format(fifo="x") not in (repo / ".shipcard-state" / "url-pinger.yaml").read_text()


def test_changing_one_card_renders_that_service_only(repo: Path) -> None:
    card = repo / "services/notifier.service.yaml"
    card.write_text(card.read_text().replace("replicas: 3", "replicas: 4"))
    output = render(repo)
    assert "rendered 1 service(s), skipped 3" in output and "1 changed: notifier" in output
    assert render(repo, "--check").startswith("up to date")


def test_a_comment_only_change_renders_but_changes_no_file_but_the_state(repo: Path) -> None:
    card = repo / "services/web-frontend.service.yaml"
    card.write_text(card.read_text() + "# a comment\n")
    before = snapshot(repo)
    output = render(repo)
    assert "rendered 1 service(s)" in output and "; 0 changed" in output
    after = snapshot(repo)
    assert {k for k in after if after[k] != before.get(k)} == {f"{STATE_DIR}/web-frontend.yaml"}


def test_all_renders_every_service(repo: Path) -> None:
    assert "rendered 4 service(s); 0 changed" in render(repo, "--all")


def test_shipcard_yaml_changes_render_everything_again(repo: Path) -> None:
    settings = repo / "shipcard.yaml"
    settings.write_text(settings.read_text().replace('argocdNamespace: "argocd"', 'argocdNamespace: "gitops"'))
    output = render(repo)
    assert "rendered 4 service(s)" in output
    app = load_plain((repo / "argocd/prod/web-frontend.yaml").read_text())
    assert app["metadata"]["namespace"] == "gitops"


def test_a_deleted_or_edited_generated_file_makes_its_service_render_again(repo: Path) -> None:
    (repo / "argocd/prod/web-frontend.yaml").unlink()
    output = render(repo)
    assert "rendered 1 service(s)" in output and "1 added" in output


def test_files_found_intact_are_remembered_but_an_edit_keeping_size_and_mtime_is_seen(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VerifiedFiles, "RACY_NS", 0)  # files just written count as old enough to remember
    render(repo)
    mac, body = (repo / ".shipcard/verified.json").read_text().split("\n", 1)  # keyed: an HMAC, then JSON
    remembered = json.loads(body)
    assert len(mac) == 64
    target = "apps/web-frontend/base/deployment.yaml"
    assert target in remembered and len(remembered) > 30
    assert "rendered 0 service(s)" in render(repo)  # from the signatures, the same verdict
    path = repo / target
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("replicas:", "replicaz:", 1) if "replicas:" in text else text[:-2] + "x\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime: only ctime moved
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    output = render(repo, code=1)
    assert EDITED in output and target in output


def test_parallel_and_sequential_renders_write_the_same_tree(tmp_path: Path) -> None:
    trees = []
    for jobs in ("1", "2"):
        directory = init_repository(tmp_path / f"jobs{jobs}", "--no-git")
        for number in range(PARALLEL_FROM + 4):  # enough services for the worker pool
            source = list(CARDS.values())[number % len(CARDS)]
            doc = load_roundtrip(source.read_text(), source.name)
            doc["name"] = f"{doc['name']}-{number}"
            (directory / "services" / f"{doc['name']}.service.yaml").write_text(dump_roundtrip(doc))
        assert run_cli("render", "--jobs", jobs, cwd=directory).exit_code == 0
        trees.append(snapshot(directory))
    assert trees[0] == trees[1] and len(trees[0]) > 300


def test_an_error_in_one_card_of_many_writes_nothing(tmp_path: Path) -> None:
    directory = init_repository(tmp_path / "gitops", "--no-git")
    for number in range(PARALLEL_FROM + 2):
        text = CARDS["web-frontend.service.yaml"].read_text().replace("name: web-frontend", f"name: web-{number}")
        (directory / "services" / f"web-{number}.service.yaml").write_text(text)
    bad = directory / "services/web-7.service.yaml"
    bad.write_text(bad.read_text().replace("port: 8080", "port: eighty"))
    before = snapshot(directory)
    result = run_cli("render", "--jobs", "2", cwd=directory)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "web-7.service.yaml:" in result.stderr and "ports[0].port" in result.stderr
    assert snapshot(directory) == before


# --------------------------------------------------------------------------- hand edits


def test_a_hand_edited_generated_file_is_reported_and_kept_until_force(repo: Path) -> None:
    target = repo / "apps/billing-api/base/deployment.yaml"
    edited = target.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 50")
    target.write_text(edited)
    card = repo / "services/billing-api.service.yaml"
    card.write_text(card.read_text().replace("cpu: 500m", "cpu: 600m"))  # the file has to change
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 1
    assert f"apps/billing-api/base/deployment.yaml: {EDITED}" in result.stderr
    assert target.read_text() == edited
    assert "cpu: 600m" in (repo / "apps/billing-api/base/hpa.yaml").read_text() or \
        "600m" in "".join(p.read_text() for p in (repo / "apps/billing-api").rglob("*.yaml"))
    assert f"{EDITED}" in render(repo, "--check", code=1)
    output = render(repo, "--force")
    assert "kept in apps/billing-api/base/deployment.yaml.orig" in output
    assert (repo / f"apps/billing-api/base/deployment.yaml{BACKUP_SUFFIX}").read_text() == edited
    assert not edited_by_hand(target.read_text()) and "cpu: 600m" in target.read_text()
    assert render(repo, "--check").startswith("up to date")
    render(repo, "--all")
    assert (repo / f"apps/billing-api/base/deployment.yaml{BACKUP_SUFFIX}").exists()  # never removed by shipcard


def test_a_hand_edited_file_of_a_removed_environment_is_kept_too(repo: Path) -> None:
    target = repo / "apps/billing-api/overlays/dev/kustomization.yaml"
    target.write_text(target.read_text() + "# mine now\n")
    settings = repo / "shipcard.yaml"
    settings.write_text(settings.read_text().replace("environments:\n", "environments:\n  qa: {}\n"))
    card = repo / "services/billing-api.service.yaml"
    card.write_text(card.read_text().replace("  dev:\n    replicas: 1", "  qa:\n    replicas: 1"))
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 1 and f"overlays/dev/kustomization.yaml: {EDITED}" in result.stderr
    assert target.exists()
    render(repo, "--force")
    assert not target.exists() and target.with_name("kustomization.yaml.orig").exists()


# --------------------------------------------------------------------------- extension points


def kustomize_build(kubectl: str, overlay: Path) -> list[dict]:
    done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return load_plain_all(done.stdout)


@pytest.mark.kubectl
def test_kustomize_custom_components_are_built_in_when_present(repo: Path, kubectl: str) -> None:
    tree = repo / "apps/web-frontend"
    overlay = tree / "overlays/prod"
    before = kustomize_build(kubectl, overlay)
    (tree / "custom/prod").mkdir(parents=True)
    (tree / "custom/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n"
        "patches:\n  - target: {kind: Deployment, name: web-frontend}\n    patch: |\n"
        "      - {op: add, path: /metadata/annotations/team.example.com~1owner, value: storefront}\n")
    (tree / "custom/extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-frontend-extra}\ndata: {feature: \"on\"}\n")
    (tree / "custom/prod/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "patches:\n  - target: {kind: Service, name: web-frontend}\n    patch: |\n"
        "      - {op: add, path: /metadata/labels/tier, value: edge}\n")
    output = render(repo)  # the new files alone make the service render again
    assert "rendered 1 service(s)" in output
    kustomization = load_plain((overlay / "kustomization.yaml").read_text().split("\n", 2)[2])
    assert kustomization["components"] == ["../../custom", "../../custom/prod"]
    built = {(o["kind"], o["metadata"]["name"]): o for o in kustomize_build(kubectl, overlay)}
    assert len(built) == len(before) + 1
    extra = built[("ConfigMap", "web-frontend-extra")]
    assert extra["metadata"]["namespace"] == "web-frontend-prod"  # the overlay's namespace applies to it
    assert built[("Deployment", "web-frontend")]["metadata"]["annotations"]["team.example.com/owner"] == "storefront"
    assert built[("Service", "web-frontend")]["metadata"]["labels"]["tier"] == "edge"
    for path in (tree / "custom").rglob("*"):  # the user's files: never touched, never claimed
        assert path.is_dir() or not path.read_text().startswith(HEADER_PREFIX)
    shutil.rmtree(tree / "custom/prod")
    render(repo)
    kustomization = load_plain((overlay / "kustomization.yaml").read_text().split("\n", 2)[2])
    assert kustomization["components"] == ["../../custom"]
    assert (tree / "custom/kustomization.yaml").exists()
    kustomize_build(kubectl, overlay)


@pytest.mark.helm
def test_helm_custom_values_are_applied_last_when_present(repo: Path, helm: str) -> None:
    tree = repo / "apps/notifier"
    app_file = repo / "argocd/prod/notifier.yaml"
    assert load_plain(app_file.read_text())["spec"]["source"]["helm"]["ignoreMissingValueFiles"] is True
    (tree / "values/prod.custom.yaml").write_text("# mine\nreplicas: 7\n")
    render(repo)
    app = load_plain(app_file.read_text())
    source = app["spec"]["source"]
    assert source["helm"]["valueFiles"][-1] == "../../apps/notifier/values/prod.custom.yaml"
    helmfile = load_plain_all((tree / "helmfile.yaml").read_text())[1]["releases"]
    prod = next(r for r in helmfile if r["condition"] == "prod.enabled")
    assert prod["values"][-1] == "values/prod.custom.yaml" and prod["missingFileHandler"] == "Warn"
    # What Argo CD runs: helm template on the chart with the Application's value files, in order.
    chart = repo / source["path"]
    arguments = [a for f in source["helm"]["valueFiles"] for a in ("-f", str(chart / f))]
    done = subprocess.run([helm, "template", "notifier", str(chart), "--namespace", "notifier-prod", *arguments],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    deployment = next(o for o in load_plain_all(done.stdout) if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 7
    assert (tree / "values/prod.custom.yaml").read_text() == "# mine\nreplicas: 7\n"


# --------------------------------------------------------------------------- removed cards


def test_a_removed_card_is_reported_and_pruned_only_on_request(repo: Path) -> None:
    (repo / "services/web-frontend.service.yaml").unlink()
    before = snapshot(repo)
    result = run_cli("render", cwd=repo)
    assert result.exit_code == 0
    assert "orphaned: web-frontend.service.yaml" not in result.stderr
    assert "orphaned: services/web-frontend.service.yaml was removed" in result.stderr
    assert "argocd/prod/web-frontend.yaml" in result.stderr
    assert snapshot(repo) == before  # nothing deleted
    check = run_cli("render", "--check", cwd=repo)
    assert check.exit_code == 1 and "argocd/prod/web-frontend.yaml: left by removed card" in check.output
    mine = repo / "apps/web-frontend/NOTES.md"
    mine.write_text("keep me\n")
    output = render(repo, "--prune")
    assert "pruned argocd/prod/web-frontend.yaml (card services/web-frontend.service.yaml was removed)" in output
    assert "pruned apps/web-frontend/base/deployment.yaml" in output
    assert not (repo / "argocd/prod/web-frontend.yaml").exists()
    assert not (repo / f"{STATE_DIR}/web-frontend.yaml").exists()
    assert mine.read_text() == "keep me\n"  # the user's file stays, and so does its directory
    assert render(repo, "--check").startswith("up to date")


def test_an_application_from_before_render_states_is_an_orphan_too(repo: Path) -> None:
    stray = repo / "argocd/dev/old-service.yaml"
    stray.write_text((repo / "argocd/dev/billing-api.yaml").read_text().replace(
        "services/billing-api.service.yaml", "services/old-service.service.yaml"))
    result = run_cli("render", cwd=repo)
    assert "orphaned: services/old-service.service.yaml was removed" in result.stderr
    render(repo, "--prune")
    assert not stray.exists()


def test_a_card_rendered_by_path_does_not_make_the_others_orphans(repo: Path) -> None:
    result = run_cli("render", "services/notifier.service.yaml", cwd=repo)
    assert result.exit_code == 0 and "orphaned" not in result.stderr
