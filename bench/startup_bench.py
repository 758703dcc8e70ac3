"""Start-up of `shipcard check` on an empty repository, against the interpreter's own start-up.

    .venv/bin/python bench/startup_bench.py [--repeat 7]

Times, each as a child process in a fresh `git init` directory: the console script
`shipcard check .`, `python -m shipcard check .`, `shipcard --version`, and the floor
`python -c pass`. Prints the median of --repeat runs of each and its ratio to the floor
(all measured in this run). Target on the 2-core machine: `shipcard check .` <= 0.1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHIPCARD = Path(sys.executable).parent / "shipcard"
TARGET = 0.1


def median_seconds(command: list[str], cwd: Path, repeat: int) -> float:
    """Median wall time of `repeat` runs of `command` (one warm-up run first)."""
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipcard-startup-") as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", "."], cwd=repo, check=True)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "shipcard check .": [str(SHIPCARD), "check", "."],
            "python -m shipcard check .": [sys.executable, "-m", "shipcard", "check", "."],
            "shipcard --version": [str(SHIPCARD), "--version"],
        }
        figures = {name: median_seconds(cmd, repo, args.repeat) for name, cmd in commands.items()}
    floor = figures["python -c pass (floor)"]
    print(f"median of {args.repeat} runs each, empty git repository")
    for name, seconds in figures.items():
        print(f"  {name:<28} {seconds * 1000:7.1f} ms  {seconds / floor:5.2f}x floor")
    check = figures["shipcard check ."]
    print(f"target: shipcard check . <= {TARGET * 1000:.0f} ms: {'met' if check <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
