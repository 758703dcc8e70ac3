"""Names that collide (issue 13, class 11): two cards rendering one object, tree or service name.

An Application `<card>-<env>` equal to another card's (card `a-b` environment `c`, card `a`
environment `b-c`), a CronJob or hook Job of one name in a namespace two cards share, a card whose
Applications take the names of the repository's roots (`root-<env>`), two cards with one `name` or
one `gitops.path`: `render` exits 2 with one line naming both cards with file:line and writes
nothing; `check` reports the same line as a `card-invalid` error, also when `render` never ran and
when only one of the two cards is checked. Names equal only on different clusters or namespaces
are not collisions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hardhelpers import snapshot

from tests.conftest import run_cli

SETTINGS = "apiVersion: shipcard/v1\nkind: Repository\nrepoURL: https://github.com/example/gitops.git\n" \
    "environments:\n" + "".join(f"  {env}: {{cluster: https://kubernetes.default.svc}}\n"
                                for env in ("dev", "c", "b-c")) \
    + "  prod: {cluster: https://prod.example.com}\n"


def card(name: str, envs: dict[str, dict] | tuple[str, ...] = ("dev",), jobs: list[dict] | None = None,
         **fields: object) -> str:
    data: dict[str, object] = {"apiVersion": "shipcard/v1", "kind": "Service", "name": name,
                               "image": "ghcr.io/example/app:1.0.0", "port": 8080,
                               "environments": envs if isinstance(envs, dict) else {env: {} for env in envs}}
    if jobs:
        data["jobs"] = jobs
    data.update(fields)
    return yaml.safe_dump(data, sort_keys=False)


def cron(name: str) -> dict:
    return {"name": name, "schedule": "0 1 * * *", "command": ["/app/run"]}


def hook(name: str) -> dict:
    return {"name": name, "hook": "pre-sync", "command": ["/app/migrate"]}


SHARED = {"dev": {"namespace": "shared"}}
SHARED_PROD = {"prod": {"namespace": "shared"}}

# first card file, its text, second card file, its text, the line render prints (None: no collision)
COLLISIONS = [
    pytest.param("a-b", card("a-b", ("c",)), "a", card("a", ("b-c",)),
                 "{a}:3:1: name: Application 'a-b-c' (environment b-c) collides with Application 'a-b-c' "
                 "(environment c) of {first}:3:1; rename one of them", id="application-card-env-vs-card-env"),
    pytest.param("x", card("x"), "root", card("root", ("dev",)),
                 "{a}:3:1: name: Application 'root-dev' (environment dev) collides with the repository's root "
                 "Application 'root-dev' (one per argocd/<dir>/); rename one of them", id="application-of-the-root"),
    pytest.param("x", card("x", ("b-c",)), "root-b", card("root-b", ("c",)),
                 "{a}:3:1: name: Application 'root-b-c' (environment c) collides with the repository's root "
                 "Application 'root-b-c' (one per argocd/<dir>/); rename one of them",
                 id="application-of-the-root-of-another-environment"),
    pytest.param("a-b", card("a-b", SHARED, [cron("c")]), "a", card("a", SHARED, [cron("b-c")]),
                 "{a}:10:3: jobs[0].name: CronJob 'a-b-c' in namespace 'shared' of https://kubernetes.default.svc "
                 "(environment dev) collides with CronJob 'a-b-c' in namespace 'shared' of "
                 "https://kubernetes.default.svc (environment dev) of {first}:10:3; rename one of them",
                 id="cronjob-in-a-shared-namespace"),
    pytest.param("a-b", card("a-b", SHARED, [hook("migrate")]), "a", card("a", SHARED, [cron("x"), hook("b-migrate")]),
                 "{a}:14:3: jobs[1].name: Job 'a-b-migrate' in namespace 'shared' of https://kubernetes.default.svc "
                 "(environment dev) collides with Job 'a-b-migrate' in namespace 'shared' of "
                 "https://kubernetes.default.svc (environment dev) of {first}:10:3; rename one of them",
                 id="hook-job-in-a-shared-namespace"),
    pytest.param("a", card("a", ("dev",)), "b", card("a", ("prod",)),
                 "{a}:3:1: name: service name 'a' collides with service name 'a' of {first}:3:1; rename one of them",
                 id="two-cards-one-name-other-environments"),
    pytest.param("a", card("a"), "b", card("a"),
                 "{a}:3:1: name: service name 'a' collides with service name 'a' of {first}:3:1; rename one of them",
                 id="two-cards-one-name"),
    pytest.param("a", card("a", gitops={"path": "apps/web"}), "b", card("b", gitops={"path": "apps/web"}),
                 "{a}:9:3: gitops.path: gitops.path 'apps/web' collides with gitops.path 'apps/web' of {first}:9:3; "
                 "rename one of them", id="two-cards-one-tree"),
    pytest.param("a", card("a", gitops={"path": "apps/b"}), "b", card("b"),
                 "{a}:3:1: name: gitops.path 'apps/b' collides with gitops.path 'apps/b' of {first}:9:3; "
                 "rename one of them", id="an-explicit-tree-is-another-s-default"),
    pytest.param("a-b", card("a-b", SHARED, [cron("c")]), "a", card("a", SHARED_PROD, [cron("b-c")]), None,
                 id="same-namespace-name-other-cluster"),
    pytest.param("a-b", card("a-b", SHARED, [cron("c")]), "a", card("a", ("dev",), [cron("b-c")]), None,
                 id="same-job-name-other-namespace"),
    pytest.param("a-b", card("a-b", ("dev",)), "a", card("a", ("c",)), None,
                 id="similar-application-names"),
    pytest.param("web", card("web", SHARED), "api", card("api", SHARED), None, id="two-services-one-namespace"),
]


def make_repo(root: Path, first: str, first_text: str, second: str, second_text: str) -> Path:
    (root / "services").mkdir(parents=True)
    (root / "shipcard.yaml").write_text(SETTINGS)
    (root / "services" / f"{first}.service.yaml").write_text(first_text)
    (root / "services" / f"{second}.service.yaml").write_text(second_text)
    return root


def _paths(repo: Path, first: str, second: str, relative: bool) -> dict[str, str]:
    base = "" if relative else f"{repo}/"
    return {"first": f"{base}services/{first}.service.yaml", "a": f"{base}services/{second}.service.yaml"}


def _check_findings(repo: Path, *paths: str) -> list[tuple[str, str, int, str]]:
    result = run_cli("check", *(paths or (".",)), "--format", "json", cwd=repo)
    report = json.loads(result.stdout)
    return [(f["file"], f["rule"], f["line"], f["message"]) for f in report["findings"] if f["rule"] == "card-invalid"]


@pytest.mark.parametrize(("first", "first_text", "second", "second_text", "line"), COLLISIONS)
def test_render_refuses_two_cards_rendering_one_thing(tmp_path: Path, first: str, first_text: str, second: str,
                                                       second_text: str, line: str | None) -> None:
    repo = make_repo(tmp_path / "repo", first, first_text, second, second_text)
    before = snapshot(repo, skip_state=False)
    result = run_cli("render", "--out", str(repo))
    if line is None:
        assert result.exit_code == 0, result.output
        return
    expected = line.format(**_paths(repo, first, second, relative=False))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"shipcard: {expected}\n")
    assert snapshot(repo, skip_state=False) == before


@pytest.mark.parametrize(("first", "first_text", "second", "second_text", "line"), COLLISIONS)
def test_check_reports_the_collision_render_refuses_without_any_render(tmp_path: Path, first: str, first_text: str,
                                                                       second: str, second_text: str,
                                                                       line: str | None) -> None:
    repo = make_repo(tmp_path / "repo", first, first_text, second, second_text)
    findings = _check_findings(repo)
    if line is None:
        assert findings == []
        return
    expected = line.format(**_paths(repo, first, second, relative=True))
    file, _, rest = expected.partition(":")
    number, _, rest = rest.partition(":")
    message = rest.split(": ", 1)[1]
    assert findings == [(file, "card-invalid", int(number), message)]
    # Only one of the two cards checked: the other is read all the same (a card the collision does not
    # involve, beside the roots' collision of another, has no finding).
    for checked in (first, second):
        involved = checked == second or "{first}" in line
        assert _check_findings(repo, f"services/{checked}.service.yaml") == \
            ([(file, "card-invalid", int(number), message)] if involved else [])


@pytest.mark.parametrize(("earlier", "added", "line"), [
    pytest.param(card("a", SHARED, [cron("b-c")]), card("a-b", SHARED, [cron("c")]),
                 "{repo}/services/a.service.yaml:10:3: jobs[0].name: CronJob 'a-b-c' in namespace 'shared' of "
                 "https://kubernetes.default.svc (environment dev) collides with CronJob 'a-b-c' in namespace 'shared' "
                 "of https://kubernetes.default.svc (environment dev) of {repo}/services/a-b.service.yaml:10:3; "
                 "rename one of them", id="its-cronjob"),
    pytest.param(card("a-b", SHARED, [hook("c")]), card("a", SHARED, [hook("b-c")]),
                 "{repo}/services/a.service.yaml:10:3: jobs[0].name: Job 'a-b-c' in namespace 'shared' of "
                 "https://kubernetes.default.svc (environment dev) collides with Job 'a-b-c' in namespace 'shared' "
                 "of https://kubernetes.default.svc (environment dev) of {repo}/services/a-b.service.yaml:10:3; "
                 "rename one of them", id="its-hook-job-the-new-card-s-name-shorter"),
    pytest.param(card("a", ("b-c",)), card("a-b", ("c",)),
                 "{repo}/services/a.service.yaml:3:1: name: Application 'a-b-c' (environment b-c) collides with "
                 "Application 'a-b-c' (environment c) of {repo}/services/a-b.service.yaml:3:1; rename one of them",
                 id="its-application"),
    pytest.param(card("a", gitops={"path": "apps/web"}), card("a-b", gitops={"path": "apps/web"}),
                 "{repo}/services/a.service.yaml:9:3: gitops.path: gitops.path 'apps/web' collides with gitops.path "
                 "'apps/web' of {repo}/services/a-b.service.yaml:9:3; rename one of them", id="its-tree"),
])
def test_a_new_card_colliding_with_one_rendered_before_is_refused(tmp_path: Path, earlier: str, added: str,
                                                                   line: str) -> None:
    """The earlier card is skipped (unchanged since its render): its names count all the same."""
    repo = tmp_path / "repo"
    (repo / "services").mkdir(parents=True)
    (repo / "shipcard.yaml").write_text(SETTINGS)
    files = {earlier: yaml.safe_load(earlier)["name"], added: yaml.safe_load(added)["name"]}
    (repo / f"services/{files[earlier]}.service.yaml").write_text(earlier)
    assert run_cli("render", "--out", str(repo)).exit_code == 0
    (repo / f"services/{files[added]}.service.yaml").write_text(added)
    before = snapshot(repo, skip_state=False)
    result = run_cli("render", "--out", str(repo))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"shipcard: {line.format(repo=repo)}\n")
    assert snapshot(repo, skip_state=False) == before


def test_cards_named_on_the_command_line_collide_too(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "a-b", card("a-b", ("c",)), "a", card("a", ("b-c",)))
    before = snapshot(repo, skip_state=False)
    result = run_cli("render", str(repo / "services/a-b.service.yaml"), str(repo / "services/a.service.yaml"),
                     "--out", str(repo))
    assert result.exit_code == 2
    assert result.stderr == (f"shipcard: {repo}/services/a.service.yaml:3:1: name: Application 'a-b-c' (environment "
                             f"b-c) collides with Application 'a-b-c' (environment c) of {repo}/services/a-b.service."
                             "yaml:3:1; rename one of them\n")
    assert snapshot(repo, skip_state=False) == before
