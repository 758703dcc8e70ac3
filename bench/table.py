"""Every figure of the fleet-scale table (issue 16), each against a floor or peer measured in the same run.

    .venv/bin/python bench/table.py [--cards 1000] [--runs 5] [--quick] [--json FILE]

One command for the whole table; the measurements are the other bench modules' functions:

* start-up: `shipcard check .` in an empty git directory vs `python -c pass` (startup_bench);
* the corpus (check_bench's 100 copies of the Online Boutique, 3,500 objects): the CPU time of
  `shipcard check` (warm schema cache) vs parsing the same files with PyYAML's CSafeLoader, its wall
  time vs `kubernetes-validate --strict`, and the memory per object held: the check's peak RSS minus
  the peak RSS of the check of the corpus's first file (the start-up: interpreter, every module, the
  schemas of the corpus's kinds, and that file's 35 objects), divided by the objects in between;
  its floor is the resident memory a process gains parsing the files with CSafeLoader and holding the
  documents (VmRSS after minus before), divided by the objects;
* render: a full `shipcard render` of --cards cards into an empty tree vs serialising the same
  objects with PyYAML's C emitter (render_bench), on the disk of the scratch directory (TMPDIR);
* the fleet (fleet_bench: --cards cards, Kustomize and helmfile, 3 environments each, every tenth
  Kustomize card with a `custom/` component): a whole-repository `shipcard check` (wall, peak RSS,
  kubectl/helm processes started, counted by shims `SHIPCARD_KUBECTL`/`SHIPCARD_HELM` point to) vs
  parsing the repository's YAML with CSafeLoader; `check --base HEAD` after one card changed (wall,
  objects checked from the JSON report); `check --shard K/4` for every K (slowest shard, sum of the
  four, and whether their findings together are the unsharded run's) vs the unsharded run.

Each measurement runs --runs times, each run next to its floor; the table gives medians, the
median of the per-run ratios, the issue's target and whether it is met. Peak RSS is wait4's: the
largest of the process and the descendants it waited for. The fleet's checks use the user's schema
cache (`SHIPCARD_CACHE_DIR`, else ~/.cache/shipcard), warm after the first; the corpus's its own,
warmed first, as check_bench does. `--quick` (50 cards, 10 corpus copies,
one run) is for development; it checks the machinery, not the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench
import fleet_bench
import render_bench
import startup_bench
from check_bench import Run, child_environment

SHARDS = 4
CORPUS_COPIES = 100


@dataclass
class Row:
    """One line of the table: a figure per run, the same run's floor or peer, and the issue's target."""

    what: str
    unit: str
    values: list[float]
    floor: str = ""  # the floor or peer's name; empty: no floor
    floors: list[float] | None = None
    target: str = ""
    met: bool | None = None
    command: str = ""
    note: str = ""  # what a reader needs to judge the row: why a target is missed, when the table knows
    median: float = 0.0
    floor_median: float | None = None
    ratio: float | None = None  # median of the per-run ratios value / floor

    def __post_init__(self) -> None:
        self.median = statistics.median(self.values)
        if self.floors is not None:
            self.floor_median = statistics.median(self.floors)
            self.ratio = statistics.median(v / f for v, f in zip(self.values, self.floors, strict=True))

    def judge(self, test: Callable[[Row], bool], target: str) -> Row:
        self.target, self.met = target, test(self)
        return self


def figure(value: float, unit: str) -> str:
    """`value` with its unit, to a precision the run-to-run noise allows."""
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    number = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"
    return f"{number} {unit}" if unit else number


def markdown(rows: Sequence[Row]) -> str:
    """The table, then each row's command."""
    lines = ["| what | median | floor/peer | ratio | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        floor = f"{row.floor} {figure(row.floor_median, row.unit)}" if row.floor_median is not None else "—"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.what} | {figure(row.median, row.unit)} | {floor} | {ratio} | {row.target or '—'} "
                     f"| {met} |")
    lines += ["", "Commands:"]
    lines += [f"- {row.what}: `{row.command}`" for row in rows if row.command]
    notes = [f"- {row.what}: {row.note}" for row in rows if row.note]
    return "\n".join([*lines, *(["", "Notes:", *notes] if notes else [])])


