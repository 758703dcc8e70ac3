'''A label key or value the API server refuses.

Label values are at most 63 characters of letters, digits, '-', '_' and '.', starting and ending
with a letter or digit; keys are `[prefix/]name` with a DNS-1123 subdomain prefix and a name like
a value (`ValidateLabels` in `k8s.io/apimachinery`). Checked on the object's labels and on its pod
template's, which the API server validates the same way.

```yaml pass
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  labels: {app.kubernetes.io/name: web, app.kubernetes.io/part-of: storefront}
data:
  LOG_LEVEL: info
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  labels: {app.kubernetes.io/part-of: storefront-and-checkout-and-payments-and-search-and-everything-else-we-run}
data:
  LOG_LEVEL: info
```

```yaml fail
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, version: "-1.0-"}
    spec:
      containers:
        - {name: web, image: ghcr.io/example/web:1.0.0}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._api_values import metadata_of, shown_name
from shipcard.check.rules.kube import Context, finding
from shipcard.patterns import label_value_problem, qualified_name_problem

ID = "api-invalid-label"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Label key or value the API server refuses"
RATIONALE = """The API server refuses an object whose label keys or values break its rules (a value
of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit), so the
sync fails at apply time; the OpenAPI schema only says "string"."""
FIX = "Shorten the label value (or move long text to an annotation) and keep to the allowed characters."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for p in (context or Context(objects)).prepared or []:
        for path, meta in metadata_of(p):
            labels = meta.get("labels")
            if not isinstance(labels, dict):
                continue
            for key, value in labels.items():
                key_problem = qualified_name_problem(key) if isinstance(key, str) else None
                if key_problem:
                    yield finding(p.obj, (*path, "labels", key), f"label key {shown_name(key)} {key_problem}")
                value_problem = label_value_problem(value) if isinstance(value, str) else None
                if value_problem:
                    yield finding(p.obj, (*path, "labels", key), f"label {shown_name(str(key))}: value {value_problem}")
