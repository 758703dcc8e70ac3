"""The section of docs/rules.md on deliberate differences from the peer linters.

Kept as data next to the pack so that tests/check/test_rules_docs.py can hold every rule ID
it names to the pack: a renamed or deleted rule makes the section fail, not go stale.
"""

from __future__ import annotations

HEADING = "How shipcard differs from kube-linter, Polaris and kube-score"

# Each entry: the peers' checks, shipcard's rule IDs (`-` where shipcard has none), and why.
DIFFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("kube-score `container-resources`, Polaris `cpuLimitsMissing`",
     (),
     "CPU limits are never required. A CPU limit throttles a pod that has idle CPU next to it "
     "and turns a latency spike into a timeout; the CPU request is what scheduling and fair "
     "sharing use, so `cpu-request-missing` asks for the request only. Memory is different: "
     "memory cannot be throttled, so `memory-limit-missing` is an error."),
    ("kube-score `deployment-has-poddisruptionbudget`, Polaris `missingPodDisruptionBudget`",
     ("pdb-missing", "pdb-blocks-eviction"),
     "A PodDisruptionBudget is asked for only from two pods on (`replicas`, or the HPA's "
     "`minReplicas`). On a single pod a budget either blocks every node drain or protects "
     "nothing; `single-replica` reports the single pod instead, and `pdb-blocks-eviction` "
     "reports a budget that would block drains (percentages rounded up as the disruption "
     "controller does)."),
    ("kube-linter `minimum-three-replicas` (not default), Polaris `deploymentMissingReplicas`",
     ("single-replica",),
     "Only one replica is reported: two replicas already survive a node drain with a budget, "
     "and three is a capacity decision, not a correctness one."),
    ("kubeconform (without `-strict`)",
     ("schema",),
     "Schemas are always strict: an unknown field is an error, as with "
     "`kubectl apply --validate=strict`. A misspelt field that the API server drops silently "
     "(`replica:`) is the commonest GitOps bug that a lenient validator passes."),
    ("kubeconform (missing schema is an error unless `-ignore-missing-schemas`)",
     ("unknown-kind",),
     "A kind without a schema is a warning by default and an error with `--strict-kinds`, "
     "because repositories carry CRDs the checker has not been given; no schema is ever fetched "
     "from a catalogue URL (`--schema-location`): the Argo CD and External Secrets schemas are "
     "bundled and other CRDs come from `check.crd-dirs`."),
    ("kubeconform (OpenAPI only)",
     ("api-invalid-name", "api-invalid-label", "api-invalid-port", "api-invalid-port-name",
      "api-invalid-schedule", "object-too-large", "annotations-too-large", "selector-mismatch"),
     "shipcard also applies the API server's validation that OpenAPI cannot express (names, "
     "label syntax, port ranges and names, cron schedules and IANA time zones, size limits, "
     "selectors matching their templates), so a manifest that would be refused at sync time "
     "fails in the pull request."),
    ("kube-score and Polaris `pullPolicyNotAlways`, kube-score `container-image-pull-policy`",
     ("image-not-pinned", "image-latest-or-untagged"),
     "No rule asks for `imagePullPolicy: Always`. shipcard pins every image to a digest, and a "
     "digest cannot change under a node's cache, so `IfNotPresent` is correct and cheaper; the "
     "rules ask for the digest instead, and refuse `latest` and untagged images."),
    ("kube-linter `latest-tag`, Polaris `tagNotSpecified`",
     ("image-latest-or-untagged", "image-not-pinned"),
     "Same verdict for `latest` and untagged images, and one step further: a tag without a "
     "digest is a warning, because a tag can be moved and a rollback to it is not a rollback."),
    ("kube-linter `no-anti-affinity`, kube-score `deployment-has-host-podantiaffinity`",
     (),
     "No anti-affinity rule. The default scheduler already spreads a workload's pods over "
     "nodes and zones (its default topology spread constraints), and a hard anti-affinity "
     "blocks scale-up on a small cluster; spreading is a scheduling choice of the platform."),
    ("kube-score `container-security-context-user-group-id`",
     ("run-as-root",),
     "Running as a non-root user is required, not a UID above 10000: the effective "
     "`runAsNonRoot` or non-zero `runAsUser` (pod level filling in the container) is what the "
     "Pod Security Standards' restricted level checks."),
    ("kube-linter `drop-net-raw-capability`, Polaris `insecureCapabilities`",
     ("capabilities-not-dropped", "dangerous-capabilities"),
     "Dropping `ALL` is required (the restricted level), not only NET_RAW or a list; adding "
     "back `NET_BIND_SERVICE` is allowed, adding anything beyond the baseline allow list is an "
     "error."),
    ("Polaris `linuxHardening`",
     ("seccomp-missing",),
     "A seccomp profile (`RuntimeDefault` or `Localhost`) is required as the restricted level "
     "requires it; AppArmor or SELinux options do not stand in for it."),
    ("kube-linter `no-liveness-probe`, `no-readiness-probe` (not default)",
     ("liveness-probe-missing", "readiness-probe-missing"),
     "On by default, but only where a probe means something: liveness for long-running "
     "containers, readiness for containers that serve a port. Jobs and init containers are "
     "never asked for probes."),
    ("kube-linter `env-var-secret`, Polaris `sensitiveContainerEnvVar`",
     ("secret-literal-in-env", "secret-in-configmap"),
     "Besides names that look like a secret (password, token, key, ...), a literal value that "
     "is a PEM private key or a URL with a password is reported whatever the variable is "
     "called. Findings name the variable, never its value."),
    ("kube-linter `default-service-account` (not default)",
     ("default-service-account",),
     "On by default, and the deprecated `serviceAccount` alias counts as naming an account, as "
     "it does for the API server."),
    ("kube-linter `dangling-service`",
     ("service-selects-nothing",),
     "A Service is reported only when the workloads of its namespace are among the checked "
     "files: checking one manifest of a repository does not make every Service dangle."),
    ("kube-linter `ssh-port`",
     (),
     "A port number says nothing about what listens on it."),
    ("kube-score `stable-version`",
     ("deprecated-api", "removed-api"),
     "apiVersions are judged against the repository's target Kubernetes version "
     "(`kubernetesVersion`): deprecated there is a warning, no longer served is an error; a beta "
     "API that is still served is not a finding."),
    ("kube-linter `job-ttl-seconds-after-finished`",
     ("job-ttl-missing",),
     "Only Jobs are asked for `ttlSecondsAfterFinished`; a CronJob's Jobs are pruned by its "
     "history limits, so CronJobs are not reported (kube-linter reports a CronJob's job template that "
     "sets a TTL; shipcard does not: both limits are harmless together)."),
    ("Empty YAML documents and `null` fields",
     (),
     "Read as the API server reads them: a document that is only `---` or a comment is "
     "nothing, and a `null` field is unset before any rule runs, so `securityContext:` left "
     "blank fails the security rules instead of passing them."),
)

def rule_ids() -> set[str]:
    """Every shipcard rule ID the section names."""
    return {rule for _, rules, _ in DIFFERENCES for rule in rules}


def markdown(documented: set[str]) -> str:
    """The section as Markdown, linking each rule `documented` above it in docs/rules.md."""
    lines = [f"## {HEADING}", "",
             "Where a peer has a check that shipcard also makes, or deliberately does not make, this is "
             "what shipcard decides differently and why. Everything else the peers check by default, "
             "shipcard checks with the same verdict.", ""]
    for peers, rules, why in DIFFERENCES:
        ours = ", ".join(f"[`{rule}`](#{rule})" if rule in documented else f"`{rule}`"
                         for rule in rules) if rules else "no rule"
        lines += [f"- **{peers}** → {ours}. {why}"]
    return "\n".join(lines) + "\n"
