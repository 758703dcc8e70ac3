"""Issue 17: `shipcard import eventbridge` — EventBridge schedule expressions as Kubernetes cron, read with
EventBridge's semantics (AWS EventBridge user guide, "Cron expressions" and "Rate expressions": six fields,
day-of-week 1-7 = SUN-SAT, `?` in one day field, L/W/# wildcards; schedules in UTC unless an EventBridge
Scheduler schedule names a time zone). EventBridge cannot run here; these tests encode that behaviour."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shipcard.importers.eventbridge import Invalid, Refused, translate
from shipcard.yamlio.read import load_plain
from tests.importers.helpers import FIXTURES, render_build_check, setup, shipcard_import, written

IMAGE = "ghcr.io/example/payments-jobs:3.4.0"


@pytest.mark.parametrize(("expression", "schedule"), [
    ("cron(0 2 * * ? *)", "0 2 * * *"),
    ("cron(0 18 ? * MON-FRI *)", "0 18 * * MON-FRI"),
    ("cron(0/15 8-17 ? * 2-6 *)", "0/15 8-17 * * 1-5"),  # 2-6 is MON-FRI for EventBridge
    ("cron(15 10 ? * 1,7 *)", "15 10 * * 0,6"),  # SUN and SAT
    ("cron(0 9 ? * WED *)", "0 9 * * WED"),
    ("cron(0 12 1 JAN-JUN ? *)", "0 12 1 JAN-JUN *"),
    ("rate(1 minute)", "* * * * *"),
    ("rate(15 minutes)", "*/15 * * * *"),
    ("rate(6 hours)", "0 */6 * * *"),
    ("rate(1 day)", "0 0 * * *"),
    ("rate(7 days)", "0 0 * * 0"),
])
def test_expressions_with_an_equivalent_translate(expression: str, schedule: str) -> None:
    assert translate(expression).cron == schedule


@pytest.mark.parametrize(("expression", "reason"), [
    ("cron(0 0 1 1 ? 2026)", "the year field '2026' restricts years: a Kubernetes schedule has no year"),
    ("cron(0 23 L * ? *)", "day-of-month 'L' uses L (the last day of the month), which Kubernetes cron cannot "
                           "express"),
    ("cron(0 9 15W * ? *)", "day-of-month '15W' uses W (the nearest weekday of the month), which Kubernetes cron "
                            "cannot express"),
    ("cron(0 10 ? * 6#3 *)", "day-of-week '6#3' uses # (the Nth weekday of the month), which Kubernetes cron "
                             "cannot express"),
    ("cron(0 12 * * * *)", "EventBridge needs ? in day-of-month or day-of-week"),
    ("cron(0 12 * * ?)", "cron() takes 6 fields (minutes hours day-of-month month day-of-week year), found 5"),
    ("rate(7 minutes)", "rate(7 minutes) has no exact cron equivalent: cron restarts its count every hour (use a "
                        "number of minutes dividing 60, or a cron() expression)"),
    ("rate(5 hours)", "rate(5 hours) has no exact cron equivalent: cron restarts its count every day (use a number "
                      "of hours dividing 24, or a cron() expression)"),
    ("rate(2 days)", "rate(2 days) has no exact cron equivalent: cron restarts its count every month (use 1 or 7 "
                     "days, or a cron() expression)"),
    ("at(2025-11-20T13:00:00)", "at(...) is a one-time schedule: a CronJob repeats (run it once with `kubectl "
                                "create job`)"),
])
def test_expressions_without_an_equivalent_are_refused_with_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        translate(expression)
    assert str(refused.value) == reason


# The EventBridge user guide, "Rate expressions": `rate(value unit)`, two fields separated by white space,
# the value a positive number (no fractions), the unit one of minute, minutes, hour, hours, day, days, singular
# when the value is 1 and plural when it is more (`rate(1 hours)` and `rate(5 hour)` are refused by PutRule with
# "Parameter ScheduleExpression is not valid"). EventBridge cannot run here; these encode that grammar.
@pytest.mark.parametrize(("expression", "schedule"), [
    ("rate(1 minute)", "* * * * *"),
    ("rate(5 minutes)", "*/5 * * * *"),
    ("rate(30 minutes)", "*/30 * * * *"),
    ("rate(1 hour)", "0 * * * *"),
    ("rate(2 hours)", "0 */2 * * *"),
    ("rate(1 day)", "0 0 * * *"),
    ("rate(7 days)", "0 0 * * 0"),
    ("Rate(5 Minutes)", "*/5 * * * *"),  # typed by hand, read as EventBridge writes it (lower case)
    ("rate(5  minutes)", "*/5 * * * *"),  # fields separated by white space
])
def test_every_form_of_rate_eventbridge_accepts_translates(expression: str, schedule: str) -> None:
    assert translate(expression).cron == schedule


_RATE = "not a valid EventBridge rate expression: "


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate(1 minutes)", "a value of 1 takes the singular unit: rate(1 minute), not rate(1 minutes)"),
    ("rate(1 hours)", "a value of 1 takes the singular unit: rate(1 hour), not rate(1 hours)"),
    ("rate(1 days)", "a value of 1 takes the singular unit: rate(1 day), not rate(1 days)"),
    ("rate(5 minute)", "a value over 1 takes the plural unit: rate(5 minutes), not rate(5 minute)"),
    ("rate(5 hour)", "a value over 1 takes the plural unit: rate(5 hours), not rate(5 hour)"),
    ("rate(7 day)", "a value over 1 takes the plural unit: rate(7 days), not rate(7 day)"),
    ("rate(0 minutes)", "the value '0' is not a positive whole number"),
    ("rate(-5 minutes)", "the value '-5' is not a positive whole number"),
    ("rate(1.5 hours)", "the value '1.5' is not a positive whole number"),
    ("rate(five minutes)", "the value 'five' is not a positive whole number"),
    ("rate(5 seconds)", "the unit 'seconds' is not one of minute, minutes, hour, hours, day, days"),
    ("rate(2 weeks)", "the unit 'weeks' is not one of minute, minutes, hour, hours, day, days"),
    ("Rate(1 Hours)", "a value of 1 takes the singular unit: rate(1 hour), not rate(1 Hours)"),
    ("rate(5)", "rate() takes 2 fields (VALUE UNIT, such as rate(5 minutes)), found 1"),
    ("rate()", "rate() takes 2 fields (VALUE UNIT, such as rate(5 minutes)), found 0"),
    ("rate(5minutes)", "rate() takes 2 fields (VALUE UNIT, such as rate(5 minutes)), found 1"),
    ("rate(5 minutes daily)", "rate() takes 2 fields (VALUE UNIT, such as rate(5 minutes)), found 3"),
    ("rate(5 minutes", "it must end with ')' (rate(VALUE UNIT))"),
])
def test_every_form_of_rate_eventbridge_refuses_is_invalid(expression: str, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        translate(expression)
    assert str(refused.value) == _RATE + reason


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return setup(tmp_path, FIXTURES / "list-rules.json", FIXTURES / "get-schedule.json")


def test_one_expression_is_printed_and_nothing_written(repo: Path) -> None:
    before = written(repo)
    assert shipcard_import(repo, "eventbridge", "cron(0 2 * * ? *)").output == \
        "schedule '0 2 * * *', timeZone Etc/UTC\n"
    refused = shipcard_import(repo, "eventbridge", "rate(7 minutes)", code=2)
    assert refused.output == ("shipcard: the command line: EXPRESSION: rate(7 minutes) has no exact cron equivalent: "
                              "cron restarts its count every hour (use a number of minutes dividing 60, or a cron() "
                              "expression)\n")
    assert written(repo) == before


def test_a_time_zone_option_is_an_iana_name(repo: Path) -> None:
    assert shipcard_import(repo, "eventbridge", "cron(0 2 * * ? *)", "--time-zone", "Europe/Dublin").output == \
        "schedule '0 2 * * *', timeZone Europe/Dublin\n"
    assert shipcard_import(repo, "eventbridge", "cron(0 2 * * ? *)", "--time-zone", "CET+1", code=2).output == \
        "shipcard: the command line: --time-zone: not a time zone of the IANA database (e.g. Etc/UTC, " \
        "Europe/Berlin, America/New_York)\n"


def test_list_rules_become_the_jobs_of_one_card(repo: Path) -> None:
    result = shipcard_import(repo, "eventbridge", "../legacy/list-rules.json", "--image", IMAGE, "--name",
                             "payments-jobs")
    text = (repo / "services/payments-jobs.service.yaml").read_text()
    assert "  - name: nightly-settlement  # from ../legacy/list-rules.json:8 Rules[0].ScheduleExpression\n" in text
    assert [(j["name"], j["schedule"], j["timeZone"], j.get("suspend")) for j in load_plain(text)["jobs"]] == [
        ("nightly-settlement", "0 2 * * *", "Etc/UTC", None),
        ("refresh-fx-rates", "*/15 * * * *", "Etc/UTC", None),
        ("weekday-reconciliation", "30 6 * * MON-FRI", "Etc/UTC", True),  # State DISABLED
    ]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert "note: ../legacy/list-rules.json:29: Rules[3].ScheduleExpression: month-end-close: day-of-month 'L' " \
           "uses L (the last day of the month), which Kubernetes cron cannot express: not imported" in notes
    assert "note: ../legacy/list-rules.json:36: Rules[4].ScheduleExpression: poll-bank-sftp: rate(7 minutes) has " \
           "no exact cron equivalent: cron restarts its count every hour (use a number of minutes dividing 60, or " \
           "a cron() expression): not imported" in notes
    assert "note: ../legacy/list-rules.json:39: Rules[5]: payments-failed-to-slack has no ScheduleExpression (an " \
           "event pattern rule, or list-schedules output: use get-schedule): not imported" in notes


@pytest.mark.kubectl
def test_a_scheduler_schedule_keeps_its_time_zone_and_checks_clean(repo: Path, kubectl: str) -> None:
    shipcard_import(repo, "eventbridge", "../legacy/get-schedule.json", "--image", IMAGE, "--name", "dunning")
    text = (repo / "services/dunning.service.yaml").read_text()
    assert text.endswith("  - name: dunning-emails  # from ../legacy/get-schedule.json:11 ScheduleExpression\n"
                         "    schedule: 0 9 * * 1-5\n"
                         "    timeZone: Europe/Dublin # from ../legacy/get-schedule.json:12 "
                         "ScheduleExpressionTimezone\n")
    built, findings = render_build_check(repo, kubectl)
    cron = next(o for o in built["apps/dunning/overlays/prod"] if o["kind"] == "CronJob")
    assert (cron["spec"]["schedule"], cron["spec"]["timeZone"]) == ("0 9 * * 1-5", "Europe/Dublin")
    assert findings == Counter({("info", "argocd-unpinned-revision"): 4, ("warning", "image-not-pinned"): 1})


def test_an_invalid_rate_argument_is_exit_2_naming_the_argument(repo: Path) -> None:
    before = written(repo)
    for args in (("rate(1 minutes)",), ("rate(1 minutes)", "--image", IMAGE, "--name", "jobs")):
        refused = shipcard_import(repo, "eventbridge", *args, code=2)
        assert refused.output == (f"shipcard: the command line: EXPRESSION: {_RATE}a value of 1 takes the singular "
                                  "unit: rate(1 minute), not rate(1 minutes)\n")
    assert written(repo) == before


def test_an_invalid_rate_in_a_file_of_rules_is_exit_2_at_its_line(repo: Path) -> None:
    """A rule EventBridge would refuse is not an export of it: the file is bad input, though a rule with no
    Kubernetes equivalent (poll-bank-sftp, month-end-close) is only reported."""
    rules = (repo.parent / "legacy/list-rules.json")
    rules.write_text(rules.read_text().replace('"rate(15 minutes)"', '"rate(15 minute)"'))
    before = written(repo)
    for extra in ((), ("--image", IMAGE, "--name", "payments-jobs")):
        refused = shipcard_import(repo, "eventbridge", "../legacy/list-rules.json", *extra, code=2)
        assert refused.output == ("shipcard: ../legacy/list-rules.json:15:13: Rules[1].ScheduleExpression: "
                                  f"{_RATE}a value over 1 takes the plural unit: rate(15 minutes), not "
                                  "rate(15 minute)\n")
    assert written(repo) == before


def test_printed_schedules_report_their_notes_in_the_order_of_the_file(repo: Path) -> None:
    result = shipcard_import(repo, "eventbridge", "../legacy/list-rules.json")
    lines = [int(line.split(":")[2]) for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert lines == sorted(lines) and len(lines) > 3
