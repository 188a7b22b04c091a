"""Readiness probes of the vizier services: gRPC health, registered agents, an HTTP GET."""

from __future__ import annotations

import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token
from pyxie_proto.vizier.metadatapb import metadata_pb2, metadata_pb2_grpc

__all__ = ["agent_statuses", "grpc_serving", "http_answers"]

# A probe is one of many polls; a short deadline keeps a hung server from stalling the loop.
_PROBE_TIMEOUT_S = 2.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def grpc_serving(address: str) -> bool:
    """True when the standard health service at ``address`` answers SERVING."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=_PROBE_TIMEOUT_S)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def agent_statuses(metadata_address: str, key: SigningKey) -> list[metadata_pb2.AgentStatus]:
    """GetAgentInfo with a devstack service token; raises grpc.RpcError when unavailable."""
    token = sign_token(service_claims(service_id="devstack", audience=VIZIER_AUDIENCE), key)
    with grpc.insecure_channel(metadata_address) as channel:
        stub = metadata_pb2_grpc.MetadataServiceStub(channel)
        reply = stub.GetAgentInfo(
            metadata_pb2.AgentInfoRequest(),
            metadata=(("authorization", f"bearer {token}"),),
            timeout=_PROBE_TIMEOUT_S,
        )
    return list(reply.info)


def http_answers(url: str) -> bool:
    """True when ``url`` answers at all (any status: the demo app returns some 4xx/5xx)."""
    try:
        with _NO_PROXY.open(url, timeout=_PROBE_TIMEOUT_S):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
