'''A chart or a kustomization's `helmCharts` would download a chart from a repository.

A chart's `Chart.yaml` dependency with an `https://` or `oci://` repository that is not vendored
under its `charts/` directory, and a kustomization's `helmCharts` entry with a `repo` (or the
old `helmChartInflationGenerator`'s `chartRepoUrl`), name charts on the network. `shipcard check`
fetches nothing a repository names: such a chart or kustomization is reported here and not
rendered unless `check --allow-remote` is given (even then `helm template` never downloads a
dependency, and `kubectl kustomize` does not inflate charts).

```yaml pass
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
```

```yaml fail
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
helmCharts:
  - name: redis
    repo: https://charts.example.com
    version: 17.0.0
```
'''

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross.kustomize_remote_resource import is_kustomization
from shipcard.check.rules.cross.schema_remote_ref import shown_url
from shipcard.check.rules.kube import as_dict, as_list, finding
from shipcard.validation import field_name
from shipcard.yamlio.read import PathKey

ID = "helm-remote-dependency"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Chart comes from a remote repository, which check does not fetch"
RATIONALE = """A chart downloaded at build time comes from wherever the pull request says, and can change
after the review; a CI run that fetched it would make requests to a server the author chooses.
Its objects are not checked by this run."""
FIX = """Vendor the chart (`helm dependency build` and commit `charts/`; for a kustomization, a local chart
under `helmGlobals.chartHome`), or run `shipcard check --allow-remote` where fetching is intended."""


def kustomization_charts(data: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """(path, message) for each chart a kustomization would download."""
    for key, repo_key, name_key in (("helmCharts", "repo", "name"),
                                    ("helmChartInflationGenerator", "chartRepoUrl", "chartName")):
        for index, chart in enumerate(as_list(data.get(key))):
            repo = as_dict(chart).get(repo_key)
            if isinstance(repo, str) and repo.strip():
                path = (key, index, repo_key)
                yield path, f"{field_name(path)} {shown_url(repo.strip())}: chart {as_dict(chart).get(name_key)} " \
                            "would be downloaded: not rendered, its objects are not checked (--allow-remote)"


def chart_dependencies(data: dict[str, Any], chart: Path) -> Iterator[tuple[PathKey, str]]:
    """(path, message) for each dependency of a Chart.yaml in a remote repository and not under `charts/`."""
    for index, dependency in enumerate(as_list(data.get("dependencies"))):
        dependency = as_dict(dependency)
        name, repository = dependency.get("name"), dependency.get("repository")
        if not isinstance(repository, str) or not repository.strip() or repository.startswith("file://"):
            continue
        if isinstance(name, str) and _vendored(chart / "charts", name):
            continue
        path = ("dependencies", index, "repository")
        yield path, f"{field_name(path)} {shown_url(repository.strip())}: chart {name} is not under charts/ and " \
                    "would be downloaded: not rendered, its objects are not checked (vendor it with " \
                    "`helm dependency build`)"


def _vendored(charts: Path, name: str) -> bool:
    if "/" in name or name in ("", ".", ".."):
        return False
    return (charts / name / "Chart.yaml").is_file() or any(charts.glob(f"{glob.escape(name)}-*.tgz"))


def check(objects: list[K8sObject]) -> Iterable[Finding]:
    for obj in objects:
        if is_kustomization(obj):
            for path, text in kustomization_charts(obj.data):
                yield finding(obj, path, text)
