"""What Kelvin's cluster-wide UDTFs read: the metadata service's agents and union schema.

Pixie's Kelvin answers GetAgentStatus, GetSchemas and GetTables by calling the metadata
service (``MetadataService.GetAgentInfo`` / ``GetSchemas``) when the UDTF runs, so the answer
is the registry's current state. ``MetadataServiceView`` does the same over gRPC with a service
JWT; the channel is opened on first use, inside the event loop that runs queries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import grpc
from google.protobuf import descriptor_pool, message_factory, text_format
from google.protobuf.message import DecodeError, Message
from pyxie_carnot import TransferError
from pyxie_carnot.udtfs import AgentStatus
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_types import TableSchema

from ._query import CallMetadata

__all__ = ["MetadataServiceView", "agent_status_of"]

# Message types a prefix dump may name (imported so their descriptors are in the pool).
_ = msgs

# Deadline of one GetAgentInfo / GetSchemas call: both read in-memory state on metadata.
_RPC_TIMEOUT_S: Final = 10.0


def _message_class(name: str) -> type[Message] | None:
    if not name:
        return None
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        raise TransferError(f"unknown proto message type {name!r}") from None
    return message_factory.GetMessageClass(descriptor)


def _render(value: bytes, message_class: type[Message] | None) -> str:
    if message_class is None:
        return value.hex()
    try:
        return text_format.MessageToString(message_class.FromString(value), as_one_line=True)
    except DecodeError:
        return value.hex()


def agent_status_of(agent: mdpb.AgentStatus, now_ns: int) -> AgentStatus:
    """A registry record as GetAgentStatus reports it (heartbeat age, not its timestamp)."""
    info = agent.info
    return AgentStatus(
        agent_id=uuid.UUID(info.agent_id),
        asid=agent.asid,
        hostname=info.host_info.hostname,
        ip_address=info.host_info.host_ip,
        agent_state=mdpb.AgentState.Name(agent.state),
        create_time_ns=agent.create_time_ns,
        last_heartbeat_ns=max(now_ns - agent.last_heartbeat_ns, 0),
        kernel_headers_installed=info.host_info.kernel_headers_installed,
        is_kelvin=not info.collects_data,
    )


class MetadataServiceView:
    """Agents and schemas from the metadata service, asked for on every call."""

    def __init__(
        self,
        address: str,
        call_metadata: CallMetadata,
        *,
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.address = address
        self._call_metadata = call_metadata
        self._wall_clock_ns = wall_clock_ns
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> mdpb_grpc.MetadataServiceAsyncStub:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address)
        return mdpb_grpc.MetadataServiceStub(self._channel)

    def _metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return tuple(self._call_metadata())

    def _failed(self, what: str, err: grpc.aio.AioRpcError) -> TransferError:
        return TransferError(
            f"asking the metadata service at {self.address} for {what} failed:"
            f" {err.code().name} {err.details() or ''}".rstrip()
        )

    async def agents(self) -> Sequence[AgentStatus]:
        try:
            response = await self._stub().GetAgentInfo(
                mdpb.AgentInfoRequest(), metadata=self._metadata(), timeout=_RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as err:
            raise self._failed("agents", err) from None
        now = self._wall_clock_ns()
        agents = [agent_status_of(a, now) for a in response.info]
        return sorted(agents, key=lambda a: (a.is_kelvin, a.hostname, a.asid))

    async def schemas(self) -> Mapping[str, TableSchema]:
        try:
            response = await self._stub().GetSchemas(
                mdpb.SchemaRequest(), metadata=self._metadata(), timeout=_RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as err:
            raise self._failed("schemas", err) from None
        return {t.name: TableSchema.from_proto(t) for t in response.schema.tables}

    async def get_with_prefix(self, prefix: str, proto: str = "") -> Sequence[tuple[str, str]]:
        """The metadata KV entries under ``prefix``; values as text protos when ``proto`` names
        a known message type, else as hex."""
        try:
            response = await self._stub().GetWithPrefixKey(
                mdpb.WithPrefixKeyRequest(prefix=prefix, proto=proto),
                metadata=self._metadata(),
                timeout=_RPC_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as err:
            raise self._failed(f"keys under {prefix!r}", err) from None
        message_class = _message_class(proto)
        return [(kv.key, _render(kv.value, message_class)) for kv in response.kvs]

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
