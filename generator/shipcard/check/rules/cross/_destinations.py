"""Where Argo CD Applications deploy: a destination's cluster, which checked render an Application's
source is, and the Applications an ApplicationSet's list generators make (shared by duplicate-object
and cronjob-on-several-clusters)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from shipcard.check.model import K8sObject
from shipcard.check.rules.kube import Context, as_dict, as_list, dig

IN_CLUSTER = "https://kubernetes.default.svc"
Place = tuple[str, str, str]  # a repository-relative directory, a Helm release ("" for Kustomize), its namespace
KUSTOMIZE_PREFIX = "kubectl kustomize "  # the origins shipcard.check.inputs.tools gives renders
HELM_PREFIX = "helm template "


def cluster_of(destination: dict[str, Any]) -> str | None:
    """An Argo CD destination's cluster: its server URL (normalised) or its name; None when it has neither."""
    server, name = destination.get("server"), destination.get("name")
    if isinstance(server, str) and server.strip():
        url = server.strip().rstrip("/").lower()
        return "in-cluster" if url == IN_CLUSTER else url
    if isinstance(name, str) and name.strip():
        return name.strip()
    return None


def same_path(rendered: str, source_path: str) -> bool:
    """Whether a rendered directory (as findings show it) is an Application's repository-relative path."""
    rendered, source_path = rendered.replace("\\", "/").strip("/"), source_path.strip().strip("/")
    return bool(source_path) and (rendered == source_path or rendered.endswith("/" + source_path))


def deployed_by(origin: str, app: K8sObject, source: dict[str, Any], destination: dict[str, Any] | None = None) -> bool:
    """Whether the render `origin` is what `app` deploys from `source` (to `destination`, by default its own).

    A chart is matched by path, release name and namespace, not by its values files.
    """
    path = source.get("path")
    if not isinstance(path, str):
        return False
    words = origin.split()
    if origin.startswith(KUSTOMIZE_PREFIX):
        return same_path(origin.removeprefix(KUSTOMIZE_PREFIX), path)
    if origin.startswith(HELM_PREFIX) and len(words) >= 4:
        release = as_dict(source.get("helm")).get("releaseName") or app.name
        namespace = words[words.index("--namespace") + 1] if "--namespace" in words[:-1] else ""
        wanted = destination if destination is not None else as_dict(dig(app.data, "spec", "destination"))
        return same_path(words[3], path) and words[2] == release and namespace == str(wanted.get("namespace") or "")
    return False


def places(origin: str) -> list[Place]:
    """Where the render `origin` may be an Application's source: each trailing part of its directory (an
    Application's path names it from the repository root), with its release and namespace."""
    words = origin.split()
    if origin.startswith(KUSTOMIZE_PREFIX):
        directory, release, namespace = origin.removeprefix(KUSTOMIZE_PREFIX), "", ""
    elif origin.startswith(HELM_PREFIX) and len(words) >= 4:
        directory, release = words[3], words[2]
        namespace = words[words.index("--namespace") + 1] if "--namespace" in words[:-1] else ""
    else:
        return []
    parts = [part for part in directory.replace("\\", "/").split("/") if part]
    return [("/".join(parts[start:]), release, namespace) for start in range(len(parts))]


def application_places(app: K8sObject, source: dict[str, Any], destination: dict[str, Any]) -> list[Place]:
    """The `places` of the renders `deployed_by` may match for `app`'s `source` and `destination`: an index key,
    so that each Application is compared with a few renders, not all."""
    path = source.get("path")
    if not isinstance(path, str):
        return []
    path = str(PurePosixPath(path.strip().strip("/") or "."))
    release = str(as_dict(source.get("helm")).get("releaseName") or app.name)
    return [(path, "", ""), (path, release, str(destination.get("namespace") or ""))]


# --------------------------------------------------------------------------- ApplicationSets

# A Go template action shipcard evaluates: a field of the parameters, `.cluster` or `.values.region`.
_GO_FIELD = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_GO_TRIM = " \t\r\n"  # what `{{- ` and ` -}}` remove, and the space the marker needs after or before it


def _actions(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, inner text) of each `{{...}}`, up to the next `}}` as both template engines read them.

    Found with `str.find`, so a text of many `{{` without `}}` costs linear time."""
    position = 0
    while (start := text.find("{{", position)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:
            return
        yield start, end + 2, text[start + 2:end]
        position = end + 2


def _go_value(field: str, params: dict[str, Any]) -> str | None:
    """A parameter as Go's text/template prints it, or None for what cannot be told offline."""
    if not _GO_FIELD.fullmatch(field):
        return None  # a function, a pipeline, a variable: not evaluated
    node: Any = params
    for part in field[1:].split("."):
        if not isinstance(node, dict) or part not in node:
            return None  # `<no value>`, or an error under missingkey=error
        node = node[part]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, float) and node.is_integer():
        return str(int(node))  # JSON numbers are float64 in Go, printed without a fraction
    return str(node) if isinstance(node, (str, int, float)) else None


