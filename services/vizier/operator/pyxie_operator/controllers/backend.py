"""What the reconciler needs from where the vizier runs (Kubernetes or podman on one host)."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from pyxie_operator.controllers.resource import VizierSpec, VizierStatus

__all__ = ["Backend", "ComponentState", "EtcdHealth"]

Obj = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ComponentState:
    """One vizier component (a pod's main container) as the backend sees it now."""

    name: str
    running: bool
    restarts: int = 0
    exit_code: int | None = None
    # Why it is not running: "CrashLoopBackOff", "Error", "OOMKilled", "ImagePullBackOff", ...
    reason: str = ""
    # The last lines it logged (the cause of a crash, usually).
    last_log: str = ""
    # The backend restarts it by itself with a backoff (Kubernetes' kubelet); else the operator.
    self_restarting: bool = False


@dataclasses.dataclass(frozen=True)
class EtcdHealth:
    healthy: bool
    reason: str = ""


class Backend(Protocol):
    name: str

    def deploy_key(self, spec: VizierSpec) -> str:
        """The deploy key the spec's secret reference names."""
        ...

    def base_values(self) -> Obj:
        """Chart values this backend always sets (host network and ports on one host)."""
        ...

    def prepare(self, objects: list[Obj]) -> None:
        """Make the release's images available (pull by digest) without touching what runs.

        Raises on failure; the running vizier is left as it is."""
        ...

    def apply(self, objects: list[Obj]) -> None:
        """Replace the running vizier's workloads by ``objects`` (volumes are kept)."""
        ...

    def deployed(self) -> bool: ...

    def observe(self) -> list[ComponentState]: ...

    def restart(self, component: str) -> None: ...

    def etcd_health(self) -> EtcdHealth | None:
        """None when this vizier keeps its metadata elsewhere (no etcd deployed)."""
        ...

    def repair_etcd(self) -> str:
        """Bring a quorum-less etcd back from its data; returns what was done."""
        ...

    def cloud_reachable(self, spec: VizierSpec) -> str:
        """ "" when the cloud's address answers from where the vizier runs, else why not."""
        ...

    def other_viziers(self) -> list[str]:
        """Viziers in the same cluster that this operator does not manage."""
        ...

    def read_offer(self) -> str:
        """The version the cloud last offered (the connector's offer file), or ""."""
        ...

    def read_status(self) -> VizierStatus: ...

    def write_status(self, status: VizierStatus) -> None:
        """On the resource, and where the cloud connector reads it (for the cloud)."""
        ...
