"""Issue 3, output and exit codes: text, json, sarif 2.1.0, junit, github annotations; several formats at
once; 0 / 1 / 2."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, run_check
from shipcard.check.report import parse_formats, render
from shipcard.errors import ShipcardError

CLEAN = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app.kubernetes.io/name: shop}
data:
  LOG_LEVEL: info
"""
BROKEN = CLEAN.replace("\ndata:", "\ndta:").replace("name: settings", "name: flags")


def shipcard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipcard", "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "clean.yaml").write_text(CLEAN)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    (tmp_path / "bad.yml").write_text("a: [\n")
    return tmp_path


@pytest.fixture
def result(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    return run_check(CheckOptions(paths=["."]))


def check_sarif_structure(document: dict) -> None:
    """The parts of SARIF 2.1.0 that GitHub code scanning reads, checked by hand."""
    assert document["version"] == "2.1.0" and "sarif-2.1.0" in document["$schema"]
    [run] = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "shipcard" and driver["rules"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning",
                                                                                               "note")
    for item in run["results"]:
        assert item["level"] in ("error", "warning", "note", "none")
        assert item["message"]["text"]
        assert driver["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
        for location in item["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            if "region" in physical:
                assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
        related = item.get("relatedLocations", [])
        assert len({r["id"] for r in related}) == len(related) and all(isinstance(r["id"], int) for r in related)
        for location in related:  # GitHub links those the message embeds as [text](id)
            assert f"]({location['id']})" in item["message"]["text"] and location["message"]["text"]
            assert location["physicalLocation"]["artifactLocation"]["uri"]
        for suppression in item.get("suppressions", []):
            assert suppression["kind"] in ("inSource", "external") and suppression["justification"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file://")


def test_sarif_is_a_valid_document_with_regions_and_rule_metadata(result):
    document = json.loads(render("sarif", result))
    check_sarif_structure(document)
    schema_results = [r for r in document["runs"][0]["results"] if r["ruleId"] == "schema"]
    [location] = schema_results[0]["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "broken.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["physicalLocation"]["region"] == {"startLine": 7, "startColumn": 1}
    rules = {r["id"]: r for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["schema"]["fullDescription"]["text"] and rules["schema"]["help"]["text"]


def test_junit_parses_as_xml_and_counts_failures(result):
    root = ET.fromstring(render("junit", result))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"bad.yml", "broken.yaml", "clean.yaml"}
    assert suites["clean.yaml"].get("failures") == "0"
    assert int(suites["broken.yaml"].get("failures")) >= 1
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites.values())
    failure = suites["bad.yml"].find("testcase/failure")
    assert failure is not None and failure.get("type") == "yaml-invalid"


def test_json_lists_every_finding_with_location(result):
    document = json.loads(render("json", result))
    assert document["exitCode"] == 1 and document["summary"]["error"] >= 2
    schema = [f for f in document["findings"] if f["rule"] == "schema"]
    assert schema[0]["file"] == "broken.yaml" and schema[0]["line"] == 7 and schema[0]["object"]


def test_github_annotations(result):
    lines = render("github", result).splitlines()
    assert ("::error file=broken.yaml,line=7,col=1,title=schema::dta: unknown field (did you mean 'data'?) "
            "[ConfigMap/shop/flags]") in lines
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_github_escapes_newlines_and_commas():
    from shipcard.check.report import _escape_data, _escape_property
    assert _escape_data("a\nb%") == "a%0Ab%25"
    assert _escape_property("a,b:c") == "a%2Cb%3Ac"


def test_text_groups_by_file_with_line_and_column(result):
    text = render("text", result)
    assert "broken.yaml\n  broken.yaml:7:1: error   schema: dta: unknown field" in text
    assert text.index("bad.yml") < text.index("broken.yaml")
    assert "FAIL" not in text  # the summary goes to standard error


def test_summary_is_one_line_on_stderr_whatever_the_formats(repo):
    to_file = shipcard(".", "--format", "json=out.json", cwd=repo)
    assert (to_file.returncode, to_file.stdout) == (1, "")
    assert json.loads((repo / "out.json").read_text())["exitCode"] == 1
    assert re.fullmatch(r"FAIL: 2 errors in 2 objects from 3 inputs, Kubernetes 1\.\d+ \(fail-on error\)\n",
                        to_file.stderr), to_file.stderr
    on_stdout = shipcard(".", "--format", "json", cwd=repo)
    assert json.loads(on_stdout.stdout)["exitCode"] == 1 and on_stdout.stderr == to_file.stderr
    text = shipcard(".", cwd=repo)
    assert text.stderr == to_file.stderr and "FAIL" not in text.stdout
    assert shipcard("clean.yaml", cwd=repo).stderr.startswith("ok: no findings in 1 object from 1 input, ")


def test_several_formats_at_once(repo):
    done = shipcard(".", "--format", "text", "--format", "sarif=out/results.sarif", "--format", "junit=junit.xml",
                    cwd=repo)
    assert done.returncode == 1
    assert "broken.yaml:7:1" in done.stdout
    check_sarif_structure(json.loads((repo / "out" / "results.sarif").read_text()))
    ET.fromstring((repo / "junit.xml").read_text())


def test_format_specs():
    assert [(s.format, s.path) for s in parse_formats(["text", "sarif=r.sarif"])] == [("text", None),
                                                                                      ("sarif", Path("r.sarif"))]
    with pytest.raises(ShipcardError):
        parse_formats(["yaml"])
    with pytest.raises(ShipcardError):
        parse_formats(["json", "sarif"])


# ------------------------------------------------------------------ exit codes


def test_exit_0_when_nothing_reaches_fail_on(tmp_path):
    (tmp_path / "clean.yaml").write_text(CLEAN)
    assert shipcard("clean.yaml", cwd=tmp_path).returncode == 0


def test_exit_1_on_an_error_finding(tmp_path):
    (tmp_path / "broken.yaml").write_text(BROKEN)
    assert shipcard("broken.yaml", cwd=tmp_path).returncode == 1


def test_fail_on_warning_and_info(tmp_path):
    (tmp_path / "w.yaml").write_text(CLEAN.replace("apiVersion: v1\nkind: ConfigMap",
                                                   "apiVersion: example.com/v1\nkind: Widget"))
    assert shipcard("w.yaml", cwd=tmp_path).returncode == 0
    assert shipcard("w.yaml", "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_exit_2_on_usage_errors(tmp_path):
    (tmp_path / "clean.yaml").write_text(CLEAN)
    assert shipcard("missing.yaml", cwd=tmp_path).returncode == 2
    assert shipcard("clean.yaml", "--fail-on", "sometimes", cwd=tmp_path).returncode == 2
    assert shipcard("clean.yaml", "--format", "yaml", cwd=tmp_path).returncode == 2
    assert shipcard("clean.yaml", "--kubernetes-version", "1.99", cwd=tmp_path).returncode == 2
    assert shipcard("clean.yaml", "--kubernetes-version", "latest", cwd=tmp_path).returncode == 2


def test_malformed_yaml_is_never_0(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: b: c\n")
    for fail_on in ("error", "warning", "info"):
        assert shipcard("bad.yaml", "--fail-on", fail_on, cwd=tmp_path).returncode == 1


def test_rules_command_lists_and_documents(tmp_path):
    listing = subprocess.run([sys.executable, "-m", "shipcard", "rules", "--format", "json"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    rules = {r["id"]: r for r in json.loads(listing.stdout)}
    assert {"schema", "unknown-kind", "deprecated-api", "removed-api", "yaml-invalid",
            "suppression-without-reason"} <= set(rules)
    assert len(rules) >= 40
    doc = subprocess.run([sys.executable, "-m", "shipcard", "rules", "removed-api"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert "PASS example 1" in doc.stdout and "FAIL example 1" in doc.stdout and "batch/v1beta1" in doc.stdout
    missing = subprocess.run([sys.executable, "-m", "shipcard", "rules", "no-such-rule"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2


def test_corpus_findings_have_lines_and_valid_sarif_and_junit(tmp_path):
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "online-boutique.yaml"
    if not corpus.is_file():
        pytest.skip("../shared/corpus is not there")
    done = shipcard(str(corpus), "--format", "json", "--format", f"sarif={tmp_path / 'r.sarif'}",
                    "--format", f"junit={tmp_path / 'r.xml'}", cwd=tmp_path)
    findings = json.loads(done.stdout)["findings"]
    unpinned = [f for f in findings if f["rule"] == "image-not-pinned"]
    assert len(unpinned) >= 11 and all(f["line"] > 0 and f["container"] for f in unpinned)
    assert not [f for f in findings if f["rule"] in ("schema", "yaml-invalid", "unknown-kind")]
    check_sarif_structure(json.loads((tmp_path / "r.sarif").read_text()))
    assert ET.fromstring((tmp_path / "r.xml").read_text()).get("failures") != "0"


def test_progress_is_shown_on_a_terminal_and_never_when_stderr_is_piped(repo):
    """A real pseudo-terminal on stderr: rich's progress appears there (and is cleared), stdout stays the report."""
    master, slave = pty.openpty()
    environment = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", ".", "--format", "json"], cwd=repo,
                          stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120, env=environment)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert json.loads(done.stdout)["exitCode"] == 1
    assert b" shipcard check: planning " in shown  # then erased: the summary is the one line left
    assert re.search(rb"\x1b\[2K\x1b\[31m\x1b\[1mFAIL\x1b\[0m: 2 errors in 2 objects from 3 inputs, Kubernetes "
                     rb"1\.\d+ \(fail-on error\)\r\n\Z", shown), shown[-200:]
    piped = shipcard(".", "--format", "json", cwd=repo)
    assert piped.stderr.startswith("FAIL: ") and piped.stderr.count("\n") == 1 and "\x1b" not in piped.stderr