def fill_template(text: Any, params: dict[str, Any], go_template: bool) -> Any:
    """One string field of an ApplicationSet template with a generator's parameters, as Argo CD renders it.

    fasttemplate (the default): `{{ key }}` (spaces trimmed) becomes the parameter `key`, and a key
    the parameters lack stays as written. `goTemplate: true`: text/template, of which shipcard
    evaluates field references (`{{ .key }}`, `{{.values.region}}`, with `{{-`/`-}}` trimming); a
    field holding anything else is returned as written, so its `{{` shows it was not evaluated."""
    if not isinstance(text, str) or "{{" not in text:
        return text
    parts: list[str] = []
    position, trim_next = 0, False
    for start, end, inner in _actions(text):
        before = text[position:start]
        if trim_next:
            before = before.lstrip(_GO_TRIM)
        if go_template:
            left = len(inner) >= 2 and inner[0] == "-" and inner[1] in _GO_TRIM
            trim_next = len(inner) >= 2 and inner[-1] == "-" and inner[-2] in _GO_TRIM
            if left:
                before = before.rstrip(_GO_TRIM)
            value = _go_value(inner[1 if left else 0:len(inner) - 1 if trim_next else None].strip(_GO_TRIM), params)
            if value is None:
                return text
        else:
            found = params.get(inner.strip())
            value = found if isinstance(found, str) and inner.strip() else "{{" + inner + "}}"
        parts += [before, value]
        position = end
    rest = text[position:]
    return "".join(parts) + (rest.lstrip(_GO_TRIM) if trim_next else rest)


def _fill_all(value: Any, params: dict[str, Any], go_template: bool) -> Any:
    if isinstance(value, dict):
        return {k: _fill_all(v, params, go_template) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_all(v, params, go_template) for v in value]
    return fill_template(value, params, go_template)


def _list_params(elements: list[Any], go_template: bool) -> list[dict[str, Any]] | None:
    """The parameters of a list generator's literal elements; None when Argo CD refuses the generator.

    With goTemplate an element is its own parameters. Without, every value must be a string, and
    the strings of `values` become `values.<key>`; any other value fails the whole generator."""
    if not all(isinstance(element, dict) for element in elements):
        return None
    if go_template:
        return list(elements)
    result = []
    for element in elements:
        params: dict[str, Any] = {}
        for key, value in element.items():
            entries = value.items() if key == "values" and isinstance(value, dict) else [(None, value)]
            for sub, text in entries:
                if not isinstance(text, str):
                    return None
                params[f"values.{sub}" if sub is not None else str(key)] = text
        result.append(params)
    return result


def generated_applications(appset: K8sObject) -> list[K8sObject]:
    """The Applications an ApplicationSet's list generators make from their literal elements.

    Other generators (clusters, git, matrix, merge, SCM and pull-request providers, plugins), a list's
    `elementsYaml` and its own `template`, and `templatePatch` depend on what only the controller
    sees, and are not expanded. A generated Application keeps the ApplicationSet's file."""
    spec = as_dict(appset.data.get("spec"))
    template = as_dict(spec.get("template"))
    if not template or "templatePatch" in spec:
        return []
    go_template = spec.get("goTemplate") is True
    applications = []
    for generator in as_list(spec.get("generators")):
        listed = as_dict(as_dict(generator).get("list"))
        if not listed or as_dict(listed.get("template")):
            continue
        for params in _list_params(as_list(listed.get("elements")), go_template) or []:
            filled = _fill_all(template, params, go_template)
            data = {"apiVersion": appset.api_version, "kind": "Application",
                    "metadata": as_dict(filled.get("metadata")), "spec": as_dict(filled.get("spec"))}
            applications.append(K8sObject(data, appset.file))
    return applications


def deploying_applications(context: Context) -> list[K8sObject]:
    """The checked Applications, and those the checked ApplicationSets' list generators make."""
    return context.shared("argocd-applications", lambda c: [
        *(app.obj for app in c.of_kind("Application")),
        *(generated for appset in c.of_kind("ApplicationSet") for generated in generated_applications(appset.obj))])
