"""The vizier's objects for one verified release: the chart rendered, every image pinned by digest.

The chart names images ``<registry>/pyxie-<component>:<tag>``; nothing of that survives here:
each container's image becomes the digest reference the verified release gives for its
component, so what runs is exactly what was signed, whatever a tag points at later.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from pyxie_release.verify import UpdateRefused, VerifiedRelease

from pyxie_operator.controllers.resource import VizierSpec

__all__ = [
    "CHART",
    "OPERATOR_OFFER_PATH",
    "OPERATOR_STATUS_PATH",
    "RELEASE_ANNOTATION",
    "chart_values",
    "component_of",
    "pin_images",
    "vizier_objects",
]

CHART: Final = "pyxie-vizier"
RELEASE_ANNOTATION: Final = "pyxie.dev/release-version"
# Where the cloud connector finds the operator's status (the identity volume it already mounts).
OPERATOR_STATUS_PATH: Final = "/var/lib/pyxie/identity/operator_status.json"
# Where the connector writes the cloud's update offers for the operator (same volume).
OPERATOR_OFFER_PATH: Final = "/var/lib/pyxie/identity/operator_offer.json"
_OPERATOR_ENV: Final = ("PL_VIZIER_VERSION", "PL_OPERATOR_STATUS_FILE", "PL_OPERATOR_OFFER_FILE")
_WORKLOADS: Final = ("Deployment", "DaemonSet", "StatefulSet", "Pod")

Obj = dict[str, Any]
Renderer = Callable[[str, Obj, str], list[Obj]]


def chart_values(spec: VizierSpec, deploy_key: str, base: Obj | None = None) -> Obj:
    """Chart values for ``spec`` on top of the backend's ``base`` (ports, host network)."""
    values = copy.deepcopy(base or {})
    values |= {
        "deployKey": deploy_key,
        "cloudAddr": spec.cloud_addr,
        "dataAccess": spec.data_access,
    }
    if spec.cloud_ca_cert:
        values["cloudCACert"] = spec.cloud_ca_cert
    if spec.cluster_name:
        values["clusterName"] = spec.cluster_name
    values.setdefault("metadata", {})["store"] = spec.metadata_store
    pem = values.setdefault("resources", {}).setdefault("pem", {})
    pem.setdefault("requests", {"cpu": "200m", "memory": "512Mi"})
    pem.setdefault("limits", {"cpu": "2"})["memory"] = spec.pem_memory_limit
    return values


def component_of(image: str) -> str:
    """``localhost/pyxie-query-broker:0.1.0`` (or ``...@sha256:...``) -> ``query-broker``."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    return name.removeprefix("pyxie-")


def _pod_spec(obj: Obj) -> Obj | None:
    if obj.get("kind") == "Pod":
        return obj["spec"]  # type: ignore[no-any-return]
    if obj.get("kind") in _WORKLOADS:
        return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def pin_images(objects: list[Obj], release: VerifiedRelease) -> list[Obj]:
    """``objects`` with every container image replaced by the release's digest reference.

    A component the release does not sign is refused: nothing unsigned is ever deployed.
    """
    pinned = copy.deepcopy(objects)
    for obj in pinned:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        obj.setdefault("metadata", {}).setdefault("annotations", {})[RELEASE_ANNOTATION] = (
            release.version
        )
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            component = component_of(container["image"])
            reference = release.images.get(component)
            if reference is None:
                raise UpdateRefused(
                    f"release {release.version} has no signed image for {component}"
                )
            if "@sha256:" not in reference:
                raise UpdateRefused(f"release image {reference} is not pinned by digest")
            container["image"] = reference
            if component == "cloud-connector":
                env = container.setdefault("env", [])
                env[:] = [e for e in env if e.get("name") not in _OPERATOR_ENV]
                env.append({"name": "PL_VIZIER_VERSION", "value": release.version})
                env.append({"name": "PL_OPERATOR_STATUS_FILE", "value": OPERATOR_STATUS_PATH})
                env.append({"name": "PL_OPERATOR_OFFER_FILE", "value": OPERATOR_OFFER_PATH})
    return pinned


def vizier_objects(
    spec: VizierSpec,
    release: VerifiedRelease,
    *,
    deploy_key: str,
    namespace: str,
    render: Renderer,
    base_values: Obj | None = None,
) -> list[Obj]:
    """The chart rendered for ``spec`` and pinned to ``release``'s digests."""
    values = chart_values(spec, deploy_key, base_values)
    return pin_images(render(CHART, values, namespace), release)
