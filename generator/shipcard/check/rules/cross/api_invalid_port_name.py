'''A port name the API server refuses.

Container port names, a Service's named `targetPort` and named probe or lifecycle handler
ports must be IANA service names, as Kubernetes' `IsValidPortName` checks them (through
`validateContainerPorts`, `validateServicePort` and `ValidatePortNumOrName` in
`pkg/apis/core/validation`): at most 15 characters, lower case letters, digits and '-', at
least one letter, no leading, trailing or doubled '-'. A string of digits is a name, not a
number, and is refused too. A Service port's own `name` is a DNS-1123 label
(`ValidateDNS1123Label`).

```yaml pass
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: ghcr.io/example/web:1.0.0
      ports:
        - {name: http-metrics, containerPort: 9090}
      readinessProbe:
        httpGet: {path: /ready, port: http-metrics}
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
        - {name: prometheus-metric, containerPort: 9090}
```

```yaml fail
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: "8080"}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._api_ports import name_problem, port_problems
from shipcard.check.rules.kube import Context, finding

ID = "api-invalid-port-name"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Port name is not a valid IANA service name"
RATIONALE = """The API server refuses an object whose port names break its rules (at most 15
characters, lower case letters, digits and '-', at least one letter), so the sync fails at apply
time; the OpenAPI schema only says "string". A quoted number (`targetPort: "8080"`) is read as a
name and refused the same way."""
FIX = "Shorten or rename the port (e.g. `metrics`, `http-admin`), and write port numbers unquoted."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for bad in port_problems(context or Context(objects), name_problem):
        yield finding(bad.obj, bad.path, f'{bad.obj.ref}: {bad.path[-1]} "{bad.value}" {bad.problem}',
                      container=bad.container)
