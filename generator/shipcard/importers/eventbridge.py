"""`shipcard import eventbridge EXPRESSION|FILE`: EventBridge schedules as Kubernetes cron.

`cron(min hour day-of-month month day-of-week year)` reads as EventBridge does: day-of-week 1-7 is
SUN-SAT (Kubernetes: 0-6), `?` is "any" in one of the two day fields, and the year must be `*`;
`L`, `W` and `#` have no Kubernetes equivalent. `rate(VALUE UNIT)` is read as EventBridge's grammar
has it (a positive whole VALUE; UNIT `minute`, `hour` or `day`, singular for 1 and plural otherwise:
anything else EventBridge refuses is bad input, wherever it is written) and becomes cron where a
clock-aligned schedule runs at the same interval (minutes dividing 60, hours dividing 24, 1 or 7 days). Rules run
in UTC; an EventBridge Scheduler schedule in its ScheduleExpressionTimezone. A FILE is what
`aws events list-rules` or `aws scheduler get-schedule` prints (JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard.importers.result import (
    CardBuilder,
    ImportResult,
    Origin,
    Source,
    commented,
    job_name,
    read_sources,
    service_name,
    shaped,
)
from shipcard.patterns import cron_problem, time_zone_problem

UTC = "Etc/UTC"
# EventBridge writes them in lower case; `CRON(…)` typed by hand is read the same, not taken for a file name.
_EXPRESSION = re.compile(r"^\s*(cron|rate|at)\(", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.DOTALL | re.IGNORECASE)
_RATE = re.compile(r"^rate\((.*)\)$", re.DOTALL | re.IGNORECASE)
_RATE_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class Refused(Exception):
    """An expression with no Kubernetes cron equivalent; the message says why."""


class Invalid(Refused):
    """An expression EventBridge itself refuses: bad input even among rules that are only reported."""


@dataclass(frozen=True)
class Schedule:
    cron: str
    note: str | None = None  # a difference worth reporting (a rate's phase)


def is_expression(source: str) -> bool:
    """Whether the command line gives an expression (`cron(…)`, `rate(…)`, `at(…)`) rather than a FILE."""
    return bool(_EXPRESSION.match(source))


def translate(expression: str) -> Schedule:
    """The Kubernetes cron schedule of an EventBridge expression, or Refused with the reason."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return _rate(*_rate_fields(rate.group(1)))
    if text.lower().startswith("rate("):
        raise Invalid("not a valid EventBridge rate expression: it must end with ')' (rate(VALUE UNIT))")
    cron = _CRON.match(text)
    if not cron:
        if text.lower().startswith("at("):
            raise Refused("at(...) is a one-time schedule: a CronJob repeats (run it once with `kubectl create job`)")
        raise Refused("not an EventBridge schedule expression (cron(...) or rate(...))")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise Refused(f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), found {len(fields)}")
    minute, hour, day, month, weekday, year = fields
    if year != "*":
        raise Refused(f"the year field {year!r} restricts years: a Kubernetes schedule has no year")
    for name, value in (("day-of-month", day), ("day-of-week", weekday)):
        for wildcard, meaning in (("L", "the last day"), ("W", "the nearest weekday"), ("#", "the Nth weekday")):
            if wildcard in re.sub("|".join(_DAY_NAMES), "", value.upper()):
                raise Refused(f"{name} {value!r} uses {wildcard} ({meaning} of the month), which Kubernetes "
                              "cron cannot express")
    if day != "?" and weekday != "?":
        raise Refused("EventBridge needs ? in day-of-month or day-of-week")
    schedule = " ".join([minute, hour, "*" if day == "?" else day, month,
                         "*" if weekday == "?" else _weekdays(weekday)])
    why = cron_problem(schedule)
    if why:
        raise Refused(f"as Kubernetes cron ({schedule}) it is refused: {why}")
    return Schedule(schedule)


def _weekdays(field: str) -> str:
    """EventBridge's day-of-week numbers (1-7 = SUN-SAT) as Kubernetes' (0-6); names stay."""
    def shift(match: re.Match[str]) -> str:
        number = int(match.group())
        if not 1 <= number <= 7:
            raise Refused(f"day-of-week {number} is not 1-7 (SUN-SAT)")
        return str(number - 1)

    parts = []
    for part in field.split(","):
        range_part, slash, step = part.partition("/")
        parts.append(re.sub(r"[0-9]+", shift, range_part) + slash + step)
    return ",".join(parts)


