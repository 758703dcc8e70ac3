"""Regular expressions shared by the card, the repository settings and `new`/`init`, and what they mean.

Patterns end in `(?!\n)$`, not a bare `$`: the validator matches with Python's `re.search`,
where `$` also matches before a final newline, so `"web\n"` would pass as a name and reach
file paths and object names. (In an ECMA-262 regex, as editors use, the look-ahead is a no-op.)
"""

from __future__ import annotations

import re
from functools import cache

END = r"(?!\n)$"  # end of the text, also under Python's `re.search` (see the module docstring)
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?" + END
# The service name also names a Service, and Service names are DNS-1035 labels: a letter first.
SERVICE_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?" + END
# A port name is an IANA service name: at least one letter, no "--".
PORT_NAME = r"^(?=[-a-z0-9]*[a-z])(?![-a-z0-9]*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?" + END
# A label value (the team ends up in app.kubernetes.io/part-of).
LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?" + END
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?" + END
# What the API server takes as a DNS-1123 subdomain: dot-separated DNS labels.
DNS_SUBDOMAIN_STRICT = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*" + END
HOST = r"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*" + END
ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]*" + END
DURATION = r"^([0-9]{1,6}(\.[0-9]{1,6})?(ms|s|m|h))+" + END
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?" + END
# Five fields of what the CronJob controller's parser reads (numbers, names, * / , - ?); it refuses the rest.
CRON = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9A-Za-z*/,?-]+[ \t]+){4}[0-9A-Za-z*/,?-]+)" + END
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff]"  # no space, no control character
NO_SPACE = "^" + _VISIBLE + "+" + END
CLUSTER_URL = "^https://" + _VISIBLE + "+" + END
# Free text (descriptions, commands, scripts, env values) may hold any character YAML can carry
# except control characters: the YAML readers of kubectl and Argo CD refuse them even escaped
# (and read an escaped NEL, U+0085, as something else).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*$"
URL_PATH = "^/" + _VISIBLE + "*" + END
# Why a card accepts a finding (health.liveness.none, singleReplica): one line, since it becomes one
# clause of a `shipcard.io/ignore` annotation, which reads a line per clause (`str.splitlines`: also at
# U+2028 and U+2029, so a reason holding one would add a clause suppressing any other rule).
REASON = "^" + _VISIBLE + r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]*" + END
# The annotation `shipcard check` reads suppressions from (check.suppress): `<rule>[,<rule>]: <reason>` a
# line, `.<container>` appended for one container's findings. Cards write it too (k8s.objects).
IGNORE_ANNOTATION = "shipcard.io/ignore"
KUBERNETES_VERSION = r"^v?[0-9]+\.[0-9]+" + END
DIGEST = r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})" + END
# An IAM role for IRSA (serviceAccount.awsRole): the three partitions EKS runs in, a 12-digit account,
# an optional path and a role name of IAM's characters (at most 64).
AWS_ROLE_ARN = r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}" + END
# A file of secrets.files: absolute, at least two directories deep (its directory becomes a read-only
# volume, so never `/etc` or `/app` itself), parts of the characters a Secret key may have.
SECRET_FILE_PATH = r"^/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+" + END
# The provider's version of a secret value (ESO's remoteRef.version): a Secrets Manager version stage or
# `uuid/<version id>`, a Parameter Store version number or label, a Vault KV version.
SECRET_VERSION = r"^[A-Za-z0-9_+=,.@-]+(/[A-Za-z0-9_+=,.@-]+)?" + END
# A namespace of shipcard.yaml, where {service} stands for the service name.
NAMESPACE_TEMPLATE = r"^([a-z0-9-]|\{service\})+" + END

