"""`shipcard import crontab FILE --image IMAGE`: one card whose jobs are the crontab's lines.

A line is `MIN HOUR DOM MONTH DOW COMMAND` or `@daily COMMAND` (the macros Kubernetes knows);
`NAME=value` lines are env (`CRON_TZ`/`TZ` the time zone of the lines below them); `@reboot` and
`%` (the rest of the line as standard input) have no CronJob equivalent and are refused, reported.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from shipcard.importers.result import (
    CardBuilder,
    ImportResult,
    Origin,
    commented,
    job_name,
    read_lines,
    service_name,
    unquote,
)
from shipcard.patterns import cron_problem, time_zone_problem

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_REDIRECT = re.compile(r"[0-9]?>>?\s*([^\s&|;>]+)")
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")
# Words that run the command named after them: the job is named after that command.
_WRAPPERS = {"nice", "ionice", "flock", "timeout", "chronic", "run-one", "env", "sudo", "exec", "nohup", "time",
             "setlock", "cronic"}
_WRAPPER_OPERAND = {"flock", "timeout", "setlock"}
_INTERPRETERS = {"sh", "bash", "python", "python3", "php", "node", "ruby", "perl", "java", "bundle", "npx", "uv"}
_DISPATCHERS = {"manage", "artisan", "rake", "console", "cli"}  # `manage.py clearsessions`: named clearsessions
_SKIPPED = {"cd", "test", "[", "sleep", "source", ".", "set", "export"}
_NOT_ENV = {"MAILTO": "cron mails a job's output; Kubernetes keeps it in the pod's log",
            "PATH": "the image's PATH applies", "HOME": "the image's HOME applies",
            "SHELL": "", "LOGNAME": "", "USER": ""}


def read_crontab(path: Path, image: str, name: str | None) -> ImportResult:
    result = ImportResult()
    file = str(path)
    card = CardBuilder(service_name(name or path.name.split(".")[0], Origin(file, 1, "name")),
                       Origin(file, 1, "crontab"), result)
    card.image(("image",), image, Origin("the command line", 0, "--image"))
    time_zone: tuple[str, Origin] | None = None
    shell = "/bin/sh"
    env_lines: dict[str, int] = {}
    taken: set[str] = set()
    first_job_line = 0
    for number, raw in enumerate(read_lines(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        env = _ENV_LINE.match(line)
        if env and not line[0].isdigit():
            variable, value = env.group(1), unquote(env.group(2).strip())
            origin = Origin(file, number, variable)
            if variable in ("CRON_TZ", "TZ"):
                why = time_zone_problem(value)
                if why:
                    raise origin.error(f"{why}", raw.index(value) + 1 if value in raw else 1)
                time_zone = (value, origin)
            elif variable == "SHELL":
                shell = value
            elif variable in _NOT_ENV:
                result.note(origin, f"not imported: {_NOT_ENV[variable]}")
            else:
                if first_job_line or variable in env_lines:
                    result.note(origin, f"jobs of a card share one env: {variable} as set here applies to every job")
                env_lines[variable] = number
                card.env(variable, value, origin)
            continue
        origin = Origin(file, number, "schedule")
        schedule, command = _split(line, origin)
        if schedule == "@reboot":
            result.note(origin, "@reboot has no CronJob equivalent (a job at start-up): not imported")
            continue
        if _UNESCAPED_PERCENT.search(command):
            result.note(Origin(file, number, "command"), "% makes the rest of the line the command's standard "
                        "input, which a CronJob cannot give: not imported (move the input into a script)")
            continue
        command = command.replace("\\%", "%")
        for target in _REDIRECT.findall(command):
            if not target.startswith(("/dev/", "/tmp/")):
                result.note(Origin(file, number, "command"), f"writes to {target}: only /tmp is writable in the "
                            "pod (read-only root file system), and what the job prints is in its log")
        schedule = _sunday_as_zero(schedule, origin, result)
        why = cron_problem(schedule)
        if why:
            raise origin.error(f"the API server would refuse it: {why}")
        job = commented(origin, name=job_name(_command_name(command), card.name, taken), schedule=schedule)
        if time_zone:
            job["timeZone"] = time_zone[0]
            job.yaml_add_eol_comment(str(time_zone[1]), "timeZone")
        else:
            job["timeZone"] = "Etc/UTC"
            job.yaml_add_eol_comment("no CRON_TZ: the server's local time zone is not known", "timeZone")
            result.note(origin, "no CRON_TZ or TZ above this line: cron ran it in the server's local time, "
                                "the job runs in Etc/UTC (set timeZone if they differ)")
        job["command"] = [shell, "-c", card.shell(command, Origin(file, number, "command"), f"{job['name']}_command")]
        job.yaml_add_eol_comment(str(Origin(file, number, "command")), "command")
        card.append("jobs", job)
        first_job_line = first_job_line or number
    if "jobs" not in card.doc:
        raise Origin(file, 1, "").error("no job to import (no schedule line other than @reboot and %)")
    card.doc.move_to_end("jobs")
    result.note(Origin(file, first_job_line, "jobs"), "each job may run at most 1h (timeout) and never twice at "
                "once (concurrency: forbid), which cron did not enforce: set timeout and concurrency if needed")
    card.finish()
    return result


def _split(line: str, origin: Origin) -> tuple[str, str]:
    """(schedule, command) of a job line."""
    if line.startswith("@"):
        macro, _, command = line.partition(" ")
        macro = macro.split("\t")[0]
        if macro != "@reboot" and macro not in MACROS:
            raise origin.error(f"unknown macro {macro} (one of @reboot, {', '.join(MACROS)})")
        return macro, command.strip()
    fields = line.split(None, 5)
    if len(fields) < 6:
        raise origin.error("expected five schedule fields and a command")
    return " ".join(fields[:5]), fields[5]


def _sunday_as_zero(schedule: str, origin: Origin, result: ImportResult) -> str:
    """cron takes 7 for Sunday in day-of-week, Kubernetes only 0: written as 0."""
    fields = schedule.split()
    if len(fields) != 5:
        return schedule
    day_of_week = ",".join(_without_seven(part) for part in fields[4].split(","))
    if day_of_week != fields[4]:
        result.note(origin, "day of week 7 (Sunday) is written 0, as Kubernetes reads it")
    return " ".join([*fields[:4], day_of_week])


def _without_seven(part: str) -> str:
    """One day-of-week item of cron (0-7) in 0-6: `7` → `0`, `5-7` → `5-6,0`, `1-7/2` → `1-6/2,0`."""
    found = re.fullmatch(r"([0-7])-7(?:/([0-9]+))?", part)
    if part == "7" or part == "7-7":
        return "0"
    if not found:
        return part
    start, step = int(found.group(1)), int(found.group(2) or 1)
    if step == 0 or start == 7:
        return part  # refused by the schedule's check, as written
    days = f"{start}-6" + (f"/{step}" if found.group(2) else "")
    return days + (",0" if (7 - start) % step == 0 and start != 0 else "")


def _command_name(command: str) -> str:
    """The name of what a crontab command runs: `cd /srv && nice python3 jobs/export_orders.py` → export-orders."""
    for segment in re.split(r"&&|\|\||;|\|", command):
        try:
            words = shlex.split(segment)
        except ValueError:
            words = segment.split()
        words = [w for w in words if not _ENV_LINE.match(w)]
        if not words or Path(words[0]).name in _SKIPPED:
            continue
        index = 0
        while index < len(words):
            word = Path(words[index]).name
            index += 1
            if word in _WRAPPERS:
                while index < len(words) and (words[index].startswith("-") or
                                              (words[index].isdigit() and word not in _WRAPPER_OPERAND)):
                    index += 1
                index += word in _WRAPPER_OPERAND  # flock's lock file, timeout's duration
                continue
            if re.sub(r"[0-9.]+$", "", word) in _INTERPRETERS and index < len(words):
                while index < len(words) and words[index].startswith("-") and words[index] != "-m":
                    index += 1
                if index + 1 < len(words) and words[index] == "-m":
                    return words[index + 1].rsplit(".", 1)[-1]
                continue
            stem = re.sub(r"\.(sh|py|php|rb|pl|js|bash)$", "", word)
            if stem in _DISPATCHERS and index < len(words):
                return words[index].replace(":", "-")
            return stem
    return "job"
