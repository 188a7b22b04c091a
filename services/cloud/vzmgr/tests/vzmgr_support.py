"""Helpers for vzmgr tests (imported by name: importlib mode puts no test dir on sys.path)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from pyxie_jwt import SigningKey, api_user_claims, sign_token, user_claims
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as pb_grpc
from pyxie_vzmgr import Vzmgr
from pyxie_vzmgr.testing import CLOUD_AUDIENCE, service_token


@dataclass
class Cloud:
    vzmgr: Vzmgr
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
        return await self.deployment.RegisterVizierDeployment(
            pb.RegisterVizierDeploymentRequest(
                deploy_key=deploy_key, k8s_cluster_uid=uid, k8s_cluster_name=name, peer="test"
            ),
            metadata=self.service_auth(),
        )


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Poll `check` until it is true; fail after `within` seconds (a hang guard, not a bound)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.05)
