'''A JSON Schema in the repository names a `$ref` outside itself.

`shipcard check` never fetches what repository content names: an organisation policy (a data
rule in `check.policy-dirs` or `--policy-dir`) whose schema has a `$ref` to a URL or another file
is not compiled and checks nothing until `check --allow-remote` lets it fetch the reference.
Reported at the `$ref`'s line of the policy file, and of a CustomResourceDefinition's
`openAPIV3Schema`, where the API server refuses `$ref` altogether.

```yaml pass
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
```

```yaml fail
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {$ref: "https://schemas.example.com/widget.json"}
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import as_dict, as_list, dig, finding
from shipcard.validation import remote_refs

ID = "schema-remote-ref"
SEVERITY = "error"
CATEGORY = "gitops"
TITLE = "Schema names a remote $ref, which check does not fetch"
RATIONALE = """Anyone who can open a pull request writes the repository's policies and CRDs; a
`$ref` to a URL would make every CI run fetch from a server the author chooses (a request
carrying the runner's network position, an answer that changes what passes). shipcard resolves
only references inside the schema itself, so a policy naming a remote schema checks nothing."""
FIX = """Copy the referenced definitions into the schema (`definitions:` and `$ref: '#/definitions/…'`),
or run `shipcard check --allow-remote` where fetching them is intended."""


def message(ref: str) -> str:
    """The finding's text for one reference (a URL's user and password are not shown)."""
    return f"$ref {shown_url(ref)} leads outside the schema: not fetched, so the rule checks nothing " \
           "(--allow-remote fetches it)"


def shown_url(text: str) -> str:
    """A URL as a message may show it: user information (`user:token@`) replaced by `***@`."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{path}"


def check(objects: list[K8sObject]) -> Iterable[Finding]:
    for obj in objects:
        if obj.kind != "CustomResourceDefinition" or not obj.api_version.startswith("apiextensions.k8s.io/"):
            continue
        places: list[tuple[tuple[str | int, ...], object]]
        places = [(("spec", "validation", "openAPIV3Schema"), dig(obj.data, "spec", "validation", "openAPIV3Schema"))]
        places += [(("spec", "versions", index, "schema", "openAPIV3Schema"),
                    dig(as_dict(version), "schema", "openAPIV3Schema"))
                   for index, version in enumerate(as_list(dig(obj.data, "spec", "versions")))]
        for prefix, schema in places:
            for path, ref in remote_refs(schema, prefix) if isinstance(schema, dict) else []:
                yield finding(obj, path, message(ref))