# What a value failing one of these patterns should have looked like (error messages quote the
# value only for these: none of them holds anything secret).
MEANING = {
    DNS_LABEL: "a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)",
    SERVICE_NAME: "a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)"
                  " that starts with a letter",
    PORT_NAME: "a port name (lower case letters, digits and '-', at least one letter, no '--')",
    ENV_VAR: "an environment variable name (letters, digits and '_', not starting with a digit)",
    DURATION: "a duration such as 30s, 15m, 1h or 1h30m",
    QUANTITY: "a Kubernetes quantity such as 250m, 1, 512Mi or 1Gi",
    CRON: "a cron schedule (five fields, e.g. '0 1 * * *')",
    KUBERNETES_VERSION: "a Kubernetes version such as \"1.31\"",
    DIGEST: "an image digest, sha256:<64 hex digits>",
    AWS_ROLE_ARN: "an IAM role ARN, arn:aws|aws-cn|aws-us-gov:iam::<12-digit account>:role/[<path>/]<name>",
    SECRET_FILE_PATH: "an absolute file path at least two directories deep, such as /etc/app/key.pem "
                      "(letters, digits, '.', '_' and '-')",
    REASON: "one line of text that starts with a visible character",
    SECRET_VERSION: "a version stage (AWSPREVIOUS), uuid/<version id>, or a version number or label (letters, "
                    "digits and _+=,.@-)",
}


# --------------------------------------------------------------------------- the API server's own value rules
# What Kubernetes refuses that a pattern cannot say, in one place for the card loader and the
# `api-invalid-*` rules of `check`. Each function returns why a value is refused, or None.

MAX_DATA_BYTES = 1024 * 1024  # a ConfigMap's data + binaryData values, a Secret's data values (MaxSecretSize)
MAX_ANNOTATIONS_BYTES = 256 * 1024  # keys + values (TotalAnnotationSizeLimitB)
MAX_LABEL_VALUE = 63
MAX_DNS_LABEL = 63
MAX_DNS_SUBDOMAIN = 253
MAX_CRONJOB_NAME = 52  # the CronJob controller appends an 11-character suffix to the Jobs it names

# IANA names as `validateTimeZone` reads them: parts of at most 14 of these characters.
_TIME_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")
_GO_INT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi takes
# Go's time.ParseDuration, as `@every` reads it: [-+] then number-unit pairs, or a bare 0.
_GO_DURATION = re.compile(r"[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)")
_CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_WEEKDAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# robfig/cron v3's standard fields (what Kubernetes parses with cron.ParseStandard): bounds and names.
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day of week", 0, 6, _WEEKDAYS))


def cron_problem(schedule: str) -> str | None:
    """Why a CronJob's schedule is refused: robfig/cron v3's ParseStandard, and no TZ in it (Kubernetes)."""
    if "TZ" in schedule:
        return "a schedule may not set TZ or CRON_TZ; use timeZone instead"
    if not schedule:
        return "the schedule is empty"
    if schedule.startswith("@"):
        if schedule in _CRON_DESCRIPTORS:
            return None
        if schedule.startswith("@every ") and _GO_DURATION.fullmatch(schedule[len("@every "):]):
            return None
        return f"unknown descriptor (use one of {', '.join(_CRON_DESCRIPTORS)} or @every DURATION)"
    fields = schedule.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found {len(fields)}"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in (p for p in text.split(",") if p):  # Go's FieldsFunc: empty parts are skipped
            why = _cron_range_problem(part, low, high, names)
            if why:
                return f"{name} {part!r}: {why}"
    return None