def note(text: str) -> None:
    """Progress on standard error (the table is standard output)."""
    print(text, file=sys.stderr, flush=True)


def ok(run: Run, what: str) -> Run:
    """`run`, if `shipcard check` finished (0: nothing to fail on, 1: findings); else exit with its error."""
    if run.returncode not in (0, 1):
        raise SystemExit(f"{what} exited {run.returncode}:\n{run.stderr.strip()[-2000:]}")
    return run


def report(run: Run) -> dict[str, Any]:
    """The JSON report a check printed."""
    return json.loads(run.stdout)


def filesystem(path: Path) -> str:
    """The type of the file system `path` is on (the longest mount point of /proc/mounts above it)."""
    best, kind = "", "unknown"
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        point = fields[1].replace("\\040", " ")
        if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


# --------------------------------------------------------------------------- measurements


def startup(runs: int) -> Row:
    """The start-up row."""
    with startup_bench.empty_repository() as repo:
        done = startup_bench.measure(repo, runs, (startup_bench.FLOOR, startup_bench.CHECK))
    return Row("start-up: `shipcard check .`, empty git directory", "s", [r.seconds for r in done[startup_bench.CHECK]],
               "`python -c pass`", [r.seconds for r in done[startup_bench.FLOOR]],
               command="shipcard check . | python -c pass").judge(lambda r: r.median <= startup_bench.TARGET,
                                                                   "≤ 0.1 s")


def corpus(scratch: Path, copies: int, runs: int) -> list[Row]:
    """The corpus rows: CPU vs the parse floor, wall vs kubernetes-validate, memory per object held."""
    directory = scratch / "corpus"
    files = check_bench.build_corpus(directory, copies)
    note(f"corpus: {len(files)} files, {runs} run(s) of shipcard check, the parse floor and kubernetes-validate")
    version = check_bench.kubernetes_version()
    env = {**child_environment(), "SHIPCARD_CACHE_DIR": str(scratch / "cache"), "NO_COLOR": "1"}
    ok(check_bench.shipcard_check(directory, env), "shipcard check of the corpus")  # fills the schema cache
    checks: list[Run] = []
    parse_cpu: list[float] = []
    peers: list[Run] = []
    held: list[float] = []
    held_floor: list[float] = []
    objects = first = 0
    for _ in range(runs):
        parse_cpu.append(check_bench.parse_floor(files)[1])
        checks.append(ok(check_bench.shipcard_check(directory, env, "--format", "json"), "shipcard check"))
        peers.append(check_bench.kubernetes_validate(files, version))
        one = ok(check_bench.shipcard_check(files[0], env, "--format", "json"), "shipcard check of one file")
        objects, first = report(checks[-1])["summary"]["objects"], report(one)["summary"]["objects"]
        held.append((checks[-1].peak_mb - one.peak_mb) * 1024 / (objects - first))
        held_floor.append(check_bench.parse_and_hold(files) / objects)
    label = f"`check` of the {objects:,}-object corpus"
    return [
        Row(f"{label}: CPU", "s", [r.cpu for r in checks], "CSafeLoader parse (CPU)", parse_cpu,
            command=f"python -m shipcard check CORPUS ({len(files)} files) | yaml.load_all(CSafeLoader) of each, "
                    "in-process").judge(lambda r: (r.ratio or 0) <= 1.5, "≤ 1.5x"),
        Row(f"{label}: wall, vs kubernetes-validate", "s", [r.seconds for r in checks],
            "`kubernetes-validate --strict`", [r.seconds for r in peers],
            command=f"kubernetes-validate --strict -k {version} CORPUS/*.yaml")
        .judge(lambda r: (r.ratio or 1) <= 1 / 15, "≥ 15x faster (≤ 0.07x)"),
        Row(f"memory per object held: (peak RSS of the corpus check − of its first file's) / {objects - first:,}",
            "KiB", held, "CSafeLoader documents held", held_floor,
            command="python -m shipcard check CORPUS, python -m shipcard check CORPUS/FIRST | python -c 'held = "
                    "[list(yaml.load_all(f, CSafeLoader)) ...]', VmRSS after − before")
        .judge(lambda r: r.median <= 8, "≤ 8 KiB"),
    ]


