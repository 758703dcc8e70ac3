"""What `render` promises about the files it changes (issue 13, classes 1, 2, 5 and 14).

* **Renames and moves** (class 1): after one `render`, every current card's tree and Applications
  are byte for byte those of a fresh render of the same cards into an empty repository; the files
  of a service name no card renders any more are orphans, reported and deleted only by `--prune`;
  a file one card writes and another's old tree deletes ends written.
* **User files** (class 2): `render --force` keeps a hand-edited generated file's text as
  `<file>.orig`, or `.orig.1`, ... when that name is taken by anything at all; nothing that exists
  is replaced, and when every name is taken the run is refused.
* **Filesystem faults before the commit point** (class 5): a read-only directory, a file where a
  directory must be, a dangling `--out`: one line, exit 2, not a byte changed, and the run after the
  cause is fixed renders the whole tree.
* **A rejected run writes nothing** (class 14): not even `.shipcard/lock`, in a fresh output
  directory, one a bad card was rendered into, with `--check`, and for `new`, `init`, `upgrade`.

The commands run in-process (`run_cli`: the click group the console script runs, exceptions not
caught, so a traceback fails the test). Read-only directories are made with `chattr +i` when the
tests run as root (root ignores permissions, not the immutable flag), else with `chmod`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hardhelpers import snapshot

from shipcard.transaction import begin
from shipcard.writers.tree import MAX_BACKUPS, Plan
from tests.conftest import run_cli

ENVIRONMENTS = ("dev", "staging", "prod")
SETTINGS = "apiVersion: shipcard/v1\nkind: Repository\nrepoURL: https://github.com/example/gitops.git\n" \
    "environments:\n" + "".join(f"  {env}: {{cluster: https://kubernetes.default.svc}}\n" for env in ENVIRONMENTS)


def card(name: str, fmt: str = "kustomize", envs: tuple[str, ...] | None = None, **fields: object) -> str:
    """A small valid card; `envs` picks some of shipcard.yaml's environments (default: all of them)."""
    data: dict[str, object] = {"apiVersion": "shipcard/v1", "kind": "Service", "name": name,
                               "image": "ghcr.io/example/app:1.0.0", "port": 8080}
    if envs is not None:
        data["environments"] = {env: {} for env in envs}
    if fmt != "kustomize":
        data["gitops"] = {"format": fmt}
    data.update(fields)
    return yaml.safe_dump(data, sort_keys=False)


def make_repo(root: Path, cards: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "shipcard.yaml").write_text(SETTINGS)
    set_cards(root, cards)
    return root


def set_cards(root: Path, cards: dict[str, str]) -> None:
    """services/ holds exactly `cards` (file name → text) afterwards."""
    services = root / "services"
    shutil.rmtree(services, ignore_errors=True)
    services.mkdir()
    for name, text in cards.items():
        (services / name).write_text(text)


