"""Start-up of `shipcard check` on an empty repository, against the interpreter's own start-up.

    .venv/bin/python bench/startup_bench.py [--repeat 7]

Times, each as a child process in a fresh `git init` directory: the console script
`shipcard check .`, `python -m shipcard check .`, `shipcard --version`, and the floor
`python -c pass`. Prints the median of --repeat runs of each and its ratio to the floor
(all measured in this run, the commands interleaved in each round). Target on the 2-core
machine: `shipcard check .` <= 0.1 s.
"""

from __future__ import annotations

import argparse
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
    with empty_repository() as repo:
        runs = measure(repo, args.repeat)
    figures = {name: statistics.median(run.seconds for run in done) for name, done in runs.items()}
    floor = figures[FLOOR]
    print(f"median of {args.repeat} runs each, empty git repository")
    for name, seconds in figures.items():
        print(f"  {name:<28} {seconds * 1000:7.1f} ms  {seconds / floor:5.2f}x floor")
    check = figures[CHECK]
    print(f"target: shipcard check . <= {TARGET * 1000:.0f} ms: {'met' if check <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
