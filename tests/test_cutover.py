"""Issue 17, item 2: an environment moving to another cluster (`environments.<env>.cutover` in
shipcard.yaml, docs/cutover.md) renders a second destination whose CronJobs, on the side that does not
run the schedules, are suspended; in both formats, built by the real kubectl, helm and helmfile."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shipcard.card.load import load_card
from shipcard.k8s.objects import environment_objects
from shipcard.settings import load_repo
from shipcard.yamlio.read import load_plain_all
from tests.conftest import example_cards, find_tool, run_cli
from tests.test_helmfile import by_key, helm_objects, kustomize_objects

NEW_CLUSTER = "https://new.k8s.example.com"
SETTINGS = """\
apiVersion: shipcard/v1
kind: Repository
environments:
  dev: {{}}
  staging: {{}}
  prod:
    cutover:
      to: {to}
      schedules: {schedules}
"""
# Which CronJobs run where: billing-api's nightly-invoices is scheduled, its data-patch is manual
# (always suspended), url-pinger's ping-billing is scheduled.
SCHEDULED = {"billing-api-nightly-invoices", "url-pinger-ping-billing"}


def cutover_repository(root: Path, schedules: str = "old", to: str = NEW_CLUSTER, fmt: str | None = None) -> Path:
    """The shared examples (copied; in format `fmt` when given) in a repository whose prod moves to `to`."""
    (root / "services").mkdir(parents=True)
    for card in example_cards():
        text = card.read_text()
        if fmt:
            text = re.sub(r"(?m)^  format: \w+", f"  format: {fmt}", text)
        (root / "services" / card.name).write_text(text)
    (root / "shipcard.yaml").write_text(SETTINGS.format(to=to, schedules=schedules), encoding="utf-8")
    return root


def render(root: Path, *args: str) -> str:
    result = run_cli("render", *args, cwd=root)
    assert result.exit_code == 0, result.output
    return result.output


def flip(root: Path, to: str) -> None:
    """The one line that moves the schedules to the other side."""
    settings = root / "shipcard.yaml"
    before = settings.read_text()
    after = re.sub(r"schedules: \w+", f"schedules: {to}", before)
    assert sum(a != b for a, b in zip(before.splitlines(), after.splitlines(), strict=True)) == 1
    settings.write_text(after)


def suspended(objects: list[dict]) -> dict[str, bool]:
    return {o["metadata"]["name"]: o["spec"]["suspend"] for o in objects if o["kind"] == "CronJob"}


def expected(side_runs: bool, card: str) -> dict[str, bool]:
    jobs = {"billing-api": {"billing-api-nightly-invoices": not side_runs, "billing-api-data-patch": True},
            "url-pinger": {"url-pinger-ping-billing": not side_runs}}
    return jobs[card]


def kustomize_build(kubectl: str, overlay: Path) -> list[dict]:
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return load_plain_all(result.stdout)


def helmfile_template(directory: Path, environment: str) -> list[dict]:
    """`helmfile -e ENV template` as a user runs it next to helmfile.yaml (helmfile drives helm 3)."""
    command = [find_tool("helmfile"), "--helm-binary", find_tool("helm3"), "--environment", environment, "template"]
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return load_plain_all(result.stdout)


def check(root: Path) -> tuple[int, list[str]]:
    """`shipcard check` of the repository: its exit code and the lines of cronjob-on-several-clusters."""
    result = run_cli("check", ".", cwd=root)
    return result.exit_code, [line.strip() for line in result.output.splitlines() if ID in line]


ID = "cronjob-on-several-clusters"


# --------------------------------------------------------------------------- rendering both sides


def test_the_new_side_is_a_second_application_of_the_same_environment(tmp_path: Path) -> None:
    root = cutover_repository(tmp_path)
    render(root)
    old = load_plain_all((root / "argocd/prod/billing-api.yaml").read_text())[0]
    new = load_plain_all((root / "argocd/prod-next/billing-api.yaml").read_text())[0]
    assert new["metadata"]["name"] == "billing-api-prod-next"
    assert new["metadata"]["labels"] == old["metadata"]["labels"] == {
        "app.kubernetes.io/name": "billing-api", "app.kubernetes.io/managed-by": "shipcard",
        "shipcard.io/environment": "prod"}
    assert old["spec"]["destination"] == {"server": "https://prod.k8s.example.com", "namespace": "billing"}
    assert new["spec"]["destination"] == {"server": NEW_CLUSTER, "namespace": "billing"}
    assert new["spec"]["source"]["path"] == "apps/billing-api/overlays/prod-next"
    # Argo CD refuses a destination its project does not allow: the project names the new cluster too.
    project = load_plain_all((root / "argocd/projects/payments.yaml").read_text())[0]
    assert {"server": NEW_CLUSTER, "namespace": "billing"} in project["spec"]["destinations"]


@pytest.mark.kubectl
@pytest.mark.parametrize("schedules", ["old", "new"])
def test_kustomize_suspends_every_cronjob_on_the_side_that_does_not_run_them(
        tmp_path: Path, kubectl: str, schedules: str) -> None:
    root = cutover_repository(tmp_path, schedules, fmt="kustomize")
    render(root)
    for card in ("billing-api", "url-pinger"):
        for side, runs in (("prod", schedules == "old"), ("prod-next", schedules == "new")):
            built = kustomize_build(kubectl, root / f"apps/{card}/overlays/{side}")
            assert suspended(built) == expected(runs, card), (card, side)
    flip(root, "new" if schedules == "old" else "old")
    render(root)
    for side, runs in (("prod", schedules == "new"), ("prod-next", schedules == "old")):
        assert suspended(kustomize_build(kubectl, root / f"apps/billing-api/overlays/{side}")) == \
            expected(runs, "billing-api"), side


@pytest.mark.helmfile
@pytest.mark.helm
@pytest.mark.parametrize("schedules", ["old", "new"])
def test_helmfile_suspends_every_cronjob_on_the_side_that_does_not_run_them(tmp_path: Path, schedules: str) -> None:
    root = cutover_repository(tmp_path, schedules, fmt="helmfile")
    render(root)
    for card in ("billing-api", "url-pinger"):
        for side, runs in (("prod", schedules == "old"), ("prod-next", schedules == "new")):
            assert suspended(helmfile_template(root / f"apps/{card}", side)) == expected(runs, card), (card, side)
    assert "suspendSchedules: true" in (root / f"apps/billing-api/values/prod{'-next' if schedules == 'old' else ''}"
                                               ".yaml").read_text()
    flip(root, "new" if schedules == "old" else "old")
    render(root)
    for side, runs in (("prod", schedules == "new"), ("prod-next", schedules == "old")):
        assert suspended(helmfile_template(root / "apps/billing-api", side)) == expected(runs, "billing-api"), side


@pytest.mark.helm
@pytest.mark.kubectl
def test_both_sides_render_the_model_in_both_formats(tmp_path: Path, kubectl: str) -> None:
    """helm 4 and helm 3 (Argo CD's Helm, through each side's Application) and kubectl kustomize build
    exactly the model's objects on both sides of the cut-over."""
    kustomize_root = cutover_repository(tmp_path / "kustomize", fmt="kustomize")
    helmfile_root = cutover_repository(tmp_path / "helmfile", fmt="helmfile")
    render(kustomize_root)
    render(helmfile_root)
    repo = load_repo(kustomize_root)
    for name in ("billing-api", "url-pinger"):
        card = load_card(kustomize_root / f"services/{name}.service.yaml", repo=repo)
        sides = [env for env in card.environments if env.environment == "prod"]
        assert [env.name for env in sides] == ["prod", "prod-next"]
        for env in sides:
            from_model = by_key(environment_objects(env))
            assert by_key(kustomize_objects(kubectl, kustomize_root, card, env)) == from_model, env.name
            for helm in (find_tool("helm"), find_tool("helm3")):
                assert by_key(helm_objects(helm, helmfile_root, card, env)) == from_model, (helm, env.name)


