"""Issue 14: the real helmfile (0.166.0 with helm 3.15.3, from .ci/install-helmfile) runs every
helmfile tree shipcard writes: `template` and `lint` in every environment, rendering exactly the
objects `kubectl kustomize` builds from the same card in the Kustomize format.

helmfile 0.166 runs helm 3 only (it asks `helm version --client`, a flag helm 4 dropped), so it
gets `helm3` through `--helm-binary`; helm 4 renders the chart in test_helmfile.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from shipcard.card.model import Card
from shipcard.transaction import STATE_DIR
from shipcard.yamlio.read import load_plain_all
from tests.conftest import example_cards, find_tool, run_cli
from tests.test_helmfile import (
    CARD_NAMES,
    TEMPLATE_MARKER,
    by_key,
    helm_objects,
    kustomize_objects,
    render_all,
    write_cards,
)

pytestmark = [pytest.mark.helmfile, pytest.mark.helm, pytest.mark.kubectl]

LINTED = "1 chart(s) linted, 0 chart(s) failed"


def helmfile_command() -> list[str]:
    """The helmfile command line, on helm 3."""
    return [find_tool("helmfile"), "--helm-binary", find_tool("helm3")]


@pytest.fixture(scope="module")
def helmfile() -> list[str]:
    return helmfile_command()


@pytest.fixture(scope="module")
def cards_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cards(tmp_path_factory.mktemp("cards"))


@pytest.fixture(scope="module")
def helmfile_tree(cards_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_all(cards_dir, tmp_path_factory.mktemp("helmfile"), "helmfile")


@pytest.fixture(scope="module")
def kustomize_tree(cards_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_all(cards_dir, tmp_path_factory.mktemp("kustomize"), "kustomize")


def run_helmfile(helmfile: list[str], directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """helmfile ARGS in `directory`, as a user runs it next to the card's helmfile.yaml."""
    return subprocess.run([*helmfile, *args], cwd=directory, capture_output=True, text=True, timeout=120)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and STATE_DIR not in p.parts}


def assert_helmfile_builds_as_kustomize(helmfile: list[str], kubectl: str, helmfile_tree: Path,
                                        kustomize_tree: Path, card: Card) -> None:
    """`helmfile -e ENV template` and `lint` in every environment of `card`, run in its helmfile tree: each
    renders only that environment's release, exactly the objects `kubectl kustomize` builds from the card's
    Kustomize tree, and lints clean; helmfile writes nothing into the tree."""
    directory = helmfile_tree / card.gitops.path
    before = snapshot(helmfile_tree)
    for env in card.environments:
        template = run_helmfile(helmfile, directory, "--environment", env.name, "template")
        assert template.returncode == 0, template.stderr
        from_helmfile = by_key(load_plain_all(template.stdout))
        from_kustomize = by_key(kustomize_objects(kubectl, kustomize_tree, card, env))
        assert from_helmfile.keys() == from_kustomize.keys(), env.name  # only this environment's release
        for key, obj in from_kustomize.items():
            assert from_helmfile[key] == obj, f"{env.name}: {key} differs between helmfile and kustomize"
        lint = run_helmfile(helmfile, directory, "--environment", env.name, "lint")
        assert lint.returncode == 0, lint.stdout + lint.stderr
        assert LINTED in lint.stdout.splitlines(), lint.stdout
    assert snapshot(helmfile_tree) == before


@pytest.mark.parametrize("card_name", CARD_NAMES)
def test_helmfile_templates_and_lints_every_environment_as_kustomize_builds_it(
        cards_dir: Path, helmfile_tree: Path, kustomize_tree: Path, helmfile: list[str], kubectl: str,
        card_name: str) -> None:
    card = load_card(cards_dir / card_name)
    assert_helmfile_builds_as_kustomize(helmfile, kubectl, helmfile_tree, kustomize_tree, card)
    # helmfile ran no values file as a template (EDGE's TEMPLATE).
    assert not (helmfile_tree / card.gitops.path / TEMPLATE_MARKER).exists()


