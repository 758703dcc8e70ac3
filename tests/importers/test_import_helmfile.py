"""Issue 17 item 1, "builds with kubectl (and helmfile where chosen)": the cards `shipcard import` writes from
a Compose file, a crontab, EventBridge rules and an ECS task definition hold card fields only, so they
render in the helmfile format too. The real helmfile (on helm 3, as tests/test_helmfile_real.py runs it)
templates and lints each of their releases in every environment, rendering exactly the objects the real
`kubectl kustomize` builds from the same cards in the Kustomize format.

A card imported from manifests is not here: what has no card field goes into `apps/<name>/custom/`, a
Kustomize component the helmfile format has no place for, so those cards stay Kustomize-only
(docs/import.md, "import manifests"; tests/importers/test_manifests.py builds them with kubectl).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from tests.conftest import run_cli
from tests.importers import test_compose, test_ecs
from tests.importers.helpers import FIXTURES, setup, shipcard_import
from tests.test_helmfile_real import assert_helmfile_builds_as_kustomize, helmfile_command

pytestmark = [pytest.mark.helmfile, pytest.mark.helm, pytest.mark.kubectl]

SOURCES = (*test_compose.SOURCES, FIXTURES / "batch01.crontab", FIXTURES / "list-rules.json", test_ecs.FIXTURE)
# What each import writes: compose (4 cards), crontab, eventbridge, ecs.
CARDS = ["web", "api", "worker", "cache", "batch01", "payments-jobs", "storefront-api"]


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One repository of every import, rendered in each format: {"kustomize": repo, "helmfile": its copy}."""
    repo = setup(tmp_path_factory.mktemp("imports"), *SOURCES)
    shipcard_import(repo, "compose", test_compose.COMPOSE)
    shipcard_import(repo, "crontab", "../legacy/batch01.crontab", "--image", "ghcr.io/example/shop-batch:2024.11.1")
    shipcard_import(repo, "eventbridge", "../legacy/list-rules.json", "--image", "ghcr.io/example/payments-jobs:3.4.0",
                    "--name", "payments-jobs")
    shipcard_import(repo, "ecs", test_ecs.TASK)
    assert sorted(p.name for p in (repo / "services").glob("*.service.yaml")) == sorted(
        f"{name}.service.yaml" for name in CARDS)
    formats = {"kustomize": repo, "helmfile": repo.parent / "helmfile"}
    shutil.copytree(repo, formats["helmfile"])
    for fmt, tree in formats.items():
        result = run_cli("render", "--format", fmt, cwd=tree)
        assert result.exit_code == 0, result.output
    assert (formats["helmfile"] / "charts/service/Chart.yaml").is_file()
    return formats


@pytest.mark.parametrize("name", CARDS)
def test_an_imported_card_templates_and_lints_with_helmfile_as_kustomize_builds_it(
        trees: dict[str, Path], kubectl: str, name: str) -> None:
    card = load_card(trees["kustomize"] / "services" / f"{name}.service.yaml")
    assert [env.name for env in card.environments] == ["dev", "staging", "prod"]
    assert (trees["helmfile"] / card.gitops.path / "helmfile.yaml").is_file()
    assert not (trees["helmfile"] / card.gitops.path / "overlays").exists()
    assert_helmfile_builds_as_kustomize(helmfile_command(), kubectl, trees["helmfile"], trees["kustomize"], card)
