'''An object name or namespace the API server refuses.

The OpenAPI schema only says "string"; the API server checks `metadata.name` against the rule
of its kind (`ValidateObjectMeta` with the kind's name function in `pkg/apis/core/validation`
and `pkg/apis/batch/validation`): a DNS-1123 subdomain of at most 253 characters for most kinds,
a DNS-1035 label of at most 63 for a Service, a DNS-1123 label for a Namespace, at most 52
characters for a CronJob (its Jobs get an 11-character suffix) and 63 for a Job (its pods are
labelled `job-name=<name>`). `metadata.namespace` is a DNS-1123 label.

```yaml pass
apiVersion: batch/v1
kind: CronJob
metadata:
  name: billing-api-nightly-report
spec:
  schedule: "0 1 * * *"
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
  name: billing-api-nightly-report-for-the-finance-department
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: report, image: ghcr.io/example/report:1.0.0}
```

```yaml fail
apiVersion: v1
kind: Service
metadata:
  name: 9-web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._api_values import shown_name
from shipcard.check.rules.kube import Context, finding
from shipcard.patterns import name_problem

ID = "api-invalid-name"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Object name or namespace the API server refuses"
RATIONALE = """The API server refuses an object whose name breaks the rule of its kind (DNS-1123
subdomain, DNS-1035 label for a Service, at most 52 characters for a CronJob) or whose namespace is
not a DNS-1123 label, so the sync fails at apply time; the OpenAPI schema only says "string"."""
FIX = "Rename the object: lower case letters, digits and '-', short enough for its kind."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for p in (context or Context(objects)).prepared or []:
        meta = p.obj.metadata
        for key, kind in (("name", p.kind), ("namespace", "Namespace")):
            value = meta.get(key)
            if not isinstance(value, str) or not value:
                continue
            why = name_problem(value, kind)
            if why:
                yield finding(p.obj, ("metadata", key), f"{p.kind} {key} {shown_name(value)} {why}")
