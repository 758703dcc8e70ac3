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
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHIPCARD = Path(sys.executable).parent / "shipcard"
TARGET = 0.1


def median_seconds(command: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of `repeat` runs of `command` (one warm-up run first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="shipcard-startup-") as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", "."], cwd=repo, check=True)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "shipcard check .": [str(SHIPCARD), "check", "."],
            "python -m shipcard check .": [sys.executable, "-m", "shipcard", "check", "."],
            "shipcard --version": [str(SHIPCARD), "--version"],
            "shipcard render --help": [str(SHIPCARD), "render", "--help"],
        }
        figures = {name: median_seconds(cmd, repo, args.repeat) for name, cmd in commands.items()}
    wall_floor, cpu_floor = figures["python -c pass (floor)"]
    print(f"median of {args.repeat} runs each, empty git repository; load average {load[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print(f"  {'':<28} {'wall ms':>8} {'x floor':>8} {'cpu ms':>8} {'x floor':>8}")
    for name, (wall, cpu) in figures.items():
        print(f"  {name:<28} {wall * 1000:8.1f} {wall / wall_floor:8.2f} {cpu * 1000:8.1f} {cpu / cpu_floor:8.2f}")
    check = figures["shipcard check ."][0]
    print(f"target: shipcard check . <= {TARGET * 1000:.0f} ms: {'met' if check <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
