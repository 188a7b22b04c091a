"""Helpers for cloud connector tests (imported by name; importlib mode puts no test dir on
sys.path): the cloud side (vzmgr + vzconn over TLS), a second NATS for the vizier, a fake
query broker at the VizierService boundary, and connector settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from pydantic import SecretStr
from pyxie_cloud_connector import CloudConnector, ConnectorSettings
from pyxie_crypto import CertificateAuthority
from pyxie_jwt import SigningKey
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as mgr_pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as mgr_grpc
from pyxie_service import NatsBus
from pyxie_vzconn import Vzconn
from pyxie_vzmgr import Vzmgr
from pyxie_vzmgr.testing import service_token

_OK = grpc.StatusCode.OK.value[0]
_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]


class FakeBroker(vpb_grpc.VizierServiceServicer):
    """The query broker's VizierService as the connector sees it (a service boundary)."""

    def __init__(self) -> None:
        self.healthy = True
        self.tokens: list[str] = []

    def _token(self, context: Any) -> None:
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                self.tokens.append(str(value).removeprefix("bearer "))

    async def HealthCheck(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self._token(context)
        while True:
            code = _OK if self.healthy else _UNAVAILABLE
            yield vpb.HealthCheckResponse(
                status=vpb.Status(code=code, message="" if self.healthy else "sick")
            )
            await asyncio.sleep(0.1)

    async def ExecuteScript(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self._token(context)
        if request.query_str == "huge":
            # One response larger than the bridge's 1 MiB (fits gRPC's 4 MiB).
            yield vpb.ExecuteScriptResponse(query_id="x" * (2 << 20))
            return
        for index in range(2):
            yield vpb.ExecuteScriptResponse(query_id=f"{request.query_str}-{index}")


@dataclass
class Stack:
    vzmgr: Vzmgr
    vzconn: Vzconn
    cloud_key: SigningKey
    ca: CertificateAuthority
    ca_dir: Path
    cloud_bus: NatsBus
    vizier_bus: NatsBus
    vizier_nats_url: str
    broker: FakeBroker
    broker_port: int
    tmp_path: Path
    connectors: list[CloudConnector] = field(default_factory=list)

    async def deploy_key(self, org_id: str | None = None) -> str:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.vzmgr.service.grpc_port}") as ch:
            created = await mgr_grpc.VZDeploymentKeyServiceStub(ch).Create(
                mgr_pb.CreateDeploymentKeyRequest(
                    org_id=org_id or str(uuid.uuid4()), user_id=str(uuid.uuid4())
                ),
                metadata=(("authorization", f"bearer {service_token(self.cloud_key)}"),),
            )
        return str(created.key)

    async def vizier_info(self, vizier_id: str) -> Any:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.vzmgr.service.grpc_port}") as ch:
            return await mgr_grpc.VZMgrServiceStub(ch).GetVizierInfo(
                mgr_pb.GetVizierInfoRequest(vizier_id=vizier_id),
                metadata=(("authorization", f"bearer {service_token(self.cloud_key)}"),),
            )

    def settings(
        self, *, deploy_key: str = "", name: str = "edge", **overrides: Any
    ) -> ConnectorSettings:
        values: dict[str, Any] = {
            "cloud_addr": f"127.0.0.1:{self.vzconn.service.grpc_port}",
            "cloud_ca_cert_file": self.ca_dir / "ca.crt",
            "deploy_key": SecretStr(deploy_key),
            "cluster_uid": "uid-edge",
            "cluster_name": name,
            "state_file": self.tmp_path / "connector" / "state.json",
            "jwt_key_file": self.tmp_path / "connector" / "jwt_signing_key",
            "broker_addr": f"127.0.0.1:{self.broker_port}",
            "nats_url": self.vizier_nats_url,
            "grpc_host": "127.0.0.1",
            "grpc_port": 0,
            "metrics_enabled": False,
            "heartbeat_interval_seconds": 0.2,
            "reconnect_initial_seconds": 0.05,
            "reconnect_max_seconds": 0.5,
            "health_retry_seconds": 0.2,
            "register_timeout_seconds": 10.0,
            "shutdown_grace_seconds": 0.2,
            "log_format": "console",
        }
        values.update(overrides)
        return ConnectorSettings(**values)

    async def start_connector(self, settings: ConnectorSettings) -> CloudConnector:
        bus = await NatsBus.connect(settings.nats_url, name="connector-test")
        connector = CloudConnector(settings, bus=bus)
        await connector.start()
        self.connectors.append(connector)
        await asyncio.wait_for(connector.ready.wait(), 30)
        assert connector.bridge is not None
        await asyncio.wait_for(connector.bridge.connected.wait(), 30)
        return connector


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    """Poll `check` until it is true; fail after `within` seconds (a hang guard, not a bound)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling other services' state
            await asyncio.sleep(0.05)
