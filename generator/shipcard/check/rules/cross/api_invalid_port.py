'''A port number outside 1–65535, which the API server refuses.

Checks what the OpenAPI schema cannot (it only says "integer"): a Service's `port`,
`targetPort` and `nodePort`, a container's `containerPort` and `hostPort`, and the ports of
its probes and lifecycle handlers. Mirrors `IsValidPortNum` as Kubernetes'
`pkg/apis/core/validation` applies it (`validateServicePort`, `validateContainerPorts`,
`ValidatePortNumOrName`); `hostPort` and `nodePort` 0 mean unset.

```yaml pass
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
```

```yaml fail
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 123456}
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
      ports:
        - {name: http, containerPort: 0}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._api_ports import number_problem, port_problems
from shipcard.check.rules.kube import Context, finding

ID = "api-invalid-port"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Port number outside 1-65535"
RATIONALE = """The API server refuses an object with a port number outside 1 to 65535, so the sync
fails at apply time; schema validation does not catch it, because the OpenAPI schema only says
"integer"."""
FIX = "Use a port number between 1 and 65535 (or a port name where the field takes one)."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for bad in port_problems(context or Context(objects), number_problem):
        yield finding(bad.obj, bad.path, f"{bad.obj.ref}: {bad.path[-1]} {bad.problem}", container=bad.container)
