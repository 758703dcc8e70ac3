"""Issue 15 item 3: the Pod Security Standards controls added to the pack, beyond their examples.

Each case is a manifest and the exact (rule, line, message) findings of the PSS rules it yields.
"""

from __future__ import annotations

import pytest

from shipcard.check.rules import load_rules
from tests.check.rule_examples import run_example

RULES = load_rules()
PSS_RULES = ("proc-mount-unmasked", "unsafe-sysctls", "windows-host-process", "selinux-type-unsafe",
             "apparmor-unconfined", "volume-type-restricted", "capabilities-added", "dangerous-capabilities")
SEVERITIES = {"proc-mount-unmasked": "error", "unsafe-sysctls": "error", "windows-host-process": "error",
              "selinux-type-unsafe": "error", "apparmor-unconfined": "error",
              "volume-type-restricted": "warning", "capabilities-added": "warning",
              "dangerous-capabilities": "error"}

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
{spec}
"""


def pod(spec: str) -> str:
    return POD.format(spec="\n".join("  " + line for line in spec.strip("\n").splitlines()))


def findings(text: str) -> list[tuple[str, int, str]]:
    found = [f for rule_id in PSS_RULES for f in run_example(RULES, text, rule_id)]
    return sorted((f.rule, f.line, f.message) for f in found)


CASES = [
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
"""), [], id="minimal-pod-clean"),
    pytest.param(pod("""
securityContext:
  seLinuxOptions:
    type: spc_t
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
  - name: side
    image: ghcr.io/example/side:1.0.0
    securityContext:
      seLinuxOptions:
        type: container_t
"""), [("selinux-type-unsafe", 8, 'container "web" sets SELinux type spc_t')],
        id="selinux-pod-level-inherited-at-pod-line-container-override-passes"),
    pytest.param(pod("""
securityContext:
  seLinuxOptions:
    type: ""
    user: ""
    role: ""
    level: "s0:c1,c2"
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
"""), [], id="selinux-empty-strings-allowed"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
    securityContext:
      seLinuxOptions:
        type: container_engine_t
"""), [], id="selinux-container-engine-t-allowed"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
    securityContext:
      procMount: Default
      windowsOptions:
        hostProcess: false
"""), [], id="procmount-default-hostprocess-false-pass"),
    pytest.param(pod("""
securityContext:
  sysctls:
    - name: kernel.shm_rmid_forced
      value: "1"
    - name: net.ipv4.ip_local_reserved_ports
      value: "8080"
    - name: net.ipv4.tcp_keepalive_probes
      value: "5"
    - name: net.ipv4.tcp_rmem
      value: "4096 87380 6291456"
    - name: net.ipv4.tcp_wmem
      value: "4096 16384 4194304"
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
"""), [], id="sysctls-newer-safe-names-pass"),
    pytest.param(pod("""
securityContext:
  sysctls:
    - name: net.ipv4.ip_forward
      value: "1"
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
"""), [("unsafe-sysctls", 8, "pod sets the unsafe sysctl net.ipv4.ip_forward")], id="sysctl-ip-forward-fails"),
    pytest.param(pod("""
securityContext:
  windowsOptions:
    hostProcess: true
containers:
  - name: a
    image: ghcr.io/example/a:1.0.0
  - name: b
    image: ghcr.io/example/b:1.0.0
"""), [("windows-host-process", 8, 'container "a" runs as a Windows HostProcess container'),
       ("windows-host-process", 8, 'container "b" runs as a Windows HostProcess container')],
        id="hostprocess-pod-level-reported-per-container"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
ephemeralContainers:
  - name: debug
    image: ghcr.io/example/debug:1.0.0
    securityContext:
      procMount: Unmasked
      capabilities:
        add: [SYS_PTRACE]
"""), [("dangerous-capabilities", 15, 'container "debug" adds the capability SYS_PTRACE, beyond the '
        "baseline allow list"),
       ("proc-mount-unmasked", 13, 'container "debug" mounts /proc as Unmasked (only Default is allowed)')],
        id="ephemeral-container-checked"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
    securityContext:
      capabilities:
        add: [CAP_NET_BIND_SERVICE]
"""), [("dangerous-capabilities", 11, 'container "web" adds the capability CAP_NET_BIND_SERVICE, beyond the '
        "baseline allow list")], id="capability-compared-exactly"),
    pytest.param("""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    container.apparmor.security.beta.kubernetes.io/web: unconfined
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
""", [], id="apparmor-annotation-on-deployment-itself-ignored"),
    pytest.param(pod("""
securityContext:
  appArmorProfile:
    type: Localhost
    localhostProfile: k8s-web
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
    securityContext:
      appArmorProfile:
        type: RuntimeDefault
"""), [], id="apparmor-localhost-and-runtime-default-pass"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
volumes:
  - name: scratch
  - name: token
    projected:
      sources:
        - serviceAccountToken: {path: token}
  - name: inline
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
  - name: driver
    csi:
      driver: secrets-store.csi.k8s.io
"""), [], id="volumes-allowed-types-and-sourceless-pass"),
    pytest.param(pod("""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
volumes:
  - name: node
    hostPath:
      path: /var/log
  - name: disk
    iscsi:
      targetPortal: 10.0.0.1:3260
      iqn: iqn.2001-04.com.example:storage
      lun: 0
"""), [("volume-type-restricted", 13, 'volume "disk" is not of a type the restricted Pod Security Standard allows')],
        id="hostpath-left-to-host-path-iscsi-reported"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_pss_rule_findings(text: str, expected: list[tuple[str, int, str]]) -> None:
    assert findings(text) == sorted(expected)


@pytest.mark.parametrize("rule_id", PSS_RULES)
def test_pss_rule_severity_and_rationale_names_the_control(rule_id: str) -> None:
    info = RULES.get(rule_id)
    assert info is not None
    assert info.severity == SEVERITIES[rule_id]
    level = '"baseline"' if info.severity == "error" else '"restricted"'
    assert "Pod Security Standards control" in " ".join(info.rationale.split()) and level in info.rationale


def test_seccomp_unconfined_is_left_to_seccomp_missing() -> None:
    assert RULES.get("seccomp-unconfined") is None
    info = RULES.get("seccomp-missing")
    assert info is not None and any("type: Unconfined" in t for t in info.fail_examples)


BASELINE_CAPABILITIES = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")


@pytest.mark.parametrize("capability", [*BASELINE_CAPABILITIES, "ALL", "SYS_ADMIN", "NET_RAW", "IPC_LOCK", "BPF",
                                        "CAP_CHOWN", "chown", "CAP_NET_BIND_SERVICE", "NET_ADMIN"])
def test_each_capability_is_reported_once_by_the_level_that_refuses_it(capability: str) -> None:
    """The allow lists of the Kubernetes Pod Security Standards page ("Capabilities"): baseline
    allows the 13 above, restricted only NET_BIND_SERVICE; Pod Security Admission compares the
    names exactly. A capability beyond baseline is dangerous-capabilities' (error), one baseline
    allows but restricted does not is capabilities-added's (warning): never both at one line."""
    found = findings(pod(f"""
containers:
  - name: web
    image: ghcr.io/example/web:1.0.0
    securityContext:
      capabilities:
        add: [{capability}]
"""))
    expected = ([] if capability == "NET_BIND_SERVICE" else
                [("capabilities-added", 11)] if capability in BASELINE_CAPABILITIES else
                [("dangerous-capabilities", 11)])
    assert [(rule, line) for rule, line, _ in found] == expected
