"""Issue 15 item 4: per-rule `severity`, `enabled` and parameters in shipcard.yaml's `check.rules`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipcard.check.engine import CheckOptions, CheckResult, run_check

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""


def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str | None, replicas: int = 2,
          fail_on: str | None = None) -> CheckResult:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "apps").mkdir(exist_ok=True)
    (tmp_path / "apps" / "web.yaml").write_text(DEPLOYMENT.format(replicas=replicas))
    if config is not None:
        (tmp_path / "shipcard.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=["apps"], fail_on=fail_on))


def of(result: CheckResult, rule: str) -> list[tuple[str, int]]:
    return [(f.severity, f.line) for f in result.findings if f.rule == rule]


def test_without_configuration_the_defaults_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = check(tmp_path, monkeypatch, None)
    assert of(result, "pdb-missing") == [("warning", 4)]
    assert of(result, "image-not-pinned") == [("warning", 16)]


def test_a_severity_change_changes_findings_and_the_exit_code(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    errors = sorted({f.rule for f in check(tmp_path, monkeypatch, None).findings if f.severity == "error"})
    quiet = "check:\n  rules:\n" + "".join(f"    {rule}: {{severity: info}}\n" for rule in errors)
    relaxed = check(tmp_path, monkeypatch, quiet, fail_on="error")
    assert relaxed.exit_code == 0 and of(relaxed, errors[0]) and {s for s, _ in of(relaxed, errors[0])} == {"info"}
    strict = check(tmp_path, monkeypatch, quiet + "    pdb-missing: {severity: error}\n", fail_on="error")
    assert (of(strict, "pdb-missing"), strict.exit_code) == ([("error", 4)], 1)


def test_a_disabled_rule_does_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = check(tmp_path, monkeypatch, "check:\n  rules:\n    pdb-missing:\n      enabled: false\n")
    assert of(result, "pdb-missing") == []
    assert "pdb-missing" not in {i.id for i in result.rules}
    assert of(result, "image-not-pinned") == [("warning", 16)]


@pytest.mark.parametrize("threshold, replicas, expected", [
    pytest.param(3, 2, [], id="below-a-raised-threshold"),
    pytest.param(3, 3, [("warning", 4)], id="at-a-raised-threshold"),
    pytest.param(1, 1, [("warning", 4)], id="lowered-to-one"),
])
def test_a_parameter_changes_the_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int,
                                         replicas: int, expected: list[tuple[str, int]]) -> None:
    config = f"check:\n  rules:\n    pdb-missing:\n      params: {{min-replicas: {threshold}}}\n"
    assert of(check(tmp_path, monkeypatch, config, replicas=replicas), "pdb-missing") == expected


@pytest.mark.parametrize("entry", [
    pytest.param("    pdb-missing:\n", id="null-entry"),
    pytest.param("    pdb-missing:\n      params:\n", id="null-params"),
    pytest.param("    pdb-missing: {}\n", id="empty-entry"),
])
def test_an_empty_entry_configures_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    assert of(check(tmp_path, monkeypatch, "check:\n  rules:\n" + entry), "pdb-missing") == [("warning", 4)]


@pytest.mark.parametrize("rules, message", [
    pytest.param("    pdb-mising: {severity: info}\n",
                 "shipcard.yaml:3:5: check.rules.pdb-mising: no rule 'pdb-mising' (see `shipcard rules`)",
                 id="unknown-rule"),
    pytest.param("    pdb-missing:\n      params: {replicas: 3}\n",
                 "shipcard.yaml:4:16: check.rules.pdb-missing.params.replicas: pdb-missing has no parameter "
                 "'replicas' (it has: min-replicas)", id="unknown-parameter"),
    pytest.param("    run-as-root:\n      params: {x: 1}\n",
                 "shipcard.yaml:4:16: check.rules.run-as-root.params.x: run-as-root has no parameter 'x' "
                 "(it has: none)", id="rule-without-parameters"),
    pytest.param("    pdb-missing:\n      params: {min-replicas: two}\n",
                 "shipcard.yaml:4:16: check.rules.pdb-missing.params.min-replicas: must match the parameter's "
                 'schema {"minimum": 1, "type": "integer"}', id="parameter-of-the-wrong-type"),
    pytest.param("    pdb-missing: {severity: fatal}\n",
                 "shipcard.yaml:3:19: check.rules.pdb-missing.severity: must be one of error, warning, info", id="unknown-severity"),
    pytest.param("    pdb-missing: {enable: false}\n",
                 "shipcard.yaml:3:19: check.rules.pdb-missing.enable: unknown field (did you mean 'enabled'?)", id="unknown-key"),
    pytest.param("    yaml-invalid: {enabled: false}\n",
                 "shipcard.yaml:3:5: check.rules.yaml-invalid: yaml-invalid is a finding of the checker itself, not a "
                 "rule of the pack: it cannot be configured", id="engine-rule-off"),
    pytest.param("    deprecated-api: {severity: warning}\n",
                 "shipcard.yaml:3:5: check.rules.deprecated-api: deprecated-api is a finding of the checker itself, "
                 "not a rule of the pack: it cannot be configured", id="engine-rule-regraded"),
    pytest.param("    yaml-invalid: {params: {x: 1}}\n",
                 "shipcard.yaml:3:5: check.rules.yaml-invalid: yaml-invalid is a finding of the checker itself, not a "
                 "rule of the pack: it cannot be configured", id="engine-rule-params"),
    pytest.param("    1: {enabled: false}\n",
                 "shipcard.yaml:2:3: check.rules.1: no rule '1' (see `shipcard rules`)", id="number-as-id"),
])
def test_a_bad_entry_is_one_line_and_exit_2(tmp_path: Path, rules: str, message: str) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "web.yaml").write_text(DEPLOYMENT.format(replicas=2))
    (tmp_path / "shipcard.yaml").write_text("check:\n  rules:\n" + rules)
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "web.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"shipcard: {tmp_path}/{message}\n")


def test_a_required_rule_stays_on_and_keeps_its_severity(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "web.yaml").write_text(DEPLOYMENT.format(replicas=2))
    for entry, column in (("{severity: info}", 19), ("{enabled: false}", 19)):
        (tmp_path / "shipcard.yaml").write_text(f"check:\n  required: [run-as-root]\n  rules:\n"
                                                f"    run-as-root: {entry}\n")
        done = subprocess.run([sys.executable, "-m", "shipcard", "check", "web.yaml"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        key = entry[1:].split(":")[0]
        assert (done.returncode, done.stderr) == (2, f"shipcard: {tmp_path}/shipcard.yaml:4:{column}: check.rules.run-as-root."
                                                     f"{key}: a required rule cannot be turned off or given another "
                                                     "severity\n")


def test_rules_lists_the_effective_severity(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "shipcard.yaml").write_text("check:\n  rules:\n    pdb-missing: {enabled: false}\n"
                                            "    single-replica: {severity: info}\n")
    done = subprocess.run([sys.executable, "-m", "shipcard", "rules"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.strip() and "  " in line}
    assert (done.returncode, rows["pdb-missing"], rows["single-replica"]) == (0, "off", "info")


def test_an_organisation_rule_reuses_a_built_in_rule_with_other_parameters(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = ("check:\n  rules:\n    pdb-missing: {enabled: false}\n"
              "    org-pdb-at-three:\n      extends: pdb-missing\n      severity: error\n"
              "      params: {min-replicas: 3}\n")
    assert of(check(tmp_path, monkeypatch, config, replicas=2), "org-pdb-at-three") == []
    result = check(tmp_path, monkeypatch, config, replicas=3)
    assert (of(result, "org-pdb-at-three"), of(result, "pdb-missing")) == ([("error", 4)], [])
    info = next(i for i in result.rules if i.id == "org-pdb-at-three")
    assert info.source == f"{tmp_path}/shipcard.yaml (extends pdb-missing)"


def test_a_data_rule_can_be_extended_under_a_new_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = "check:\n  rules:\n    org-pinned:\n      extends: image-not-pinned\n      severity: info\n"
    result = check(tmp_path, monkeypatch, config)
    assert (of(result, "org-pinned"), of(result, "image-not-pinned")) == ([("info", 16)], [("warning", 16)])


@pytest.mark.parametrize("rules, message", [
    pytest.param("    org-x: {extends: pdb-mising}\n",
                 "shipcard.yaml:3:13: check.rules.org-x.extends: 'pdb-mising' is no rule (see `shipcard rules`): "
                 "nothing to extend", id="unknown-base"),
    pytest.param("    org-x: {extends: yaml-invalid}\n",
                 "shipcard.yaml:3:13: check.rules.org-x.extends: 'yaml-invalid' is a finding of the checker, not a "
                 "rule of the pack: nothing to extend", id="engine-base"),
    pytest.param("    'pdb-missing ': {extends: pdb-missing}\n",
                 "shipcard.yaml:3:5: check.rules.pdb-missing : a new rule's ID is lower-case letters and digits in "
                 "words joined by '-'", id="id-with-a-space"),
    pytest.param("    'org/*': {extends: pdb-missing}\n",
                 "shipcard.yaml:3:5: check.rules.org/*: a new rule's ID is lower-case letters and digits in words "
                 "joined by '-'", id="id-with-a-glob"),
    pytest.param("    single-replica: {extends: pdb-missing}\n",
                 "shipcard.yaml:3:5: check.rules.single-replica: is already a rule: a rule that extends another "
                 "needs a new ID", id="taken-id"),
])
def test_a_bad_extension_is_one_line_and_exit_2(tmp_path: Path, rules: str, message: str) -> None:
    test_a_bad_entry_is_one_line_and_exit_2(tmp_path, rules, message)


def test_a_required_organisation_rule_keeps_its_own_severity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ("check:\n  required: [org-pdb]\n  rules:\n"
              "    org-pdb: {extends: pdb-missing, severity: error}\n")
    assert of(check(tmp_path, monkeypatch, config), "org-pdb") == [("error", 4)]


def test_a_bad_entry_is_the_only_line_of_a_pull_request_check(tmp_path: Path) -> None:
    """`check --base`: the configuration is read before the diff, whose notes would come first."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    (tmp_path / "web.yaml").write_text(DEPLOYMENT.format(replicas=2))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=tmp_path, check=True)
    (tmp_path / "web.yaml").write_text(DEPLOYMENT.format(replicas=3))
    (tmp_path / "shipcard.yaml").write_text("check:\n  rules:\n    nope: {}\n")
    done = subprocess.run([sys.executable, "-m", "shipcard", "check", "--base", "HEAD"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"shipcard: {tmp_path}/shipcard.yaml:3:5: check.rules.nope: no rule 'nope' (see `shipcard rules`)\n")


# --------------------------------------------------------------------------- parameters of data rules

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  securityContext:
    sysctls:
      - {name: net.core.somaxconn, value: "1024"}
  containers:
    - name: web
      image: nginx:1.27
      env:
        - {name: STRIPE_KEY, value: sk_live_not_a_real_key}
        - {name: DB_PASSWORD_TTL, value: "3600"}
      securityContext:
        capabilities:
          add: [CHOWN, IPC_LOCK]
"""


def check_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str) -> CheckResult:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "shipcard.yaml").write_text("check:\n  rules:\n" + rules if rules else "")
    monkeypatch.chdir(tmp_path)
    return run_check(CheckOptions(paths=["pod.yaml"]))


def messages(result: CheckResult, rule: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in result.findings if f.rule == rule]


@pytest.mark.parametrize("rules, expected", [
    pytest.param("", [], id="defaults-neither-name-is-a-secret"),
    pytest.param("    secret-literal-in-env:\n      params:\n        secret-names: ['(?i)(^|_)KEY$']\n",
                 [(14, 'container "web" sets STRIPE_KEY to a literal value (not shown); take it from a Secret')],
                 id="secret-names-widened"),
    pytest.param("    secret-literal-in-env:\n      params: {not-secret-names: []}\n",
                 [(15, 'container "web" sets DB_PASSWORD_TTL to a literal value (not shown); take it from a Secret')],
                 id="no-exceptions"),
])
def test_a_data_rule_parameter_changes_the_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str,
                                                   expected: list[tuple[int, str]]) -> None:
    assert messages(check_pod(tmp_path, monkeypatch, rules), "secret-literal-in-env") == expected


def test_extra_allowed_capabilities_and_sysctls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = check_pod(tmp_path, monkeypatch, "")
    assert messages(result, "dangerous-capabilities") == [
        (18, 'container "web" adds the capability IPC_LOCK, beyond the baseline allow list')]
    assert messages(result, "capabilities-added") == [
        (18, 'container "web" adds the capability CHOWN (restricted allows only NET_BIND_SERVICE)')]
    assert messages(result, "unsafe-sysctls") == [(9, "pod sets the unsafe sysctl net.core.somaxconn")]
    allowed = check_pod(tmp_path, monkeypatch, "    dangerous-capabilities: {params: {also-allowed: [IPC_LOCK]}}\n"
                                               "    unsafe-sysctls: {params: {also-allowed: [net.core.somaxconn]}}\n")
    assert (messages(allowed, "dangerous-capabilities"), messages(allowed, "unsafe-sysctls")) == ([], [])
    assert messages(allowed, "capabilities-added") == messages(result, "capabilities-added")


def test_a_data_rule_is_extended_with_other_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = ("    org-keys-in-env:\n      extends: secret-literal-in-env\n      severity: warning\n"
             "      params: {secret-names: ['(?i)_KEY$']}\n")
    result = check_pod(tmp_path, monkeypatch, rules)
    assert [(f.severity, f.line) for f in result.findings if f.rule == "org-keys-in-env"] == [("warning", 14)]
    assert messages(result, "secret-literal-in-env") == []


@pytest.mark.parametrize("params, message", [
    pytest.param("{secret-names: ['(abc']}", "item 0 is not a regular expression RE2 accepts: missing ): (abc",
                 id="unbalanced"),
    pytest.param("{secret-names: ['PASSWORD', '^(?!.*_FILE$).*TOKEN']}",
                 "item 1 is not a regular expression RE2 accepts: invalid perl operator: (?!", id="lookahead"),
    pytest.param("{secret-names: ['a{2000}']}",
                 "item 0 is not a regular expression RE2 accepts: invalid repetition size: {2000}",
                 id="repetition-too-large"),
    pytest.param("{secret-names: PASSWORD}", "must be a list of regular expressions (strings)", id="not-a-list"),
    pytest.param("{secret-names: [1]}", "must be a list of regular expressions (strings)", id="not-strings"),
])
def test_a_bad_pattern_parameter_is_one_line_and_exit_2(tmp_path: Path, params: str, message: str) -> None:
    test_a_bad_entry_is_one_line_and_exit_2(
        tmp_path, f"    secret-literal-in-env:\n      params: {params}\n",
        f"shipcard.yaml:4:16: check.rules.secret-literal-in-env.params.secret-names: {message}")


@pytest.mark.parametrize("rules, message", [
    pytest.param("    unsafe-sysctls:\n      params: {allowed: [a]}\n",
                 "shipcard.yaml:4:16: check.rules.unsafe-sysctls.params.allowed: unsafe-sysctls has no parameter "
                 "'allowed' (it has: also-allowed)", id="unknown-parameter"),
    pytest.param("    dangerous-capabilities:\n      params: {also-allowed: IPC_LOCK}\n",
                 "shipcard.yaml:4:16: check.rules.dangerous-capabilities.params.also-allowed: must be a list of "
                 "strings", id="string-for-a-list"),
])
def test_a_bad_data_rule_parameter_is_one_line_and_exit_2(tmp_path: Path, rules: str, message: str) -> None:
    test_a_bad_entry_is_one_line_and_exit_2(tmp_path, rules, message)


RULE_FILE = """\
id: team-label-missing
severity: error
category: organisation
title: Workload has no team label
rationale: Every workload names its team.
fix: Add the label.
target: object
schema:
  properties:
    metadata:
      properties:
        labels: {{required: [{{$param: labels}}]}}
{params}message: '{{kind}} "{{name}}" has no team label'
examples:
  pass: ["kind: Pod"]
  fail: ["kind: Pod"]
"""


@pytest.mark.parametrize("params, message", [
    pytest.param("", "12:29: schema.properties.metadata.properties.labels.required[0]: `$param` is a mapping of "
                     "its own naming a declared parameter (declared: none)", id="undeclared"),
    pytest.param("params:\n  labels: {type: list, default: [], description: x}\n",
                 "14:3: params.labels: type must be one of integer, string, strings, patterns", id="unknown-type"),
    pytest.param("params:\n  labels: {type: strings, default: []}\n",
                 "14:3: params.labels: needs exactly type, default, description", id="no-description"),
    pytest.param("params:\n  labels: {type: strings, default: team, description: x}\n",
                 "14:3: params.labels: default must be a list of strings", id="bad-default"),
    pytest.param("params:\n  labels: {type: strings, default: [team], description: x}\n"
                 "  unused: {type: integer, default: 1, description: x}\n",
                 "13:1: params: 'unused' is declared but the schema never uses it", id="unused"),
])
def test_a_bad_parameter_declaration_is_refused_with_its_line(tmp_path: Path, params: str, message: str) -> None:
    from shipcard.check.rules.data import PolicyError, load_data_rule
    path = tmp_path / "team-label-missing.yaml"
    path.write_text(RULE_FILE.format(params=params))
    with pytest.raises(PolicyError) as raised:
        load_data_rule(path)
    assert str(raised.value) == f"{path}:{message}"


def test_a_strings_parameter_is_spliced_into_its_list(tmp_path: Path) -> None:
    from shipcard.check.rules.data import load_data_rule
    path = tmp_path / "team-label-missing.yaml"
    path.write_text(RULE_FILE.format(params="params:\n  labels: {type: strings, default: [team, tier], "
                                            "description: x}\n"))
    rule = load_data_rule(path)
    assert rule.schema["properties"]["metadata"]["properties"]["labels"] == {"required": ["team", "tier"]}
    assert rule.with_params({"labels": []}).schema["properties"]["metadata"]["properties"]["labels"] == \
        {"required": []}
