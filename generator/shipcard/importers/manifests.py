"""`shipcard import manifests PATH`: a workload's Kubernetes objects as one card (or, with `--all`, one
card per Deployment or StatefulSet).

The card takes what it has fields for: the main container's image, command, args, ports, literal
env (ConfigMap values included), probes, resources, the replicas, the grace period; the Service
selecting the pods (its ports), an Ingress with one host and path, an HPA on CPU, CronJobs and
Jobs. What it has no field for is kept in the card's Kustomize component `apps/<name>/custom/`: a
strategic merge patch of the Deployment (other containers, init containers, volumes, pod labels
and annotations, probe details, scheduling) and the other objects as they are. Secret values are
never copied: Secret keys and secret-looking values become secret references to fill in.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipcard.card.model import DEFAULT_RESOURCES, env_secret_name
from shipcard.importers.result import (
    CardBuilder,
    ImportResult,
    Origin,
    Source,
    any_secret,
    commented,
    job_name,
    looks_secret,
    read_sources,
    service_name,
    shaped,
)
from shipcard.k8s.objects import CONTAINER_SECURITY
from shipcard.patterns import PORT_NAME, QUANTITY
from shipcard.settings import leads_out_of
from shipcard.yamlio.dump import dump

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
PATCH_FILE = "deployment-patch.yaml"
# Pod fields shipcard sets itself (its secure defaults and its own ServiceAccount): not carried over.
_POD_OWN = {"containers", "initContainers", "volumes", "serviceAccountName", "serviceAccount", "securityContext",
            "terminationGracePeriodSeconds", "automountServiceAccountToken", "enableServiceLinks", "restartPolicy"}
_CONTAINER_CARD = {"name", "image", "command", "args", "ports", "env", "envFrom", "resources", "readinessProbe",
                   "livenessProbe", "startupProbe", "securityContext", "volumeMounts", "lifecycle"}
_PROBES = (("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup"))
_PROBE_CARD = {"initialDelaySeconds": "initialDelay", "periodSeconds": "period", "failureThreshold": "failureThreshold"}
_TMP = "/tmp"
_HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")  # shipcard mounts its own emptyDir here


@dataclass
class Obj:
    """One object of the input and the document it is in."""

    data: dict[str, Any]
    source: Source
    prefix: tuple[str | int, ...] = ()  # where in its document the object is (`items[2]` of a List)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name"))

    def at(self, *path: str | int) -> Origin:
        return self.source.at(*self.prefix, *path)

    def spec(self, *path: str) -> Any:
        node: Any = self.data.get("spec") or {}
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node


@dataclass
class _Custom:
    """What goes into the card's `custom/` component."""

    patch: dict[str, Any] = field(default_factory=dict)  # of the Deployment's pod template and metadata
    container: dict[str, Any] = field(default_factory=dict)  # merged into the main container
    extra_containers: list[Any] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)  # file name → object
    patches: dict[str, Any] = field(default_factory=dict)  # file name → a strategic merge patch of another object

    def files(self, name: str) -> dict[str, str]:
        patch = copy.deepcopy(self.patch)
        containers = ([{"name": name, **self.container}] if self.container else []) + self.extra_containers
        if containers:
            patch.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})["containers"] = containers
        files = {file: dump(obj) for file, obj in self.resources.items()}
        kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}
        if self.resources:
            kustomization["resources"] = list(self.resources)
        patches = dict(self.patches)
        if patch:
            patches[PATCH_FILE] = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, **patch}
        files.update({file: dump(obj) for file, obj in patches.items()})
        if patches:
            kustomization["patches"] = [{"path": file} for file in sorted(patches)]
        if not files:
            return {}
        return {"kustomization.yaml": dump(kustomization), **files}


