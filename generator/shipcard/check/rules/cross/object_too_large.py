'''A ConfigMap or Secret holding more data than the API server stores.

The API server refuses a ConfigMap whose `data` and `binaryData` values add up to more than
1 MiB (1,048,576 bytes; binaryData counted decoded), and a Secret whose data does (`data`
decoded, `stringData` overriding the keys it names), as `ValidateConfigMap` and `ValidateSecret`
count them (`MaxSecretSize`); keys do not count. The sync fails at apply time.

```yaml pass
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
data:
  LOG_LEVEL: info
```

```yaml fail
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-env
data:
  k000: &v
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
  k001: *v
  k002: *v
  k003: *v
  k004: *v
  k005: *v
  k006: *v
  k007: *v
  k008: *v
  k009: *v
  k010: *v
  k011: *v
  k012: *v
  k013: *v
  k014: *v
  k015: *v
  k016: *v
  k017: *v
  k018: *v
  k019: *v
  k020: *v
  k021: *v
  k022: *v
  k023: *v
  k024: *v
  k025: *v
  k026: *v
  k027: *v
  k028: *v
  k029: *v
  k030: *v
  k031: *v
  k032: *v
  k033: *v
  k034: *v
  k035: *v
  k036: *v
  k037: *v
  k038: *v
  k039: *v
  k040: *v
  k041: *v
  k042: *v
  k043: *v
  k044: *v
  k045: *v
  k046: *v
  k047: *v
  k048: *v
  k049: *v
  k050: *v
  k051: *v
  k052: *v
  k053: *v
  k054: *v
  k055: *v
  k056: *v
  k057: *v
  k058: *v
  k059: *v
  k060: *v
  k061: *v
  k062: *v
  k063: *v
  k064: *v
  k065: *v
  k066: *v
  k067: *v
  k068: *v
  k069: *v
  k070: *v
  k071: *v
  k072: *v
  k073: *v
  k074: *v
  k075: *v
  k076: *v
  k077: *v
  k078: *v
  k079: *v
  k080: *v
  k081: *v
  k082: *v
  k083: *v
  k084: *v
  k085: *v
  k086: *v
  k087: *v
  k088: *v
  k089: *v
  k090: *v
  k091: *v
  k092: *v
  k093: *v
  k094: *v
  k095: *v
  k096: *v
  k097: *v
  k098: *v
  k099: *v
  k100: *v
  k101: *v
  k102: *v
  k103: *v
  k104: *v
  k105: *v
  k106: *v
  k107: *v
  k108: *v
  k109: *v
  k110: *v
  k111: *v
  k112: *v
  k113: *v
  k114: *v
  k115: *v
  k116: *v
  k117: *v
  k118: *v
  k119: *v
  k120: *v
  k121: *v
  k122: *v
  k123: *v
  k124: *v
  k125: *v
  k126: *v
  k127: *v
  k128: *v
  k129: *v
  k130: *v
  k131: *v
  k132: *v
  k133: *v
  k134: *v
  k135: *v
  k136: *v
  k137: *v
  k138: *v
  k139: *v
  k140: *v
  k141: *v
  k142: *v
  k143: *v
  k144: *v
  k145: *v
  k146: *v
  k147: *v
  k148: *v
  k149: *v
  k150: *v
  k151: *v
  k152: *v
  k153: *v
  k154: *v
  k155: *v
  k156: *v
  k157: *v
  k158: *v
  k159: *v
  k160: *v
  k161: *v
  k162: *v
  k163: *v
  k164: *v
  k165: *v
  k166: *v
  k167: *v
  k168: *v
  k169: *v
  k170: *v
  k171: *v
  k172: *v
  k173: *v
  k174: *v
  k175: *v
  k176: *v
  k177: *v
  k178: *v
  k179: *v
  k180: *v
  k181: *v
  k182: *v
  k183: *v
  k184: *v
  k185: *v
  k186: *v
  k187: *v
  k188: *v
  k189: *v
  k190: *v
  k191: *v
  k192: *v
  k193: *v
  k194: *v
  k195: *v
  k196: *v
  k197: *v
  k198: *v
  k199: *v
  k200: *v
  k201: *v
  k202: *v
  k203: *v
  k204: *v
  k205: *v
  k206: *v
  k207: *v
  k208: *v
  k209: *v
  k210: *v
  k211: *v
  k212: *v
  k213: *v
  k214: *v
  k215: *v
  k216: *v
  k217: *v
  k218: *v
  k219: *v
  k220: *v
  k221: *v
  k222: *v
  k223: *v
  k224: *v
  k225: *v
  k226: *v
  k227: *v
  k228: *v
  k229: *v
  k230: *v
  k231: *v
  k232: *v
  k233: *v
  k234: *v
  k235: *v
  k236: *v
  k237: *v
  k238: *v
  k239: *v
  k240: *v
  k241: *v
  k242: *v
  k243: *v
  k244: *v
  k245: *v
  k246: *v
  k247: *v
  k248: *v
  k249: *v
  k250: *v
  k251: *v
  k252: *v
  k253: *v
  k254: *v
  k255: *v
```
'''

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import Any

from shipcard.check.model import Finding, K8sObject
from shipcard.check.rules.kube import Context, as_dict, finding
from shipcard.patterns import MAX_DATA_BYTES

ID = "object-too-large"
SEVERITY = "error"
CATEGORY = "api"
TITLE = "ConfigMap or Secret data over the API server's 1 MiB"
RATIONALE = """The API server refuses a ConfigMap or Secret whose values add up to more than 1 MiB
(1,048,576 bytes), so the sync fails at apply time; nothing in the schema says so."""
FIX = "Split the data over several objects, or mount large files from a volume or an image instead."


def check(objects: list[K8sObject], context: Context | None = None) -> Iterable[Finding]:
    context = context or Context(objects)
    for p in context.of_kind("ConfigMap", "Secret"):
        data = p.obj.data
        size = config_map_bytes(data) if p.kind == "ConfigMap" else secret_bytes(data)
        if size > MAX_DATA_BYTES:
            field = next((k for k in ("data", "binaryData", "stringData") if k in data), "data")
            yield finding(p.obj, (field,), f"{p.obj.ref}: its values add up to {size} bytes; the API server "
                          f"stores at most {MAX_DATA_BYTES}")


def config_map_bytes(data: dict[str, Any]) -> int:
    """`ValidateConfigMap`'s total: the UTF-8 length of data values and the decoded length of binaryData."""
    text = sum(len(v.encode()) for v in as_dict(data.get("data")).values() if isinstance(v, str))
    return text + sum(_decoded_length(v) for v in as_dict(data.get("binaryData")).values())


def secret_bytes(data: dict[str, Any]) -> int:
    """`ValidateSecret`'s total: data values decoded, with stringData's values for the keys it sets."""
    sizes = {k: _decoded_length(v) for k, v in as_dict(data.get("data")).items()}
    sizes.update({k: len(v.encode()) for k, v in as_dict(data.get("stringData")).items() if isinstance(v, str)})
    return sum(sizes.values())


def _decoded_length(value: Any) -> int:
    """Bytes of a base64 value (YAML's !!binary arrives already decoded)."""
    if isinstance(value, bytes):
        return len(value)
    if not isinstance(value, str):
        return 0
    try:
        return len(binascii.a2b_base64(value))
    except binascii.Error:  # not base64: the schema says so; count what is there
        return len(value.encode()) * 3 // 4
