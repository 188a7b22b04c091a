"""Applying the metadata service's MetadataUpdates to the agent's metadata state.

Pods, services, namespaces and containers go into a `pyxie_carnot.metadata.InMemoryMetadataState`
that the metadata UDFs (upid_to_pod_name, upid_to_service_name, ...) read. The local provider's
ContainerUpdate lists the pids of each "container"; the agent turns every pid that runs on this
host into its UPID (asid, pid, start time in clock ticks from /proc) and maps it to the
container, which maps to the pod.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from pyxie_carnot.metadata import (
    ContainerInfo,
    DeploymentInfo,
    InMemoryMetadataState,
    OwnerReference,
    PodInfo,
    ProcessInfo,
    ReplicaSetInfo,
    ServiceInfo,
)
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_service import get_logger
from pyxie_types import UPID

__all__ = ["MetadataApplier", "StartTimeLookup", "proc_start_time_ticks"]

StartTimeLookup = Callable[[int], int | None]

_log = get_logger("pyxie.agent.metadata")

# /proc/<pid>/stat: field 22 is starttime; fields after the parenthesised comm start at 3.
_STARTTIME_AFTER_COMM = 22 - 3


def proc_start_time_ticks(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Start time of `pid` in clock ticks since boot, or None when it does not exist."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
        return None
    # comm may itself contain spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return int(fields[_STARTTIME_AFTER_COMM])
    except (IndexError, ValueError):
        return None


def _owners(refs: Iterable[messages_pb2.OwnerReference]) -> tuple[OwnerReference, ...]:
    return tuple(OwnerReference(uid=r.uid, kind=r.kind, name=r.name) for r in refs)


def _phase(pod: messages_pb2.PodUpdate) -> str:
    return pod.phase or "Running"


class MetadataApplier:
    """Turns MetadataUpdate messages into records of an InMemoryMetadataState."""

    def __init__(
        self,
        state: InMemoryMetadataState,
        *,
        start_time_ticks: StartTimeLookup | None = proc_start_time_ticks,
    ) -> None:
        self.state = state
        # None: this agent has no processes of its own to map (Kelvin).
        self._start_time_ticks = start_time_ticks
        self._last_version = 0
        self.updates_applied = 0

    @property
    def last_version(self) -> int:
        return self._last_version

    def apply(self, update: messages_pb2.MetadataUpdate) -> None:
        # Gaps (prev_version beyond what was applied) are filled by the agent beforehand.
        self._last_version = max(self._last_version, update.version)
        kind = update.WhichOneof("update")
        if kind == "pod":
            self._pod(update.pod)
        elif kind == "service":
            self._service(update.service)
        elif kind == "namespace":
            self.state.add_namespace(update.namespace.name, update.namespace.uid)
        elif kind == "container":
            self._container(update.container)
        elif kind == "replica_set":
            self._replica_set(update.replica_set)
        elif kind == "deployment":
            self._deployment(update.deployment)
        elif kind == "node":
            pass  # no metadata function reads nodes
        else:
            return
        self.updates_applied += 1

    def _pod(self, pod: messages_pb2.PodUpdate) -> None:
        self.state.add_pod(
            PodInfo(
                uid=pod.uid,
                name=pod.name,
                namespace=pod.namespace,
                node_name=pod.node_name,
                hostname=pod.hostname,
                pod_ip=pod.pod_ip,
                phase=_phase(pod),
                message=pod.message,
                reason=pod.reason,
                ready=pod.ready,
                start_time_ns=pod.start_timestamp_ns,
                stop_time_ns=pod.stop_timestamp_ns,
                container_ids=tuple(pod.container_ids),
                labels_json=json.dumps(dict(sorted(pod.labels.items()))) if pod.labels else "",
                owner_references=_owners(pod.owner_references),
            )
        )

    def _replica_set(self, rs: messages_pb2.ReplicaSetUpdate) -> None:
        status = {
            "replicas": rs.replicas,
            "ready_replicas": rs.ready_replicas,
            "available_replicas": rs.available_replicas,
        }
        self.state.add_replicaset(
            ReplicaSetInfo(
                uid=rs.uid,
                name=rs.name,
                namespace=rs.namespace,
                start_time_ns=rs.start_timestamp_ns,
                stop_time_ns=rs.stop_timestamp_ns,
                owner_references=_owners(rs.owner_references),
                status_json=json.dumps(status),
            )
        )

    def _deployment(self, dep: messages_pb2.DeploymentUpdate) -> None:
        status = {
            "replicas": dep.replicas,
            "updated_replicas": dep.updated_replicas,
            "ready_replicas": dep.ready_replicas,
            "available_replicas": dep.available_replicas,
            "unavailable_replicas": dep.unavailable_replicas,
        }
        self.state.add_deployment(
            DeploymentInfo(
                uid=dep.uid,
                name=dep.name,
                namespace=dep.namespace,
                start_time_ns=dep.start_timestamp_ns,
                stop_time_ns=dep.stop_timestamp_ns,
                status_json=json.dumps(status),
            )
        )

    def _service(self, service: messages_pb2.ServiceUpdate) -> None:
        self.state.add_service(
            ServiceInfo(
                uid=service.uid,
                name=service.name,
                namespace=service.namespace,
                cluster_ip=service.cluster_ip,
                external_ips=tuple(service.external_ips),
                pod_ids=tuple(service.pod_ids),
                start_time_ns=service.start_timestamp_ns,
                stop_time_ns=service.stop_timestamp_ns,
            )
        )

    def _container(self, container: messages_pb2.ContainerUpdate) -> None:
        self.state.add_container(
            ContainerInfo(
                cid=container.cid,
                name=container.name,
                pod_id=container.pod_id,
                state=container.state or "Running",
                start_time_ns=container.start_timestamp_ns,
                stop_time_ns=container.stop_timestamp_ns,
            )
        )
        if self._start_time_ticks is None:
            return
        for pid in container.pids:
            ticks = self._start_time_ticks(pid)
            if ticks is None:
                continue  # not a process of this host (or already gone)
            upid = UPID(self.state.agent_asid, pid, ticks)
            self.state.add_process(ProcessInfo(upid=upid.value, container_id=container.cid))
