"""bench/table.py: one command prints every row of issue 16's table, each against a floor or peer.

`--quick` (50 cards, 10 corpus copies, one run) exercises every measurement with the real kubectl,
helm and kubernetes-validate; the figures themselves are the benchmark's business, not the test's:
the test holds that every row is there, with numbers, and the table and the JSON agree.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "bench" / "table.py"
FLEET = "`check` of 50 cards (75 overlays, 75 releases, 3 `custom/`)"
PULL = "`check --base HEAD`, billing-api-0000.service.yaml changed"
# (what, has a floor or peer, has a target)
ROWS = [
    (re.escape(f"{FLEET}: wall"), True, True),
    (re.escape(f"{FLEET}: peak RSS"), False, True),
    (re.escape(f"{FLEET}: kubectl/helm processes"), True, False),
    (re.escape(f"{FLEET}: objects"), False, False),
    (re.escape(f"{PULL}: wall"), True, True),
    (re.escape(f"{PULL}: objects checked"), True, True),
    (re.escape(f"{PULL}: kubectl/helm processes"), False, False),
    (re.escape("`check` of the 350-object corpus: CPU"), True, True),
    (re.escape("`check` of the 350-object corpus: wall, vs kubernetes-validate"), True, True),
    (re.escape("memory per object held: (peak RSS of the corpus check − of its first file's) / 315"), True, True),
    (r"full `render` of 50 cards \([a-z0-9]+\)", True, True),
    (re.escape("start-up: `shipcard check .`, empty git directory"), True, True),
    (re.escape("`check --shard K/4`: slowest shard"), True, False),
    (re.escape("`check --shard K/4`: sum of the 4 shards"), True, True),
]


def finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
@pytest.mark.kubectl
@pytest.mark.helm
def test_quick_table_has_every_row_with_figures(tmp_path: Path) -> None:
    out = tmp_path / "table.json"
    done = subprocess.run([sys.executable, str(TABLE), "--quick", "--json", str(out)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text())
    assert document["machine"]["cards"] == 50 and document["machine"]["runs"] == 1
    rows = document["rows"]
    assert len(rows) == len(ROWS)
    for row, (what, floored, targeted) in zip(rows, ROWS, strict=True):
        assert re.fullmatch(what, row["what"]), row["what"]
        assert len(row["values"]) == 1 and finite(row["median"]) and row["median"] >= 0, row
        if floored:
            assert finite(row["floor_median"]) and row["floor_median"] > 0 and finite(row["ratio"]), row
            assert row["floor"], row
        else:
            assert row["floor_median"] is None and row["ratio"] is None, row
        assert isinstance(row["met"], bool) if targeted else row["met"] is None, row
        assert bool(row["target"]) is targeted, row
    # the shards' findings together are the unsharded run's; the changed card's output is checked
    assert rows[-1]["met"] is True and rows[5]["met"] is True
    # the Markdown table: a header, a rule, one line per row with six cells, then the commands
    lines = done.stdout.splitlines()
    start = lines.index("| what | median | floor/peer | ratio | target | met |")
    table = lines[start + 2:start + 2 + len(rows)]
    for line, row in zip(table, rows, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert len(cells) == 6 and cells[0] == row["what"], line
        assert re.match(r"[0-9][0-9,.]*( |$)", cells[1]), line
    assert lines[start + 2 + len(rows):start + 4 + len(rows)] == ["", "Commands:"]


@pytest.mark.parametrize("args", [["--cards", "0"], ["--runs", "-1"], ["--runs", "x"]])
def test_counts_below_one_are_usage_errors(args: list[str]) -> None:
    done = subprocess.run([sys.executable, str(TABLE), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == (f"table.py: error: argument {args[0]}: expected a whole number "
                                            f"from 1, not {args[1]!r}")


def test_json_into_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "table.json"
    done = subprocess.run([sys.executable, str(TABLE), "--quick", "--json", str(missing)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "" and not missing.parent.exists()
    assert done.stderr.splitlines()[-1] == f"table.py: error: --json {missing}: no directory {missing.parent}"


def test_shard_difference_counts_findings_as_a_multiset() -> None:
    sys.path.insert(0, str(TABLE.parent))
    try:
        import table
        from check_bench import Run
    finally:
        sys.path.remove(str(TABLE.parent))

    def run(*findings: tuple[str, str, int]) -> Run:
        rows = [{"rule": r, "file": f, "line": n, "column": 1, "message": "m"} for r, f, n in findings]
        return Run(1.0, 1.0, 1, json.dumps({"findings": rows}), "")

    one, two = ("no-limits", "apps/a/base/deployment.yaml", 3), ("duplicate-object", "charts/service/Chart.yaml", 1)
    assert table.shard_difference([run(one), run(two)], run(two, one)) == ""
    assert table.shard_difference([run(one, two), run(two)], run(one, two)) == (
        "0 finding(s) of the unsharded run in no shard (none), 1 in the shards only "
        "(duplicate-object charts/service/Chart.yaml:1)")
    assert table.shard_difference([run(), run()], run(one)) == (
        "1 finding(s) of the unsharded run in no shard (no-limits apps/a/base/deployment.yaml:3), "
        "0 in the shards only (none)")
