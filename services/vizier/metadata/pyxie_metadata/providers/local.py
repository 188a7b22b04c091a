"""The local provider: this host's processes grouped into pods and services, no Kubernetes.

Every scan reads /proc and groups processes into services by, in order: a command-line rule
of the services config, a listening-port rule, the container id in their cgroup, the systemd
service they belong to. Each (service, node) pair is a pod named `<service>-<node>` in the
service's namespace, with one container holding the pids; the pod IP is the node's IP.
As a Deployment would lay them out, each service's pods are owned by a ReplicaSet
`<service>-<hash>` which a Deployment `<service>` owns (replicas = the service's pods).

Nodes are network namespaces: a process in a namespace named by `ip netns` (/run/netns) runs
on the node of that name, with that namespace's IPv4 address; every other process runs on
this host (`local_node_name` or the hostname). Pod and container updates are scoped to their
node (selectors: node IP and node name); services, namespaces and nodes go to everyone.

Only changes are sent; a vanished object is sent once more with its stop time.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_service import get_logger

from pyxie_metadata.providers import _procfs
from pyxie_metadata.providers._base import ScopedUpdate, UpdateSink, update_key
from pyxie_metadata.providers.local_config import LocalServicesConfig

__all__ = [
    "DEFAULT_SCAN_INTERVAL_SECONDS",
    "HostView",
    "LocalProvider",
    "NodeInfo",
    "ProcessGrouping",
    "group_processes",
    "read_host",
]

DEFAULT_SCAN_INTERVAL_SECONDS: Final = 5.0
# Stable UIDs across restarts of the metadata service: derived from names.
_UID_NAMESPACE: Final = uuid.UUID("8e4f5a5e-2c0b-4a57-9d0f-7079786965ff")
_POD_STOPPED_PHASE: Final = "Succeeded"

_log = get_logger("pyxie.metadata.local")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    ip: str
    start_ns: int


@dataclass(frozen=True, slots=True)
class HostView:
    """One scan: the processes and the node each network namespace maps to."""

    processes: list[_procfs.ProcessSnapshot]
    # netns inode -> node; processes whose netns is not here run on `root_node`.
    nodes_by_netns: dict[int, NodeInfo]
    root_node: NodeInfo
    boot_time_ns: int
    ticks_per_second: int
    # pid -> listening TCP ports (only read when the config has port rules).
    listening_ports: dict[int, set[int]] = field(default_factory=dict)

    def node_of(self, process: _procfs.ProcessSnapshot) -> NodeInfo:
        return self.nodes_by_netns.get(process.netns, self.root_node)

    def start_ns(self, process: _procfs.ProcessSnapshot) -> int:
        return self.boot_time_ns + process.start_ticks * 1_000_000_000 // self.ticks_per_second


def read_host(
    config: LocalServicesConfig,
    *,
    node_name: str = "",
    proc: Path = _procfs.PROC,
    netns_dir: Path = _procfs.NETNS_RUN_DIR,
) -> HostView:
    """Scan /proc (blocking: run it in a thread)."""
    boot = _procfs.boot_time_ns(proc)
    processes = _procfs.read_processes(proc)
    root_netns = _procfs.netns_inode(1, proc) or _procfs.netns_inode("self", proc)
    root_ip = _procfs.route_source_ip() or next(
        iter(_procfs.local_ipv4_addresses(1, proc)), "127.0.0.1"
    )
    root = NodeInfo(node_name or socket.gethostname(), root_ip, boot)
    ticks = _procfs.clock_ticks_per_second()
    names = _procfs.named_netns_by_inode(netns_dir)
    nodes: dict[int, NodeInfo] = {}
    for process in processes:
        netns = process.netns
        if netns in nodes or netns == root_netns or netns not in names:
            continue
        addresses = _procfs.local_ipv4_addresses(process.pid, proc)
        # The namespace lives at least as long as its first process: a stable start time.
        start = boot + process.start_ticks * 1_000_000_000 // ticks
        nodes[netns] = NodeInfo(names[netns], addresses[0] if addresses else root_ip, start)
    listening: dict[int, set[int]] = {}
    if config.needs_ports:
        listening = _listening_ports(processes, proc)
    return HostView(processes, nodes, root, boot, ticks, listening)


def _listening_ports(
    processes: Sequence[_procfs.ProcessSnapshot], proc: Path
) -> dict[int, set[int]]:
    by_netns: dict[int, dict[int, int]] = {}
    ports: dict[int, set[int]] = {}
    for process in processes:
        if process.netns not in by_netns:
            by_netns[process.netns] = _procfs.listening_ports_by_inode(process.pid, proc)
        sockets = by_netns[process.netns]
        if not sockets:
            continue
        found = {
            sockets[inode] for inode in _procfs.socket_inodes(process.pid, proc) if inode in sockets
        }
        if found:
            ports[process.pid] = found
    return ports


@dataclass(frozen=True, slots=True)
class ProcessGrouping:
    namespace: str
    service: str
    # How the process was matched: "config", "port", "container" or "systemd".
    source: str


def group_processes(host: HostView, config: LocalServicesConfig) -> dict[int, ProcessGrouping]:
    """pid -> (namespace, service) for every process that belongs to a service."""
    grouped: dict[int, ProcessGrouping] = {}
    for process in host.processes:
        grouping = _group_one(process, host, config)
        if grouping is not None:
            grouped[process.pid] = grouping
    return grouped


def _group_one(
    process: _procfs.ProcessSnapshot, host: HostView, config: LocalServicesConfig
) -> ProcessGrouping | None:
    for rule in config.services:
        if rule.cmdline is not None and rule.cmdline.search(process.cmdline):
            return ProcessGrouping(*rule.qualified(config.namespace), "config")
    ports = host.listening_ports.get(process.pid, set())
    if ports:
        for rule in config.services:
            if ports.intersection(rule.ports):
                return ProcessGrouping(*rule.qualified(config.namespace), "port")
    if config.group_containers:
        container = _procfs.container_id_from_cgroup(process.cgroup)
        if container is not None:
            return ProcessGrouping(config.namespace, f"container-{container[:12]}", "container")
    if config.group_systemd_units:
        unit = _procfs.systemd_unit_from_cgroup(process.cgroup)
        if unit is not None:
            return ProcessGrouping(config.namespace, _service_name(unit), "systemd")
    return None


def _service_name(unit: str) -> str:
    """A systemd unit name as a DNS label (`getty@tty1` -> `getty-tty1`)."""
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in unit.lower()).strip("-")
    return cleaned[:63].rstrip("-") or "unit"


def _uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{kind}:{name}"))


def _service_owners(
    services: set[tuple[str, str]],
) -> dict[tuple[str, str], tuple[msgs.OwnerReference, msgs.OwnerReference]]:
    """(ReplicaSet, Deployment) owner references of each (namespace, service)."""
    owners = {}
    for namespace, service in services:
        qualified = f"{namespace}/{service}"
        # Kubernetes names a Deployment's ReplicaSet <deployment>-<pod template hash>.
        template_hash = uuid.uuid5(_UID_NAMESPACE, f"template:{qualified}").hex[:10]
        owners[(namespace, service)] = (
            msgs.OwnerReference(
                kind="ReplicaSet",
                name=f"{service}-{template_hash}",
                uid=_uid("replicaset", qualified),
            ),
            msgs.OwnerReference(kind="Deployment", name=service, uid=_uid("deployment", qualified)),
        )
    return owners


@dataclass
class _Desired:
    """The objects one scan says exist, in the order they are sent."""

    updates: dict[tuple[str, str], ScopedUpdate] = field(default_factory=dict)

    def add(self, update: msgs.MetadataUpdate, selectors: tuple[str, ...] = ()) -> None:
        self.updates[update_key(update)] = ScopedUpdate(update, selectors)


def desired_state(
    host: HostView, config: LocalServicesConfig, grouped: dict[int, ProcessGrouping]
) -> dict[tuple[str, str], ScopedUpdate]:
    """Every namespace, node, pod, container and service this scan implies."""
    nodes = {host.root_node.name: host.root_node}
    for node in host.nodes_by_netns.values():
        nodes[node.name] = node
    pods: dict[tuple[str, str, str], list[_procfs.ProcessSnapshot]] = {}
    for process in host.processes:
        grouping = grouped.get(process.pid)
        if grouping is None:
            continue
        key = (grouping.namespace, grouping.service, host.node_of(process).name)
        pods.setdefault(key, []).append(process)

    desired = _Desired()
    namespaces = sorted({namespace for namespace, _service, _node in pods} | {config.namespace})
    for namespace in namespaces:
        desired.add(
            msgs.MetadataUpdate(
                namespace=msgs.NamespaceUpdate(
                    uid=_uid("namespace", namespace),
                    name=namespace,
                    start_timestamp_ns=host.boot_time_ns,
                )
            )
        )
    for name in sorted(nodes):
        node = nodes[name]
        desired.add(
            msgs.MetadataUpdate(
                node=msgs.NodeUpdate(
                    uid=_uid("node", name),
                    name=name,
                    internal_ip=node.ip,
                    start_timestamp_ns=node.start_ns,
                )
            )
        )
    service_pods: dict[tuple[str, str], list[str]] = {}
    owners = _service_owners({(namespace, service) for namespace, service, _node in pods})
    for (namespace, service, node_name), members in sorted(pods.items()):
        node = nodes[node_name]
        pod_name = f"{service}-{node_name}"
        pod_uid = _uid("pod", f"{namespace}/{pod_name}")
        container_id = uuid.uuid5(_UID_NAMESPACE, f"container:{namespace}/{pod_name}").hex
        started = min(host.start_ns(process) for process in members)
        selectors = tuple(dict.fromkeys((node.ip, node.name)))
        desired.add(
            msgs.MetadataUpdate(
                pod=msgs.PodUpdate(
                    uid=pod_uid,
                    name=pod_name,
                    namespace=namespace,
                    node_name=node_name,
                    hostname=node_name,
                    pod_ip=node.ip,
                    start_timestamp_ns=started,
                    phase="Running",
                    ready=True,
                    container_ids=[container_id],
                    container_names=[service],
                    labels={"app": service},
                    owner_references=[owners[(namespace, service)][0]],
                )
            ),
            selectors,
        )
        desired.add(
            msgs.MetadataUpdate(
                container=msgs.ContainerUpdate(
                    cid=container_id,
                    name=service,
                    pod_id=pod_uid,
                    namespace=namespace,
                    start_timestamp_ns=started,
                    state="Running",
                    pids=sorted(process.pid for process in members),
                )
            ),
            selectors,
        )
        service_pods.setdefault((namespace, service), []).append(pod_uid)
    for (namespace, service), pod_ids in sorted(service_pods.items()):
        replica_set, deployment = owners[(namespace, service)]
        replicas = len(pod_ids)
        desired.add(
            msgs.MetadataUpdate(
                deployment=msgs.DeploymentUpdate(
                    uid=deployment.uid,
                    name=deployment.name,
                    namespace=namespace,
                    start_timestamp_ns=host.boot_time_ns,
                    replicas=replicas,
                    updated_replicas=replicas,
                    ready_replicas=replicas,
                    available_replicas=replicas,
                )
            )
        )
        desired.add(
            msgs.MetadataUpdate(
                replica_set=msgs.ReplicaSetUpdate(
                    uid=replica_set.uid,
                    name=replica_set.name,
                    namespace=namespace,
                    start_timestamp_ns=host.boot_time_ns,
                    replicas=replicas,
                    ready_replicas=replicas,
                    available_replicas=replicas,
                    owner_references=[deployment],
                )
            )
        )
        desired.add(
            msgs.MetadataUpdate(
                service=msgs.ServiceUpdate(
                    uid=_uid("service", f"{namespace}/{service}"),
                    name=service,
                    namespace=namespace,
                    start_timestamp_ns=host.boot_time_ns,
                    pod_ids=sorted(pod_ids),
                )
            )
        )
    return desired.updates


def _stopped(scoped: ScopedUpdate, now_ns: int) -> ScopedUpdate:
    update = msgs.MetadataUpdate()
    update.CopyFrom(scoped.update)
    kind = update.WhichOneof("update")
    if kind == "pod":
        update.pod.phase, update.pod.ready = _POD_STOPPED_PHASE, False
    elif kind == "container":
        update.container.state = "Terminated"
        del update.container.pids[:]
    elif kind == "service":
        del update.service.pod_ids[:]
    if kind is not None:
        getattr(update, kind).stop_timestamp_ns = now_ns
    return ScopedUpdate(update, scoped.selectors)


# Termination order: what refers to others goes first.
_STOP_ORDER: Final = {"container": 0, "pod": 1, "service": 2, "node": 3, "namespace": 4}


class LocalProvider:
    """`MetadataProvider` over /proc; `scan_once` is one step of `run`."""

    name = "local"

    def __init__(
        self,
        config: LocalServicesConfig,
        *,
        scan_interval: float = DEFAULT_SCAN_INTERVAL_SECONDS,
        resync_interval: float = 6 * 3600.0,
        node_name: str = "",
        proc: Path = _procfs.PROC,
        netns_dir: Path = _procfs.NETNS_RUN_DIR,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._scan_interval = scan_interval
        self._resync_interval = resync_interval
        self._node_name = node_name
        self._proc = proc
        self._netns_dir = netns_dir
        self._wall_clock_ns = wall_clock_ns
        self._monotonic = monotonic
        # What receivers were last told about each live object (serialized, for diffing).
        self._sent: dict[tuple[str, str], tuple[bytes, ScopedUpdate]] = {}
        self._last_resync = monotonic()
        # Start times stay those first seen while an object lives (its earliest process may
        # exit before the others).
        self._first_start: dict[tuple[str, str], int] = {}

    async def run(self, sink: UpdateSink) -> None:
        while True:
            try:
                changes = await self.scan_once()
                if changes:
                    await sink(changes)
            except Exception:
                # One unreadable /proc moment must not end metadata for the host.
                _log.exception("local metadata scan failed")
            await asyncio.sleep(self._scan_interval)

    async def scan_once(self) -> list[ScopedUpdate]:
        return await asyncio.to_thread(self.scan)

    def scan(self) -> list[ScopedUpdate]:
        """Read /proc and return the changes since the last scan (blocking)."""
        host = read_host(
            self._config, node_name=self._node_name, proc=self._proc, netns_dir=self._netns_dir
        )
        return self.changes(host)

    def changes(self, host: HostView) -> list[ScopedUpdate]:
        """The updates that bring receivers from the last scan's state to `host`'s."""
        if self._monotonic() - self._last_resync >= self._resync_interval:
            self._sent.clear()
            self._last_resync = self._monotonic()
        desired = desired_state(host, self._config, group_processes(host, self._config))
        changed: list[ScopedUpdate] = []
        for key, scoped in desired.items():
            scoped = self._keep_first_start(key, scoped)
            payload = scoped.update.SerializeToString(deterministic=True)
            previous = self._sent.get(key)
            if previous is None or previous[0] != payload:
                changed.append(scoped)
                self._sent[key] = (payload, scoped)
        now = self._wall_clock_ns()
        gone = [key for key in self._sent if key not in desired]
        gone.sort(key=lambda key: _STOP_ORDER.get(key[0], len(_STOP_ORDER)))
        for key in gone:
            _payload, scoped = self._sent.pop(key)
            self._first_start.pop(key, None)
            changed.append(_stopped(scoped, now))
        return changed

    def _keep_first_start(self, key: tuple[str, str], scoped: ScopedUpdate) -> ScopedUpdate:
        kind = key[0]
        body = getattr(scoped.update, kind)
        first = self._first_start.setdefault(key, body.start_timestamp_ns)
        if first == body.start_timestamp_ns:
            return scoped
        update = msgs.MetadataUpdate()
        update.CopyFrom(scoped.update)
        getattr(update, kind).start_timestamp_ns = first
        return ScopedUpdate(update, scoped.selectors)