def read_objects(path: Path) -> list[Obj]:
    """Every object of a manifest file, or of the YAML files under a directory (none through a link out of it)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                       and not leads_out_of(p, path))
    else:
        files = [path]
    objects = []
    for file in files:
        for source in read_sources(file):
            data = source.data
            items = data.get("items") if isinstance(data, dict) and str(data.get("kind")).endswith("List") else None
            entries: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
            if isinstance(items, list):  # what `kubectl get -o yaml` prints
                entries = [(item, ("items", index)) for index, item in enumerate(items)]
            for item, prefix in entries:
                if not isinstance(item, dict) or not isinstance(item.get("kind"), str) \
                        or not isinstance((item.get("metadata") or {}).get("name"), str) \
                        or (item["kind"].endswith("List") and "items" in item):
                    raise source.at(*prefix).error("not a Kubernetes object (kind and metadata.name)")
                objects.append(Obj(item, source, prefix))
    return objects


def read_manifests(path: Path, workload: str | None, every: bool) -> ImportResult:
    objects = read_objects(path)
    workloads = [o for o in objects if o.kind in WORKLOAD_KINDS]
    names = ", ".join(o.name for o in workloads) or "none"
    if workload is not None:
        chosen = [o for o in workloads if o.name == workload]
        if not chosen:
            raise Origin(str(path), 0, "--workload").error(f"no Deployment or StatefulSet {workload!r} "
                                                           f"(found: {names})")
        if len(chosen) > 1:  # one name in two namespaces
            raise chosen[1].at("metadata", "name").error(f"a second workload named {workload!r} (another "
                                                         f"namespace's; the first: {chosen[0].source.name} line "
                                                         f"{chosen[0].at('metadata', 'name').line}): import both "
                                                         "with --all")
    elif len(workloads) == 1 or (every and workloads):
        chosen = workloads
    elif not workloads:
        raise Origin(str(path), 0, "").error("no Deployment or StatefulSet to import")
    else:
        raise Origin(str(path), 0, "").error(f"{len(workloads)} workloads ({names}): name one with "
                                             "--workload NAME, or import each with --all")
    result = ImportResult()
    claimed: set[int] = set()
    for main in chosen:
        with shaped(main.at("metadata", "name")):
            _Workload(main, objects, result, claimed, alone=len(chosen) == 1).build()
    for obj in objects:
        if id(obj) not in claimed:
            result.note(obj.at("metadata", "name"), f"{obj.kind} {obj.name} belongs to no imported workload: "
                                                    "not imported")
    return result


class _Workload:
    """One Deployment or StatefulSet and the objects that belong to it → one card."""

    def __init__(self, obj: Obj, objects: list[Obj], result: ImportResult, claimed: set[int], alone: bool) -> None:
        self.obj = obj
        self.objects = objects
        self.result = result
        self.claimed = claimed
        self.alone = alone
        self.card = CardBuilder(service_name(obj.name, obj.at("metadata", "name"), "rename the workload"),
                                obj.at("metadata", "name"), result)
        self.custom = _Custom()
        self.dropped: set[Any] = set()  # volumes not imported (hostPath), whose mounts go too
        self.pod_labels: dict[str, str] = dict((obj.spec("template", "metadata") or {}).get("labels") or {})
        claimed.add(id(obj))

    @property
    def name(self) -> str:
        return self.card.name

    def claim(self, obj: Obj) -> None:
        self.claimed.add(id(obj))

    def note(self, origin: Origin, reason: str) -> None:
        self.result.note(origin, reason)

    def keep(self, obj: Obj, why: str) -> None:
        """An object with no card field, kept as it is in `custom/`."""
        self.claim(obj)
        if obj.kind == "Secret":
            self.note(obj.at("metadata", "name"), f"Secret {obj.name} is not copied (its values are secret)")
            return
        for key, value in (obj.data.get("data") or {}).items() if obj.kind == "ConfigMap" else ():
            if looks_secret(str(key), str(value)):
                self.note(obj.at("data", key), f"ConfigMap {obj.name} key {key} looks secret (its value is not "
                                               "shown): it is kept as the source has it; move it to your secret store")
        data = copy.deepcopy(obj.data)
        data.get("metadata", {}).pop("namespace", None)
        self.custom.resources[f"{obj.kind.lower()}-{obj.name}.yaml"] = data
        self.note(obj.at("metadata", "name"), f"{obj.kind} {obj.name} {why}: kept as it is in "
                                              f"apps/{self.name}/custom/")

    # ------------------------------------------------------------------- the card

    def build(self) -> None:
        pod = self.obj.spec("template", "spec") or {}
        for index, volume in enumerate(pod.get("volumes") or []):
            if "hostPath" in volume:
                self.dropped.add(volume.get("name"))
                self.note(self.obj.at("spec", "template", "spec", "volumes", index), "a hostPath volume is "
                          "forbidden by the restricted Pod Security Standard: not imported, nor its mounts")
        containers = pod.get("containers") or []
        if not containers:
            raise self.obj.at("spec", "template", "spec").error("a workload needs containers")
        main = next((i for i, c in enumerate(containers) if c.get("name") == self.obj.name), 0)
        services = [o for o in self.objects if o.kind == "Service" and self._selects(o.spec("selector"))]
        service = next((s for s in services if s.name == self.obj.name), services[0] if services else None)
        self._container(containers[main], ("spec", "template", "spec", "containers", main), service)
        if containers[main].get("name") != self.name:
            self.note(self.obj.at("spec", "template", "spec", "containers", main, "name"),
                      f"the container is named {self.name} (the service), not {containers[main].get('name')}")
        for index, container in enumerate(containers):
            if index != main:
                self.custom.extra_containers.append(self._hardened(container, ("containers", index)))
                self.note(self.obj.at("spec", "template", "spec", "containers", index),
                          f"container {container.get('name')} is kept in apps/{self.name}/custom/{PATCH_FILE} "
                          "(the NetworkPolicy admits only the card's ports)")
        self._pod(pod)
        self._workload_fields()
        for other in services:
            self.claim(other)
            if other is not service:
                self.keep(other, "is a second Service of the pods")
        if service is not None and service.name != self.name:
            self.note(service.at("metadata", "name"), f"the Service is named {self.name}, not {service.name}: "
                                                      "clients of the old name need it changed")
        self._ingresses([s.name for s in services])
        self._autoscaler()
        self._jobs()
        self._config_and_accounts()
        if self.card.has("replicas") and self.card.has("autoscaling"):
            del self.card.doc["replicas"]
        self.card.finish(self.custom.files(self.name))

    def _selects(self, selector: Any) -> bool:
        return isinstance(selector, dict) and bool(selector) and \
            all(self.pod_labels.get(k) == v for k, v in selector.items())

    def _container(self, container: dict[str, Any], path: tuple[str | int, ...], service: Obj | None) -> None:
        at = self.obj.at
        self.card.image(("image",), str(container.get("image")), at(*path, "image"))
        for key in ("command", "args"):
            if container.get(key):
                self.card.set((key,), self.card.words([str(v) for v in container[key]], at(*path, key), key),
                              at(*path, key))
        self._ports(container, path, service)
        self._env(container, path)
        self._resources(container.get("resources") or {}, path)
        for source_key, card_key in _PROBES:
            if container.get(source_key):
                self._probe(container[source_key], (*path, source_key), card_key)
        lifecycle = container.get("lifecycle") or {}
        sleep = _pre_stop_sleep(lifecycle.get("preStop"))
        if sleep is not None:
            self.card.set(("shutdown", "preStopSleep"), sleep, at(*path, "lifecycle", "preStop"))
            lifecycle = {k: v for k, v in lifecycle.items() if k != "preStop"}
        if lifecycle:
            self.custom.container["lifecycle"] = lifecycle
            self.note(at(*path, "lifecycle"), f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        mounts = [m for m in container.get("volumeMounts") or []
                  if m.get("mountPath") != _TMP and m.get("name") not in self.dropped]
        if mounts:
            self.custom.container["volumeMounts"] = mounts
        if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is False:
            self.note(at(*path, "securityContext", "readOnlyRootFilesystem"), "shipcard's container has a read-only "
                      "root file system: only /tmp (and the volumes) are writable")
        if _beyond_restricted(container.get("securityContext") or {}):
            self.note(at(*path, "securityContext"), "asks for more than the restricted profile shipcard gives "
                                                    "every pod: not imported")
        for key in container:
            if key not in _CONTAINER_CARD:
                self.custom.container[key] = container[key]
                self.note(at(*path, key), f"kept in apps/{self.name}/custom/{PATCH_FILE}")

    def _ports(self, container: dict[str, Any], path: tuple[str | int, ...], service: Obj | None) -> None:
        service_ports = service.spec("ports") or [] if service else []
        probes = {kind: container.get(key) or {} for key, kind in _PROBES}
        self.port_numbers: dict[str, int] = {}
        taken: set[str] = set()
        for index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort")
            if not isinstance(number, int):
                continue
            origin = self.obj.at(*path, "ports", index)
            if port.get("protocol", "TCP") != "TCP":
                self.note(origin, f"a {port['protocol']} port has no card field: not imported")
                continue
            if port.get("name"):
                self.port_numbers[str(port["name"])] = number
            if port.get("hostPort"):
                self.note(self.obj.at(*path, "ports", index, "hostPort"), "a host port is forbidden by the "
                          "restricted Pod Security Standard: not imported (the Service reaches the port)")
            exposed = next((p for p in service_ports
                            if p.get("targetPort", p.get("port")) in (number, port.get("name"))), None)
            protocol = _protocol(port, exposed, number, probes)
            name = next((n for n in (port.get("name"), (exposed or {}).get("name"))
                         if isinstance(n, str) and len(n) <= 15 and re.match(PORT_NAME, n) and n not in taken), None)
            if name is None:
                name = protocol if protocol not in taken else f"{protocol}-{number}"
            taken.add(name)
            item = commented(origin, name=name, port=number)
            if exposed and exposed.get("port") != number:
                item["servicePort"] = exposed["port"]
                item.yaml_add_eol_comment(str(service.at("spec", "ports", service_ports.index(exposed), "port"))
                                          if service else "", "servicePort")
            item["protocol"] = protocol
            self.card.append("ports", item)

    def _port(self, value: Any, origin: Origin) -> int | None:
        """A probe's port as a number of the card's ports (a name resolved), or None (reported)."""
        number = self.port_numbers.get(value, value) if isinstance(value, str) else value
        if isinstance(number, int) and any(p["port"] == number for p in self.card.doc.get("ports", [])):
            return number
        self.note(origin, f"probes port {value}, which is no declared port: the probe is not imported")
        return None

    def _probe(self, probe: dict[str, Any], path: tuple[str | int, ...], kind: str) -> None:
        at = self.obj.at
        card: dict[str, Any]
        extra: dict[str, Any] = {}
        if "httpGet" in probe:
            get = probe["httpGet"]
            port = self._port(get.get("port"), at(*path, "httpGet", "port"))
            if port is None:
                return
            card = {"http": port, "path": str(get.get("path") or "/")}
            extra = {"httpGet": {k: v for k, v in get.items() if k not in ("port", "path")}}
        elif "grpc" in probe:
            port = self._port(probe["grpc"].get("port"), at(*path, "grpc", "port"))
            if port is None:
                return
            card = {"grpc": port, **({"service": probe["grpc"]["service"]} if probe["grpc"].get("service") else {})}
        elif "tcpSocket" in probe:
            port = self._port(probe["tcpSocket"].get("port"), at(*path, "tcpSocket", "port"))
            if port is None:
                return
            card = {"tcp": port}
            extra = {"tcpSocket": {k: v for k, v in probe["tcpSocket"].items() if k != "port"}}
        elif "exec" in probe:
            card = {"exec": [str(v) for v in probe["exec"].get("command") or []]}
            if any_secret(card["exec"]):
                self.note(at(*path, "exec"), "a word of it looks secret, and a probe's command cannot take it from a "
                                             "secret: the probe is not imported (its value was not copied)")
                return
        else:
            self.note(at(*path), "a probe of no known kind: not imported")
            return
        for source_key, card_key in _PROBE_CARD.items():
            if source_key in probe:
                card[card_key] = probe[source_key]
        for key, value in probe.items():
            if key not in _PROBE_CARD and key not in ("httpGet", "grpc", "tcpSocket", "exec"):
                extra[key] = value
        extra = {k: v for k, v in extra.items() if v != {}}
        if extra:
            self.custom.container[str(path[-1])] = extra
            self.note(at(*path), f"{', '.join(_leaves(extra))}: no card field, kept in "
                                 f"apps/{self.name}/custom/{PATCH_FILE}")
        self.card.set(("health", kind), commented(None, **card), at(*path))

    def _env(self, container: dict[str, Any], path: tuple[str | int, ...]) -> None:
        kept = []
        for index, entry in enumerate(container.get("env") or []):
            origin = self.obj.at(*path, "env", index)
            name = str(entry.get("name"))
            if "value" in entry or not entry.get("valueFrom"):
                self.card.env(name, str(entry.get("value", "")), origin)
                continue
            source = entry["valueFrom"]
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                config = self._object("ConfigMap", ref.get("name"))
                key = ref.get("key")
                if config is not None and key in (config.data.get("data") or {}):
                    self.claim(config)
                    self.card.env(name, str(config.data["data"][key]), config.at("data", key))
                    continue
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                self.card.secret(name, origin, f"comes from Secret {ref.get('name')}",
                                 f"fill-in/{ref.get('name')}#{ref.get('key')}")
                secret = self._object("Secret", ref.get("name"))
                if secret is not None:
                    self.keep(secret, "")
                continue
            kept.append(entry)
            self.note(origin, f"{name} is read from the pod ({', '.join(source)}): kept in "
                              f"apps/{self.name}/custom/{PATCH_FILE}")
        if kept:
            self.custom.container["env"] = kept
        for index, entry in enumerate(container.get("envFrom") or []):
            origin = self.obj.at(*path, "envFrom", index)
            prefix = str(entry.get("prefix", ""))
            if "configMapRef" in entry:
                config = self._object("ConfigMap", entry["configMapRef"].get("name"))
                if config is None:
                    self.note(origin, "the ConfigMap is not among the manifests: not imported")
                    continue
                self.claim(config)
                for key, value in (config.data.get("data") or {}).items():
                    self.card.env(prefix + str(key), str(value), config.at("data", key))
            elif "secretRef" in entry:
                secret = self._object("Secret", entry["secretRef"].get("name"))
                keys = list((secret.data.get("data") or {}) | (secret.data.get("stringData") or {})) if secret else []
                for key in keys:
                    self.card.secret(prefix + str(key), origin, f"comes from Secret {secret.name if secret else ''}",
                                     f"fill-in/{entry['secretRef'].get('name')}#{key}")
                if secret is not None:
                    self.keep(secret, "")
                if not keys:
                    self.note(origin, f"Secret {entry['secretRef'].get('name')}'s keys are not known here: add "
                                      "them to secrets.env")

    def _object(self, kind: str, name: Any) -> Obj | None:
        return next((o for o in self.objects if o.kind == kind and o.name == name), None)

    def _resources(self, resources: dict[str, Any], path: tuple[str | int, ...]) -> None:
        for group, prefix in (("requests", ()), ("limits", ("limits",))):
            for key in ("cpu", "memory"):
                value = (resources.get(group) or {}).get(key)
                if value is None:
                    continue
                origin = self.obj.at(*path, "resources", group, key)
                if not re.match(QUANTITY, str(value)):
                    self.note(origin, "not a quantity the card takes: not imported")
                    continue
                self.card.set(("resources", *prefix, key), str(value), origin)
        if not (resources.get("requests") or {}).get("memory") and (resources.get("limits") or {}).get("memory"):
            self.card.set(("resources", "memory"), str(resources["limits"]["memory"]),
                          self.obj.at(*path, "resources", "limits", "memory"))

    def _pod(self, pod: dict[str, Any]) -> None:
        at = self.obj.at
        template = ("spec", "template", "spec")
        if "terminationGracePeriodSeconds" in pod:
            self.card.set(("shutdown", "gracePeriod"), pod["terminationGracePeriodSeconds"],
                          at(*template, "terminationGracePeriodSeconds"))
        security = pod.get("securityContext") or {}
        if security.get("runAsUser") not in (None, 10001):
            self.note(at(*template, "securityContext"), f"runs as UID 10001 (shipcard's restricted default), not "
                                                        f"{security['runAsUser']}: the image must allow it")
        spec: dict[str, Any] = {}
        if pod.get("initContainers"):
            spec["initContainers"] = [self._hardened(c, ("initContainers", i))
                                      for i, c in enumerate(pod["initContainers"])]
            self.note(at(*template, "initContainers"), f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        volumes = [v for v in pod.get("volumes") or [] if v.get("name") != "tmp" and v.get("name") not in self.dropped]
        if volumes:
            spec["volumes"] = volumes
            self.note(at(*template, "volumes"), f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        for key, value in pod.items():
            if key in _HOST_NAMESPACES:
                if value:
                    self.note(at(*template, key), "the restricted Pod Security Standard forbids it: not imported")
            elif key not in _POD_OWN:
                spec[key] = value
                self.note(at(*template, key), f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        meta: dict[str, Any] = {}
        template_meta = self.obj.spec("template", "metadata") or {}
        labels = {k: v for k, v in (template_meta.get("labels") or {}).items()
                  if not k.startswith("app.kubernetes.io/")}
        if labels:
            meta["labels"] = labels  # what other objects (a second Service, a NetworkPolicy) select the pods by
        if template_meta.get("annotations"):
            meta["annotations"] = template_meta["annotations"]
            self.note(at("spec", "template", "metadata", "annotations"),
                      f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        if meta or spec:
            template_patch: dict[str, Any] = {}
            if meta:
                template_patch["metadata"] = meta
            if spec:
                template_patch["spec"] = spec
            self.custom.patch.setdefault("spec", {})["template"] = template_patch

    def _hardened(self, container: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
        """A container kept in the patch, with the restricted profile's settings and requests it lacks."""
        result = copy.deepcopy(container)
        security = result.setdefault("securityContext", {})
        if _beyond_restricted(security) or any("hostPort" in p for p in result.get("ports") or []):
            self.note(self.obj.at("spec", "template", "spec", *path, "securityContext"),
                      f"container {container.get('name')} asks for more than the restricted profile (privileged, "
                      "added capabilities, a host port): it gets the restricted settings")
            security.pop("privileged", None)
            security.pop("capabilities", None)
            security.update({k: v for k, v in CONTAINER_SECURITY.items() if k != "runAsNonRoot"})
            for port in result.get("ports") or []:
                port.pop("hostPort", None)
        for key, value in CONTAINER_SECURITY.items():
            if key not in security:
                security[key] = copy.deepcopy(value)
        hidden: list[str] = []  # variables of the card's Secret this container reads
        for index, entry in enumerate(result.get("env") or []):
            if isinstance(entry.get("value"), str) and looks_secret(str(entry.get("name")), entry["value"]):
                self.card.secret(str(entry["name"]), self.obj.at("spec", "template", "spec", *path, "env", index),
                                 f"container {container.get('name')}'s value looks secret: it was not copied, the "
                                 "container reads it from the card's Secret (as the service's own does)")
                entry.pop("value")
                hidden.append(str(entry["name"]))
        result["env"] = [e for e in result.get("env") or [] if e.get("name") not in hidden]
        for key in ("command", "args"):
            if isinstance(result.get(key), list):
                result[key] = self.card.words([str(v) for v in result[key]],
                                              self.obj.at("spec", "template", "spec", *path, key),
                                              f"{container.get('name')}_{key}", hidden)
        result["env"] += [{"name": variable, "valueFrom": {"secretKeyRef": {"name": env_secret_name(self.name),
                                                                             "key": variable}}}
                          for variable in hidden]
        if not result["env"]:
            del result["env"]
        result["volumeMounts"] = [m for m in result.get("volumeMounts") or [] if m.get("name") not in self.dropped]
        if not result["volumeMounts"]:
            del result["volumeMounts"]
        resources = result.setdefault("resources", {})
        if not (resources.get("requests") or {}).get("memory") or not (resources.get("limits") or {}).get("memory"):
            requests = resources.setdefault("requests", {})
            requests.setdefault("cpu", DEFAULT_RESOURCES["cpu"])
            requests.setdefault("memory", (resources.get("limits") or {}).get("memory", DEFAULT_RESOURCES["memory"]))
            resources.setdefault("limits", {}).setdefault("memory", requests["memory"])
            self.note(self.obj.at("spec", "template", "spec", *path, "resources"),
                      f"container {container.get('name')} gets shipcard's default requests and memory limit")
        return result

    def _workload_fields(self) -> None:
        at = self.obj.at
        spec = self.obj.data.get("spec") or {}
        if self.obj.kind == "StatefulSet":
            self.note(at("kind"), "a StatefulSet becomes a Deployment: no stable pod names, no ordered start")
            for key in ("volumeClaimTemplates", "serviceName", "podManagementPolicy", "updateStrategy"):
                if key in spec:
                    self.note(at("spec", key), "has no Deployment equivalent: not imported")
        if "replicas" in spec:
            self.card.set(("replicas",), int(spec["replicas"]), at("spec", "replicas"))
        else:
            self.card.set(("replicas",), 1, at("spec"))
            self.card.doc.yaml_add_eol_comment(f"{at('spec')}: no replicas, Kubernetes' default", "replicas")
        for key in ("minReadySeconds", "progressDeadlineSeconds"):
            if key in spec:
                self.custom.patch.setdefault("spec", {})[key] = spec[key]
                self.note(at("spec", key), f"kept in apps/{self.name}/custom/{PATCH_FILE}")
        if "strategy" in spec:
            self.note(at("spec", "strategy"), "shipcard rolls with maxSurge 25%, maxUnavailable 0: not imported")

    # ------------------------------------------------------------------- the objects around it

    def _ingresses(self, services: list[str]) -> None:
        for obj in (o for o in self.objects if o.kind == "Ingress"):
            backends = [p.get("backend", {}).get("service", {}).get("name")
                        for rule in obj.spec("rules") or [] for p in (rule.get("http") or {}).get("paths") or []]
            if not backends or not set(backends) <= set(services):
                continue
            rules = obj.spec("rules") or []
            paths = (rules[0].get("http") or {}).get("paths") or [] if len(rules) == 1 else []
            if self.card.has("ingress") or len(rules) != 1 or len(paths) != 1 or not rules[0].get("host") \
                    or backends[0] != self.name or not self.card.has("ports"):
                self.keep(obj, "has more than one host, path or backend")
                continue
            self.claim(obj)
            rule = ("spec", "rules", 0)
            self.card.set(("ingress", "host"), rules[0]["host"], obj.at(*rule, "host"))
            self.card.set(("ingress", "path"), paths[0].get("path", "/"), obj.at(*rule, "http", "paths", 0, "path"))
            if paths[0].get("pathType", "Prefix") != "Prefix":
                self.note(obj.at(*rule, "http", "paths", 0, "pathType"), "shipcard's Ingress path is a Prefix")
            if obj.spec("ingressClassName"):
                self.card.set(("ingress", "className"), obj.spec("ingressClassName"),
                              obj.at("spec", "ingressClassName"))
            self.card.set(("ingress", "tls"), bool(obj.spec("tls")), obj.at("spec", "tls") if obj.spec("tls")
                          else obj.at("spec"))
            self._annotations(obj, "networking.k8s.io/v1", "ingress-patch.yaml")

    def _annotations(self, obj: Obj, api_version: str, file: str) -> None:
        """The annotations of an object the card renders (IRSA roles, ingress controller settings), as a patch."""
        annotations = (obj.data.get("metadata") or {}).get("annotations") or {}
        if annotations:
            self.custom.patches[file] = {"apiVersion": api_version, "kind": obj.kind,
                                         "metadata": {"name": self.name, "annotations": dict(annotations)}}
            self.note(obj.at("metadata", "annotations"), f"kept in apps/{self.name}/custom/{file}")

    def _autoscaler(self) -> None:
        for obj in (o for o in self.objects if o.kind == "HorizontalPodAutoscaler"):
            target = obj.spec("scaleTargetRef") or {}
            if target.get("kind") != self.obj.kind or target.get("name") != self.obj.name:
                continue
            metrics = obj.spec("metrics") or []
            cpu = obj.spec("targetCPUUtilizationPercentage")
            if len(metrics) == 1 and (metrics[0].get("resource") or {}).get("name") == "cpu" and \
                    ((metrics[0].get("resource") or {}).get("target") or {}).get("type") == "Utilization":
                cpu = metrics[0]["resource"]["target"].get("averageUtilization")
            elif metrics:
                cpu = None
            if cpu is None or self.card.has("autoscaling"):
                self.keep(obj, "scales on more than CPU utilisation")
                continue
            self.claim(obj)
            self.card.set(("autoscaling", "min"), int(obj.spec("minReplicas") or 1), obj.at("spec", "minReplicas"))
            self.card.set(("autoscaling", "max"), int(obj.spec("maxReplicas")), obj.at("spec", "maxReplicas"))
            self.card.set(("autoscaling", "cpu"), int(cpu), obj.at("spec", "metrics" if metrics else
                                                                   "targetCPUUtilizationPercentage"))

    def _jobs(self) -> None:
        taken: set[str] = set()
        for obj in (o for o in self.objects if o.kind in ("CronJob", "Job")):
            labels = (obj.spec("jobTemplate", "spec", "template", "metadata") if obj.kind == "CronJob"
                      else obj.spec("template", "metadata")) or {}
            mine = obj.name == self.obj.name or obj.name.startswith(f"{self.obj.name}-") or \
                self._selects_pod(labels.get("labels") or {})
            if not (mine or self.alone):
                continue
            self.claim(obj)
            self._job(obj, taken)

    def _selects_pod(self, labels: dict[str, Any]) -> bool:
        selector = (self.obj.spec("selector") or {}).get("matchLabels") or {}
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    def _job(self, obj: Obj, taken: set[str]) -> None:
        cron = obj.kind == "CronJob"
        base = ("spec", "jobTemplate", "spec") if cron else ("spec",)
        job_spec = obj.spec("jobTemplate", "spec") if cron else obj.data.get("spec") or {}
        containers = ((job_spec.get("template") or {}).get("spec") or {}).get("containers") or []
        if len(containers) != 1:
            self.keep(obj, "has several containers")
            return
        container = containers[0]
        short = obj.name.removeprefix(f"{self.obj.name}-")
        job = commented(obj.at("metadata", "name"), name=job_name(short, self.name, taken))
        annotations = (obj.data.get("metadata") or {}).get("annotations") or {}
        if cron:
            job["schedule"] = obj.spec("schedule")
            job.yaml_add_eol_comment(str(obj.at("spec", "schedule")), "schedule")
            if obj.spec("timeZone"):
                job["timeZone"] = obj.spec("timeZone")
            if obj.spec("concurrencyPolicy"):
                job["concurrency"] = str(obj.spec("concurrencyPolicy")).lower()
            if obj.spec("suspend"):
                job["suspend"] = True
        elif "argocd.argoproj.io/hook" in annotations or "helm.sh/hook" in annotations:
            job["hook"] = "pre-sync"
            self.note(obj.at("metadata", "annotations"), "a hook Job: it runs at every sync, before the Deployment")
        else:
            job["manual"] = True
            self.note(obj.at("metadata", "name"), "a Job runs once when applied; it is a manual job (`kubectl "
                                                  "create job --from=cronjob/...` runs it)")
        cpath = (*base, "template", "spec", "containers", 0)
        if container.get("image") != self.card.doc.get("image"):
            job["image"] = str(container.get("image"))
            job.yaml_add_eol_comment(str(obj.at(*cpath, "image")), "image")
        for key in ("command", "args"):
            if container.get(key):
                job[key] = self.card.words([str(v) for v in container[key]], obj.at(*cpath, key),
                                           f"{job['name']}_{key}")
                job.yaml_add_eol_comment(str(obj.at(*cpath, key)), key)
        if "backoffLimit" in job_spec:
            job["retries"] = min(int(job_spec["backoffLimit"]), 100)
        if "activeDeadlineSeconds" in job_spec:
            job["timeout"] = f"{int(job_spec['activeDeadlineSeconds'])}s"
        if container.get("env") or container.get("envFrom"):
            self.note(obj.at(*cpath, "env"), "jobs take the service's env and secrets: their own are not imported")
        self.card.append("jobs", job)

    def _config_and_accounts(self) -> None:
        pod = self.obj.spec("template", "spec") or {}
        account = self._object("ServiceAccount", pod.get("serviceAccountName") or pod.get("serviceAccount"))
        if account is not None:
            self.claim(account)
            self._annotations(account, "v1", "serviceaccount-patch.yaml")
            if account.data.get("imagePullSecrets"):
                self.note(account.at("imagePullSecrets"), "image pull secrets have no card field: not imported")
            if account.name != self.name:
                self.note(account.at("metadata", "name"), f"the pods run as ServiceAccount {self.name}, not "
                                                          f"{account.name}")
        for volume in pod.get("volumes") or []:
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                ref = volume.get(key)
                if isinstance(ref, dict):
                    obj = self._object(kind, ref.get("name") or ref.get("secretName"))
                    if obj is not None and id(obj) not in self.claimed:
                        self.keep(obj, "is mounted as a volume")


