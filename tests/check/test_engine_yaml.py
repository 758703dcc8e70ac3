"""Issue 3, engine layer 1: malformed YAML, duplicate keys, alias bombs, deep nesting and oversized or
unreadable files are findings with file:line, never a crash, and never exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.yamlio.read import MAX_FILE_BYTES, load_documents

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: fast\n"


def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *paths: str):
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=list(paths)))


def shipcard(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipcard", "check", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


def yaml_findings(result):
    return [f for f in result.findings if f.rule == "yaml-invalid"]


def test_syntax_error_has_file_line_and_column(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n")
    result = check(tmp_path, monkeypatch, "broken.yaml")
    [finding] = yaml_findings(result)
    assert (finding.file, finding.line) == ("broken.yaml", 4)
    assert finding.severity == "error"
    assert result.exit_code == 1


def test_duplicate_key_points_at_the_second_key(tmp_path, monkeypatch):
    (tmp_path / "dup.yaml").write_text(CONFIGMAP + "  mode: slow\n")
    result = check(tmp_path, monkeypatch, "dup.yaml")
    [finding] = yaml_findings(result)
    assert (finding.line, finding.column) == (7, 3)
    assert "mode" in finding.message and "duplicate key" in finding.message
    assert result.exit_code == 1


def test_alias_bomb_is_refused(tmp_path, monkeypatch):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    result = check(tmp_path, monkeypatch, "bomb.yaml")
    [finding] = yaml_findings(result)
    assert "alias bomb" in finding.message and finding.line > 0
    assert result.exit_code == 1


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "- " * 100_000 + "x\n", "[" * 300 + "]" * 300])
def test_absurd_nesting_is_a_finding_not_a_crash(tmp_path, text):
    (tmp_path / "deep.yaml").write_text(text)
    done = shipcard("deep.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "yaml-invalid" in done.stdout and "nesting deeper" in done.stdout


def test_oversized_file_is_a_finding(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text(CONFIGMAP + "# " + "x" * (MAX_FILE_BYTES + 10) + "\n")
    result = check(tmp_path, monkeypatch, "big.yaml")
    [finding] = yaml_findings(result)
    assert finding.file == "big.yaml" and "more than" in finding.message
    assert result.exit_code == 1


def test_non_utf8_file_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "latin1.yaml").write_bytes(CONFIGMAP.encode() + b"  name: caf\xe9\n")
    result = check(tmp_path, monkeypatch, "latin1.yaml")
    [finding] = yaml_findings(result)
    assert finding.line == 7 and "UTF-8" in finding.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_exits_2(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text(CONFIGMAP)
    secret.chmod(0)
    done = shipcard("secret.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "input-unreadable" in done.stdout


def test_unreadable_directory_entry_exits_2(tmp_path):
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "missing-target.yaml")
    done = shipcard("dangling.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr


def test_objects_before_a_syntax_error_are_still_checked(tmp_path, monkeypatch):
    (tmp_path / "mixed.yaml").write_text(CONFIGMAP.replace("\ndata:", "\ndta:") + "---\nkind: [\n")
    result = check(tmp_path, monkeypatch, "mixed.yaml")
    rules = {f.rule for f in result.findings}
    assert {"yaml-invalid", "schema"} <= rules


def test_non_manifest_yaml_in_a_walked_directory_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "app.yaml").write_text(CONFIGMAP)
    (tmp_path / "mkdocs.yml").write_text("site_name: docs\nnav: [index.md]\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    result = check(tmp_path, monkeypatch, ".")
    assert result.files == ["app.yaml"]
    assert ("mkdocs.yml", "no Kubernetes objects (no apiVersion and kind)") in result.skipped
    assert ("notes.txt", "not a manifest file") in result.skipped


def test_verbose_lists_skipped_files(tmp_path):
    (tmp_path / "app.yaml").write_text(CONFIGMAP)
    (tmp_path / "README.md").write_text("# hi\n")
    done = shipcard(".", "--verbose", cwd=tmp_path)
    assert "skipped README.md: not a manifest file" in done.stderr


def test_stdin_is_read_with_dash(tmp_path):
    done = shipcard("-", "--format", "json", cwd=tmp_path, stdin=CONFIGMAP.replace("\ndata:", "\ndta:"))
    assert done.returncode == 1
    assert '"file": "<stdin>"' in done.stdout and '"line": 5' in done.stdout


def test_yaml_fast_paths_build_the_same_data_as_pyyaml():
    import yaml
    samples = [
        Path(__file__).resolve().parents[3].joinpath("shared", "corpus", "online-boutique.yaml"),
    ]
    texts = [p.read_text() for p in samples if p.is_file()] + [
        "a: 0x1F\nb: 1_000\nc: 2001-12-14t21:59:43.10-05:00\nd: .inf\ne: ~\nf: 'q'\ng: \"1\"\nh: [1, {i: j}]\n",
        "a: !!set {x, y}\n", "m: {<<: {a: 1}, b: 2}\n", "1: one\n3.5: f\nnull: n\n", "a: &x [1]\nb: *x\n",
    ]
    for text in texts:
        expected = [d for d in yaml.load_all(text, Loader=yaml.SafeLoader)]
        assert [d.data for d in load_documents(text, "x")] == expected
