"""Test harness of the metadata service: a running service on port 0 and a fake agent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pydantic import SecretStr
from pyxie_jwt import SigningKey, service_claims, sign_token, user_claims
from pyxie_proto.types.typespb import types_pb2
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_proto.vizier.subjects import UPDATE_AGENT, agent_subject
from pyxie_service import NatsBus, Service

from pyxie_metadata.app import MetadataRuntime, metadata_service
from pyxie_metadata.kvstore import KVStore, SqliteKVStore
from pyxie_metadata.providers import MetadataProvider
from pyxie_metadata.settings import MetadataSettings

SIGNING_SECRET = "pyxie-metadata-test-signing-key-" + "0123456789abcdef" * 2
# Generous bound for a reply on a loaded 2-core machine; never reached when things work.
REPLY_WITHIN = 10.0


def make_settings(tmp_path: Path, **overrides: Any) -> MetadataSettings:
    values: dict[str, Any] = {
        "jwt_signing_key": SecretStr(SIGNING_SECRET),
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "metrics_enabled": False,
        "kv_path": tmp_path / "metadata" / "kv.sqlite",
        "metadata_provider": "none",
        "shutdown_grace_seconds": 0.2,
    }
    values.update(overrides)
    return MetadataSettings(**values)


def service_token(service_id: str = "query_broker") -> str:
    return sign_token(
        service_claims(service_id=service_id, audience="vizier"), SigningKey(SIGNING_SECRET)
    )


def user_token() -> str:
    claims = user_claims(
        user_id=str(uuid.uuid4()), org_id=str(uuid.uuid4()), email="a@b.c", audience="vizier"
    )
    return sign_token(claims, SigningKey(SIGNING_SECRET))


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"bearer {token}"),)


@dataclass
class RunningMetadata:
    settings: MetadataSettings
    kv: KVStore
    bus: NatsBus
    runtime: MetadataRuntime
    service: Service
    channel: grpc.aio.Channel
    stub: mdpb_grpc.MetadataServiceAsyncStub

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return bearer(service_token())

    async def stop(self) -> None:
        await self.channel.close(None)
        await self.service.stop()


async def start_metadata(
    settings: MetadataSettings,
    nats_url: str,
    *,
    kv: KVStore | None = None,
    provider: MetadataProvider | None = None,
) -> RunningMetadata:
    store = kv if kv is not None else await SqliteKVStore.open(settings.kv_path)
    bus = await NatsBus.connect(nats_url, name="metadata-test")
    runtime, service = await metadata_service(
        settings, store, bus, provider, resources=[("kv", store.close), ("nats", bus.drain)]
    )
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
    stub = mdpb_grpc.MetadataServiceStub(channel)
    return RunningMetadata(settings, store, bus, runtime, service, channel, stub)


def table(name: str, *columns: str) -> types_pb2.TableSchema:
    return types_pb2.TableSchema(
        name=name,
        columns=[
            types_pb2.ColumnSchema(name=column, data_type=types_pb2.INT64) for column in columns
        ],
    )


class FakeAgent:
    """An agent at the NATS boundary: registers, heartbeats, and records what it is sent."""

    def __init__(
        self,
        bus: NatsBus,
        *,
        hostname: str = "node-a",
        host_ip: str = "10.0.0.1",
        collects_data: bool = True,
        netns_inode: int = 0,
        agent_id: str | None = None,
    ) -> None:
        self.bus = bus
        self.agent_id = agent_id or str(uuid.uuid4())
        self.info = msgs.AgentInfo(
            agent_id=self.agent_id,
            host_info=msgs.HostInfo(hostname=hostname, host_ip=host_ip, netns_inode=netns_inode),
            collects_data=collects_data,
            address="" if collects_data else f"{host_ip}:59300",
        )
        self.inbox: asyncio.Queue[msgs.VizierMessage] = asyncio.Queue()
        self.sequence = 0
        self._subscription: Any = None

    async def listen(self) -> FakeAgent:
        async def deliver(message: msgs.VizierMessage) -> None:
            self.inbox.put_nowait(message)

        self._subscription = await self.bus.subscribe(
            agent_subject(self.agent_id), msgs.VizierMessage, deliver
        )
        await self.bus.flush()
        return self

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def receive(self, kind: str) -> msgs.VizierMessage:
        """The next message on Agent/<id>; it must be of `kind`."""
        message = await asyncio.wait_for(self.inbox.get(), REPLY_WITHIN)
        assert message.WhichOneof("msg") == kind, message
        return message

    async def register(self, asid: int = 0) -> int:
        request = msgs.RegisterAgentRequest(info=self.info, asid=asid)
        await self.bus.publish(UPDATE_AGENT, msgs.VizierMessage(register_agent_request=request))
        reply = await self.receive("register_agent_response")
        return reply.register_agent_response.asid

    async def send_heartbeat(
        self,
        *,
        tables: Sequence[types_pb2.TableSchema] | None = None,
        created: Sequence[msgs.ProcessCreated] = (),
        terminated: Sequence[msgs.ProcessTerminated] = (),
    ) -> int:
        self.sequence += 1
        update = msgs.AgentUpdateInfo(
            does_update_schema=tables is not None,
            schema=tables or [],
            process_created=created,
            process_terminated=terminated,
        )
        heartbeat = msgs.Heartbeat(
            agent_id=self.agent_id, time=1, sequence_number=self.sequence, update_info=update
        )
        await self.bus.publish(UPDATE_AGENT, msgs.VizierMessage(heartbeat=heartbeat))
        return self.sequence

    async def heartbeat(self, **kwargs: Any) -> msgs.HeartbeatAck:
        sequence = await self.send_heartbeat(**kwargs)
        reply = await self.receive("heartbeat_ack")
        assert reply.heartbeat_ack.sequence_number == sequence
        return reply.heartbeat_ack