def render(root: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("render", "--out", str(root), *args)
    return result.exit_code, result.stdout, result.stderr


def everything(root: Path) -> dict[str, bytes]:
    """Every file under `root`, `.shipcard/` included (the lock and the journal are files too), and every
    directory (as `path/`: an empty `.shipcard/` left behind counts)."""
    files = snapshot(root, skip_state=False)
    for directory, dirs, _ in os.walk(root):
        files.update((Path(directory, name).relative_to(root).as_posix() + "/", b"") for name in dirs)
    return files


# --------------------------------------------------------------------------- class 1: renames and moves

A, B, C = "a.service.yaml", "b.service.yaml", "c.service.yaml"
RENAMES = [
    pytest.param({A: ("a",)}, {A: ("b",)}, id="renamed"),
    pytest.param({A: ("a",)}, {A: ("a-b",)}, id="renamed-to-a-longer-name"),
    pytest.param({A: ("a",), B: ("b",)}, {A: ("b",), B: ("a",)}, id="swapped-names"),
    pytest.param({A: ("a",), B: ("b",), C: ("c",)}, {A: ("b",), B: ("c",), C: ("a",)}, id="three-names-rotated"),
    pytest.param({A: ("a",), B: ("b",)}, {A: ("b",), B: ("c",)}, id="names-shifted-one-freed"),
    pytest.param({A: ("a",)}, {A: ("b",), C: ("a",)}, id="new-card-takes-the-freed-name"),
    pytest.param({A: ("a",), B: ("b",)}, {B: ("a",)}, id="card-removed-another-takes-its-name"),
    pytest.param({A: ("a",)}, {C: ("a",)}, id="moved-to-another-file"),
    pytest.param({A: ("a",)}, {C: ("a",), A: ("q",)}, id="moved-old-file-renders-a-new-name"),
    pytest.param({A: ("a",), B: ("b",)}, {B: ("a",), A: ("b",), C: ("c",)}, id="files-swapped-one-added"),
    pytest.param({A: ("a",)}, {A: ("b", None, ("dev",))}, id="renamed-environments-removed"),
    pytest.param({A: ("a", None, ("dev",))}, {A: ("b",)}, id="renamed-environments-added"),
    pytest.param({A: ("a", None, ("dev", "prod")), B: ("b", None, ("staging",))},
                 {A: ("b", None, ("prod",)), B: ("a", None, ("dev", "staging"))}, id="swapped-environments-changed"),
    pytest.param({A: ("a",)}, {A: ("b", "helmfile")}, id="renamed-format-changed"),
    pytest.param({A: ("a", "helmfile"), B: ("b",)}, {A: ("b",), B: ("a", "helmfile")}, id="swapped-formats-mixed"),
    pytest.param({A: ("a",), B: ("b",)}, {A: ("b", None, None, "apps/b"), B: ("a", None, None, "apps/a")},
                 id="swapped-explicit-trees"),
    pytest.param({A: ("a", None, None, "apps/web")}, {A: ("b", None, None, "apps/web")}, id="renamed-same-tree"),
]


def _cards(spec: dict[str, tuple], fmt: str) -> dict[str, str]:
    cards = {}
    for file, (name, *rest) in spec.items():
        card_format, envs, tree = (*rest, None, None, None)[:3]
        fields = {"gitops": {"format": card_format or fmt, "path": tree}} if tree else {}
        cards[file] = card(name, card_format or fmt, envs, **fields)
    return cards


def _tree_files(files: dict[str, bytes], name: str, tree: str) -> set[str]:
    """The files of service `name` (tree `tree`) in a snapshot."""
    return {rel for rel in files if rel.startswith(f"{tree}/") or rel == f".shipcard-state/{name}.yaml"
            or (rel.startswith("argocd/") and rel.endswith(f"/{name}.yaml") and not rel.startswith("argocd/projects/"))}


@pytest.mark.parametrize("prune", [False, True], ids=["no-prune", "prune"])
@pytest.mark.parametrize("fmt", ["kustomize", "helmfile"])
@pytest.mark.parametrize(("before", "after"), RENAMES)
def test_one_render_after_renames_leaves_every_current_tree_whole(tmp_path: Path, before: dict, after: dict,
                                                                   fmt: str, prune: bool) -> None:
    repo = make_repo(tmp_path / "repo", _cards(before, fmt))
    assert render(repo)[0] == 0
    old = snapshot(repo)
    set_cards(repo, _cards(after, fmt))
    code, stdout, stderr = render(repo, *(["--prune"] if prune else []))
    assert code == 0, stdout + stderr
    fresh = make_repo(tmp_path / "fresh", _cards(after, fmt))
    assert render(fresh)[0] == 0
    new, expected = snapshot(repo), snapshot(fresh)
    assert [rel for rel in expected if new.get(rel) != expected[rel]] == []  # every current file, byte for byte
    gone = {name: tree for name, *rest in before.values() if name not in {n for n, *_ in after.values()}
            for tree in [(rest + [None, None, None])[2] or f"apps/{name}"]}
    orphans = {rel for name, tree in gone.items() for rel in _tree_files(old, name, tree)} - expected.keys()
    left = sorted(set(new) - set(expected))
    if prune:
        assert left == []
    else:
        assert left == sorted(orphans)
        assert all(new[rel] == old[rel] for rel in left)  # an orphan is left exactly as it was
        for name in gone:
            apps = sorted(rel for rel in orphans if rel.startswith("argocd/") and rel.endswith(f"/{name}.yaml"))
            assert any(line.startswith("orphaned: ") and f": {', '.join(apps)} (" in line
                       for line in stderr.splitlines()), stderr
    again = render(repo)  # changes nothing, and still reports the orphans left
    assert (again[0], again[2], snapshot(repo)) == (0, stderr if not prune else "", new)
    assert again[1].startswith(f"rendered 0 service(s), skipped {len(after)} unchanged since their last render")
    check = run_cli("render", "--check", "--out", str(repo))
    assert check.exit_code == (1 if left else 0), check.output
    assert all(": left by " in line for line in check.stdout.splitlines()) if left else True


def test_a_renamed_card_s_old_files_are_reported_as_left_by_its_old_name(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {A: card("a", envs=("dev",))})
    assert render(repo)[0] == 0
    set_cards(repo, {A: card("b", envs=("dev",))})
    code, _, stderr = render(repo)
    assert code == 0
    assert stderr.splitlines() == [
        "orphaned: services/a.service.yaml renders b now instead of a but its 1 Argo CD Application(s) and 8 other "
        "file(s) remain: argocd/dev/a.yaml (`shipcard render --prune` deletes them)"]
    check = run_cli("render", "--check", "--out", str(repo))
    assert "argocd/dev/a.yaml: left by service a, which no card renders (services/a.service.yaml renders b now " \
           "instead of a) (render --prune deletes it)" in check.stdout.splitlines()


@pytest.mark.parametrize(("before", "after"), RENAMES)
def test_renames_with_an_appproject_and_an_environment_dropped_from_the_settings(tmp_path: Path, before: dict,
                                                                                after: dict) -> None:
    """The AppProject follows the tree: after `--prune` it is the fresh render's too."""
    settings = SETTINGS.replace("environments:", "project: platform\nenvironments:")
    repo = make_repo(tmp_path / "repo", _cards(before, "kustomize"))
    (repo / "shipcard.yaml").write_text(settings)
    assert render(repo)[0] == 0
    set_cards(repo, _cards(after, "kustomize"))
    dropped = settings.replace("  staging: {cluster: https://kubernetes.default.svc}\n", "")
    after_cards = {file: text.replace("  staging: {}\n", "") for file, text in _cards(after, "kustomize").items()}
    set_cards(repo, after_cards)
    (repo / "shipcard.yaml").write_text(dropped)
    code, stdout, stderr = render(repo, "--prune")
    assert code == 0, stdout + stderr
    fresh = make_repo(tmp_path / "fresh", after_cards)
    (fresh / "shipcard.yaml").write_text(dropped)
    assert render(fresh)[0] == 0
    assert snapshot(repo) == snapshot(fresh)


def test_swapped_names_among_many_cards_in_parallel_workers(tmp_path: Path) -> None:
    names = [f"svc{i:02d}" for i in range(20)]
    repo = make_repo(tmp_path / "repo", {f"{n}.service.yaml": card(n, envs=("dev",)) for n in names})
    assert render(repo, "--jobs", "2")[0] == 0
    swapped = {f"{n}.service.yaml": card(names[(i + 1) % len(names)], envs=("dev",)) for i, n in enumerate(names)}
    set_cards(repo, swapped)
    assert render(repo, "--jobs", "2")[0] == 0
    fresh = make_repo(tmp_path / "fresh", swapped)
    assert render(fresh)[0] == 0
    assert snapshot(repo) == snapshot(fresh)


def test_a_swap_rendered_card_by_card_leaves_both_trees_whole(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {A: card("a"), B: card("b")})
    assert render(repo)[0] == 0
    set_cards(repo, {A: card("b"), B: card("a")})
    result = run_cli("render", str(repo / "services" / A), str(repo / "services" / B), "--out", str(repo))
    assert result.exit_code == 0, result.output
    fresh = make_repo(tmp_path / "fresh", {A: card("b"), B: card("a")})
    assert render(fresh)[0] == 0
    assert snapshot(repo) == snapshot(fresh)


def test_a_file_written_and_deleted_in_one_plan_ends_written(tmp_path: Path) -> None:
    plan, other = Plan(tmp_path), Plan(tmp_path)
    plan.deletes.append("apps/a/x.yaml")
    other.writes["apps/a/x.yaml"] = "new\n"
    plan.merge(other)
    assert (plan.writes, plan.deletes) == ({"apps/a/x.yaml": "new\n"}, [])
    (tmp_path / "x.yaml").write_text("old\n")
    with begin(tmp_path, "render") as txn:
        txn.commit({"x.yaml": "new\n"}, ["x.yaml"])
    assert (tmp_path / "x.yaml").read_text() == "new\n"
    assert not (tmp_path / ".shipcard").exists()


# --------------------------------------------------------------------------- class 2: user files


DEPLOYMENT = "apps/a/base/deployment.yaml"


def _taken(kind: str, path: Path, outside: Path, generated: Path) -> None:
    """Put something of `kind` at `path` (the `.orig` name a forced render would like to use)."""
    if kind == "user-file":
        path.write_text("mine\n")
    elif kind == "generated-file":
        shutil.copy(generated, path)
    elif kind == "symlink-to-a-file":
        (path.parent / "elsewhere.txt").write_text("mine\n")
        path.symlink_to("elsewhere.txt")
    elif kind == "symlink-outside":
        outside.write_text("outside\n")
        path.symlink_to(outside)
    elif kind == "dangling-symlink":
        path.symlink_to("nowhere")
    elif kind == "directory":
        path.mkdir()
        (path / "note").write_text("mine\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "orig-and-orig.1":
        path.write_text("mine\n")
        path.with_name(path.name + ".1").write_text("mine too\n")
    else:
        raise AssertionError(kind)


def _kinds(root: Path) -> dict[str, str]:
    """Every path under `root` → what it is (and for files their bytes, for links their target)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            if rel.startswith(".shipcard/"):
                continue
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_fifo():
                found[rel] = "fifo"
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = path.read_bytes().decode()
    return found


@pytest.mark.parametrize(("kind", "backup"), [
    pytest.param("none", ".orig", id="no-orig-yet"),
    pytest.param("user-file", ".orig.1", id="orig-is-a-user-file"),
    pytest.param("generated-file", ".orig.1", id="orig-is-a-generated-file"),
    pytest.param("symlink-to-a-file", ".orig.1", id="orig-is-a-symlink"),
    pytest.param("symlink-outside", ".orig.1", id="orig-is-a-symlink-outside"),
    pytest.param("dangling-symlink", ".orig.1", id="orig-is-a-dangling-symlink"),
    pytest.param("directory", ".orig.1", id="orig-is-a-directory"),
    pytest.param("fifo", ".orig.1", id="orig-is-a-fifo"),
    pytest.param("orig-and-orig.1", ".orig.2", id="orig-and-orig.1-taken"),
])
@pytest.mark.parametrize("change", ["modified", "deleted"])
def test_force_keeps_an_edit_under_a_free_name_and_replaces_nothing(tmp_path: Path, kind: str, backup: str,
                                                                     change: str) -> None:
    repo = make_repo(tmp_path / "repo", {A: card("a")})
    assert render(repo)[0] == 0
    edited = repo / (DEPLOYMENT if change == "modified" else "apps/a/overlays/prod/kustomization.yaml")
    edited_text = edited.read_text() + "# my edit\n"
    edited.write_text(edited_text)
    if kind != "none":
        _taken(kind, edited.with_name(edited.name + ".orig"), tmp_path / "outside.txt", repo / "apps/a/base/service.yaml")
    before = _kinds(repo)
    outside = snapshot(tmp_path / "outside.txt") if kind == "symlink-outside" else None
    set_cards(repo, {A: card("a", replicas=3) if change == "modified" else card("a", envs=("dev", "staging"))})
    code, stdout, stderr = render(repo, "--force")
    assert code == 0, stdout + stderr
    rel = edited.relative_to(repo).as_posix()
    assert f"{rel}: generated-file-edited: overwritten (--force); the edited text is kept in {rel}{backup}" \
        in stdout.splitlines()
    after = _kinds(repo)
    assert after[rel + backup] == edited_text
    kept = {path: what for path, what in before.items() if ".orig" in path or path == "elsewhere.txt"}
    assert {path: after.get(path) for path in kept} == kept  # nothing that was there is replaced
    if outside is not None:
        assert snapshot(tmp_path / "outside.txt") == outside
    fresh = make_repo(tmp_path / "fresh", {A: card("a", replicas=3) if change == "modified"
                                           else card("a", envs=("dev", "staging"))})
    assert render(fresh)[0] == 0
    expected = snapshot(fresh)
    assert {path: snapshot(repo).get(path) for path in expected} == expected
    assert render(repo, "--force", "--all")[0] == 0
    assert _kinds(repo) == after  # the copies are the user's: the next runs keep them as they are


def test_force_refuses_when_every_backup_name_is_taken(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {A: card("a")})
    assert render(repo)[0] == 0
    edited = repo / DEPLOYMENT
    edited.write_text(edited.read_text() + "# my edit\n")
    for number in range(MAX_BACKUPS):
        edited.with_name(edited.name + ".orig" + (f".{number}" if number else "")).write_text(f"copy {number}\n")
    before = everything(repo)
    code, stdout, stderr = render(repo, "--force", "--all")
    assert (code, stdout) == (2, "")
    assert stderr == (f"shipcard: {edited}: edited by hand, and {DEPLOYMENT}.orig to {DEPLOYMENT}.orig.99 all "
                      "exist; move those copies away to keep this edit too\n")
    assert everything(repo) == before


def test_without_force_an_edit_is_left_and_no_backup_is_made(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {A: card("a")})
    assert render(repo)[0] == 0
    edited = repo / DEPLOYMENT
    edited.write_text(edited.read_text() + "# my edit\n")
    (repo / f"{DEPLOYMENT}.orig").write_text("mine\n")
    set_cards(repo, {A: card("a", replicas=3)})
    before = {rel: data for rel, data in everything(repo).items() if rel.startswith("apps/a/base/deployment")}
    code, _, stderr = render(repo)
    assert code == 1
    assert f"{DEPLOYMENT}: generated-file-edited: edited by hand since shipcard wrote it; left as it is " \
        f"(`shipcard render --force` overwrites it and keeps {DEPLOYMENT}.orig)" in stderr.splitlines()
    assert {rel: data for rel, data in everything(repo).items() if rel.startswith("apps/a/base/deployment")} == before


@pytest.mark.parametrize("backup", [".orig", ".orig.1", ".orig.7"])
def test_prune_never_deletes_a_backup(tmp_path: Path, backup: str) -> None:
    repo = make_repo(tmp_path, {A: card("a"), B: card("b")})
    assert render(repo)[0] == 0
    copy = repo / f"{DEPLOYMENT}{backup}"
    copy.write_bytes((repo / DEPLOYMENT).read_bytes())  # a copy of a generated file, header and all
    set_cards(repo, {B: card("b")})
    assert render(repo, "--prune")[0] == 0
    assert sorted(p.relative_to(repo).as_posix() for p in (repo / "apps/a").rglob("*") if p.is_file()) == \
        [f"{DEPLOYMENT}{backup}"]


# --------------------------------------------------------------------------- class 5: filesystem faults


def _immutable(path: Path, on: bool) -> None:
    """A directory nobody may change: `chattr +i` as root (which permissions do not stop), else chmod."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o555 if on else 0o755)


@pytest.fixture
def read_only() -> Iterator[list[Path]]:
    """Directories to make read-only (listed by the test); made writable again afterwards."""
    made: list[Path] = []
    if os.geteuid() == 0 and shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a directory read-only for root")
    yield made
    for path in reversed(made):
        _immutable(path, False)


def _freeze(paths: list[Path], path: Path) -> None:
    try:
        _immutable(path, True)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"chattr +i does not work here: {exc.stderr.decode().strip()}")
    paths.append(path)


def _changed_repo(tmp_path: Path) -> Path:
    """A rendered repository whose cards then change (one edited, one added): the next render writes
    files in existing and in new directories."""
    repo = make_repo(tmp_path / "repo", {A: card("a")})
    assert render(repo)[0] == 0
    set_cards(repo, {A: card("a", replicas=3), B: card("b")})
    return repo


@pytest.mark.parametrize("directory", [
    pytest.param("", id="repository-root"),
    pytest.param("apps", id="apps"),
    pytest.param("apps/a/base", id="a-base"),
    pytest.param("argocd/prod", id="argocd-env"),
    pytest.param(".shipcard-state", id="state-directory"),
])
def test_a_read_only_directory_is_found_before_anything_changes(tmp_path: Path, read_only: list[Path],
                                                               directory: str) -> None:
    repo = _changed_repo(tmp_path)
    if not directory:  # as in a fresh clone (.shipcard/ is git-ignored): the root must take the lock directory
        shutil.rmtree(repo / ".shipcard")
    before = everything(repo)
    _freeze(read_only, repo / directory)
    code, stdout, stderr = render(repo)
    shown = repo / directory if directory else repo
    message = f"shipcard: cannot write {shown}: not writable; nothing was changed\n" if directory else \
        f"shipcard: cannot write {repo / '.shipcard'}: {'Operation not permitted' if os.geteuid() == 0 else 'Permission denied'}\n"
    assert (code, stdout, stderr) == (2, "", message)
    assert everything(repo) == before
    _immutable(repo / directory, False)
    read_only.remove(repo / directory)
    assert render(repo)[0] == 0
    fresh = make_repo(tmp_path / "fresh", {A: card("a", replicas=3), B: card("b")})
    assert render(fresh)[0] == 0
    assert snapshot(repo) == snapshot(fresh)


def test_a_read_only_directory_holding_a_pruned_file_is_found_too(tmp_path: Path, read_only: list[Path]) -> None:
    repo = make_repo(tmp_path / "repo", {A: card("a"), B: card("b")})
    assert render(repo)[0] == 0
    set_cards(repo, {B: card("b")})
    before = everything(repo)
    _freeze(read_only, repo / "apps/a/overlays/dev")
    assert render(repo, "--prune") == (2, "", f"shipcard: cannot write {repo}/apps/a/overlays/dev: not writable; "
                                       "nothing was changed\n")
    assert everything(repo) == before


@pytest.mark.parametrize(("rel", "prune"), [
    pytest.param(DEPLOYMENT, False, id="replaced-file"),
    pytest.param("argocd/prod/a.yaml", True, id="pruned-file"),
])
def test_an_immutable_file_is_found_before_anything_changes(tmp_path: Path, read_only: list[Path], rel: str,
                                                            prune: bool) -> None:
    """`chattr +i` on a file: even root can neither rename over it nor unlink it."""
    if os.geteuid() != 0:
        pytest.skip("only root may set the immutable flag")
    repo = make_repo(tmp_path / "repo", {A: card("a"), B: card("b")})
    assert render(repo)[0] == 0
    set_cards(repo, {B: card("b")} if prune else {A: card("a", replicas=3), B: card("b")})
    before = everything(repo)
    _freeze(read_only, repo / rel)
    assert render(repo, *(["--prune"] if prune else [])) == (
        2, "", f"shipcard: cannot write {repo / rel}: immutable or append-only; nothing was changed\n")
    assert everything(repo) == before


def test_an_output_directory_inside_a_read_only_directory(tmp_path: Path, read_only: list[Path]) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "a.service.yaml").write_text(card("a", envs=("dev",)))
    _freeze(read_only, tmp_path / "locked")
    out = tmp_path / "locked" / "out"
    result = run_cli("render", str(tmp_path / "a.service.yaml"), "--out", str(out))
    reason = "Operation not permitted" if os.geteuid() == 0 else "Permission denied"
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"shipcard: cannot write {out / '.shipcard'}: {reason}\n")
    assert list((tmp_path / "locked").iterdir()) == []


