"""vzconn for tests: `running_vzconn` (its own tests and the connector's), and `CloudSide`,
vzmgr + vzconn running with a test CA, with the calls a vizier makes to register."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from pydantic import SecretStr
from pyxie_crypto import CertificateAuthority
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, cluster_claims, sign_token
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import REGISTER_TOPIC
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_proto.cloud.vzconnpb import vzconn_pb2_grpc as pb_grpc
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as mgr_pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as mgr_grpc
from pyxie_service import Service
from pyxie_vzmgr.testing import RunningVzmgr, service_token

from pyxie_vzconn.app import build
from pyxie_vzconn.settings import VzconnSettings

__all__ = [
    "CloudFactory",
    "CloudSide",
    "RunningVzconn",
    "pack",
    "register_message",
    "running_vzconn",
]


@dataclass(frozen=True)
class RunningVzconn:
    service: Service

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.service.grpc_port}"


@asynccontextmanager
async def running_vzconn(
    nats_url: str,
    vzmgr_addr: str,
    *,
    cloud_key: SigningKey,
    tls_ca_dir: Path | None,
    grpc_port: int = 0,
    **overrides: Any,
) -> AsyncIterator[RunningVzconn]:
    """vzconn on 127.0.0.1 with a server certificate from the CA in `tls_ca_dir` (None = no TLS)."""
    settings = VzconnSettings(
        jwt_signing_key=SecretStr(cloud_key.reveal_text()),
        nats_url=nats_url,
        vzmgr_addr=vzmgr_addr,
        tls_enabled=tls_ca_dir is not None,
        tls_ca_dir=tls_ca_dir,
        grpc_host="127.0.0.1",
        grpc_port=grpc_port,
        metrics_enabled=False,
        shutdown_grace_seconds=0.2,
        log_format="console",
        **overrides,
    )
    service = await build(settings)
    await service.start()
    try:
        yield RunningVzconn(service)
    finally:
        await service.stop()


def pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


@dataclass
class CloudSide:
    vzmgr: RunningVzmgr
    vzconn: RunningVzconn
    cloud_key: SigningKey
    ca: CertificateAuthority
    ca_dir: Path

    @property
    def vzconn_addr(self) -> str:
        return self.vzconn.address

    def channel(self, *, client_cert: bool = False) -> grpc.aio.Channel:
        if client_cert:
            issued = self.ca.issue_client_certificate("vizier-test")
            credentials = grpc.ssl_channel_credentials(
                root_certificates=self.ca.cert_pem,
                private_key=issued.key_pem,
                certificate_chain=issued.cert_pem,
            )
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=self.ca.cert_pem)
        return grpc.aio.secure_channel(self.vzconn_addr, credentials)

    async def deploy_key(self, org_id: str | None = None) -> str:
        async with grpc.aio.insecure_channel(self.vzmgr.address) as channel:
            created = await mgr_grpc.VZDeploymentKeyServiceStub(channel).Create(
                mgr_pb.CreateDeploymentKeyRequest(
                    org_id=org_id or str(uuid.uuid4()), user_id=str(uuid.uuid4())
                ),
                metadata=(("authorization", f"bearer {service_token(self.cloud_key)}"),),
            )
        return str(created.key)

    async def new_vizier(self, channel: grpc.aio.Channel, name: str = "prod") -> Any:
        return await pb_grpc.VZConnServiceStub(channel).RegisterVizierDeployment(
            pb.RegisterVizierDeploymentRequest(
                k8s_cluster_uid=f"uid-{uuid.uuid4()}", k8s_cluster_name=name
            ),
            metadata=(("x-api-key", await self.deploy_key()),),
        )


def register_message(vizier_id: str, key_text: str) -> pb.V2CBridgeMessage:
    proof = sign_token(
        cluster_claims(cluster_id=vizier_id, audience=VIZIER_AUDIENCE), SigningKey(key_text)
    )
    register = cvmsgs.RegisterVizierRequest(vizier_id=vizier_id, jwt_key_proof=proof)
    return pb.V2CBridgeMessage(topic=REGISTER_TOPIC, session_id="s1", msg=pack(register))


CloudFactory = Callable[..., AbstractAsyncContextManager[CloudSide]]