def _protocol(port: dict[str, Any], exposed: dict[str, Any] | None, number: int, probes: dict[str, Any]) -> str:
    """http, grpc or tcp: from the Service's appProtocol, then the port names, then the probes of the port."""
    app = str((exposed or {}).get("appProtocol", "")).lower()
    if app in ("grpc", "kubernetes.io/h2c", "h2c"):
        return "grpc"
    if app in ("http", "https", "kubernetes.io/http"):
        return "http"
    for name in (port.get("name"), (exposed or {}).get("name")):
        if isinstance(name, str):
            for protocol in ("grpc", "http", "tcp"):
                if name.startswith(protocol):
                    return protocol
    for probe in probes.values():
        for key, protocol in (("grpc", "grpc"), ("httpGet", "http"), ("tcpSocket", "tcp")):
            if (probe.get(key) or {}).get("port") in (number, port.get("name")):
                return protocol
    return "tcp"


def _beyond_restricted(security: dict[str, Any]) -> bool:
    """Whether a container's securityContext asks for what the restricted Pod Security Standard forbids."""
    return bool(security.get("privileged") or (security.get("capabilities") or {}).get("add")
                or security.get("allowPrivilegeEscalation") or security.get("runAsNonRoot") is False
                or security.get("runAsUser") == 0)


def _pre_stop_sleep(hook: Any) -> int | None:
    """The seconds of a preStop hook that only sleeps (the sleep action, or `sleep N`), else None."""
    if not isinstance(hook, dict):
        return None
    if isinstance(hook.get("sleep"), dict) and isinstance(hook["sleep"].get("seconds"), int):
        return int(hook["sleep"]["seconds"])
    command = (hook.get("exec") or {}).get("command") or []
    if len(command) == 2 and Path(str(command[0])).name == "sleep" and str(command[1]).isdigit():
        return int(command[1])
    return None


def _leaves(node: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in node.items():
        if isinstance(value, dict) and value:
            found += _leaves(value, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}")
    return found
