"""vzmgr for tests: `running_vzmgr` (its own tests, vzconn's and the connector's) and `Cloud`,
a client of a running vzmgr with the credentials each kind of caller sends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import grpc
from pydantic import SecretStr
from pyxie_crypto import DataKey
from pyxie_jwt import SigningKey, api_user_claims, service_claims, sign_token, user_claims
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as pb_grpc
from pyxie_service import Service

from pyxie_vzmgr.app import build
from pyxie_vzmgr.settings import DEFAULT_JWT_AUDIENCE, VzmgrSettings

__all__ = [
    "CLOUD_AUDIENCE",
    "Cloud",
    "RunningVzmgr",
    "eventually",
    "running_vzmgr",
    "service_token",
]

CLOUD_AUDIENCE: Final = DEFAULT_JWT_AUDIENCE


def service_token(key: SigningKey, service_id: str = "test") -> str:
    """A cloud service JWT, as vzconn or the api gateway would send."""
    return sign_token(service_claims(service_id=service_id, audience=CLOUD_AUDIENCE), key)


@dataclass(frozen=True)
class RunningVzmgr:
    service: Service

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.service.grpc_port}"


@asynccontextmanager
async def running_vzmgr(
    database_url: str, nats_url: str, *, cloud_key: SigningKey, **overrides: Any
) -> AsyncIterator[RunningVzmgr]:
    """vzmgr built by `build` (which migrates `database_url`) on 127.0.0.1, any port."""
    settings = VzmgrSettings(
        jwt_signing_key=SecretStr(cloud_key.reveal_text()),
        database_url=SecretStr(database_url),
        database_key=SecretStr(DataKey.generate().to_base64()),
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        shutdown_grace_seconds=0.5,
        log_format="console",
        **overrides,
    )
    service = await build(settings)
    await service.start()
    try:
        yield RunningVzmgr(service)
    finally:
        await service.stop()


@dataclass
class Cloud:
    """A running vzmgr and stubs to call it as vzconn, a user or an API user would."""

    vzmgr: RunningVzmgr
    key: SigningKey
    channel: grpc.aio.Channel
    dsn: str

    @property
    def mgr(self) -> Any:
        return pb_grpc.VZMgrServiceStub(self.channel)

    @property
    def deployment(self) -> Any:
        return pb_grpc.VZDeploymentServiceStub(self.channel)

    @property
    def keys(self) -> Any:
        return pb_grpc.VZDeploymentKeyServiceStub(self.channel)

    def service_auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"bearer {service_token(self.key, 'vzconn')}"),)

    def user_auth(self, org_id: str, user_id: str | None = None) -> tuple[tuple[str, str], ...]:
        claims = user_claims(
            user_id=user_id or str(uuid.uuid4()),
            org_id=org_id,
            email="someone@example.com",
            audience=CLOUD_AUDIENCE,
        )
        return (("authorization", f"bearer {sign_token(claims, self.key)}"),)

    def api_user_auth(self, org_id: str) -> tuple[tuple[str, str], ...]:
        claims = api_user_claims(user_id=str(uuid.uuid4()), org_id=org_id, audience=CLOUD_AUDIENCE)
        return (("authorization", f"bearer {sign_token(claims, self.key)}"),)

    async def new_deploy_key(self, org_id: str, *, expires_at_ns: int = 0) -> str:
        created = await self.keys.Create(
            pb.CreateDeploymentKeyRequest(
                org_id=org_id, user_id=str(uuid.uuid4()), expires_at_ns=expires_at_ns
            ),
            metadata=self.service_auth(),
        )
        return str(created.key)

    async def register(
        self, deploy_key: str, uid: str, name: str
    ) -> pb.RegisterVizierDeploymentResponse:
        response: pb.RegisterVizierDeploymentResponse = (
            await self.deployment.RegisterVizierDeployment(
                pb.RegisterVizierDeploymentRequest(
                    deploy_key=deploy_key, k8s_cluster_uid=uid, k8s_cluster_name=name, peer="test"
                ),
                metadata=self.service_auth(),
            )
        )
        return response


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Poll `check` until it is true; fail after `within` seconds (a hang guard, not a bound)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.05)