def test_helmfile_without_an_environment_renders_no_release(helmfile_tree: Path, helmfile: list[str]) -> None:
    result = run_helmfile(helmfile, helmfile_tree / "apps/notifier", "template")
    assert result.returncode != 0 and result.stdout == ""
    assert "no releases found that matches specified selector() and environment(default)" in result.stderr


SAME_NAMESPACE_CARD = """\
apiVersion: shipcard/v1
kind: Service
name: shop
image: ghcr.io/example/shop:1.0.0
port: 8080
environments:
  eu: {namespace: shop, cluster: "https://eu.example.com", replicas: 2}
  us: {namespace: shop, cluster: "https://us.example.com", replicas: 5}
gitops:
  repoURL: https://github.com/example/gitops.git
  format: helmfile
"""


@pytest.mark.parametrize("env_name,replicas", [("eu", 2), ("us", 5)])
def test_two_environments_in_one_namespace_render_only_the_selected_release(
        tmp_path: Path, helmfile: list[str], env_name: str, replicas: int) -> None:
    card = tmp_path / "shop.service.yaml"
    card.write_text(SAME_NAMESPACE_CARD)
    assert run_cli("render", str(card), "--out", str(tmp_path / "out")).exit_code == 0
    result = run_helmfile(helmfile, tmp_path / "out/apps/shop", "--environment", env_name, "template")
    assert result.returncode == 0, result.stderr
    deployments = [o for o in load_plain_all(result.stdout) if o["kind"] == "Deployment"]
    assert [(d["metadata"]["namespace"], d["spec"]["replicas"]) for d in deployments] == [("shop", replicas)]


def test_a_custom_values_file_reaches_helmfile_and_argo_cd_alike(tmp_path: Path, helmfile: list[str]) -> None:
    card_path = next(p for p in example_cards() if p.name == "notifier.service.yaml")
    out = tmp_path / "out"
    assert run_cli("render", str(card_path), "--out", str(out)).exit_code == 0
    (out / "apps/notifier/values/prod.custom.yaml").write_text("replicas: 7\n")
    assert run_cli("render", str(card_path), "--out", str(out)).exit_code == 0  # now names the file
    card = load_card(card_path)
    prod = next(env for env in card.environments if env.name == "prod")
    result = run_helmfile(helmfile, out / "apps/notifier", "--environment", "prod", "template")
    assert result.returncode == 0, result.stderr
    from_helmfile = by_key(load_plain_all(result.stdout))
    from_argo_cd = by_key(helm_objects(find_tool("helm3"), out, card, prod))
    assert from_helmfile == from_argo_cd
    assert from_helmfile[("Deployment", prod.namespace, "notifier")]["spec"]["replicas"] == 7


def test_a_template_in_a_card_path_is_refused_because_helmfile_runs_comments(
        tmp_path: Path, helmfile: list[str]) -> None:
    """helmfile renders the whole helmfile.yaml as a Go template, comments included (shown with the real
    tool), and every generated header names its card: a card path holding `{{` is refused, nothing written."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "helmfile.yaml").write_text('# from {{ exec "touch" (list "RAN") }}\nreleases: []\n')
    run_helmfile(helmfile, probe, "template")
    assert (probe / "RAN").exists()  # the consumer's documented behaviour: the comment ran

    work = tmp_path / "work"
    work.mkdir()
    notifier = next(c for c in example_cards() if c.name == "notifier.service.yaml")
    hostile = work / 'x{{ exec "touch" (list "PWNED") }}.service.yaml'
    hostile.write_text(notifier.read_text())
    result = run_cli("render", str(hostile), "--format", "helmfile", "--out", str(work / "out"))
    assert result.exit_code == 2
    assert result.output == ("shipcard: 'x{{ exec \"touch\" (list \"PWNED\") }}.service.yaml': a card's path may not "
                             "contain '{{' or '}}' (helmfile would run it as a template)\n")
    assert sorted(p.name for p in work.iterdir()) == [hostile.name]
