'''A container sets the same environment variable twice.

Only the last definition takes effect, so the first one is dead configuration that
people still read and edit; server-side apply and strategic merge patches also treat
the list by name and can drop or merge the wrong entry.

```yaml pass
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: ghcr.io/example/web:1.0.0
      env:
        - {name: LOG_LEVEL, value: info}
        - {name: PORT, value: "8080"}
```

```yaml fail
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: ghcr.io/example/web:1.0.0
      env:
        - {name: LOG_LEVEL, value: info}
        - {name: PORT, value: "8080"}
        - {name: LOG_LEVEL, value: debug}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, finding, iter_named

ID = "duplicate-env-var"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Environment variable defined twice in one container"
RATIONALE = """When a container's env list names a variable twice, the last entry wins silently; the
earlier one looks effective but is not, and patches that merge env by name may keep either."""
FIX = "Keep one entry per variable name."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for workload in context.workloads:
        for c in workload.containers:
            seen: dict[str, int] = {}
            for index, env in iter_named(c.data.get("env")):
                name = env.get("name")
                if not isinstance(name, str):
                    continue
                if name in seen:
                    first_line = workload.obj.position((*c.path, "env", seen[name]))[0]
                    where = f" (first at line {first_line})" if first_line else ""
                    yield finding(workload.obj, (*c.path, "env", index, "name"),
                                  f'container "{c.name}" sets {name} again{where}; only the last value counts',
                                  container=c.name)
                else:
                    seen[name] = index
