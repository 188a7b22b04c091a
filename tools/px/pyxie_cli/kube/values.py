"""Chart values for one host with podman, and the cloud endpoints they give.

Ports are Pixie's shifted into 6xxxx, so a containerised stack never meets a devstack (which
prefers Pixie's own ports) on the same host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    # Only the kube demo and checks (a workspace checkout) use these; installing `px` alone
    # brings neither the devstack nor grpcio-health-checking.
    from pyxie_devstack.cloud import CloudEndpoints

__all__ = ["PODMAN_CLOUD_VALUES", "PODMAN_VIZIER_VALUES", "api_serving", "cloud_endpoints"]

PODMAN_CLOUD_VALUES: dict[str, Any] = {
    "namespace": {"create": False},
    "network": {"hostNetwork": True, "policies": False},
    "ports": {
        "api": 61200,
        "apiHttp": 61280,
        "auth": 60100,
        "vzmgr": 61800,
        "vzconn": 61600,
        "artifactTracker": 60750,
        "plugin": 60600,
        "nats": 61422,
        "postgres": 61432,
    },
}

PODMAN_VIZIER_VALUES: dict[str, Any] = {
    "namespace": {"create": False},
    "network": {"hostNetwork": True, "policies": False},
    "ports": {
        "nats": 61222,
        "metadata": 60400,
        "queryBroker": 60300,
        "kelvin": 61930,
        "cloudConnector": 60800,
    },
    # No Kubernetes API on one host: metadata groups the host's processes itself.
    "metadata": {"store": "pvc", "provider": "local", "hostPID": True},
}


def cloud_endpoints(values: dict[str, Any], host: str = "localhost") -> CloudEndpoints:
    ports = values["ports"]
    from pyxie_devstack.cloud import CloudEndpoints

    return CloudEndpoints(
        api=f"{host}:{ports['api']}",
        api_http=f"{host}:{ports['apiHttp']}",
        auth=f"127.0.0.1:{ports['auth']}",
        vzmgr=f"127.0.0.1:{ports['vzmgr']}",
        vzconn=f"{host}:{ports['vzconn']}",
        nats=f"nats://127.0.0.1:{ports['nats']}",
        domain=str(values.get("domain", "pyxie.local")),
    )


def api_serving(endpoints: CloudEndpoints, ca: bytes) -> bool:
    """The cloud api answers gRPC health over TLS, trusting ``ca``."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    creds = grpc.ssl_channel_credentials(root_certificates=ca)
    try:
        with grpc.secure_channel(endpoints.api, creds) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=3
            )
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
