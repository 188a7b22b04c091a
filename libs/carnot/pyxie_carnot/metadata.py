"""The metadata state that metadata functions (upid_to_pod_name, ip_to_pod_id, ...) read.

PEMs and Kelvin fill an implementation from the metadata service's updates; tests and the
single-process runner fill ``InMemoryMetadataState`` by hand. Records hold bare names; the
functions format pods, services, replica sets and deployments as Pixie does, ``<ns>/<name>``.
Lookups of unknown keys return ``None`` or ``""``; the functions turn that into "" or 0.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "ContainerInfo",
    "DeploymentInfo",
    "InMemoryMetadataState",
    "MetadataState",
    "OwnerReference",
    "PodInfo",
    "ProcessInfo",
    "ReplicaSetInfo",
    "ServiceInfo",
]


@dataclass(frozen=True, slots=True)
class OwnerReference:
    uid: str
    kind: str  # "ReplicaSet", "Deployment", "DaemonSet", ...
    name: str


@dataclass(frozen=True, slots=True)
class PodInfo:
    uid: str
    name: str  # bare name; functions return "<namespace>/<name>"
    namespace: str
    node_name: str = ""
    hostname: str = ""
    pod_ip: str = ""
    phase: str = "Running"  # Running | Pending | Succeeded | Failed | Terminated | Unknown
    message: str = ""
    reason: str = ""
    ready: bool = True
    start_time_ns: int = 0
    stop_time_ns: int = 0  # 0 while the pod runs
    container_ids: tuple[str, ...] = ()
    labels_json: str = ""
    qos_class: str = ""  # Guaranteed | Burstable | BestEffort
    owner_references: tuple[OwnerReference, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    uid: str
    name: str
    namespace: str
    cluster_ip: str = ""
    external_ips: tuple[str, ...] = ()
    pod_ids: tuple[str, ...] = ()
    start_time_ns: int = 0
    stop_time_ns: int = 0

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    cid: str
    name: str
    pod_id: str = ""
    state: str = "Running"  # Running | Waiting | Terminated | Unknown
    message: str = ""
    reason: str = ""
    start_time_ns: int = 0
    stop_time_ns: int = 0


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A process known by UPID (the 128-bit value, see ``pyxie_types.UPID``)."""

    upid: int
    cmdline: str = ""
    container_id: str = ""  # "" for processes outside any container/pod
    exe_path: str = ""


@dataclass(frozen=True, slots=True)
class ReplicaSetInfo:
    uid: str
    name: str
    namespace: str
    start_time_ns: int = 0
    stop_time_ns: int = 0
    owner_references: tuple[OwnerReference, ...] = ()
    status_json: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    uid: str
    name: str
    namespace: str
    start_time_ns: int = 0
    stop_time_ns: int = 0
    status_json: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


class MetadataState(Protocol):
    """Read-only view the metadata UDFs query (one consistent snapshot per call is enough)."""

    def hostname(self) -> str: ...

    def asid(self) -> int: ...

    def vizier_id(self) -> str: ...

    def vizier_name(self) -> str: ...

    def vizier_namespace(self) -> str: ...

    def pod_cidrs(self) -> tuple[str, ...]: ...

    def service_cidr(self) -> str: ...

    def pod(self, pod_id: str) -> PodInfo | None: ...

    def pod_id_by_name(self, namespace: str, name: str) -> str: ...

    def pod_id_by_ip(self, ip: str, time_ns: int | None = None) -> str:
        """The pod that had ``ip``: at ``time_ns`` when given, else the running (or latest) one."""
        ...

    def service(self, service_id: str) -> ServiceInfo | None: ...

    def service_id_by_name(self, namespace: str, name: str) -> str: ...

    def service_id_by_cluster_ip(self, ip: str) -> str: ...

    def service_ids_of_pod(self, pod_id: str) -> tuple[str, ...]: ...

    def container(self, container_id: str) -> ContainerInfo | None: ...

    def container_id_by_name(self, name: str) -> str: ...

    def process(self, upid: int) -> ProcessInfo | None: ...

    def replicaset(self, uid: str) -> ReplicaSetInfo | None: ...

    def replicaset_id_by_name(self, namespace: str, name: str) -> str: ...

    def deployment(self, uid: str) -> DeploymentInfo | None: ...

    def deployment_id_by_name(self, namespace: str, name: str) -> str: ...

    def namespace_id(self, name: str) -> str: ...


