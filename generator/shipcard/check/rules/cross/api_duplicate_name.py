'''Two entries of a list the API server keys by name share a name.

Kubernetes refuses a pod spec whose containers, init containers and ephemeral containers do
not all have distinct names (`validateContainers`, `validateInitContainers`,
`validateEphemeralContainers` in `pkg/apis/core/validation` check one set of names across the
three lists), whose volumes repeat a name (`ValidateVolumes`), or a container whose ports
repeat a name (`validateContainerPorts`), and a Service whose ports repeat a name
(`validateServicePort`). Each is `Duplicate value` at apply time; the OpenAPI schema cannot
say it. Reported at the second entry's `name`.

```yaml pass
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/example/web:1.0.0
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          ports:
            - {name: http, containerPort: 8080}
            - {name: metrics, containerPort: 9090}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: tmp
          emptyDir: {}
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
      labels: {app: web}
    spec:
      initContainers:
        - name: web
          image: ghcr.io/example/web:1.0.0
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
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
  volumes:
    - name: cache
      emptyDir: {}
    - name: cache
      configMap: {name: web}
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
        - {name: http, containerPort: 8080}
        - {name: http, containerPort: 8443}
```

```yaml fail
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
    - {name: http, port: 443, targetPort: 8443}
```
'''

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import CONTAINER_GROUPS, Context, as_dict, finding, iter_named
from shipcard.yamlio.read import PathKey

ID = "api-duplicate-name"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Containers, volumes or ports that share a name"
RATIONALE = """The API server keys containers (all three lists together), volumes and ports by
name and refuses an object where two share one, so the sync fails at apply time although every
schema check passes. Under Kustomize, a patch that adds a container or volume under an existing
name is the usual cause."""
FIX = "Rename one of the two entries, or merge them into one."


def _repeats(items: Iterable[tuple[PathKey, Any]]) -> Iterator[tuple[PathKey, str]]:
    """(path, name) of every entry whose string `name` an earlier entry already had."""
    seen: set[str] = set()
    for path, name in items:
        if isinstance(name, str) and name:
            if name in seen:
                yield path, name
            seen.add(name)


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for prepared in context.workloads:
        obj, spec, pod_path = prepared.obj, prepared.pod_spec, prepared.pod_path
        if spec is not None and pod_path is not None:
            containers = [((*pod_path, group, index, "name"), item.get("name"))
                          for group in CONTAINER_GROUPS for index, item in iter_named(spec.get(group))]
            for path, name in _repeats(containers):
                yield finding(obj, path, f'{obj.ref}: container name "{name}" is used twice in the pod')
            volumes = [((*pod_path, "volumes", index, "name"), item.get("name"))
                       for index, item in iter_named(spec.get("volumes"))]
            for path, name in _repeats(volumes):
                yield finding(obj, path, f'{obj.ref}: volume name "{name}" is used twice in the pod')
            for container in prepared.containers:
                ports = [((*container.path, "ports", index, "name"), item.get("name"))
                         for index, item in iter_named(container.data.get("ports"))]
                for path, name in _repeats(ports):
                    yield finding(obj, path, f'{obj.ref}: port name "{name}" is used twice in container '
                                             f'"{container.name}"', container=container.name)
    for service in context.of_kind("Service"):
        ports = [(("spec", "ports", index, "name"), item.get("name"))
                 for index, item in iter_named(as_dict(service.obj.data.get("spec")).get("ports"))]
        for path, name in _repeats(ports):
            yield finding(service.obj, path, f'{service.obj.ref}: Service port name "{name}" is used twice')
