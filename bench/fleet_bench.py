"""Benchmark of a whole-repository `shipcard check` of a rendered fleet, against a YAML parsing floor.

    .venv/bin/python bench/fleet_bench.py [--cards 1000] [--runs 5] [--jobs N] [--before DIR] [--keep DIR]

Builds a repository of N cards (bench/render_bench.py's cards: the users' examples renamed and
varied, three environments each; two of the four examples are in the helmfile format), every tenth
Kustomize one with a user's component in `custom/` (a ConfigMap), and renders it. Then, --runs times each
and interleaved, times `shipcard check` of the repository as a child process (start-up included,
as for a user) with the package of this checkout and, with --before DIR, the package in DIR's
`generator/` (e.g. a worktree of an older commit); in the same round it measures the floor:
parsing every YAML file the check reads (cards, trees, Applications, the vendored chart's YAML)
with PyYAML's CSafeLoader, in this process. Prints the median wall time and peak RSS of each (the
peak is wait4's: the largest of shipcard and the kubectl/helm processes it waited for), the
median ratio to the floor of the same round, and whether both packages report the same findings
(rule, file, line, column, message) as JSON. Last, the pull-request row: the repository committed in
git (once), one card changed (a variable added to its env, `render` not run), and `shipcard check
--base HEAD` timed the same way (target: at most 1 s, the changed card's output checked).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import Run, child_environment, parse_floor, run_child
from render_bench import REPO_SETTINGS, ROOT, make_cards

from shipcard.tools import HELM_ENV, KUBECTL_ENV, find_tool

COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- extra.yaml\n"
EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-extra\ndata:\n  mode: fast\n"


def build_fleet(repo: Path, count: int) -> None:
    """The repository: settings, `count` cards (in their examples' formats), rendered, every tenth with a custom/."""
    (repo / "shipcard.yaml").write_text(REPO_SETTINGS)
    make_cards(repo / "services", count)
    cards = sorted((repo / "services").glob("*.service.yaml"))
    render(repo)
    for number, card in enumerate(cards):
        tree = repo / "apps" / card.name.removesuffix(".service.yaml")
        if number % 10 == 0 and (tree / "overlays").is_dir():
            custom = tree / "custom"
            custom.mkdir()
            (custom / "kustomization.yaml").write_text(COMPONENT)
            (custom / "extra.yaml").write_text(EXTRA.format(name=tree.name))
    render(repo)


def render(repo: Path) -> None:
    """`shipcard render` of this checkout's package."""
    done = subprocess.run([sys.executable, "-m", "shipcard", "render"], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "generator")})
    if done.returncode != 0:
        raise SystemExit(f"shipcard render exited {done.returncode}:\n{done.stdout}{done.stderr}")


def floor(repo: Path) -> float:
    """Seconds to parse the YAML files a whole-repository check reads with PyYAML's C loader."""
    return parse_floor([path for path in sorted(repo.rglob("*.yaml"))
                        if ".shipcard" not in path.parts and "templates" not in path.parts])[0]


def check(source_root: Path, repo: Path, jobs: int | None, *extra: str, env: dict[str, str] | None = None) -> Run:
    """`shipcard check --format json EXTRA` of `repo` with the package under `source_root`, as a child process."""
    env = {**child_environment(), **(env or {}), "PYTHONPATH": str(source_root)}
    argv = [sys.executable, "-m", "shipcard", "check", "--format", "json", *extra]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    return run_child(argv, env=env, cwd=repo)


class ToolCounter:
    """kubectl and helm behind shims that log each start: `env()` points `check` at them, `take()` counts."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "starts.log"
        self.shims: dict[str, str] = {}
        for name, variable in (("kubectl", KUBECTL_ENV), ("helm", HELM_ENV)):
            real = find_tool(name, variable)
            if real is None:
                raise SystemExit(f"{name} not found: run `make setup`")
            shim = directory / name
            shim.write_text(f"#!/bin/sh\nprintf '%s\\n' {name} >> {shlex.quote(str(self.log))}\n"
                            f"exec {shlex.quote(str(Path(real).resolve()))} \"$@\"\n")
            shim.chmod(0o755)
            self.shims[variable] = str(shim)

    def env(self) -> dict[str, str]:
        return dict(self.shims)

    def take(self) -> int:
        """Processes started since the last call."""
        count = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        self.log.unlink(missing_ok=True)
        return count


def targets(repo: Path) -> tuple[int, int]:
    """The Kustomize overlays and helmfile releases (a kubectl or helm process each, rendered naively)."""
    overlays = len(list(repo.glob("apps/*/overlays/*")))
    releases = len([v for v in repo.glob("apps/*/values/*.yaml") if v.name != "common.yaml"])
    return overlays, releases


def commit(repo: Path) -> None:
    """The repository committed in git, once: what `--base HEAD` compares with."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    if not (repo / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
        subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "fleet"], cwd=repo, check=True)