def _cron_range_problem(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    """robfig/cron v3's getRange: `*`, `?`, N, N-M, each optionally /STEP."""
    range_and_step = part.split("/")
    if len(range_and_step) > 2:
        return "too many slashes"
    low_high = range_and_step[0].split("-")
    if low_high[0] in ("*", "?"):
        start, end = low, high
    else:
        if len(low_high) > 2:
            return "too many hyphens"
        numbers = [_cron_number(text, names) for text in low_high]
        if any(isinstance(n, str) for n in numbers):
            return next(n for n in numbers if isinstance(n, str))
        start = end = numbers[0]  # type: ignore[assignment]
        if len(numbers) == 2:
            end = numbers[1]  # type: ignore[assignment]
    step = 1
    if len(range_and_step) == 2:
        parsed = _cron_number(range_and_step[1], {})
        if isinstance(parsed, str):
            return parsed
        step = parsed
        if len(low_high) == 1:
            end = high  # N/STEP means N-max/STEP
    if start < low:
        return f"below the minimum ({low})"
    if end > high:
        return f"above the maximum ({high})"
    if start > end:
        return "the range starts after it ends"
    if step == 0:
        return "the step must be a positive number"
    return None


def _cron_number(text: str, names: dict[str, int]) -> int | str:
    """A field's number or name, or why it is neither (robfig's parseIntOrName)."""
    if text.lower() in names:
        return names[text.lower()]
    if not _GO_INT.fullmatch(text) or len(text) > 18:
        return f"{text!r} is not a number" + (f" or one of {', '.join(n.upper() for n in names)}" if names else "")
    number = int(text)
    return "negative numbers are not allowed" if number < 0 else number


def time_zone_problem(name: str) -> str | None:
    """Why a CronJob's timeZone is refused (`validateTimeZone`): an IANA name Go's time package loads, not Local."""
    if not name:
        return "the time zone is empty"
    if any(part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.fullmatch(part)
           for part in name.split("/")):
        return "not an IANA time zone name (parts of at most 14 letters, digits, '.', '-', '_' or '+')"
    if name.lower() == "local":
        return "Local is not an explicit time zone: name one (e.g. Etc/UTC, Europe/Berlin)"
    if name != "UTC" and name not in _time_zones():
        return "not a time zone of the IANA database (e.g. Etc/UTC, Europe/Berlin, America/New_York)"
    return None


@cache
def _time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def name_problem(name: str, kind: str) -> str | None:
    """Why the API server refuses `name` as the metadata.name of a `kind` (its DNS rule and length), or None."""
    pattern, rule, limit = _NAME_RULES.get(kind, _SUBDOMAIN_RULE)
    limit = _NAME_LIMITS.get(kind, limit)
    if len(name) > limit:
        return f"is {len(name)} characters; a {kind} name may have at most {limit}"
    if not re.match(pattern, name):
        return f"must be {rule}"
    return None


_SUBDOMAIN_RULE = (DNS_SUBDOMAIN_STRICT, "a DNS-1123 subdomain (lower case letters, digits, '-' and '.', "
                   "each dot-separated part starting and ending with a letter or digit)", MAX_DNS_SUBDOMAIN)
_NAME_RULES = {
    "Service": (SERVICE_NAME, MEANING[SERVICE_NAME].replace("DNS-1123", "DNS-1035"), MAX_DNS_LABEL),
    "Namespace": (DNS_LABEL, MEANING[DNS_LABEL], MAX_DNS_LABEL),
}
_NAME_LIMITS = {"CronJob": MAX_CRONJOB_NAME, "Job": MAX_LABEL_VALUE}  # a Job's pods get the label job-name=<name>


def label_value_problem(value: str) -> str | None:
    """Why the API server refuses a label value (at most 63 characters, LABEL_VALUE), or None."""
    if len(value) > MAX_LABEL_VALUE:
        return f"is {len(value)} characters; a label value may have at most {MAX_LABEL_VALUE}"
    if value and not re.match(LABEL_VALUE, value):
        return "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    return None


def qualified_name_problem(key: str) -> str | None:
    """Why the API server refuses a label or annotation key (`[prefix/]name`, IsQualifiedName), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "has an empty prefix before '/'"
    if prefix and (len(prefix) > MAX_DNS_SUBDOMAIN or not re.match(DNS_SUBDOMAIN_STRICT, prefix)):
        return f"its prefix must be a DNS-1123 subdomain of at most {MAX_DNS_SUBDOMAIN} characters"
    if not name:
        return "has an empty name"
    if len(name) > MAX_LABEL_VALUE:
        return f"its name part is {len(name)} characters; it may have at most {MAX_LABEL_VALUE}"
    if not re.match(LABEL_VALUE, name):
        return "its name part must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    return None
