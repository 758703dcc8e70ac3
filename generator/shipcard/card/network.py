"""A card's NetworkPolicy rules: who may call it (`allowFrom`, its `ingress`) and where it may connect (`egressTo`).

`{service: B}` names another card of the repository: B's pods (`app.kubernetes.io/name: B`) in
the namespace B deploys to in the same environment. Resolving it needs the repository's cards: a
`ServiceDirectory` (card name → environment → cluster and namespace), built once by whoever loads
many cards (`render`), else from the cards next to the one being loaded. docs/cards.md, "Callers
and egress", says what each entry becomes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipcard.card.model import DEFAULT_CLUSTER, Peer, ServiceSpec, TrafficRule
from shipcard.errors import InputError
from shipcard.patterns import qualified_name_problem
from shipcard.settings import NetworkSettings, RepoSettings
from shipcard.yamlio.read import PathKey, read_text
from shipcard.yamlio.roundtrip import NeedsRoundtrip, load_plain_like_roundtrip, load_roundtrip, to_plain

CALLER_FIELDS = ("allowFrom", "egressTo")
CARD_SUFFIX = ".service.yaml"
SERVICES_GLOB = f"services/*{CARD_SUFFIX}"
NAME_LABEL = "app.kubernetes.io/name"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace, to its name
# Cluster DNS (CoreDNS keeps kube-dns's labels on kubeadm, EKS, GKE and AKS): always reachable when egress
# is restricted, or no name would resolve.
DNS_RULE = TrafficRule((Peer("kube-system", (("k8s-app", "kube-dns"),)),), ((53, "UDP"), (53, "TCP")))


@dataclass(frozen=True)
class Placement:
    """Where one environment of a card deploys."""

    cluster: str
    namespace: str


ServiceDirectory = dict[str, dict[str, Placement]]
Report = Callable[[PathKey, str], None]


def names_peers(text: str) -> bool:
    """Whether a card's text may hold NetworkPolicy entries (and so depend on other cards)."""
    return any(name in text for name in CALLER_FIELDS)


