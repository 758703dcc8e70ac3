'''An Ingress routes to a Service, or a Service port, that does not exist.

Checked against the Services among the checked manifests in the Ingress's namespace:
the Service must exist and have the port (by name or number). A backend whose port is
`use-annotation` (name, or `servicePort` in the beta APIs) names an action of the
[AWS Load Balancer Controller](https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/#actions)
instead (a redirect, a fixed response, weighted forwarding): it is valid when the Ingress has the
annotation `alb.ingress.kubernetes.io/actions.<name>`.

```yaml pass
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
    - hosts: [shop.example.com]
      secretName: web-tls
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port: {name: http}
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
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web-frontend
                port: {number: 80}
          - path: /api
            pathType: Prefix
            backend:
              service:
                name: web
                port: {number: 8080}
```

```yaml pass
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    alb.ingress.kubernetes.io/actions.to-shop: >-
      {"type":"redirect","redirectConfig":{"host":"shop.example.com","statusCode":"HTTP_301"}}
spec:
  ingressClassName: alb
  rules:
    - host: www.shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: to-shop
                port: {name: use-annotation}
```

```yaml fail
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    alb.ingress.kubernetes.io/actions.to-store: >-
      {"type":"redirect","redirectConfig":{"host":"shop.example.com","statusCode":"HTTP_301"}}
spec:
  ingressClassName: alb
  rules:
    - host: www.shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: to-shop
                port: {name: use-annotation}
```
'''

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, Prepared, as_dict, as_list, finding, iter_named

ID = "ingress-backend-missing"
SEVERITY = "warning"
CATEGORY = "cross-object"
TITLE = "Ingress backend Service or port does not exist"
RATIONALE = """An Ingress path whose backend Service (or port) does not exist answers 503 for that
path; the controller accepts the Ingress and nothing fails at deploy time."""
FIX = "Point the backend at an existing Service of the same namespace and one of its port names or numbers."


def _backends(spec: dict[str, Any]) -> Iterable[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for key in ("defaultBackend", "backend"):
        if isinstance(spec.get(key), dict):
            yield ("spec", key), spec[key]
    for r, rule in iter_named(spec.get("rules")):
        for p, path in iter_named(as_dict(rule.get("http")).get("paths")):
            if isinstance(path.get("backend"), dict):
                yield ("spec", "rules", r, "http", "paths", p, "backend"), path["backend"]


ALB_ACTION_PORT = "use-annotation"
ALB_ACTION_ANNOTATION = "alb.ingress.kubernetes.io/actions."


def _problem(service: Prepared | None, name: str, port: Any, annotations: dict[str, Any]) -> tuple[str, str] | None:
    if port == ALB_ACTION_PORT:  # an AWS Load Balancer Controller action, not a Service
        if ALB_ACTION_ANNOTATION + name in annotations:
            return None
        return "name", f'no annotation {ALB_ACTION_ANNOTATION}{name} defines the action "{name}"'
    if service is None:
        return "name", f'Service "{name}" does not exist'
    ports = [p for p in as_list(as_dict(service.obj.data.get("spec")).get("ports")) if isinstance(p, dict)]
    if isinstance(port, str) and not port.isdigit():
        if not any(p.get("name") == port for p in ports):
            return "port", f'Service "{name}" has no port named "{port}"'
    elif port is not None and not any(str(p.get("port")) == str(port) for p in ports):
        return "port", f'Service "{name}" has no port {port}'
    return None


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for ing in context.of_kind("Ingress"):
        for path, backend in _backends(as_dict(ing.obj.data.get("spec"))):
            if "service" in backend:  # networking.k8s.io/v1
                svc = as_dict(backend["service"])
                name = svc.get("name")
                port_ref = as_dict(svc.get("port"))
                port = port_ref.get("name", port_ref.get("number"))
                name_path, port_path = (*path, "service", "name"), (*path, "service", "port")
            elif "serviceName" in backend:  # extensions/v1beta1, networking.k8s.io/v1beta1
                name, port = backend.get("serviceName"), backend.get("servicePort")
                name_path, port_path = (*path, "serviceName"), (*path, "servicePort")
            else:
                continue  # a resource backend
            if not isinstance(name, str):
                continue
            problem = _problem(context.find("Service", ing.namespace, name), name, port, ing.obj.annotations)
            if problem:
                where, text = problem
                yield finding(ing.obj, name_path if where == "name" else port_path, f"{ing.obj.ref}: {text}")
