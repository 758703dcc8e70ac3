'''A kustomization names a resource, base, component or file on the network.

`kubectl kustomize` clones git URLs (`github.com/org/repo//dir?ref=v1`, `git@host:org/repo`,
`ssh://`, `https://…`, `git::…`) and downloads `http(s)://` files named as resources, patches,
generator inputs, CRDs, `openapi.path` and the like. `shipcard check` runs on pull requests:
it fetches nothing a repository names, so such a kustomization is reported here and not rendered
(its objects are not checked) unless `check --allow-remote` is given.

```yaml pass
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
  - deployment.yaml
```

```yaml fail
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - https://github.com/example/platform//base?ref=v1.2.0
```
'''

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross.schema_remote_ref import shown_url
from shipcard.check.rules.kube import as_dict, as_list, finding
from shipcard.validation import field_name
from shipcard.yamlio.read import PathKey

ID = "kustomize-remote-resource"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Kustomization names a remote resource, which check does not fetch"
RATIONALE = """A remote base or resource is fetched at build time from wherever the pull request says:
a CI run that rendered it would make requests to a server the author chooses, and would check
objects that can change after the review. Its objects are not checked by this run."""
FIX = """Vendor the remote base into the repository (or into a repository Argo CD reads from), or run
`shipcard check --allow-remote` where fetching it is intended."""

DIRECTORY_KEYS = ("resources", "bases", "components", "generators", "transformers", "validators")
FILE_KEYS = ("crds", "configurations", "patchesStrategicMerge")
PATH_ITEM_KEYS = ("patches", "patchesJson6902", "replacements")
GENERATOR_KEYS = ("configMapGenerator", "secretGenerator")
KUSTOMIZE_API = "kustomize.config.k8s.io/"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP = re.compile(r"^[^/@\s]+@[^/\s]")  # user@host:org/repo, as git and kustomize read it


def is_remote(entry: str) -> bool:
    """Whether kustomize would fetch `entry` from the network (a URL, scp-like `user@host:`, `github.com/…`)."""
    text = entry.strip()
    if text[:5].lower() == "git::":
        return True
    return bool(_URL.match(text) or _SCP.match(text)) or text.lower().startswith(("github.com/", "github.com:"))


def entries(data: dict[str, Any]) -> Iterator[tuple[PathKey, str, str]]:
    """Every location a kustomization names: (path in the file, key, entry). Inline documents
    (a generator or patch written in place) are not locations and are left out."""
    for key in DIRECTORY_KEYS + FILE_KEYS:
        for index, entry in enumerate(as_list(data.get(key))):
            if isinstance(entry, str) and "\n" not in entry:
                yield (key, index), key, entry
    for key in PATH_ITEM_KEYS:
        for index, item in enumerate(as_list(data.get(key))):
            if isinstance(as_dict(item).get("path"), str):
                yield (key, index, "path"), key, item["path"]
    for key in GENERATOR_KEYS:
        for index, generator in enumerate(as_list(data.get(key))):
            for part in ("files", "envs", "env"):
                value = as_dict(generator).get(part)
                for position, entry in ([(None, value)] if isinstance(value, str) else enumerate(as_list(value))):
                    if isinstance(entry, str):
                        where: PathKey = (key, index, part) if position is None else (key, index, part, position)
                        yield where, key, entry.split("=", 1)[-1]
    openapi = as_dict(data.get("openapi")).get("path")
    if isinstance(openapi, str):
        yield ("openapi", "path"), "openapi", openapi
    for index, chart in enumerate(as_list(data.get("helmCharts"))):
        chart = as_dict(chart)
        if isinstance(chart.get("valuesFile"), str):
            yield ("helmCharts", index, "valuesFile"), "helmCharts", chart["valuesFile"]
        for position, entry in enumerate(as_list(chart.get("additionalValuesFiles"))):
            if isinstance(entry, str):
                yield ("helmCharts", index, "additionalValuesFiles", position), "helmCharts", entry


def remote_entries(data: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """(path, message) for every location of a kustomization that kustomize would fetch."""
    for path, _key, entry in entries(data):
        if is_remote(entry):
            yield path, message(path, entry)


def message(path: PathKey, entry: str) -> str:
    return f"{field_name(path)} {shown_url(entry.strip())} is fetched from the network: not rendered, its " \
           "objects are not checked (--allow-remote fetches it)"


def is_kustomization(obj: K8sObject) -> bool:
    return obj.kind in ("Kustomization", "Component") and obj.api_version.startswith(KUSTOMIZE_API)


def check(objects: list[K8sObject]) -> Iterable[Finding]:
    for obj in objects:
        if is_kustomization(obj):
            for path, text in remote_entries(obj.data):
                yield finding(obj, path, text)
