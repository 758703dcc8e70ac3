'''A kustomization includes itself, directly or through others, or through a symbolic link loop.

`resources: [.]`, `generators: [.]`, two kustomizations naming each other, a component that
includes itself, or a directory symlinked into itself: kustomize cannot build it, and a tree walk
that followed it would never end. `shipcard check` reports the entry that closes the loop (one
line, naming the path) and does not render the kustomization.

```yaml pass
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
```

```yaml fail
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - .
```
'''

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross.kustomize_remote_resource import DIRECTORY_KEYS, entries, is_kustomization
from shipcard.check.rules.kube import finding
from shipcard.validation import field_name

ID = "kustomize-loop"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Kustomization includes itself"
RATIONALE = """A kustomization that reaches itself again (through `resources`, `components`,
`generators`, `transformers`, its bases or a symbolic link loop) does not build: Argo CD fails to
sync it, and nothing in it is checked."""
FIX = "Remove the entry that leads back to a kustomization already being built, or the symbolic link loop."


def check(objects: list[K8sObject]) -> Iterable[Finding]:
    for obj in objects:
        if not is_kustomization(obj):
            continue
        for path, key, entry in entries(obj.data):
            if key in DIRECTORY_KEYS and posixpath.normpath(entry.strip() or ".") == ".":
                yield finding(obj, path, f"{field_name(path)} {entry!r} is the kustomization's own directory")