def _rate_fields(inside: str) -> tuple[int, str]:
    """The value and singular unit of what `rate(…)` holds, or Invalid with what EventBridge refuses in it
    (the EventBridge user guide, "Rate expressions": two fields, a positive number and a unit that is
    singular for 1 and plural for more)."""
    def invalid(problem: str) -> Invalid:
        return Invalid(f"not a valid EventBridge rate expression: {problem}")

    fields = inside.split()
    if len(fields) != 2:
        raise invalid(f"rate() takes 2 fields (VALUE UNIT, such as rate(5 minutes)), found {len(fields)}")
    value, written = fields
    unit = written.lower()  # read as the keyword is: `Rate(6 Hours)` typed by hand is `rate(6 hours)`
    if not re.fullmatch(r"[0-9]+", value) or int(value) == 0:
        raise invalid(f"the value {value!r} is not a positive whole number")
    if unit not in _RATE_UNITS:
        raise invalid(f"the unit {written!r} is not one of {', '.join(_RATE_UNITS)}")
    number, singular = int(value), unit.removesuffix("s")
    if number == 1 and unit != singular:
        raise invalid(f"a value of 1 takes the singular unit: rate(1 {singular}), not rate(1 {written})")
    if number > 1 and unit == singular:
        raise invalid(f"a value over 1 takes the plural unit: rate({value} {unit}s), not rate({value} {written})")
    return number, singular


def _rate(value: int, unit: str) -> Schedule:
    phase = (f"rate({value} {unit}{'s' if value > 1 else ''}) counts from when the rule was created; the "
             "CronJob runs at fixed clock times")
    if unit == "minute" and 60 % value == 0:
        return Schedule("* * * * *" if value == 1 else f"*/{value} * * * *", phase)
    if unit == "hour" and 24 % value == 0:
        return Schedule("0 * * * *" if value == 1 else f"0 */{value} * * *", phase)
    if unit == "day" and value in (1, 7):
        return Schedule("0 0 * * *" if value == 1 else "0 0 * * 0", phase)
    fits = {"minute": "a number of minutes dividing 60", "hour": "a number of hours dividing 24",
            "day": "1 or 7 days"}[unit]
    raise Refused(f"rate({value} {unit}s) has no exact cron equivalent: cron restarts its count every "
                  f"{'hour' if unit == 'minute' else 'day' if unit == 'hour' else 'month'} (use {fits}, "
                  "or a cron() expression)")


@dataclass(frozen=True)
class Rule:
    """One schedule of the input: its name, expression, time zone and whether it is enabled."""

    name: str
    expression: str
    time_zone: str
    enabled: bool
    origin: Origin
    zone_origin: str  # the comment on the job's timeZone


def read_rules(source: str, time_zone: str | None) -> tuple[list[Rule], ImportResult]:
    """The schedules of an expression or a JSON file (list-rules, get-schedule), and notes on what is skipped."""
    result = ImportResult()
    why = time_zone_problem(time_zone) if time_zone is not None else None
    if why:
        raise Origin("the command line", 0, "--time-zone").error(why)
    if is_expression(source):
        return [Rule("schedule", source, time_zone or UTC, True, Origin("the command line", 0, "EXPRESSION"),
                     _zone_comment(time_zone, None))], result
    path = Path(source)
    documents = read_sources(path)
    if len(documents) != 1:
        raise Origin(source, 1, "").error("expected the JSON of `aws events list-rules` or "
                                          "`aws scheduler get-schedule`")
    document = documents[0]
    data = document.data
    entries: list[tuple[Any, tuple[str | int, ...]]] = []
    if isinstance(data, dict) and "ScheduleExpression" in data:
        entries.append((data, ()))
    elif isinstance(data, dict):
        for key in ("Rules", "Schedules"):
            for index, entry in enumerate(data.get(key) or []):
                entries.append((entry, (key, index)))
    if not entries:
        raise document.at().error("no Rules, Schedules or ScheduleExpression in it")
    with shaped(document.at()):
        return _rules(document, entries, time_zone, result), result