def render(scratch: Path, cards: int, runs: int) -> Row:
    """The full-render row: an empty tree rendered from `cards` cards, vs the C emitter of its objects."""
    repo = scratch / "render"
    repo.mkdir()
    (repo / "shipcard.yaml").write_text(render_bench.REPO_SETTINGS)
    render_bench.make_cards(repo / "services", cards)
    note(f"render: {runs} full render(s) of {cards} cards and the emitter floor")
    jobs = str(os.cpu_count() or 1)
    walls: list[float] = []
    floors: list[float] = []
    for _ in range(runs):
        walls.append(render_bench.run(render_bench.fresh(repo), "--jobs", jobs)[0])
        floors.append(render_bench.floor(repo)[0])
    shutil.rmtree(repo)
    return Row(f"full `render` of {cards:,} cards ({filesystem(scratch)})", "s", walls, "C emitter", floors,
               command=f"shipcard render --jobs {jobs}, empty tree | yaml.dump(CSafeDumper) of every generated "
                       "file's objects, in-process").judge(lambda r: (r.ratio or 0) <= 2, "≤ 2x")


def fleet(scratch: Path, cards: int, runs: int) -> tuple[list[Row], list[Row]]:
    """The rows of the rendered repository: whole check and `--base` after one card change; the shards'."""
    repo = scratch / "fleet"
    repo.mkdir()
    note(f"fleet: building and rendering {cards} cards")
    fleet_bench.build_fleet(repo, cards)
    fleet_bench.commit(repo)
    overlays, releases = fleet_bench.targets(repo)
    customs = len(list(repo.glob("apps/*/custom")))
    counter = fleet_bench.ToolCounter(scratch / "shims")
    tools = counter.env()
    source = fleet_bench.ROOT / "generator"
    floors: list[float] = []
    full: list[Run] = []
    started: list[float] = []
    pull: list[Run] = []
    pull_started: list[float] = []
    sharded: list[list[Run]] = []
    for number in range(runs):
        note(f"fleet: round {number + 1} of {runs}: parse floor, check, check --base, {SHARDS} shards")
        floors.append(fleet_bench.floor(repo))
        full.append(ok(fleet_bench.check(source, repo, None, env=tools), "check"))
        started.append(counter.take())
        with fleet_bench.one_card_changed(repo) as card:
            pull.append(ok(fleet_bench.check(source, repo, None, "--base", "HEAD", env=tools), "check --base"))
            pull_started.append(counter.take())
        sharded.append([ok(run, "check --shard") for run in fleet_bench.shards(source, repo, SHARDS, None, tools)])
        counter.take()
    objects = report(full[0])["summary"]["objects"]
    service = card.name.removesuffix(".service.yaml")
    label = f"`check` of {cards:,} cards ({overlays:,} overlays, {releases:,} releases, {customs} `custom/`)"
    pull_label = f"`check --base HEAD`, {card.name} changed"
    differences = [shard_difference(round_, unsharded) for round_, unsharded in zip(sharded, full, strict=True)]
    inputs = report(pull[0])["inputs"]
    fleet_rows = [
        Row(f"{label}: wall", "s", [r.seconds for r in full], "CSafeLoader parse", floors,
            command="python -m shipcard check --format json, in REPO | yaml.load_all(CSafeLoader) of REPO's *.yaml "
                    "but .shipcard/ and the chart's templates, in-process").judge(lambda r: r.median <= 20, "≤ 20 s"),
        Row(f"{label}: peak RSS", "MB", [r.peak_mb for r in full]).judge(lambda r: r.median <= 400, "≤ 400 MB"),
        Row(f"{label}: kubectl/helm processes", "", started, "overlays + releases",
            [float(overlays + releases)] * runs,
            command="SHIPCARD_KUBECTL and SHIPCARD_HELM set to shims that log each start"),
        Row(f"{label}: objects", "", [float(report(r)["summary"]["objects"]) for r in full]),
        Row(f"{pull_label}: wall", "s", [r.seconds for r in pull], "CSafeLoader parse", floors,
            command=f"python -m shipcard check --base HEAD --format json, services/{card.name} given an env "
                    "variable, not rendered").judge(lambda r: r.median <= 1, "≤ 1 s"),
        Row(f"{pull_label}: objects checked", "", [float(report(r)["summary"]["objects"]) for r in pull],
            "whole check", [float(objects)] * runs)
        .judge(lambda r: r.median > 0 and any(i.startswith(f"apps/{service}/") for i in inputs),
               "the changed service's output checked"),
        Row(f"{pull_label}: kubectl/helm processes", "", pull_started),
    ]
    rows = [
        Row(f"`check --shard K/{SHARDS}`: slowest shard", "s", [max(r.seconds for r in s) for s in sharded],
            "unsharded", [r.seconds for r in full],
            command=f"python -m shipcard check --shard K/{SHARDS} --format json, K = 1..{SHARDS} one after the other "
                    "| the round's unsharded check"),
        Row(f"`check --shard K/{SHARDS}`: sum of the {SHARDS} shards", "s",
            [sum(r.seconds for r in s) for s in sharded], "unsharded", [r.seconds for r in full])
        .judge(lambda r: not any(differences), "findings together = unsharded"),
    ]
    if any(differences):
        rows[-1].note = "; ".join(f"round {n}: {d}" for n, d in enumerate(differences, 1) if d)
    return fleet_rows, rows


