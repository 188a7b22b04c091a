"""Sinks: keep a result table in memory, or stream batches to another agent / the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pyarrow as pa
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.carnot.planpb import plan_pb2

from .._errors import PlanError, TransferError, status_code_of
from ._base import ExecState, Operator
from ._grpc import KEEPALIVE_OPTIONS, split_for_transfer

__all__ = ["GRPCSinkOperator", "MemorySinkOperator"]

# Unsent bytes a GRPC sink queues before the executor waits for the network to catch up.
_HIGH_WATER_BYTES = 8 << 20
# How long a failing query waits for its ExecutionError to reach a receiver before it drops
# the stream (Pixie's agent result RPC deadline, kRPCResultTimeout).
_FAILURE_REPORT_TIMEOUT_S = 2.0


class _SinkOperator(Operator):
    def _allows_empty_relation(self) -> bool:
        return True

    def validate(self) -> None:
        parent = self.parents[0]
        if not self.node.output_relation.columns:
            self.relation = parent.relation
            self.schema = parent.schema


class MemorySinkOperator(_SinkOperator):
    """Collects its input into a named pa.Table (returned in ExecutionResult.tables)."""

    kind = "memory_sink"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        self.name = node.op.memory_sink.name
        if not self.name:
            raise PlanError(f"{self.label}: a memory sink needs a name")
        self._batches: list[pa.RecordBatch] = []
        self._held = 0

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if batch.num_rows:
            self._batches.append(batch)
            self._held += batch.nbytes
            self.state.hold(self, self._held)
        if all_done:
            self.done = True

    def result(self) -> pa.Table:
        columns = (
            pa.Table.from_batches(self._batches, schema=self._batches[0].schema).columns
            if (self._batches)
            else [pa.chunked_array([], type=f.type) for f in self.schema]
        )
        return pa.Table.from_arrays(columns, schema=self.schema)


class GRPCSinkOperator(_SinkOperator):
    """Streams its input over ResultSinkService.TransferResultChunk (one IPC stream/message)."""

    kind = "grpc_sink"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.grpc_sink
        if not spec.address:
            raise PlanError(f"{self.label}: a GRPC sink needs an address")
        self.address = spec.address
        destination = spec.WhichOneof("destination")
        if destination is None:
            raise PlanError(f"{self.label}: a GRPC sink needs a source id or a table name")
        self._source_id = spec.grpc_source_id if destination == "grpc_source_id" else None
        self._table_name = spec.table_name if destination == "table_name" else None
        self._queue: asyncio.Queue[result_sink_pb2.TransferResultChunkRequest | None] = (
            asyncio.Queue()
        )
        self._pending_bytes = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._channel: grpc.aio.Channel | None = None
        self._call: asyncio.Task[result_sink_pb2.TransferResultChunkResponse] | None = None
        self._finished = False
        # Set by the executor when the query fails while this sink's stream is open.
        self.failure: BaseException | None = None

    def _request(
        self,
        initiate: result_sink_pb2.InitiateConnection | None = None,
        result: result_sink_pb2.QueryResult | None = None,
    ) -> result_sink_pb2.TransferResultChunkRequest:
        return result_sink_pb2.TransferResultChunkRequest(
            sender=self.state.agent_id,
            query_id=self.state.query_id,
            initiate_conn=initiate,
            query_result=result,
        )

    async def open_async(self) -> None:
        factory = self.state.channel_factory
        if factory is not None:
            self._channel = factory(self.address)
        else:
            self._channel = grpc.aio.insecure_channel(self.address, options=KEEPALIVE_OPTIONS)
        stub = result_sink_pb2_grpc.ResultSinkServiceStub(self._channel)
        if self._source_id is not None:
            initiate = result_sink_pb2.InitiateConnection(grpc_source_id=self._source_id)
        else:
            initiate = result_sink_pb2.InitiateConnection(table_name=self._table_name)
        self._queue.put_nowait(self._request(initiate=initiate))
        metadata = tuple(self.state.call_metadata()) if self.state.call_metadata else None
        call = stub.TransferResultChunk(self._requests(), metadata=metadata)
        self._call = asyncio.ensure_future(call)

    async def _requests(self) -> AsyncIterator[result_sink_pb2.TransferResultChunkRequest]:
        while True:
            request = await self._queue.get()
            if request is None:
                return
            size = len(request.query_result.arrow_ipc)
            yield request
            self._pending_bytes -= size
            self.state.hold(self, max(self._pending_bytes, 0))
            if self._pending_bytes <= _HIGH_WATER_BYTES:
                self._drained.set()

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if self._finished:
            return
        payloads = list(split_for_transfer(batch))
        for position, payload in enumerate(payloads):
            last = position == len(payloads) - 1
            if self._source_id is not None:
                result = result_sink_pb2.QueryResult(
                    grpc_source_id=self._source_id,
                    arrow_ipc=payload,
                    eow=eow and last,
                    eos=all_done and last,
                )
            else:
                result = result_sink_pb2.QueryResult(
                    table_name=self._table_name or "",
                    arrow_ipc=payload,
                    eow=eow and last,
                    eos=all_done and last,
                )
            self._pending_bytes += len(payload)
            self._queue.put_nowait(self._request(result=result))
        self.state.hold(self, self._pending_bytes)
        if self._pending_bytes > _HIGH_WATER_BYTES:
            self._drained.clear()
        if all_done:
            self._finished = True
            self.done = True
            self._queue.put_nowait(None)

    async def drain(self) -> None:
        """Wait until the queued bytes fall under the high-water mark (or the call failed)."""
        if self._call is None:
            return
        while not self._drained.is_set():
            waiter = asyncio.ensure_future(self._drained.wait())
            done, _ = await asyncio.wait({waiter, self._call}, return_when=asyncio.FIRST_COMPLETED)
            if self._call in done:
                waiter.cancel()
                self._check_call()
                return

    def _check_call(self) -> None:
        assert self._call is not None
        try:
            response = self._call.result()
        except grpc.aio.AioRpcError as err:
            raise TransferError(
                f"{self.label}: sending to {self.address} failed: {err.code().name} {err.details()}"
            ) from None
        if not response.success:
            raise TransferError(
                f"{self.label}: {self.address} refused the batches: {response.message}"
            )
        if not self._finished:
            raise TransferError(f"{self.label}: {self.address} ended the stream early")

    async def _report_failure(self, failure: BaseException) -> None:
        """Replace what is still queued by one ExecutionError, end the stream, wait briefly."""
        assert self._call is not None
        # Unsent batches are dropped; an unsent initiate_conn must still go first.
        unsent = []
        while not self._queue.empty():
            unsent.append(self._queue.get_nowait())
        for request in unsent:
            if request is not None and request.WhichOneof("result") == "initiate_conn":
                self._queue.put_nowait(request)
        self._pending_bytes = 0
        message = str(failure) or type(failure).__name__
        if isinstance(failure, asyncio.CancelledError):
            message = f"query {self.state.query_id or '(unnamed)'} was cancelled"
        self._queue.put_nowait(
            result_sink_pb2.TransferResultChunkRequest(
                sender=self.state.agent_id,
                query_id=self.state.query_id,
                execution_error=result_sink_pb2.ExecutionError(
                    message=message, code=status_code_of(failure)
                ),
            )
        )
        self._queue.put_nowait(None)
        self._finished = True
        await asyncio.wait({self._call}, timeout=_FAILURE_REPORT_TIMEOUT_S)
        if not self._call.done():
            self._call.cancel()
        await asyncio.gather(self._call, return_exceptions=True)

    async def close_async(self) -> None:
        try:
            if self._call is not None:
                if self._finished:
                    await asyncio.wait({self._call})
                    self._check_call()
                elif self.failure is not None and not self._call.done():
                    await self._report_failure(self.failure)
                else:
                    self._call.cancel()
                    await asyncio.gather(self._call, return_exceptions=True)
        finally:
            self.state.hold(self, 0)
            if self._channel is not None and self.state.channel_factory is None:
                await self._channel.close(None)