def placements(raw: Any, repo: RepoSettings) -> tuple[str, dict[str, Placement]] | None:
    """A card's name and where each of its environments deploys (None for a card too broken to say)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        return None
    raw = repo.card_defaults(raw)
    environments = raw.get("environments")
    if not isinstance(environments, dict):
        return None
    name = raw["name"]
    found = {}
    for env_name, overrides in environments.items():
        overrides = overrides if isinstance(overrides, dict) else {}
        found[str(env_name)] = Placement(str(overrides.get("cluster", DEFAULT_CLUSTER)),
                                         str(overrides.get("namespace", f"{name}-{env_name}")))
    return name, found


def directory_of(cards: Iterable[tuple[str, str]], repo: RepoSettings) -> ServiceDirectory:
    """The directory of cards given as (text, filename); a card that does not parse is left out (it fails alone)."""
    directory: ServiceDirectory = {}
    for text, filename in cards:
        try:
            try:
                raw = load_plain_like_roundtrip(text, filename)
            except NeedsRoundtrip:
                raw = to_plain(load_roundtrip(text, filename))
        except InputError:
            continue
        placed = placements(raw, repo)
        if placed is not None:
            directory.setdefault(placed[0], placed[1])
    return directory


def directory_near(filename: str, repo: RepoSettings) -> ServiceDirectory:
    """The directory of the cards beside one: its repository's `services/`, else the cards in its directory.

    Kept while no card there changes (size, mtime), so that checking many cards reads them once.
    """
    folder = repo.file.parent / "services" if repo.file else Path(filename).parent
    paths = sorted(folder.glob("*" + CARD_SUFFIX))
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
    key = (str(folder), repo.fingerprint, tuple(stamps))
    if key not in _NEAR:
        cards = []
        for path in paths:
            try:
                cards.append((read_text(path), str(path)))
            except InputError:
                continue
        _NEAR.clear()
        _NEAR[key] = directory_of(cards, repo)
    return _NEAR[key]


_NEAR: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], ServiceDirectory] = {}


def directory_digest(directory: ServiceDirectory) -> str:
    """Changes whenever a card of the directory moves to another namespace or cluster."""
    plain = {name: {env: [p.cluster, p.namespace] for env, p in envs.items()} for name, envs in directory.items()}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:32]


def check_entries(fields: dict[str, Any], report: Report) -> None:
    """What the schema cannot say of allowFrom and egressTo entries: address blocks, label keys, a port to call."""
    for key in CALLER_FIELDS:
        for index, entry in enumerate(fields.get(key) or []):
            if "cidr" in entry:
                try:
                    ipaddress.ip_network(entry["cidr"], strict=False)
                except ValueError:
                    report((key, index, "cidr"), f"{entry['cidr']!r} is not an address block such as 10.0.0.0/16")
            for label in entry.get("podLabels") or {}:
                problem = qualified_name_problem(label)
                if problem:
                    report((key, index, "podLabels", label), f"label key {label!r} {problem}")
    if fields.get("allowFrom") and not (fields.get("ports") or "port" in fields):
        report(("allowFrom",), "callers connect to the service's ports: add port or ports, or remove allowFrom")


def check_services(fields: dict[str, Any], directory: ServiceDirectory, report: Report) -> None:
    """Every `{service: ...}` entry names a card of the repository."""
    for key in CALLER_FIELDS:
        for index, entry in enumerate(fields.get(key) or []):
            if "service" in entry and entry["service"] not in directory:
                report((key, index, "service"), f"no card of the repository is named {entry['service']!r}")


def rules(spec: ServiceSpec, fields: dict[str, Any], environment: str, cluster: str, directory: ServiceDirectory,
          network: NetworkSettings, report: Report) -> tuple[tuple[TrafficRule, ...], tuple[TrafficRule, ...] | None]:
    """The spec's ingress rules (its callers on every port, its Ingress path on the Ingress's port) and its
    egress rules (None: egress is not restricted), for one environment of the cluster `cluster`."""
    ingress: list[TrafficRule] = []
    if spec.ports:  # a card with ports always runs a server
        callers = fields.get("allowFrom") or []
        every_port = tuple((port.port, "TCP") for port in spec.ports)
        if any(entry.get("anywhere") for entry in callers):
            ingress.append(TrafficRule((), every_port))
        elif callers:
            peers = [peer for index, entry in enumerate(callers)
                     for peer in _peers(entry, ("allowFrom", index), environment, cluster, directory, network, report)]
            if peers:
                ingress.append(TrafficRule(tuple(dict.fromkeys(peers)), every_port))
        if spec.ingress:
            ingress.append(TrafficRule(_ingress_path(spec, network), ((spec.ingress_port.port, "TCP"),)))
    if fields.get("egressTo") is None:
        return tuple(ingress), None
    egress = [DNS_RULE]
    for index, entry in enumerate(fields["egressTo"]):
        ports = tuple((port, "TCP") for port in entry.get("ports") or ())
        egress += [TrafficRule((peer,), ports) for peer in
                   _peers(entry, ("egressTo", index), environment, cluster, directory, network, report)]
    return tuple(ingress), tuple(egress)


def _ingress_path(spec: ServiceSpec, network: NetworkSettings) -> tuple[Peer, ...]:
    """Where an Ingress's traffic reaches the pods from: an ALB (target-type ip) from its addresses in the VPC,
    any other controller from its own pods. An ALB without network.vpcCIDR: from anywhere (docs/cards.md)."""
    assert spec.ingress is not None
    if spec.ingress.class_name == "alb":
        return (Peer(cidr=network.vpc_cidr),) if network.vpc_cidr else ()
    return (Peer(network.ingress_namespace, network.ingress_pod_labels),)


def _peers(entry: dict[str, Any], path: PathKey, environment: str, cluster: str, directory: ServiceDirectory,
           network: NetworkSettings, report: Report) -> list[Peer]:
    if "cidr" in entry:
        return [Peer(cidr=entry["cidr"])]
    if "namespace" in entry:
        return [Peer(entry["namespace"], tuple(sorted((entry.get("podLabels") or {}).items())))]
    if entry.get("ingressController"):
        return [Peer(network.ingress_namespace, network.ingress_pod_labels)]
    name = entry["service"]
    placement = directory.get(name, {}).get(environment)  # an unknown name: check_services reports it
    if placement is None:
        return []  # the service does not run in this environment: nothing to admit
    if placement.cluster != cluster:
        report((*path, "service"), f"{name!r} runs on {placement.cluster} in environment {environment!r}, not on "
               f"{cluster}: a NetworkPolicy selects pods of its own cluster only (name its addresses with cidr)")
        return []
    return [Peer(placement.namespace, ((NAME_LABEL, name),))]