def shard_difference(shards: list[Run], unsharded: Run) -> str:
    """How the shards' findings together differ from the unsharded run's (as multisets); empty if they do not."""
    together = Counter(f for run in shards for f in fleet_bench.findings(run))
    alone = Counter(fleet_bench.findings(unsharded))
    if together == alone:
        return ""

    def sample(findings: Counter[tuple[str, str, int, int, str]]) -> str:
        return ", ".join(f"{rule} {file}:{line}" for rule, file, line, _, _ in sorted(findings)[:3])

    missing, extra = alone - together, together - alone
    return (f"{sum(missing.values())} finding(s) of the unsharded run in no shard ({sample(missing) or 'none'}), "
            f"{sum(extra.values())} in the shards only ({sample(extra) or 'none'})")


def positive(text: str) -> int:
    """A whole number from 1 (argparse's type for --cards and --runs)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, not {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cards", type=positive, default=1000)
    parser.add_argument("--runs", type=positive, default=5)
    parser.add_argument("--quick", action="store_true", help="50 cards, 10 corpus copies, one run (development)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="Also write the rows and the machine as JSON.")
    args = parser.parse_args(argv)
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: no directory {args.json.parent}")
    cards, runs, copies = (50, 1, 10) if args.quick else (args.cards, args.runs, CORPUS_COPIES)
    # As pip does for an installed wheel (PYTHONDONTWRITEBYTECODE would compile the package in every run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(check_bench.ROOT / "generator")], check=True)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="shipcard-table-") as tmp:
        scratch = Path(tmp)
        fleet_rows, shard_rows = fleet(scratch, cards, runs)
        rows = [*fleet_rows, *corpus(scratch, copies, runs), render(scratch, cards, runs), startup(runs),
                *shard_rows]
        disk = filesystem(scratch)
    machine = {"cores": os.cpu_count(), "load_before": load[0], "load_after": os.getloadavg()[0],
               "filesystem": disk, "cards": cards, "runs": runs, "corpus_copies": copies}
    print(f"{cards} cards, {runs} run(s) each, {machine['cores']} cores, load average {load[0]:.2f} before and "
          f"{machine['load_after']:.2f} after, scratch in {tempfile.gettempdir()} ({disk})")
    print()
    print(markdown(rows))
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": machine, "rows": [asdict(row) for row in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