# --------------------------------------------------------------------------- check and the rule


@pytest.mark.kubectl
@pytest.mark.helm
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_check_is_silent_mid_cutover_and_a_hand_edit_running_both_sides_fires(tmp_path: Path, fmt: str) -> None:
    """In the helmfile format both sides are the same release of the same chart in the same namespace:
    only their values files tell them apart, and the rule matches each Application to its render by them."""
    root = cutover_repository(tmp_path, fmt=fmt)
    render(root)
    assert check(root) == (0, [])
    if fmt == "kustomize":
        patch = root / "apps/billing-api/overlays/prod-next/patches/cronjob-nightly-invoices.yaml"
        patch.write_text(patch.read_text().replace("value: true", "value: false"))
        line = 20
    else:
        values = root / "apps/billing-api/values/prod-next.yaml"
        values.write_text(values.read_text().replace("suspendSchedules: true", "suspendSchedules: false"))
        line = 26
    message = ("warning cronjob-on-several-clusters: CronJob/billing-api-nightly-invoices of environment prod of "
               "billing-api is active in 2 clusters (https://new.k8s.example.com, https://prod.k8s.example.com): "
               "each cluster runs every schedule")
    assert check(root) == (1, [  # 1: the hand edit is also generated-file-edited, an error
        f"argocd/prod-next/billing-api.yaml:{line}:3: {message} [Application/argocd/billing-api-prod-next]",
        f"argocd/prod/billing-api.yaml:{line}:3: {message} [Application/argocd/billing-api-prod]"])


