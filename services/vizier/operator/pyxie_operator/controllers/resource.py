"""The ``Vizier`` resource: its spec (what the user asked for), its status (what the operator saw).

The same shape on both backends: a ``pyxie.dev/v1alpha1`` ``Vizier`` object in Kubernetes
(``k8s/operator/crd.yaml``), or the same YAML document in a file on one host (podman).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final, Literal

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "InvalidSpec",
    "Phase",
    "VizierSpec",
    "VizierStatus",
]

GROUP: Final = "pyxie.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "Vizier"
PLURAL: Final = "viziers"

Phase = Literal["Pending", "Deploying", "Updating", "Healthy", "Degraded", "Failed"]
Obj = dict[str, Any]

_VERSION_RE: Final = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_MEMORY_RE: Final = re.compile(r"^\d+(Ki|Mi|Gi)$")
_DATA_ACCESS: Final = ("Full", "Restricted", "PIIRestricted")


class InvalidSpec(ValueError):
    """The resource's spec is unusable; the message names the field."""


@dataclasses.dataclass(frozen=True)
class VizierSpec:
    """``spec`` of a Vizier resource."""

    version: str
    cloud_addr: str
    deploy_key_secret: str
    cluster_name: str = ""
    data_access: str = "Full"
    pem_memory_limit: str = "2Gi"
    # "etcd" (the default, as Pixie) or "pvc" (SQLite on a volume).
    metadata_store: str = "etcd"
    cloud_ca_cert: str = ""
    # What the cloud asked to deploy (service -> image reference). Every entry must be in the
    # signed release with the same digest, or the update is refused.
    requested_images: dict[str, str] = dataclasses.field(default_factory=dict)
    # Take the cloud's update offers (a newer version than the spec's), verified like any
    # version put in the spec. Off by default: the spec alone decides.
    auto_update: bool = False

    @classmethod
    def from_resource(cls, resource: Obj) -> VizierSpec:
        spec = resource.get("spec")
        if not isinstance(spec, dict):
            raise InvalidSpec("spec: missing")

        def text(name: str, default: str | None = None) -> str:
            value = spec.get(name, default)
            if value is None:
                raise InvalidSpec(f"spec.{name}: required")
            if not isinstance(value, str):
                raise InvalidSpec(f"spec.{name}: must be a string")
            return value

        version = text("version")
        if not _VERSION_RE.match(version):
            raise InvalidSpec(f"spec.version: {version!r} is not a version like 0.2.0")
        cloud_addr = text("cloudAddr")
        if ":" not in cloud_addr:
            raise InvalidSpec(f"spec.cloudAddr: {cloud_addr!r} is not host:port")
        secret = spec.get("deployKeySecretRef")
        if not isinstance(secret, dict) or not isinstance(secret.get("name"), str):
            raise InvalidSpec("spec.deployKeySecretRef.name: required")
        data_access = text("dataAccess", "Full")
        if data_access not in _DATA_ACCESS:
            raise InvalidSpec(f"spec.dataAccess: must be one of {', '.join(_DATA_ACCESS)}")
        memory = text("pemMemoryLimit", "2Gi")
        if not _MEMORY_RE.match(memory):
            raise InvalidSpec(f"spec.pemMemoryLimit: {memory!r} is not a quantity like 2Gi")
        store = text("metadataStore", "etcd")
        if store not in ("etcd", "pvc"):
            raise InvalidSpec("spec.metadataStore: must be etcd or pvc")
        requested = spec.get("requestedImages") or {}
        if not isinstance(requested, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in requested.items()
        ):
            raise InvalidSpec("spec.requestedImages: must map service names to image references")
        auto_update = spec.get("autoUpdate", False)
        if not isinstance(auto_update, bool):
            raise InvalidSpec("spec.autoUpdate: must be true or false")
        return cls(
            version=version,
            cloud_addr=cloud_addr,
            deploy_key_secret=str(secret["name"]),
            cluster_name=text("clusterName", ""),
            data_access=data_access,
            pem_memory_limit=memory,
            metadata_store=store,
            cloud_ca_cert=text("cloudCACert", ""),
            requested_images=dict(requested),
            auto_update=auto_update,
        )


@dataclasses.dataclass
class VizierStatus:
    """``status`` of a Vizier resource (camelCase in the object, as Kubernetes does)."""

    phase: Phase = "Pending"
    reason: str = ""
    message: str = ""
    # The release running now (empty before the first deploy).
    version: str = ""
    # RFC 3339 time of the last applied update.
    last_update: str = ""
    # "applied <v>", "refused <v>: <why>", "" (no update yet).
    update_state: str = ""
    # Per component: "running", "crashed (...)", "restarting in 20s", ...
    components: dict[str, str] = dataclasses.field(default_factory=dict)
    # Other viziers found in the same cluster (namespace/name or pod names).
    other_viziers: list[str] = dataclasses.field(default_factory=list)
    # The last repairs made without user action (newest last, at most 10).
    repairs: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> Obj:
        return {
            "phase": self.phase,
            "reason": self.reason,
            "message": self.message,
            "version": self.version,
            "lastUpdate": self.last_update,
            "updateState": self.update_state,
            "components": dict(self.components),
            "otherViziers": list(self.other_viziers),
            "repairs": list(self.repairs),
        }

    @classmethod
    def from_dict(cls, data: Obj | None) -> VizierStatus:
        data = data or {}
        phase = data.get("phase", "Pending")
        return cls(
            phase=phase if phase in _PHASES else "Pending",
            reason=str(data.get("reason", "")),
            message=str(data.get("message", "")),
            version=str(data.get("version", "")),
            last_update=str(data.get("lastUpdate", "")),
            update_state=str(data.get("updateState", "")),
            components={str(k): str(v) for k, v in (data.get("components") or {}).items()},
            other_viziers=[str(v) for v in data.get("otherViziers") or []],
            repairs=[str(v) for v in data.get("repairs") or []],
        )


_PHASES: Final = ("Pending", "Deploying", "Updating", "Healthy", "Degraded", "Failed")