def _file_at(repo: Path, rel: str) -> None:
    path = repo / rel
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a file where a directory should be\n")


@pytest.mark.parametrize("rel", [
    pytest.param("apps", id="apps-is-a-file"),
    pytest.param("apps/b", id="new-tree-is-a-file"),
    pytest.param("apps/a/base", id="existing-base-is-a-file"),
    pytest.param("argocd", id="argocd-is-a-file"),
    pytest.param("argocd/prod", id="argocd-env-is-a-file"),
    pytest.param(".shipcard-state", id="state-directory-is-a-file"),
])
@pytest.mark.parametrize("rendered", [True, False], ids=["rendered-before", "fresh-repository"])
def test_a_file_where_a_directory_must_be_is_found_before_anything_changes(tmp_path: Path, rel: str,
                                                                          rendered: bool) -> None:
    repo = _changed_repo(tmp_path) if rendered else make_repo(tmp_path / "repo", {A: card("a", replicas=3),
                                                                                  B: card("b")})
    _file_at(repo, rel)
    before = everything(repo)
    assert render(repo) == (2, "", f"shipcard: {repo / rel}: not a directory, but this run writes files below it; "
                            "nothing was changed\n")
    assert everything(repo) == before
    (repo / rel).unlink()
    assert render(repo)[0] == 0
    fresh = make_repo(tmp_path / "fresh", {A: card("a", replicas=3), B: card("b")})
    assert render(fresh)[0] == 0
    assert snapshot(repo) == snapshot(fresh)


