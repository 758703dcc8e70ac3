"""Start-up of `shipcard check` on an empty repository, against the interpreter's own start-up.

    .venv/bin/python bench/startup_bench.py [--repeat 7]

Times, each as a child process in a fresh `git init` directory: the console script
`shipcard check .`, `python -m shipcard check .`, `shipcard --version`, `shipcard render --help`
and the floor `python -c pass`. Prints the median of --repeat runs of each, wall time and CPU time
(user + system: what another process's load changes least), each with its ratio to the floor (all
measured in this run), and the load average before and after. The children run with bytecode
caches, as an installed package has them: PYTHONDONTWRITEBYTECODE is dropped from their
environment, so the warm-up run writes what is missing. Target on the 2-core machine:
`shipcard check .` <= 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import Run, run_child

SHIPCARD = Path(sys.executable).parent / "shipcard"
TARGET = 0.1
FLOOR = "python -c pass (floor)"
CHECK = "shipcard check ."
COMMANDS = {
    FLOOR: [sys.executable, "-c", "pass"],
    CHECK: [str(SHIPCARD), "check", "."],
    "python -m shipcard check .": [sys.executable, "-m", "shipcard", "check", "."],
    "shipcard --version": [str(SHIPCARD), "--version"],
    "shipcard render --help": [str(SHIPCARD), "render", "--help"],
}


@contextmanager
def empty_repository() -> Iterator[Path]:
    """A fresh `git init` directory with nothing else in it."""
    with tempfile.TemporaryDirectory(prefix="shipcard-startup-") as tmp:
        subprocess.run(["git", "init", "-q", "."], cwd=tmp, check=True)
        yield Path(tmp)


def measure(repo: Path, repeat: int, names: tuple[str, ...] = tuple(COMMANDS)) -> dict[str, list[Run]]:
    """`repeat` runs of each named command in `repo`, interleaved round by round, after one warm-up run each."""
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for round_ in range(repeat + 1):
        for name in names:
            run = run_child(COMMANDS[name], cwd=repo)
            if run.returncode != 0:
                raise SystemExit(f"{name} exited {run.returncode}: {run.stderr.strip()[-300:]}")
            if round_:
                runs[name].append(run)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    load = os.getloadavg()
    with empty_repository() as repo:
        runs = measure(repo, args.repeat)
    figures = {name: (statistics.median(r.seconds for r in done), statistics.median(r.cpu for r in done))
               for name, done in runs.items()}
    wall_floor, cpu_floor = figures[FLOOR]
    print(f"median of {args.repeat} runs each, interleaved, empty git repository; load average {load[0]:.2f} "
          f"before, {os.getloadavg()[0]:.2f} after")
    print(f"  {'':<28} {'wall ms':>8} {'x floor':>8} {'cpu ms':>8} {'x floor':>8}")
    for name, (wall, cpu) in figures.items():
        print(f"  {name:<28} {wall * 1000:8.1f} {wall / wall_floor:8.2f} {cpu * 1000:8.1f} {cpu / cpu_floor:8.2f}")
    check = figures[CHECK][0]
    print(f"target: shipcard check . <= {TARGET * 1000:.0f} ms: {'met' if check <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