@dataclass
class InMemoryMetadataState:
    """A ``MetadataState`` held in dictionaries; thread-safe updates, lock-free reads of
    immutable records."""

    host: str = ""
    agent_asid: int = 0
    cluster_id: str = ""
    cluster_name: str = ""
    cluster_namespace: str = "pl"
    cluster_pod_cidrs: tuple[str, ...] = ()
    cluster_service_cidr: str = ""
    _pods: dict[str, PodInfo] = field(default_factory=dict)
    _pod_by_name: dict[tuple[str, str], str] = field(default_factory=dict)
    _pods_by_ip: dict[str, list[str]] = field(default_factory=dict)
    _services: dict[str, ServiceInfo] = field(default_factory=dict)
    _service_by_name: dict[tuple[str, str], str] = field(default_factory=dict)
    _service_by_ip: dict[str, str] = field(default_factory=dict)
    _services_of_pod: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _containers: dict[str, ContainerInfo] = field(default_factory=dict)
    _container_by_name: dict[str, str] = field(default_factory=dict)
    _processes: dict[int, ProcessInfo] = field(default_factory=dict)
    _replicasets: dict[str, ReplicaSetInfo] = field(default_factory=dict)
    _replicaset_by_name: dict[tuple[str, str], str] = field(default_factory=dict)
    _deployments: dict[str, DeploymentInfo] = field(default_factory=dict)
    _deployment_by_name: dict[tuple[str, str], str] = field(default_factory=dict)
    _namespaces: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ------------------------------------------------------------ updates

    def add_pod(self, pod: PodInfo) -> None:
        with self._lock:
            old = self._pods.get(pod.uid)
            if old is not None and old.pod_ip and old.pod_ip != pod.pod_ip:
                self._pods_by_ip[old.pod_ip].remove(pod.uid)
            self._pods[pod.uid] = pod
            self._pod_by_name[(pod.namespace, pod.name)] = pod.uid
            if pod.pod_ip:
                holders = self._pods_by_ip.setdefault(pod.pod_ip, [])
                if pod.uid not in holders:
                    holders.append(pod.uid)

    def add_service(self, service: ServiceInfo) -> None:
        with self._lock:
            old = self._services.get(service.uid)
            if old is not None:
                for pod_id in old.pod_ids:
                    self._unlink(pod_id, service.uid)
            self._services[service.uid] = service
            self._service_by_name[(service.namespace, service.name)] = service.uid
            if service.cluster_ip:
                self._service_by_ip[service.cluster_ip] = service.uid
            for pod_id in service.pod_ids:
                linked = self._services_of_pod.get(pod_id, ())
                if service.uid not in linked:
                    self._services_of_pod[pod_id] = (*linked, service.uid)

    def _unlink(self, pod_id: str, service_id: str) -> None:
        linked = self._services_of_pod.get(pod_id, ())
        self._services_of_pod[pod_id] = tuple(s for s in linked if s != service_id)

    def add_container(self, container: ContainerInfo) -> None:
        with self._lock:
            self._containers[container.cid] = container
            self._container_by_name[container.name] = container.cid

    def add_process(self, process: ProcessInfo) -> None:
        with self._lock:
            self._processes[process.upid] = process

    def add_replicaset(self, replicaset: ReplicaSetInfo) -> None:
        with self._lock:
            self._replicasets[replicaset.uid] = replicaset
            self._replicaset_by_name[(replicaset.namespace, replicaset.name)] = replicaset.uid

    def add_deployment(self, deployment: DeploymentInfo) -> None:
        with self._lock:
            self._deployments[deployment.uid] = deployment
            self._deployment_by_name[(deployment.namespace, deployment.name)] = deployment.uid

    def add_namespace(self, name: str, uid: str) -> None:
        with self._lock:
            self._namespaces[name] = uid

    def add_all(
        self,
        *,
        pods: Iterable[PodInfo] = (),
        services: Iterable[ServiceInfo] = (),
        containers: Iterable[ContainerInfo] = (),
        processes: Iterable[ProcessInfo] = (),
    ) -> None:
        for pod in pods:
            self.add_pod(pod)
        for service in services:
            self.add_service(service)
        for container in containers:
            self.add_container(container)
        for process in processes:
            self.add_process(process)

    # ------------------------------------------------------------ MetadataState

    def hostname(self) -> str:
        return self.host

    def asid(self) -> int:
        return self.agent_asid

    def vizier_id(self) -> str:
        return self.cluster_id

    def vizier_name(self) -> str:
        return self.cluster_name

    def vizier_namespace(self) -> str:
        return self.cluster_namespace

    def pod_cidrs(self) -> tuple[str, ...]:
        return self.cluster_pod_cidrs

    def service_cidr(self) -> str:
        return self.cluster_service_cidr

    def pod(self, pod_id: str) -> PodInfo | None:
        return self._pods.get(pod_id)

    def pod_id_by_name(self, namespace: str, name: str) -> str:
        return self._pod_by_name.get((namespace, name), "")

    def pod_id_by_ip(self, ip: str, time_ns: int | None = None) -> str:
        holders = [self._pods[uid] for uid in self._pods_by_ip.get(ip, ()) if uid in self._pods]
        if not holders:
            return ""
        if time_ns is None:
            running = [p for p in holders if p.stop_time_ns == 0]
            pool = running or holders
            return max(pool, key=lambda p: p.start_time_ns).uid
        alive = [
            p
            for p in holders
            if p.start_time_ns <= time_ns and (p.stop_time_ns == 0 or time_ns <= p.stop_time_ns)
        ]
        return max(alive, key=lambda p: p.start_time_ns).uid if alive else ""

    def service(self, service_id: str) -> ServiceInfo | None:
        return self._services.get(service_id)

    def service_id_by_name(self, namespace: str, name: str) -> str:
        return self._service_by_name.get((namespace, name), "")

    def service_id_by_cluster_ip(self, ip: str) -> str:
        return self._service_by_ip.get(ip, "")

    def service_ids_of_pod(self, pod_id: str) -> tuple[str, ...]:
        return self._services_of_pod.get(pod_id, ())

    def container(self, container_id: str) -> ContainerInfo | None:
        return self._containers.get(container_id)

    def container_id_by_name(self, name: str) -> str:
        return self._container_by_name.get(name, "")

    def process(self, upid: int) -> ProcessInfo | None:
        return self._processes.get(upid)

    def processes_of_containers(self, container_ids: Iterable[str]) -> list[ProcessInfo]:
        """The known processes of these containers (pxtrace pod targets)."""
        wanted = set(container_ids)
        with self._lock:
            return [p for p in self._processes.values() if p.container_id in wanted]

    def replicaset(self, uid: str) -> ReplicaSetInfo | None:
        return self._replicasets.get(uid)

    def replicaset_id_by_name(self, namespace: str, name: str) -> str:
        return self._replicaset_by_name.get((namespace, name), "")

    def deployment(self, uid: str) -> DeploymentInfo | None:
        return self._deployments.get(uid)

    def deployment_id_by_name(self, namespace: str, name: str) -> str:
        return self._deployment_by_name.get((namespace, name), "")

    def namespace_id(self, name: str) -> str:
        return self._namespaces.get(name, "")
