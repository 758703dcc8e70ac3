"""Regular expressions shared by the card, the repository settings and `new`/`init`, and what they mean.

Patterns end in `(?!\n)$`, not a bare `$`: the validator matches with Python's `re.search`,
where `$` also matches before a final newline, so `"web\n"` would pass as a name and reach
file paths and object names. (In an ECMA-262 regex, as editors use, the look-ahead is a no-op.)
"""

from __future__ import annotations

END = r"(?!\n)$"  # end of the text, also under Python's `re.search` (see the module docstring)
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?" + END
# The service name also names a Service, and Service names are DNS-1035 labels: a letter first.
SERVICE_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?" + END
# A port name is an IANA service name: at least one letter, no "--".
PORT_NAME = r"^(?=[-a-z0-9]*[a-z])(?![-a-z0-9]*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?" + END
# A label value (the team ends up in app.kubernetes.io/part-of).
LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?" + END
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?" + END
HOST = r"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*" + END
ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]*" + END
DURATION = r"^([0-9]{1,6}(\.[0-9]{1,6})?(ms|s|m|h))+" + END
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?" + END
# Five fields of what the CronJob controller's parser reads (numbers, names, * / , - ?); it refuses the rest.
CRON = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9A-Za-z*/,?-]+[ \t]+){4}[0-9A-Za-z*/,?-]+)" + END
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff]"  # no space, no control character
NO_SPACE = "^" + _VISIBLE + "+" + END
CLUSTER_URL = "^https://" + _VISIBLE + "+" + END
# Free text (descriptions, commands, scripts, env values) may hold any character YAML can carry
# except control characters: the YAML readers of kubectl and Argo CD refuse them even escaped
# (and read an escaped NEL, U+0085, as something else).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*$"
URL_PATH = "^/" + _VISIBLE + "*" + END
KUBERNETES_VERSION = r"^v?[0-9]+\.[0-9]+" + END
DIGEST = r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})" + END
# A namespace of shipcard.yaml, where {service} stands for the service name.
NAMESPACE_TEMPLATE = r"^([a-z0-9-]|\{service\})+" + END

# What a value failing one of these patterns should have looked like (error messages quote the
# value only for these: none of them holds anything secret).
MEANING = {
    DNS_LABEL: "a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)",
    SERVICE_NAME: "a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)"
                  " that starts with a letter",
    PORT_NAME: "a port name (lower case letters, digits and '-', at least one letter, no '--')",
    ENV_VAR: "an environment variable name (letters, digits and '_', not starting with a digit)",
    DURATION: "a duration such as 30s, 15m, 1h or 1h30m",
    QUANTITY: "a Kubernetes quantity such as 250m, 1, 512Mi or 1Gi",
    CRON: "a cron schedule (five fields, e.g. '0 1 * * *')",
    KUBERNETES_VERSION: "a Kubernetes version such as \"1.31\"",
    DIGEST: "an image digest, sha256:<64 hex digits>",
}