@pytest.mark.parametrize("what", ["dangling-symlink", "file", "symlink-to-a-file"])
def test_an_out_that_is_no_directory_is_refused(tmp_path: Path, what: str) -> None:
    (tmp_path / "a.service.yaml").write_text(card("a", envs=("dev",)))
    out = tmp_path / "out"
    if what == "dangling-symlink":
        out.symlink_to(tmp_path / "nowhere")
        message = f"shipcard: {out}: a symbolic link to '{tmp_path / 'nowhere'}', which does not exist; render " \
            "writes into a directory, or creates one where nothing is\n"
    elif what == "file":
        out.write_text("x\n")
        message = f"shipcard: {out}: not a directory; render writes into a directory, or creates one where " \
            "nothing is\n"
    else:
        (tmp_path / "target").write_text("x\n")
        out.symlink_to("target")
        message = f"shipcard: {out}: not a directory; render writes into a directory, or creates one where " \
            "nothing is\n"
    before = everything(tmp_path)
    for args in ((), ("--check",)):
        result = run_cli("render", str(tmp_path / "a.service.yaml"), "--out", str(out), *args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
        assert everything(tmp_path) == before
    assert not (tmp_path / "nowhere").exists()


# --------------------------------------------------------------------------- class 14: a rejected run writes nothing

BAD_CARD = "apiVersion: shipcard/v1\nkind: Service\nname: Bad_Name\nimage: ghcr.io/example/app:1.0.0\nport: 8080\n" \
    "environments: {dev: {}}\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """tmp_path with a rendered repository `repo/` (also holding .shipcard/verified.json) and a bad card beside it."""
    repo = make_repo(tmp_path / "repo", {A: card("a")})
    assert render(repo)[0] == 0
    (tmp_path / "bad.service.yaml").write_text(BAD_CARD)
    return tmp_path


def _in_repo(workspace: Path, file: str, text: str) -> None:
    (workspace / "repo" / file).parent.mkdir(parents=True, exist_ok=True)
    (workspace / "repo" / file).write_text(text)


BAD_NAME = "name: 'Bad_Name' is not a DNS-1123 label (lower case letters, digits and '-', starting and ending " \
    "with a letter or digit) that starts with a letter"
IN_REPO = ("services/bad.service.yaml", BAD_CARD)
BROKEN = ("services/a.service.yaml", "apiVersion: shipcard/v1\nkind: Service\nname: [x\n")  # the only card: no registry
BROKEN_LINE = "{w}/repo/services/a.service.yaml:4:1: expected ',' or ']', but got '<stream end>'"
REJECTED = [  # what is set up in the repository, the command, the first line it prints
    pytest.param(None, ("render", "{w}/bad.service.yaml", "--out", "{w}/fresh/deeper"),
                 "{w}/bad.service.yaml:1:1: missing required field 'gitops'", id="bad-card-fresh-out"),
    pytest.param(None, ("render", "{w}/bad.service.yaml", "--out", "{w}/repo"), "{w}/bad.service.yaml:3:1: " + BAD_NAME,
                 id="bad-card-into-rendered-out"),
    pytest.param(None, ("render", "--check", "{w}/bad.service.yaml", "--out", "{w}/fresh"),
                 "{w}/bad.service.yaml:1:1: missing required field 'gitops'", id="bad-card-check-fresh-out"),
    pytest.param(None, ("render", "--check", "{w}/bad.service.yaml", "--out", "{w}/repo"),
                 "{w}/bad.service.yaml:3:1: " + BAD_NAME, id="bad-card-check-rendered-out"),
    pytest.param(None, ("render", "{w}/repo/services/a.service.yaml", "{w}/bad.service.yaml", "--out", "{w}/repo"),
                 "{w}/bad.service.yaml:3:1: " + BAD_NAME, id="good-and-bad-card"),
    pytest.param(IN_REPO, ("render", "--out", "{w}/repo"), "{w}/repo/services/bad.service.yaml:3:1: " + BAD_NAME,
                 id="bad-card-in-repo"),
    pytest.param(IN_REPO, ("render", "--out", "{w}/repo", "--prune", "--force", "--all", "--jobs", "2"),
                 "{w}/repo/services/bad.service.yaml:3:1: " + BAD_NAME, id="bad-card-in-repo-prune-force"),
    pytest.param(IN_REPO, ("render", "--check", "--out", "{w}/repo"),
                 "{w}/repo/services/bad.service.yaml:3:1: " + BAD_NAME, id="bad-card-in-repo-check"),
    pytest.param(("services/b.service.yaml", card("a")), ("render", "--out", "{w}/repo"),
                 "{w}/repo/services/b.service.yaml:3:1: name: service name 'a' collides with service name 'a' of "
                 "{w}/repo/services/a.service.yaml:3:1; rename one of them", id="two-cards-one-name"),
    pytest.param(("shipcard.yaml", SETTINGS + "bogus: 1\n"), ("render", "--out", "{w}/repo"),
                 "{w}/repo/shipcard.yaml:8:1: bogus: unknown field (known fields: apiVersion, kind, repoURL, "
                 "targetRevision, project, argocdNamespace, kubernetesVersion, blueprintVersion, podSecurity, "
                 "environments, network, secrets, check)", id="bad-settings"),
    pytest.param(("lock.json", "{not json"), ("render", "--out", "{w}/repo", "--lock", "{w}/repo/lock.json"),
                 "{w}/repo/lock.json:2:1: did not find expected ',' or '}}'", id="bad-lock-file"),
    pytest.param(IN_REPO, ("upgrade",), "{w}/repo/services/bad.service.yaml:3:1: " + BAD_NAME, id="upgrade-bad-card"),
    pytest.param(BROKEN, ("pin",), BROKEN_LINE, id="pin-broken-card"),
    pytest.param(BROKEN, ("pin", "--check"), BROKEN_LINE, id="pin-check-broken-card"),
    pytest.param(BROKEN, ("pin", "--lock", "{w}/lock.json"), BROKEN_LINE, id="pin-lock-broken-card"),
    pytest.param(BROKEN, ("upgrade",), BROKEN_LINE, id="upgrade-broken-card"),
    pytest.param(None, ("upgrade", "--commit"), "{w}/repo: not in a git repository; --commit needs one",
                 id="upgrade-commit-outside-git"),
    pytest.param(None, ("new", "Bad_Name", "--no-input"), "NAME 'Bad_Name': a service name is at most 63 lower-case "
                 "letters, digits and '-', starting with a letter and ending with a letter or digit", id="new-bad-name"),
    pytest.param(None, ("new", "a", "--no-input"), "{w}/repo/services/a.service.yaml: already exists; edit it instead",
                 id="new-existing-card"),
    pytest.param(None, ("new", "zz", "--no-input", "--set", "port=abc"), "--set port: 'abc' is not a whole number",
                 id="new-bad-value"),
    pytest.param(None, ("init", "{w}/repo", "--no-input", "--no-git"), "{w}/repo/shipcard.yaml: already exists; "
                 "shipcard init never replaces a file (1 would be)", id="init-over-a-repository"),
    pytest.param(None, ("init", "{w}/new/deeper", "--no-input", "--no-git", "--set", "project=Bad Name"),
                 "project 'Bad Name': expected an Argo CD project name (lower-case letters, digits and '-')",
                 id="init-bad-value"),
    pytest.param(None, ("init", "{w}/new/deeper", "--no-input", "--no-git", "--set", "environments=projects"),
                 "{w}/new/deeper/shipcard.yaml:15:3: environments.projects: invalid name 'projects': 'projects' "
                 "should not be valid under {{'const': 'projects'}}", id="init-into-new-directories-refused"),
]


@pytest.mark.parametrize(("setup", "args", "first_line"), REJECTED)
def test_a_rejected_run_writes_nothing_not_even_a_lock(workspace: Path, setup: tuple[str, str] | None,
                                                       args: tuple[str, ...], first_line: str) -> None:
    if setup is not None:
        _in_repo(workspace, *setup)
    argv = [arg.format(w=workspace) for arg in args]
    before = everything(workspace)
    result = run_cli(*argv, cwd=workspace / "repo")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("shipcard: ") for line in lines), lines
    assert lines[0] == "shipcard: " + first_line.format(w=workspace)
    assert everything(workspace) == before


def test_render_check_into_a_fresh_directory_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.service.yaml").write_text(card("a", envs=("dev",), gitops={"repoURL": "https://git.example.com/x.git"}))
    before = everything(tmp_path)
    result = run_cli("render", "--check", str(tmp_path / "a.service.yaml"), "--out", str(tmp_path / "fresh" / "out"))
    assert result.exit_code == 1
    assert "apps/a/base/deployment.yaml: missing" in result.stdout.splitlines()
    assert everything(tmp_path) == before


@pytest.mark.parametrize("rel", [DEPLOYMENT, "argocd/dev/a.yaml", ".shipcard-state/a.yaml"])
def test_force_never_overwrites_a_file_without_shipcard_s_header(tmp_path: Path, rel: str) -> None:
    repo = make_repo(tmp_path, {A: card("a"), B: card("b")})
    assert render(repo)[0] == 0
    (repo / rel).write_text("# mine, no header\n")
    set_cards(repo, {A: card("a", replicas=3), B: card("b", replicas=3)})
    before = everything(repo)
    assert render(repo, "--force", "--all") == (
        2, "", f"shipcard: {repo / rel}: refusing to overwrite a file without shipcard's header (a file you own)\n")
    assert everything(repo) == before
