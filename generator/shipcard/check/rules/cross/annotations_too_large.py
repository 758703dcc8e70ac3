'''Annotations over the API server's 256 KiB.

The API server refuses an object whose annotations (keys and values) add up to more than
256 KiB (262,144 bytes, `TotalAnnotationSizeLimitB` in `ValidateAnnotationsSize`), on the object
and on its pod template alike. The usual cause is `kubectl apply`'s
`kubectl.kubernetes.io/last-applied-configuration` copy of a large object, or generated data
stored in an annotation. The sync fails at apply time.

```yaml pass
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  annotations: {argocd.argoproj.io/sync-wave: "-2"}
data:
  LOG_LEVEL: info
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
  annotations:
    a000: &v
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    a001: *v
    a002: *v
    a003: *v
    a004: *v
    a005: *v
    a006: *v
    a007: *v
    a008: *v
    a009: *v
    a010: *v
    a011: *v
    a012: *v
    a013: *v
    a014: *v
    a015: *v
    a016: *v
    a017: *v
    a018: *v
    a019: *v
    a020: *v
    a021: *v
    a022: *v
    a023: *v
    a024: *v
    a025: *v
    a026: *v
    a027: *v
    a028: *v
    a029: *v
    a030: *v
    a031: *v
    a032: *v
    a033: *v
    a034: *v
    a035: *v
    a036: *v
    a037: *v
    a038: *v
    a039: *v
    a040: *v
    a041: *v
    a042: *v
    a043: *v
    a044: *v
    a045: *v
    a046: *v
    a047: *v
    a048: *v
    a049: *v
    a050: *v
    a051: *v
    a052: *v
    a053: *v
    a054: *v
    a055: *v
    a056: *v
    a057: *v
    a058: *v
    a059: *v
    a060: *v
    a061: *v
    a062: *v
    a063: *v
    a064: *v
    a065: *v
    a066: *v
    a067: *v
    a068: *v
    a069: *v
    a070: *v
    a071: *v
    a072: *v
    a073: *v
    a074: *v
    a075: *v
    a076: *v
    a077: *v
    a078: *v
    a079: *v
    a080: *v
    a081: *v
    a082: *v
    a083: *v
    a084: *v
    a085: *v
    a086: *v
    a087: *v
    a088: *v
    a089: *v
    a090: *v
    a091: *v
    a092: *v
    a093: *v
    a094: *v
    a095: *v
    a096: *v
    a097: *v
    a098: *v
    a099: *v
    a100: *v
    a101: *v
    a102: *v
    a103: *v
    a104: *v
    a105: *v
    a106: *v
    a107: *v
    a108: *v
    a109: *v
    a110: *v
    a111: *v
    a112: *v
    a113: *v
    a114: *v
    a115: *v
    a116: *v
    a117: *v
    a118: *v
    a119: *v
    a120: *v
    a121: *v
    a122: *v
    a123: *v
    a124: *v
data:
  LOG_LEVEL: info
```
'''

from __future__ import annotations

from collections.abc import Iterable

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.cross._api_values import metadata_of
from shipcard.check.rules.kube import Context, finding
from shipcard.patterns import MAX_ANNOTATIONS_BYTES

ID = "annotations-too-large"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "Annotations over the API server's 256 KiB"
RATIONALE = """The API server refuses an object whose annotations, keys and values together, exceed
256 KiB (262,144 bytes), so the sync fails at apply time; nothing in the schema says so."""
FIX = "Move large data out of annotations (into a ConfigMap, or a file in the image); use server-side apply " \
      "instead of `kubectl apply`'s last-applied-configuration annotation."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    for p in (context or Context(objects)).prepared or []:
        for path, meta in metadata_of(p):
            annotations = meta.get("annotations")
            if not isinstance(annotations, dict):
                continue
            size = sum(len(str(k).encode()) + len(v.encode()) for k, v in annotations.items() if isinstance(v, str))
            if size > MAX_ANNOTATIONS_BYTES:
                yield finding(p.obj, (*path, "annotations"), f"{p.obj.ref}: annotations add up to {size} bytes; the "
                              f"API server takes at most {MAX_ANNOTATIONS_BYTES}")
