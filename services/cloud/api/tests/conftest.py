"""Fixtures: the api in-process on port 0 with fake auth/vzmgr (real gRPC) and real NATS."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from pyxie_crypto import ensure_local_ca
from pyxie_jwt import SigningKey
from pyxie_proto.cloud.authpb import auth_pb2_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc

# Test modules import their helpers from api_support (importlib mode puts no test directory
# on sys.path); the module name is unique in the repository.
sys.path.insert(0, str(Path(__file__).parent))

from api_support import (
    DOMAIN,
    ORG_A,
    ORG_B,
    USER_A,
    USER_B,
    VZ_A1,
    VZ_A2,
    VZ_A_SICK,
    VZ_B1,
    ApiHarness,
    FakeAuth,
    FakeVizier,
    FakeVzmgr,
)
from pyxie_api.app import build_backends, build_service
from pyxie_api.settings import ApiSettings


@pytest.fixture
def cloud_secret() -> str:
    return "k" * 48


@pytest.fixture
async def api(
    cloud_secret: str, nats_server: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ApiHarness]:
    key = SigningKey(cloud_secret)
    auth, vzmgr = FakeAuth(key), FakeVzmgr()
    vzmgr.add(VZ_A1, ORG_A, "alpha", cvmsgs_pb2.VZ_ST_HEALTHY)
    vzmgr.add(VZ_A2, ORG_A, "gke_proj_zone_beta", cvmsgs_pb2.VZ_ST_DEGRADED)
    vzmgr.add(VZ_A_SICK, ORG_A, "sick", cvmsgs_pb2.VZ_ST_DISCONNECTED)
    vzmgr.add(VZ_B1, ORG_B, "bravo", cvmsgs_pb2.VZ_ST_HEALTHY)
    backend_server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, backend_server)
    auth_pb2_grpc.add_APIKeyServiceServicer_to_server(auth, backend_server)
    vzmgr_pb2_grpc.add_VZMgrServiceServicer_to_server(vzmgr, backend_server)
    vzmgr_pb2_grpc.add_VZDeploymentKeyServiceServicer_to_server(vzmgr, backend_server)
    backend_port = backend_server.add_insecure_port("127.0.0.1:0")
    await backend_server.start()
    overrides = dict(getattr(request, "param", {}))
    certificate, ca_file = None, None
    if overrides.pop("tls", False):
        ca_dir = tmp_path / "ca"
        certificate = ensure_local_ca(ca_dir).issue_server_certificate()
        ca_file = ca_dir / "ca.crt"
    settings = ApiSettings(
        jwt_signing_key=cloud_secret,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        jwt_audience=DOMAIN,
        domain_name=DOMAIN,
        auth_addr=f"127.0.0.1:{backend_port}",
        vzmgr_addr=f"127.0.0.1:{backend_port}",
        nats_url=nats_server.url,
        tls_enabled=False,
        http_enabled=False,
        shutdown_grace_seconds=0.5,
        **overrides,
    )
    backends, channels = build_backends(settings)
    client = await nats.connect(nats_server.url)
    parts = build_service(settings, backends, client, certificate=certificate)
    vizier = FakeVizier(nats_server.url, (VZ_A1, VZ_A2, VZ_B1))
    await vizier.start()
    await parts.service.start()
    harness = ApiHarness(
        parts,
        backends,
        settings,
        auth,
        vzmgr,
        vizier,
        f"localhost:{parts.service.grpc_port}",
        ca_file,
        auth.add_api_key(ORG_A, USER_A),
        auth.add_api_key(ORG_B, USER_B),
    )
    try:
        yield harness
    finally:
        await parts.service.stop()
        await vizier.stop()
        await client.close()
        for channel in channels:
            await channel.close(None)
        await backend_server.stop(None)
