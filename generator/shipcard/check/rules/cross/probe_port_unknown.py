'''A probe names a port the container does not declare.

The kubelet resolves a named probe port (`port: http`) against the container's own
`ports[].name`; when no port has that name the probe can never succeed: a readiness
probe keeps the pod out of every Service, a liveness probe restarts it forever. A port
declared only as UDP (or SCTP) does not count: HTTP, TCP and gRPC probes connect over TCP.

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
        - {name: http, containerPort: 8080}
      readinessProbe:
        httpGet: {path: /ready, port: http}
      livenessProbe:
        tcpSocket: {port: 8080}
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
        - {name: web, containerPort: 8080}
      readinessProbe:
        httpGet: {path: /ready, port: http}
```

```yaml fail
apiVersion: v1
kind: Pod
metadata:
  name: dns
spec:
  containers:
    - name: dns
      image: ghcr.io/example/dns:1.0.0
      ports:
        - {name: dns, containerPort: 53, protocol: UDP}
      livenessProbe:
        tcpSocket: {port: dns}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, as_list, finding

ID = "probe-port-unknown"
SEVERITY = "error"
CATEGORY = "reliability"
TITLE = "Probe uses a port name the container does not declare for TCP"
RATIONALE = """A named probe port is looked up in the container's own ports; if the name is not
there the probe fails every time, so the pod never becomes ready (readiness) or is restarted
in a loop (liveness, startup)."""
FIX = "Name the port in the container's `ports` list, or use the port number in the probe."

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
HANDLERS = ("httpGet", "tcpSocket", "grpc")


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for workload in context.workloads:
        for c in workload.containers:
            ports = [p for p in as_list(c.data.get("ports")) if isinstance(p, dict) and p.get("name")]
            names = {str(p["name"]) for p in ports if p.get("protocol", "TCP") == "TCP"}
            other = {str(p["name"]): str(p["protocol"]) for p in ports if p.get("protocol", "TCP") != "TCP"}
            for probe_name in PROBES:
                probe = as_dict(c.data.get(probe_name))
                for handler in HANDLERS:
                    port = as_dict(probe.get(handler)).get("port")
                    if isinstance(port, str) and not port.isdigit() and port not in names:
                        why = f"which the container declares as {other[port]} only (probes connect over TCP)" \
                            if port in other else "which the container does not declare"
                        yield finding(workload.obj, (*c.path, probe_name, handler, "port"),
                                      f'container "{c.name}": {probe_name} uses port "{port}", {why}',
                                      container=c.name)
