"""Issue 13, classes 10 and 15: values the API server refuses are card errors, and `check` reports them.

A card whose objects the API server would refuse (a cron field out of range, a time zone Go's
tzdata does not know, `Local`, a ConfigMap over 1 MiB, names and lengths Kubernetes refuses) is
refused by `render`: exit 2, one line `FILE:LINE:COL: field: message` per problem, nothing
written. The same values in manifests are error findings of `check` (`api-invalid-schedule`,
`api-invalid-name`, `api-invalid-label`, `object-too-large`, `annotations-too-large`), and the
card loader and the rules share one judgement (`shipcard.patterns`): a schedule is refused by
both or by neither.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardhelpers import SMALL_CARD, Run, assert_located_refusal, card, dump_card, write_repo

from shipcard.check.rules import load_rules
from shipcard.patterns import MAX_ANNOTATIONS_BYTES, MAX_DATA_BYTES, cron_problem, time_zone_problem
from tests.check.rule_examples import run_example
from tests.conftest import run_cli

RULES = load_rules()
MIB = MAX_DATA_BYTES


def render(repo: Path) -> Run:
    result = run_cli("render", "--out", str(repo), cwd=repo)
    return Run(result.exit_code, result.stdout, result.stderr)


def job(**fields: Any) -> dict[str, Any]:
    return {"name": "nightly", "command": ["/app/nightly"], **fields}


def with_job(**fields: Any) -> dict[str, Any]:
    return card(SMALL_CARD, jobs=[job(**fields)])


def refused(tmp_path: Path, text: str, field: str, words: str) -> None:
    """Render refuses the card: one located line whose field and message are the expected ones."""
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": text})
    run = render(repo)
    match = assert_located_refusal(run, "services/small.service.yaml")
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert match["message"].startswith(f"{field}: "), match["message"]
    assert words in match["message"], match["message"]
    assert sorted(p.name for p in repo.iterdir()) == ["services"], "a refused render wrote something"


def rendered(tmp_path: Path, text: str) -> Path:
    repo = write_repo(tmp_path / "repo", {"small.service.yaml": text})
    run = render(repo)
    assert run.code == 0, run.output
    return repo


# --------------------------------------------------------------------------- schedules and time zones

BAD_SCHEDULES = [
    pytest.param("0 0 * * 7", "day of week '7': above the maximum (6)", id="weekday-7"),
    pytest.param("0 0 * * 8", "day of week '8': above the maximum (6)", id="weekday-8"),
    pytest.param("60 * * * *", "minute '60': above the maximum (59)", id="minute-60"),
    pytest.param("0 24 * * *", "hour '24': above the maximum (23)", id="hour-24"),
    pytest.param("0 0 0 * *", "day of month '0': below the minimum (1)", id="day-0"),
    pytest.param("0 0 32 * *", "day of month '32': above the maximum (31)", id="day-32"),
    pytest.param("0 0 * 0 *", "month '0': below the minimum (1)", id="month-0"),
    pytest.param("0 0 * 13 *", "month '13': above the maximum (12)", id="month-13"),
    pytest.param("0 0 * JANUARY *", "month 'JANUARY': 'JANUARY' is not a number or one of JAN", id="month-long-name"),
    pytest.param("0 0 * * MONDAY", "day of week 'MONDAY'", id="weekday-long-name"),
    pytest.param("0 0 * SUN *", "month 'SUN'", id="weekday-name-as-month"),
    pytest.param("*/0 * * * *", "minute '*/0': the step must be a positive number", id="step-0"),
    pytest.param("5/0 * * * *", "the step must be a positive number", id="start-step-0"),
    pytest.param("5-1 * * * *", "minute '5-1': the range starts after it ends", id="reversed-range"),
    pytest.param("0 0 * DEC-JAN *", "month 'DEC-JAN': the range starts after it ends", id="reversed-months"),
    pytest.param("0 0 * * 5-7", "day of week '5-7': above the maximum (6)", id="weekday-range-to-7"),
    pytest.param("1-2-3 * * * *", "too many hyphens", id="two-hyphens"),
    pytest.param("1/2/3 * * * *", "too many slashes", id="two-slashes"),
    pytest.param("0 0,60 * * *", "hour '60'", id="list-item-out-of-range"),
    pytest.param("0 0 * * * 2026", "", id="six-fields"),
    pytest.param("0 0 * *", "", id="four-fields"),
    pytest.param("@every 1h", "", id="every"),
    pytest.param("@fortnightly", "", id="unknown-descriptor"),
    pytest.param("TZ=UTC 0 0 * * *", "", id="tz-prefix"),
    pytest.param("CRON_TZ=Europe/Berlin 0 0 * * *", "", id="cron-tz-prefix"),
    pytest.param("0 0 1/x * *", "'x' is not a number", id="step-not-a-number"),
    pytest.param("99999999999999999999 * * * *", "is not a number", id="huge-number"),
]

GOOD_SCHEDULES = [
    pytest.param("0 1 * * *", id="nightly"),
    pytest.param("0 0 * * 0", id="sunday-0"),
    pytest.param("0 0 * * SUN-SAT", id="weekday-names"),
    pytest.param("30 6 * * mon-fri", id="lower-case-names"),
    pytest.param("*/15 9-17 * * MON-FRI", id="steps-and-ranges"),
    pytest.param("0 0 31 2 *", id="never"),
    pytest.param("? * * * *", id="question-mark"),
    pytest.param("0 0 1 JAN-DEC/3 *", id="month-range-step"),
    pytest.param("5/10 * * * *", id="start-and-step"),
    pytest.param("0 0 1,15 * *", id="list"),
    pytest.param("@hourly", id="hourly"),
    pytest.param("@yearly", id="yearly"),
    pytest.param("@midnight", id="midnight"),
]

BAD_TIME_ZONES = [
    pytest.param("Local", "Local is not an explicit time zone", id="local"),
    pytest.param("local", "Local is not an explicit time zone", id="local-lower-case"),
    pytest.param("Mars/Olympus", "not a time zone of the IANA database", id="unknown-zone"),
    pytest.param("Europe/Atlantis", "not a time zone of the IANA database", id="unknown-city"),
    pytest.param("europe/berlin", "not a time zone of the IANA database", id="wrong-case"),
    pytest.param("Europe/Berlin/Mitte", "not a time zone of the IANA database", id="too-deep"),
    pytest.param("America/Argentina_Buenos_Aires", "not an IANA time zone name", id="part-over-14"),
    pytest.param("Etc/GMT+15", "not a time zone of the IANA database", id="offset-out-of-range"),
]

GOOD_TIME_ZONES = [
    pytest.param("Etc/UTC", id="etc-utc"),
    pytest.param("UTC", id="utc"),
    pytest.param("Europe/Berlin", id="berlin"),
    pytest.param("America/Argentina/ComodRivadavia", id="three-parts-14-characters"),
    pytest.param("America/North_Dakota/New_Salem", id="underscores"),
    pytest.param("Etc/GMT+5", id="plus-offset"),
    pytest.param("US/Eastern", id="backward-link"),
]


@pytest.mark.parametrize("schedule,words", BAD_SCHEDULES)
def test_a_schedule_the_api_server_refuses_is_a_card_error(tmp_path: Path, schedule: str, words: str) -> None:
    refused(tmp_path, dump_card(with_job(schedule=schedule)), "jobs[0].schedule", words)


@pytest.mark.parametrize("schedule", GOOD_SCHEDULES)
def test_a_schedule_the_api_server_takes_renders(tmp_path: Path, schedule: str) -> None:
    repo = rendered(tmp_path, dump_card(with_job(schedule=schedule)))
    cron_job = yaml.safe_load((repo / "apps/small/base/cronjob-nightly.yaml").read_text())
    assert cron_job["spec"]["schedule"] == schedule


@pytest.mark.parametrize("zone,words", BAD_TIME_ZONES)
def test_a_time_zone_the_api_server_refuses_is_a_card_error(tmp_path: Path, zone: str, words: str) -> None:
    refused(tmp_path, dump_card(with_job(schedule="0 1 * * *", timeZone=zone)), "jobs[0].timeZone", words)


@pytest.mark.parametrize("zone", GOOD_TIME_ZONES)
def test_an_iana_time_zone_renders(tmp_path: Path, zone: str) -> None:
    repo = rendered(tmp_path, dump_card(with_job(schedule="0 1 * * *", timeZone=zone)))
    cron_job = yaml.safe_load((repo / "apps/small/base/cronjob-nightly.yaml").read_text())
    assert cron_job["spec"]["timeZone"] == zone


def test_an_environment_override_with_a_bad_schedule_names_the_override(tmp_path: Path) -> None:
    data = card(with_job(schedule="0 1 * * *"), environments={"dev": {"jobs": [{"name": "nightly",
                                                                                 "schedule": "0 0 * * 7"}]}})
    refused(tmp_path, dump_card(data), "environments.dev.jobs[0].schedule", "day of week '7'")


def cron_job_manifest(schedule: str, zone: str | None = None) -> str:
    spec: dict[str, Any] = {"schedule": schedule}
    if zone is not None:
        spec["timeZone"] = zone
    spec["jobTemplate"] = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "report", "image": "ghcr.io/example/report:1.0.0"}]}}}}
    return yaml.safe_dump({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report"},
                           "spec": spec}, sort_keys=False)


@pytest.mark.parametrize("schedule", [pytest.param(p.values[0], id=p.id) for p in [*BAD_SCHEDULES, *GOOD_SCHEDULES]])
def test_check_and_the_card_agree_on_every_schedule(schedule: str) -> None:
    findings = run_example(RULES, cron_job_manifest(schedule), "api-invalid-schedule")
    if cron_problem(schedule) is None:
        assert findings == []
    else:
        assert [(f.line, f.message) for f in findings] == [(6, f"CronJob/report: schedule {cron_problem(schedule)}")]


@pytest.mark.parametrize("zone", [pytest.param(p.values[0], id=p.id) for p in [*BAD_TIME_ZONES, *GOOD_TIME_ZONES]])
def test_check_and_the_card_agree_on_every_time_zone(zone: str) -> None:
    findings = run_example(RULES, cron_job_manifest("0 1 * * *", zone), "api-invalid-schedule")
    why = time_zone_problem(zone)
    assert [f.message for f in findings] == ([f"CronJob/report: timeZone {why}"] if why else [])


# --------------------------------------------------------------------------- sizes


def aliased_env(values: int, size: int) -> str:
    """A card whose env holds `values` variables sharing one aliased value of `size` bytes."""
    lines = dump_card(card(SMALL_CARD)).splitlines()
    body = ["env:", f"  V0: &big \"{'x' * size}\""] + [f"  V{i}: *big" for i in range(1, values)]
    return "\n".join(lines + body) + "\n"


def test_env_values_over_one_mebibyte_are_refused(tmp_path: Path) -> None:
    refused(tmp_path, aliased_env(3, 400_000), "env", "the values add up to 1200000 bytes; the ConfigMap they fill "
            "may hold at most 1048576")


def test_env_values_of_exactly_one_mebibyte_render_and_check_clean(tmp_path: Path) -> None:
    repo = rendered(tmp_path, aliased_env(4, MIB // 4))
    result = run_cli("check", "apps", cwd=repo)
    assert "object-too-large" not in result.output, result.output


def test_multibyte_env_values_count_in_bytes(tmp_path: Path) -> None:
    lines = dump_card(card(SMALL_CARD)).splitlines()
    body = ["env:", f"  V0: &big \"{'é' * 300_000}\"", "  V1: *big"]  # 600,000 characters, 1,200,000 bytes
    refused(tmp_path, "\n".join(lines + body) + "\n", "env", "add up to 1200000 bytes")


def test_an_environment_whose_env_goes_over_the_limit_names_its_override(tmp_path: Path) -> None:
    lines = dump_card(card(SMALL_CARD, environments=None)).splitlines()
    body = ["environments:", "  dev:", "    env:", f"      V0: &big \"{'x' * 600_000}\"", "      V1: *big"]
    refused(tmp_path, "\n".join(lines + body) + "\n", "environments.dev.env", "add up to 1200000 bytes")


def test_scripts_over_one_mebibyte_are_refused(tmp_path: Path) -> None:
    lines = dump_card(card(SMALL_CARD)).splitlines()
    body = ["jobs:", f"  - {{name: one, schedule: '0 1 * * *', script: &s \"{'x' * 600_000}\"}}",
            "  - {name: two, schedule: '0 2 * * *', script: *s}"]
    refused(tmp_path, "\n".join(lines + body) + "\n", "jobs", "the scripts add up to 1200000 bytes")


@pytest.mark.parametrize("change,field,words", [
    pytest.param({"env": {"V" * 254: "x"}}, "env." + "V" * 254, "is too long", id="env-name-over-253"),
    pytest.param({"health": {"readiness": "/" + "r" * 1024}}, "health.readiness", "", id="readiness-path-over-1024"),
    pytest.param({"name": "s" * 64}, "name", "", id="service-name-over-63"),
    pytest.param({"jobs": [job(name="j" * 49, schedule="0 1 * * *")]}, "jobs[0].name",
                 "a CronJob name may have at most 52", id="cronjob-name-over-52"),
    pytest.param({"jobs": [job(name="j" * 47, hook="pre-sync")]}, "jobs[0].name",
                 "a CronJob name may have at most 52", id="hook-job-name-over-52"),
    pytest.param({"team": "t" * 64}, "team", "", id="label-value-over-63"),
    pytest.param({"team": "-platform"}, "team", "", id="label-value-leading-dash"),
    pytest.param({"ports": [{"name": "http", "port": 0}]}, "ports[0].port", "", id="port-0"),
    pytest.param({"ports": [{"name": "http", "port": 65536}]}, "ports[0].port", "", id="port-65536"),
    pytest.param({"ports": [{"name": "prometheus-metric", "port": 9090}]}, "ports[0].name", "", id="port-name-over-15"),
    pytest.param({"ports": [{"name": "8080", "port": 8080}]}, "ports[0].name", "", id="port-name-no-letter"),
    pytest.param({"ports": [{"name": "http--x", "port": 8080}]}, "ports[0].name", "", id="port-name-double-dash"),
    pytest.param({"replicas": -1}, "replicas", "", id="replicas-negative"),
    pytest.param({"health": {"liveness": {"tcp": 8080, "period": 0}}}, "health.liveness", "", id="probe-period-0"),
    pytest.param({"resources": {"cpu": "lots"}}, "resources.cpu", "", id="quantity-does-not-parse"),
    pytest.param({"resources": {"memory": "-1Gi"}}, "resources.memory", "", id="quantity-negative"),
    pytest.param({"env": {"1ST": "x"}}, "env.1ST", "not an environment variable name", id="env-name-leading-digit"),
    pytest.param({"jobs": [job(name="nightly", schedule="0 1 * * *", retries=-1)]}, "jobs[0].retries", "",
                 id="backoff-negative"),
])
def test_names_ports_and_numbers_kubernetes_refuses_are_card_errors(tmp_path: Path, change: dict[str, Any],
                                                                     field: str, words: str) -> None:
    refused(tmp_path, dump_card(card(SMALL_CARD, **change)), field, words)


# --------------------------------------------------------------------------- check on manifests


def config_map(data: dict[str, Any] | None = None, binary: dict[str, bytes] | None = None,
               annotations: dict[str, str] | None = None, name: str = "settings") -> str:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    if data is not None:
        obj["data"] = data
    if binary is not None:
        obj["binaryData"] = {k: base64.b64encode(v).decode() for k, v in binary.items()}
    return yaml.safe_dump(obj, sort_keys=False, width=10**9)


def secret(data: dict[str, bytes] | None = None, string_data: dict[str, str] | None = None) -> str:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}}
    if data is not None:
        obj["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
    if string_data is not None:
        obj["stringData"] = string_data
    return yaml.safe_dump(obj, sort_keys=False, width=10**9)


def pod(name: str = "web", labels: dict[str, str] | None = None, namespace: str | None = None) -> str:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = labels
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [
        {"name": "web", "image": "ghcr.io/example/web:1.0.0"}]}}, sort_keys=False)


def named(kind: str, name: str) -> str:
    api = {"CronJob": "batch/v1", "Job": "batch/v1", "Deployment": "apps/v1"}.get(kind, "v1")
    return yaml.safe_dump({"apiVersion": api, "kind": kind, "metadata": {"name": name}}, sort_keys=False)


SIZE_CASES = [
    pytest.param(config_map({"a": "x" * (MIB + 1)}), "object-too-large",
                 ["ConfigMap/settings: its values add up to 1048577 bytes; the API server stores at most 1048576"],
                 id="configmap-one-value-over"),
    pytest.param(config_map({"a": "x" * MIB}), "object-too-large", [], id="configmap-exactly-1mib"),
    pytest.param(config_map({"k" * 200 + str(i): "x" * (MIB // 4) for i in range(4)}), "object-too-large", [],
                 id="configmap-keys-do-not-count"),
    pytest.param(config_map({"a": "x" * (MIB // 2)}, {"b": b"\0" * (MIB // 2 + 1)}), "object-too-large",
                 ["ConfigMap/settings: its values add up to 1048577 bytes; the API server stores at most 1048576"],
                 id="configmap-data-plus-binary-data"),
    pytest.param(config_map({"a": "é" * (MIB // 2 + 1)}), "object-too-large",
                 ["ConfigMap/settings: its values add up to 1048578 bytes; the API server stores at most 1048576"],
                 id="configmap-counted-in-utf8-bytes"),
    pytest.param(secret({"a": b"\xff" * (MIB + 1)}), "object-too-large",
                 ["Secret/creds: its values add up to 1048577 bytes; the API server stores at most 1048576"],
                 id="secret-counted-decoded"),
    pytest.param(secret({"a": b"x" * (MIB - 10)}), "object-too-large", [], id="secret-base64-under"),
    pytest.param(secret({"a": b"x" * MIB}, {"a": "short"}), "object-too-large", [],
                 id="secret-string-data-overrides-data"),
    pytest.param(secret({"a": b"x" * MIB}, {"b": "y"}), "object-too-large",
                 ["Secret/creds: its values add up to 1048577 bytes; the API server stores at most 1048576"],
                 id="secret-data-plus-string-data"),
    pytest.param(config_map({"a": "b"}, annotations={"k": "v" * (MAX_ANNOTATIONS_BYTES - 1)}),
                 "annotations-too-large", [], id="annotations-exactly-256k"),
    pytest.param(config_map({"a": "b"}, annotations={"kk": "v" * (MAX_ANNOTATIONS_BYTES - 1)}),
                 "annotations-too-large",
                 ["ConfigMap/settings: annotations add up to 262145 bytes; the API server takes at most 262144"],
                 id="annotations-keys-count"),
    pytest.param(config_map({"a": "b"}, annotations={f"k{i}": "v" * 1000 for i in range(300)}),
                 "annotations-too-large",
                 ["ConfigMap/settings: annotations add up to 301090 bytes; the API server takes at most 262144"],
                 id="annotations-many-keys"),
]


@pytest.mark.parametrize("manifest,rule,messages", SIZE_CASES)
def test_check_reports_objects_over_the_api_servers_limits(manifest: str, rule: str, messages: list[str]) -> None:
    assert [f.message for f in run_example(RULES, manifest, rule)] == messages


def test_a_pod_template_s_annotations_count_too() -> None:
    manifest = yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}, "annotations": {"big": "x" * MAX_ANNOTATIONS_BYTES}},
            "spec": {"containers": [{"name": "web", "image": "ghcr.io/example/web:1.0.0"}]}}}}, sort_keys=False)
    findings = run_example(RULES, manifest, "annotations-too-large")
    assert [(f.path, f.message) for f in findings] == [
        (("spec", "template", "metadata", "annotations"),
         "Deployment/web: annotations add up to 262147 bytes; the API server takes at most 262144")]


def test_the_size_finding_never_shows_a_secret_value() -> None:
    findings = run_example(RULES, secret(string_data={"password": "canary-" + "s" * MIB}), "object-too-large")
    assert len(findings) == 1 and "canary" not in findings[0].message


NAME_CASES = [
    pytest.param(named("CronJob", "c" * 53), "api-invalid-name",
                 ["CronJob name '" + "c" * 53 + "' is 53 characters; a CronJob name may have at most 52"],
                 id="cronjob-53"),
    pytest.param(named("CronJob", "c" * 52), "api-invalid-name", [], id="cronjob-52"),
    pytest.param(named("Job", "j" * 64), "api-invalid-name",
                 ["Job name '" + "j" * 64 + "' is 64 characters; a Job name may have at most 63"], id="job-64"),
    pytest.param(named("Service", "s" * 64), "api-invalid-name",
                 ["Service name '" + "s" * 64 + "' is 64 characters; a Service name may have at most 63"],
                 id="service-64"),
    pytest.param(named("Service", "9web"), "api-invalid-name",
                 ["Service name '9web' must be a DNS-1035 label (lower case letters, digits and '-', starting and "
                  "ending with a letter or digit) that starts with a letter"], id="service-leading-digit"),
    pytest.param(named("Service", "web.api"), "api-invalid-name",
                 ["Service name 'web.api' must be a DNS-1035 label (lower case letters, digits and '-', starting "
                  "and ending with a letter or digit) that starts with a letter"], id="service-dot"),
    pytest.param(named("ConfigMap", "web.api"), "api-invalid-name", [], id="configmap-dot"),
    pytest.param(named("ConfigMap", "web..api"), "api-invalid-name",
                 ["ConfigMap name 'web..api' must be a DNS-1123 subdomain (lower case letters, digits, '-' and "
                  "'.', each dot-separated part starting and ending with a letter or digit)"], id="double-dot"),
    pytest.param(named("ConfigMap", "Web"), "api-invalid-name",
                 ["ConfigMap name 'Web' must be a DNS-1123 subdomain (lower case letters, digits, '-' and '.', "
                  "each dot-separated part starting and ending with a letter or digit)"], id="upper-case"),
    pytest.param(named("Secret", "a" * 254), "api-invalid-name",
                 ["Secret name '" + "a" * 77 + "...' is 254 characters; a Secret name may have at most 253"],
                 id="subdomain-254"),
    pytest.param(named("Secret", "a" * 253), "api-invalid-name", [], id="subdomain-253"),
    pytest.param(named("Namespace", "team.a"), "api-invalid-name",
                 ["Namespace name 'team.a' must be a DNS-1123 label (lower case letters, digits and '-', starting "
                  "and ending with a letter or digit)"], id="namespace-dot"),
    pytest.param(pod(namespace="n" * 64), "api-invalid-name",
                 ["Pod namespace '" + "n" * 64 + "' is 64 characters; a Namespace name may have at most 63"],
                 id="namespace-field-64"),
    pytest.param(named("ConfigMap", "web\n"), "api-invalid-name",
                 ["ConfigMap name 'web\\n' must be a DNS-1123 subdomain (lower case letters, digits, '-' and '.', "
                  "each dot-separated part starting and ending with a letter or digit)"], id="trailing-newline"),
    pytest.param(pod(labels={"app": "v" * 64}), "api-invalid-label",
                 ["label 'app': value is 64 characters; a label value may have at most 63"], id="label-value-64"),
    pytest.param(pod(labels={"app": "v" * 63}), "api-invalid-label", [], id="label-value-63"),
    pytest.param(pod(labels={"app": ""}), "api-invalid-label", [], id="label-value-empty"),
    pytest.param(pod(labels={"version": "-1.0-"}), "api-invalid-label",
                 ["label 'version': value must be letters, digits, '-', '_' and '.', starting and ending with a "
                  "letter or digit"], id="label-value-dash"),
    pytest.param(pod(labels={"n" * 64: "x"}), "api-invalid-label",
                 ["label key '" + "n" * 64 + "' its name part is 64 characters; it may have at most 63"],
                 id="label-key-64"),
    pytest.param(pod(labels={"Example.COM/team": "x"}), "api-invalid-label",
                 ["label key 'Example.COM/team' its prefix must be a DNS-1123 subdomain of at most 253 characters"],
                 id="label-key-prefix-upper-case"),
    pytest.param(pod(labels={"a/b/c": "x"}), "api-invalid-label",
                 ["label key 'a/b/c' its prefix must be a DNS-1123 subdomain of at most 253 characters"],
                 id="label-key-two-slashes"),
    pytest.param(pod(labels={"example.com/": "x"}), "api-invalid-label", ["label key 'example.com/' has an empty name"],
                 id="label-key-empty-name"),
]


@pytest.mark.parametrize("manifest,rule,messages", NAME_CASES)
def test_check_reports_names_and_labels_the_api_server_refuses(manifest: str, rule: str,
                                                               messages: list[str]) -> None:
    assert [f.message for f in run_example(RULES, manifest, rule)] == messages


def test_the_cards_objects_pass_the_new_rules(tmp_path: Path) -> None:
    """What a card renders at its limits (52-character CronJob names, 63-character names and labels) checks clean."""
    data = card(SMALL_CARD, name="s" * 40, team="t" * 63, jobs=[job(name="j" * 11, schedule="0 0 * * 6",
                                                                    timeZone="America/Argentina/ComodRivadavia")])
    repo = rendered(tmp_path, dump_card(data))
    result = run_cli("check", "apps", cwd=repo)
    for rule in ("api-invalid-name", "api-invalid-label", "api-invalid-schedule", "object-too-large",
                 "annotations-too-large"):
        assert rule not in result.output, result.output


def test_time_zones_are_known_without_the_systems_database(tmp_path: Path) -> None:
    """Slim images ship no /usr/share/zoneinfo: the `tzdata` dependency is the database then."""
    code = ("from shipcard.patterns import time_zone_problem as p; "
            "print([p(z) for z in ('Europe/Berlin', 'America/New_York', 'Etc/UTC', 'Mars/Olympus')])")
    env = {**os.environ, "PYTHONTZPATH": ""}  # zoneinfo's TZPATH empty: only the tzdata package is read
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out == ("[None, None, None, 'not a time zone of the IANA database (e.g. Etc/UTC, Europe/Berlin, "
                   "America/New_York)']\n")
