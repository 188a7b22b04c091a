"""Row batches over ``ResultSinkService.TransferResultChunk``: the receiving router and codec.

Kelvin hosts the ``ResultSinkServer`` (through ``pyxie_agent.StatsCollectingRouter``): each
incoming stream starts with ``initiate_conn``; batches for a GRPC source node are routed to the
queue of (query id, source node id), created on first use so that data arriving before the
receiving plan starts is kept. Named result tables are not for it: they go to the query broker,
whose own receiver (``pyxie_query_broker``'s ``ResultSinkServicer``) forwards them to the client.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import grpc
import pyarrow as pa
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_types.batching import split_to_fit

from .._errors import RemoteExecutionError, TransferError

__all__ = [
    "KEEPALIVE_OPTIONS",
    "MAX_MESSAGE_BYTES",
    "ResultSinkServer",
    "SourceItem",
    "batch_from_ipc",
    "batch_to_ipc",
    "split_for_transfer",
]

# Pixie's GRPC sink keeps each message under 1 MiB - 16 KiB and leaves 10 % headroom for the
# encryption the broker may add; the receiving servers accept up to 8 MiB.
MAX_MESSAGE_BYTES = 1 << 20
_TARGET_IPC_BYTES = int((MAX_MESSAGE_BYTES - (16 << 10)) * 0.9)

# Keep long-lived agent-to-agent streams alive through NATs and proxies: ping every 30 s,
# give up after 10 s without an answer (the Kelvin/PEM streams of a streaming query are idle
# for long stretches).
KEEPALIVE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_send_message_length", 8 << 20),
    ("grpc.max_receive_message_length", 8 << 20),
)

# Remember this many finished queries so late messages for them are dropped, not queued forever.
_RELEASED_MEMORY = 1024


def batch_to_ipc(batch: pa.RecordBatch) -> bytes:
    """One Arrow IPC stream (schema + the batch)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def batch_from_ipc(data: bytes) -> pa.RecordBatch:
    """The batch of one Arrow IPC stream (batches of a stream are concatenated)."""
    reader = pa.ipc.open_stream(data)
    batches = list(reader)
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches, schema=reader.schema)
    combined = table.combine_chunks().to_batches()
    return combined[0] if combined else pa.RecordBatch.from_pylist([], schema=reader.schema)


def split_for_transfer(batch: pa.RecordBatch) -> Iterator[bytes]:
    """IPC payloads of slices of ``batch``, each under the message budget when possible."""
    return split_to_fit(batch, batch_to_ipc, len, _TARGET_IPC_BYTES)


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One received batch for a GRPC source (or the error that ended a sender's stream)."""

    batch: pa.RecordBatch | None
    eow: bool
    eos: bool
    sender: str
    error: Exception | None = None


StatsHandler = Callable[[result_sink_pb2.TransferResultChunkRequest], Awaitable[None]]


class ResultSinkServer(result_sink_pb2_grpc.ResultSinkServiceServicer):
    """Routes result chunks to GRPC source nodes; exec stats go to ``on_execution_stats``."""

    def __init__(self, on_execution_stats: StatsHandler | None = None) -> None:
        self._queues: dict[tuple[str, int], asyncio.Queue[SourceItem]] = {}
        self._released: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._on_execution_stats = on_execution_stats

    # ------------------------------------------------------------ engine side

    def source_queue(self, query_id: str, source_id: int) -> asyncio.Queue[SourceItem]:
        """The queue feeding GRPC source ``source_id`` of ``query_id`` (created if new)."""
        key = (query_id, source_id)
        queue = self._queues.get(key)
        if queue is None:
            queue = asyncio.Queue()
            self._queues[key] = queue
        return queue

    def release_source(self, query_id: str, source_id: int) -> None:
        self._queues.pop((query_id, source_id), None)

    def release_query(self, query_id: str) -> None:
        """Forget every queue of ``query_id``; later messages for it are dropped."""
        for key in [k for k in self._queues if k[0] == query_id]:
            del self._queues[key]
        self._released[query_id] = None
        while len(self._released) > _RELEASED_MEMORY:
            self._released.popitem(last=False)

    def pending_queries(self) -> set[str]:
        return {query_id for query_id, _ in self._queues}

    # ------------------------------------------------------------ gRPC side

    async def TransferResultChunk(
        self,
        request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> result_sink_pb2.TransferResultChunkResponse:
        initiated = False
        source_key: tuple[str, int] | None = None
        async for request in request_iterator:
            kind = request.WhichOneof("result")
            if kind == "initiate_conn":
                initiated = True
                if request.initiate_conn.WhichOneof("destination") == "grpc_source_id":
                    source_key = (request.query_id, request.initiate_conn.grpc_source_id)
                continue
            if not initiated:
                return result_sink_pb2.TransferResultChunkResponse(
                    success=False, message="the first message must be initiate_conn"
                )
            if kind == "execution_and_timing_info":
                if self._on_execution_stats is not None:
                    await self._on_execution_stats(request)
                continue
            if kind == "execution_error":
                # The sender's fragment failed: fail the receiving GRPC source now.
                if source_key is not None and source_key[0] not in self._released:
                    error = RemoteExecutionError(
                        request.sender,
                        request.execution_error.message,
                        request.execution_error.code,
                    )
                    self.source_queue(*source_key).put_nowait(
                        SourceItem(None, False, False, request.sender, error)
                    )
                continue
            if kind != "query_result":
                continue
            result = request.query_result
            destination = result.WhichOneof("destination")
            if destination == "table_name":
                return result_sink_pb2.TransferResultChunkResponse(
                    success=False, message="result tables go to the query broker, not here"
                )
            if destination != "grpc_source_id" or request.query_id in self._released:
                continue
            source_key = (request.query_id, result.grpc_source_id)
            try:
                batch = batch_from_ipc(result.arrow_ipc)
            except (pa.ArrowInvalid, OSError) as err:
                self.source_queue(*source_key).put_nowait(
                    SourceItem(None, False, False, request.sender, TransferError(str(err)))
                )
                return result_sink_pb2.TransferResultChunkResponse(
                    success=False, message=f"invalid Arrow IPC payload: {err}"
                )
            self.source_queue(*source_key).put_nowait(
                SourceItem(batch, result.eow, result.eos, request.sender)
            )
        return result_sink_pb2.TransferResultChunkResponse(success=True)