def _rules(document: Source, entries: list[tuple[Any, tuple[str | int, ...]]], time_zone: str | None,
           result: ImportResult) -> list[Rule]:
    rules = []
    for entry, where in entries:
        origin = document.at(*where)
        if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str):
            raise origin.error("a rule or schedule needs a Name")
        expression = entry.get("ScheduleExpression")
        if not isinstance(expression, str):
            result.note(origin, f"{entry['Name']} has no ScheduleExpression (an event pattern rule, or "
                                "list-schedules output: use get-schedule): not imported")
            continue
        zone = entry.get("ScheduleExpressionTimezone") or time_zone or UTC
        zone_origin = document.at(*where, "ScheduleExpressionTimezone")
        why = time_zone_problem(zone)
        if why:
            raise zone_origin.error(why)
        rules.append(Rule(entry["Name"], expression, zone, entry.get("State", "ENABLED") == "ENABLED",
                          document.at(*where, "ScheduleExpression"),
                          _zone_comment(time_zone, zone_origin if "ScheduleExpressionTimezone" in entry else None)))
    return rules


def _zone_comment(option: str | None, origin: Origin | None) -> str:
    if origin is not None:
        return str(origin)
    return "from the command line --time-zone" if option else "EventBridge schedules are in UTC unless they name a zone"


def _translated(rules: list[Rule], result: ImportResult, refused: str = "") -> Iterator[tuple[Rule, Schedule]]:
    """Each rule with its Kubernetes schedule; a rule without one is the error when it is the only rule or
    when EventBridge refuses its expression, else a note (its reason, then `refused`)."""
    for rule in rules:
        try:
            schedule = translate(rule.expression)
        except Refused as exc:
            if len(rules) == 1 or isinstance(exc, Invalid):
                raise rule.origin.error(str(exc)) from None
            result.note(rule.origin, f"{rule.name}: {exc}{refused}")
            continue
        yield rule, schedule


def read_eventbridge(source: str, image: str, name: str | None, time_zone: str | None) -> ImportResult:
    """One card whose jobs are the schedules (each refused one reported), running `image`."""
    rules, result = read_rules(source, time_zone)
    default = name or (Path(source).name.split(".")[0] if not is_expression(source) else "")
    card = CardBuilder(service_name(default, Origin("the command line", 0, "--name")),
                       Origin(source if name is None else "the command line", 0, "name" if name is None else "--name"),
                       result)
    card.image(("image",), image, Origin("the command line", 0, "--image"))
    taken: set[str] = set()
    for rule, schedule in _translated(rules, result, refused=": not imported"):
        job = commented(rule.origin, name=job_name(rule.name, card.name, taken), schedule=schedule.cron,
                        timeZone=rule.time_zone)
        job.yaml_add_eol_comment(rule.zone_origin, "timeZone")
        if not rule.enabled:
            job["suspend"] = True
            result.note(rule.origin, f"{rule.name} is disabled: the job is suspended")
        if schedule.note:
            result.note(rule.origin, f"{rule.name}: {schedule.note}")
        result.note(rule.origin, f"{rule.name}: the rule's targets are not imported: set the job's command "
                                 "(and args) for what the target ran")
        card.append("jobs", job)
    if "jobs" not in card.doc:
        raise Origin(source, 1, "").error("no schedule could be imported (see the notes above)")
    card.finish()
    return result


def print_schedules(source: str, time_zone: str | None) -> None:
    """Each schedule as `NAME: SCHEDULE (TIME ZONE)` on standard output, refusals and notes on standard error."""
    import click

    rules, result = read_rules(source, time_zone)
    translated = list(_translated(rules, result))  # every rule read before anything is printed
    for rule, schedule in translated:
        click.echo(f"{rule.name + ': ' if rule.origin.line else ''}schedule {schedule.cron!r}, "
                   f"timeZone {rule.time_zone}")
        if schedule.note:
            result.note(rule.origin, f"{rule.name}: {schedule.note}")
    for note in sorted(result.notes, key=lambda note: note.line):  # in the order of the file
        click.echo(f"note: {note}", err=True)
    if not translated:
        raise Origin(source, 1, "").error("no schedule has a Kubernetes equivalent (see the notes above)")