def _second_cluster(root: Path, application: str, name: str) -> str:
    """A hand-written Application, without shipcard's header and labels, deploying what `application`
    deploys to another cluster: a copy as someone makes it for a standby."""
    app = load_plain_all((root / application).read_text())[0]
    text = (root / application).read_text().split("\n", 2)[2]  # without the generated header
    text = text.replace(f"name: {app['metadata']['name']}", f"name: {name}", 1)
    text = text.replace(app["spec"]["destination"]["server"], "https://standby.k8s.example.com")
    text = re.sub(r"  labels:\n(    .*\n)+", "", text, count=1)
    path = root / "argocd/standby" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path.relative_to(root).as_posix()


@pytest.mark.kubectl
@pytest.mark.helm
def test_the_shared_examples_layouts_run_each_schedule_in_one_cluster_until_a_second_one_deploys_it(
        tmp_path: Path) -> None:
    """The examples as users render them (no shipcard.yaml, each card in its own format): silent;
    then hand-written Applications deploy billing-api's prod overlay (Kustomize) and url-pinger's prod
    release (the chart with its values) to a standby cluster too."""
    root = tmp_path
    (root / "services").mkdir()
    for card in example_cards():
        shutil.copy(card, root / "services" / card.name)
    render(root)
    assert check(root) == (0, [])
    billing = _second_cluster(root, "argocd/prod/billing-api.yaml", "billing-api-standby")
    pinger = _second_cluster(root, "argocd/prod/url-pinger.yaml", "url-pinger-standby")
    code, lines = check(root)
    billing_clusters = "(https://prod.k8s.example.com, https://standby.k8s.example.com)"
    pinger_clusters = "(https://standby.k8s.example.com, in-cluster)"
    assert lines == [
        f"argocd/prod/billing-api.yaml:20:3: warning {ID}: CronJob/billing-api-nightly-invoices from "
        f"apps/billing-api/overlays/prod is active in 2 clusters {billing_clusters}: each cluster runs every "
        "schedule [Application/argocd/billing-api-prod]",
        f"argocd/prod/url-pinger.yaml:26:3: warning {ID}: CronJob/url-pinger-ping-billing from charts/service is "
        f"active in 2 clusters {pinger_clusters}: each cluster runs every schedule "
        "[Application/argocd/url-pinger-prod]",
        f"{billing}:14:3: warning {ID}: CronJob/billing-api-nightly-invoices from apps/billing-api/overlays/prod "
        f"is active in 2 clusters {billing_clusters}: each cluster runs every schedule "
        "[Application/argocd/billing-api-standby]",
        f"{pinger}:20:3: warning {ID}: CronJob/url-pinger-ping-billing from charts/service is active in 2 "
        f"clusters {pinger_clusters}: each cluster runs every schedule [Application/argocd/url-pinger-standby]"]
    assert code == 0  # a warning: check fails on errors by default


