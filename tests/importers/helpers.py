"""Helpers of the `shipcard import` tests: a repository made by the real `shipcard init`, the sources
beside it (as a user keeps them, outside the repository), and the render → build → check round."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import Result

from shipcard.yamlio.read import load_plain_all
from tests.conftest import run_cli
from tests.lifecycle.helpers import init_repository, snapshot

FIXTURES = Path(__file__).parent / "fixtures"
# ../shared/corpus beside the checkout (a worktree lies deeper: the nearest one above it).
CORPUS = next((p / "shared" / "corpus" for p in Path(__file__).resolve().parents if (p / "shared" / "corpus").is_dir()),
              Path("/nonexistent"))


def setup(tmp_path: Path, *sources: Path) -> Path:
    """An initialised repository `gitops/` (no git) and the sources copied to `legacy/` beside it."""
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for source in sources:
        shutil.copy(source, legacy / source.name)
    return init_repository(tmp_path / "gitops", "--no-git")


def shipcard_import(repo: Path, *args: str, code: int = 0) -> Result:
    result = run_cli("import", *args, cwd=repo)
    assert result.exit_code == code, result.output
    return result


def render_build_check(repo: Path, kubectl: str) -> tuple[dict[str, list[dict[str, Any]]], Counter[tuple[str, str]]]:
    """Render the repository, build every overlay with the real kubectl and check it all.

    Returns the objects of each overlay (`apps/<name>/overlays/<env>` → objects) and the findings
    counted by (severity, rule); an error finding fails the test.
    """
    rendered = run_cli("render", cwd=repo)
    assert rendered.exit_code == 0, rendered.output
    built = {}
    for overlay in sorted((repo / "apps").glob("*/overlays/*")):
        done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        built[overlay.relative_to(repo).as_posix()] = load_plain_all(done.stdout)
    checked = run_cli("check", "--format", "json", ".", cwd=repo)
    findings = json.loads(checked.stdout)["findings"]
    errors = [f"{f['file']}:{f['line']}: {f['rule']}: {f['message']}" for f in findings if f["severity"] == "error"]
    assert errors == []
    assert checked.exit_code == 0, checked.output
    return built, Counter((f["severity"], f["rule"]) for f in findings)


def written(repo: Path) -> dict[str, bytes]:
    """Every file of the repository but git's and shipcard's state (what an import may have written)."""
    return snapshot(repo)


def every_output(result: Result, repo: Path, *reports: Path) -> str:
    """All an import said and wrote: its output, the repository's files, the reports."""
    files = b"".join(written(repo).values()).decode("utf-8", "replace")
    return result.output + files + "".join(r.read_text() for r in reports if r.exists())