@contextmanager
def one_card_changed(repo: Path) -> Iterator[Path]:
    """The repository committed, its first card given one more env variable (`render` not run) for the
    duration; yields the card."""
    commit(repo)
    card = sorted((repo / "services").glob("*.service.yaml"))[0]
    text = card.read_text()
    card.write_text(text.replace("\nenv:\n", "\nenv:\n  BENCH_CHANGED: \"1\"\n", 1))
    try:
        yield card
    finally:
        card.write_text(text)


def shards(source_root: Path, repo: Path, total: int, jobs: int | None,
           env: dict[str, str] | None = None) -> list[Run]:
    """`shipcard check --shard K/TOTAL` for every K, one after the other (as N CI runners would, in parallel)."""
    return [check(source_root, repo, jobs, "--shard", f"{index}/{total}", env=env) for index in range(1, total + 1)]


def pull_request(repo: Path, packages: dict[str, Path], runs: int, jobs: int | None) -> None:
    """The `check --base HEAD` row: one card changed in the committed repository, restored afterwards."""
    with one_card_changed(repo) as card:
        times: dict[str, list[Run]] = {name: [] for name in packages}
        for _ in range(runs):
            for name, source in packages.items():
                times[name].append(check(source, repo, jobs if name == "after" else None, "--base", "HEAD"))
        for name, done in times.items():
            seconds = ", ".join(f"{r.seconds:.1f}" for r in done)
            print(f"  --base HEAD, {card.name} changed: {name:<6} median "
                  f"{statistics.median(r.seconds for r in done):6.2f} s (runs {seconds}), "
                  f"{json.loads(done[0].stdout)['summary']['objects']} objects checked")


def findings(run: Run) -> list[tuple[str, str, int, int, str]]:
    data = json.loads(run.stdout)
    return [(f["rule"], f["file"], f["line"], f["column"], f["message"]) for f in data["findings"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None, help="`check --jobs` of this checkout (default: none given)")
    parser.add_argument("--before", type=Path, help="A checkout whose generator/ is the package to compare with.")
    parser.add_argument("--keep", type=Path, help="Build the repository here and keep it.")
    args = parser.parse_args()
    repo = args.keep or Path(tempfile.mkdtemp(prefix="shipcard-fleet-bench-"))
    try:
        if not (repo / "services").is_dir():
            repo.mkdir(parents=True, exist_ok=True)
            build_fleet(repo, args.cards)
        packages = {"after": ROOT / "generator"}
        if args.before is not None:
            packages = {"before": args.before.resolve() / "generator", **packages}
        for source in packages.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(source)], check=True)
        overlays, releases = targets(repo)
        print(f"{args.cards} cards: {overlays} overlays, {releases} helmfile releases, in {repo}; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        runs: dict[str, list[Run]] = {name: [] for name in packages}
        ratios: dict[str, list[float]] = {name: [] for name in packages}
        floors = []
        for _ in range(args.runs):
            floor_seconds = floor(repo)
            floors.append(floor_seconds)
            for name, source in packages.items():
                run = check(source, repo, args.jobs if name == "after" else None)
                if run.returncode not in (0, 1):
                    raise SystemExit(f"{name}: check exited {run.returncode}:\n{run.stderr[-2000:]}")
                runs[name].append(run)
                ratios[name].append(run.seconds / floor_seconds)
        print(f"  floor (CSafeLoader parse) median {statistics.median(floors):.2f} s")
        for name, done in runs.items():
            print(f"  {name:<6} median {statistics.median(r.seconds for r in done):6.2f} s "
                  f"(runs {', '.join(f'{r.seconds:.1f}' for r in done)}), "
                  f"peak RSS median {statistics.median(r.peak_mb for r in done):.0f} MB, "
                  f"{statistics.median(ratios[name]):.1f}x the floor; {len(findings(done[0]))} findings")
        if "before" in runs:
            same = findings(runs["before"][0]) == findings(runs["after"][0])
            print(f"  findings (rule, file, line, column, message) identical before/after: {same}")
        pull_request(repo, packages, args.runs, args.jobs)
    finally:
        if args.keep is None:
            shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    main()