# --------------------------------------------------------------------------- finishing


@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
def test_finishing_keeps_the_old_side_until_render_prune(tmp_path: Path, fmt: str) -> None:
    """The old side's Application carries resources-finalizer.argocd.argoproj.io: deleting it (the root
    Application prunes it once its file is gone) deletes everything it deployed on the old cluster
    (Argo CD's App Deletion docs). So `finished: true` only reports its files; `--prune` deletes them."""
    root = cutover_repository(tmp_path, "new", fmt=fmt)
    render(root)
    (root / "shipcard.yaml").write_text((root / "shipcard.yaml").read_text() + "      finished: true\n")
    if fmt == "kustomize":
        tree = sorted(p.relative_to(root).as_posix() for p in (root / "apps/url-pinger/overlays/prod").rglob("*")
                      if p.is_file())
    else:
        tree = ["apps/url-pinger/values/prod.yaml"]
    old_side = [*tree, "argocd/prod/url-pinger.yaml"]
    output = render(root)
    assert f"orphaned: services/url-pinger.service.yaml finished a cut-over but its 1 Argo CD Application(s) and " \
           f"{len(tree)} other file(s) remain: argocd/prod/url-pinger.yaml (`shipcard render --prune` deletes " \
           "them)" in output.splitlines()
    assert all((root / rel).is_file() for rel in old_side)
    retired = load_plain_all((root / "argocd/prod/url-pinger.yaml").read_text())[0]
    assert retired["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    checked = run_cli("render", "--check", cwd=root)
    assert checked.exit_code == 1
    assert "argocd/prod/url-pinger.yaml: left by the old side of a cut-over (services/url-pinger.service.yaml " \
           "finished a cut-over) (render --prune deletes it)" in checked.output
    output = render(root, "--prune")
    assert [line for line in output.splitlines() if "url-pinger" in line and line.startswith("pruned ")] == [
        f"pruned {rel} (card services/url-pinger.service.yaml finished a cut-over)" for rel in old_side]
    assert not any((root / rel).exists() for rel in old_side)
    assert (root / "argocd/prod-next/url-pinger.yaml").is_file()
    assert run_cli("render", "--check", cwd=root).exit_code == 0


# --------------------------------------------------------------------------- bad settings


@pytest.mark.parametrize(("cutover", "error"), [
    ("to: https://new.k8s.example.com\n      name: staging\n      schedules: old",
     "shipcard.yaml:9:7: environments.prod.cutover.name: the new side's name 'staging' is already an "
     "environment: set another cutover.name"),
    ("to: https://new.k8s.example.com\n      schedules: old\n      finished: true",
     "shipcard.yaml:10:7: environments.prod.cutover.finished: finish a cut-over once the new side runs the "
     "schedules (schedules: new)"),
    ("to: https://new.k8s.example.com\n      schedules: both",
     "shipcard.yaml:9:7: environments.prod.cutover.schedules: must be one of old, new"),
])
def test_a_bad_cutover_is_one_line_and_nothing_is_written(tmp_path: Path, cutover: str, error: str) -> None:
    root = cutover_repository(tmp_path)
    settings = root / "shipcard.yaml"
    settings.write_text(re.sub(r"to: .*\n      schedules: old", cutover, settings.read_text()))
    result = run_cli("render", cwd=root)
    assert result.exit_code == 2
    assert result.output == f"shipcard: {root / error}\n"
    assert sorted(p.name for p in root.iterdir()) == ["services", "shipcard.yaml"]


def test_a_cutover_to_the_cluster_it_is_on_is_refused(tmp_path: Path) -> None:
    root = cutover_repository(tmp_path, to="https://PROD.k8s.example.com/")
    result = run_cli("render", str(root / "services/billing-api.service.yaml"), cwd=root)
    assert result.exit_code == 2
    assert result.output == (f"shipcard: {root}/services/billing-api.service.yaml:81:3: environments.prod: its "
                             "cluster https://prod.k8s.example.com is where shipcard.yaml's "
                             "environments.prod.cutover.to moves it: a cut-over needs another cluster\n")
