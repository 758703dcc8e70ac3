'''A CronJob schedule or time zone the API server refuses.

Kubernetes parses `spec.schedule` with robfig/cron v3's standard parser: five fields (minute
0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; `*`,
`?`, lists, ranges and steps, a step of at least 1, ranges that do not run backwards) or one of
`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`,
`@every DURATION`; `TZ=`/`CRON_TZ=` are refused in favour of `spec.timeZone`. `spec.timeZone`
must be a name of the IANA database that Go's time package loads, and not `Local`
(`validateScheduleFormat` and `validateTimeZone` in `pkg/apis/batch/validation`).

```yaml pass
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "30 6 * * MON-FRI"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: report, image: ghcr.io/example/report:1.0.0}
```

```yaml fail
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 0 * * 7"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: report, image: ghcr.io/example/report:1.0.0}
```

```yaml fail
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 1 * * *"
  timeZone: Europe/Atlantis
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: report, image: ghcr.io/example/report:1.0.0}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, finding
from shipcard.patterns import cron_problem, time_zone_problem

ID = "api-invalid-schedule"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "CronJob schedule or time zone the API server refuses"
RATIONALE = """The API server refuses a CronJob whose schedule its cron parser cannot read (a field
out of range, a step of 0, a range running backwards, TZ= in the schedule) or whose time zone is
not in the IANA database, so the sync fails at apply time; the OpenAPI schema only says "string"."""
FIX = "Write five cron fields within their ranges (day of week 0-6, Sunday is 0) and an IANA time zone " \
      "such as Etc/UTC or Europe/Berlin."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for p in (context or Context(objects)).of_kind("CronJob"):
        spec = as_dict(p.obj.data.get("spec"))
        for key, problem in (("schedule", cron_problem), ("timeZone", time_zone_problem)):
            value = spec.get(key)
            why = problem(value) if isinstance(value, str) else None
            if why:
                yield finding(p.obj, ("spec", key), f"{p.obj.ref}: {key} {why}")
