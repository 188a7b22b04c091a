"""Source operators: table store scans, UDTFs, remote batches, and the empty source."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from typing import Any

import pyarrow as pa
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType

from .._errors import PlanError, UpstreamSilent
from ..registry import RegistryError
from ._base import ExecState, SourceOperator, empty_batch, worker_pool
from ._expr import scalar_value
from ._grpc import SourceItem

__all__ = [
    "EmptySourceOperator",
    "GRPCSourceOperator",
    "MemorySourceOperator",
    "UDTFSourceOperator",
]

# How long a streaming scan waits before asking the table store for new rows again: short
# enough to feel live in `px live`, long enough not to spin a core.
STREAM_POLL_SECONDS = 0.1
# A scan joins small stored batches into one up to batch_rows rows and about this many bytes.
_JOIN_MAX_BYTES = 64 << 20


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with the node's schema (names, field metadata); zero-copy."""
    if batch.schema.equals(schema, check_metadata=True):
        return batch
    try:
        return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as err:
        raise PlanError(f"batch does not match the planned relation {schema}: {err}") from None


class MemorySourceOperator(SourceOperator):
    """Reads a table-store table over an inclusive time range, in batches."""

    kind = "memory_source"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.memory_source
        self.table_name = spec.table_name
        self.column_names = list(spec.column_names) or list(self.relation.names)
        if len(self.column_names) != len(self.relation):
            raise PlanError(
                f"{self.label}: reads {len(self.column_names)} columns of {self.table_name!r} "
                f"but its output relation has {len(self.relation)}"
            )
        self.start_ns = spec.start_time_ns if spec.HasField("start_time_ns") else None
        self.stop_ns = spec.stop_time_ns if spec.HasField("stop_time_ns") else None
        self.streaming = spec.streaming
        self._cursor: Any = None
        # The next batch, read on a worker thread while this one goes downstream.
        self._prefetch: concurrent.futures.Future[tuple[pa.RecordBatch, int] | None] | None = None
        # Whether small stored batches are joined into one (decided at the first batch, when
        # every operator is open): not for children whose per-batch cost is negligible.
        self._join: bool | None = None
        # Whether the table's batches already have this node's schema: every batch of a table
        # has the table's schema, so one check answers for all of them.
        self._same_schema: bool | None = None

    def open(self) -> None:
        store = self.state.table_store
        if store is None:
            raise PlanError(f"{self.label}: this agent has no table store")
        try:
            table = store.table(self.table_name)
        except KeyError as err:
            raise PlanError(f"{self.label}: {err.args[0] if err.args else err}") from None
        missing = [c for c in self.column_names if c not in table.schema.relation]
        if missing:
            raise PlanError(
                f"{self.label}: table {self.table_name!r} has no column(s) {', '.join(missing)}"
            )
        self._cursor = table.cursor(
            self.start_ns, self.stop_ns, self.column_names, streaming=self.streaming
        )

    def _next_batch(self) -> tuple[pa.RecordBatch, int] | None:
        """Up to ``batch_rows`` rows: the stored batches available now, joined into one.

        The table store holds what each collector push appended (often far fewer rows than a
        batch); joining them costs one copy of the read columns and saves every operator its
        per-batch overhead for each of the small batches.
        """
        cursor = self._cursor
        want = self.state.batch_rows
        batch = cursor.next_batch(want)
        if batch is None:
            return None
        if batch.num_rows >= want or not self._join:
            batch = self._conform(batch)
            return batch, batch.nbytes
        pieces = [batch]
        rows = batch.num_rows
        size = batch.nbytes  # the rows' bytes (a stored batch may slice bigger buffers)
        # Bounded in bytes too: wide rows stay in their stored batches, and a joined string
        # column never nears Arrow's 2 GiB per array.
        while rows < want and size < _JOIN_MAX_BYTES and not cursor.exhausted:
            more = cursor.next_batch(want - rows)
            if more is None:
                break
            pieces.append(more)
            rows += more.num_rows
            size += more.nbytes
        # Conformed here, on the reading thread: checking a joined batch against the node's
        # schema (non-null fields count nulls) is a third of a filter-and-count scan's time.
        # Its size too: Arrow walks every buffer for it, operators count it per batch.
        batch = self._conform(batch if len(pieces) == 1 else pa.concat_batches(pieces))
        return batch, batch.nbytes

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._same_schema is None:
            self._same_schema = batch.schema.equals(self.schema, check_metadata=True)
        return batch if self._same_schema else _conform(batch, self.schema)

    async def generate(self) -> bool:
        cursor = self._cursor
        if self._join is None:
            # Joining costs a copy of every read column: worth it only where the per-batch
            # overhead downstream outweighs it.
            self._join = not all(child.takes_small_batches for child, _ in self.children)
        if self._prefetch is not None:
            prefetch, self._prefetch = self._prefetch, None
            read = prefetch.result()
        else:
            read = self._next_batch()
        batch, nbytes = read if read is not None else (None, 0)
        exhausted = bool(cursor.exhausted) or (batch is None and not self.streaming)
        if batch is not None and not exhausted and not self.streaming and self._join:
            # Reading and joining stored batches is Arrow copying without the GIL: the next
            # batch is read on another core while this one is processed downstream. (A read
            # without a join is a slice: handing it to a thread would cost more than it.)
            self._prefetch = worker_pool().submit(self._next_batch)
        if batch is None:
            if exhausted:
                self.emit_source(empty_batch(self.schema), eow=True, eos=True)
                return False
            await asyncio.sleep(STREAM_POLL_SECONDS)
            return True
        self.emit_source(batch, eow=exhausted, eos=exhausted, nbytes=nbytes)
        return not exhausted

    def close(self) -> None:
        if self._prefetch is not None:
            # A limit stopped the scan: the read in flight finishes before the cursor goes.
            self._prefetch.cancel()
            concurrent.futures.wait([self._prefetch])
            self._prefetch = None
        super().close()


class EmptySourceOperator(SourceOperator):
    """End of stream with no rows (a branch the planner proved empty)."""

    kind = "empty_source"

    async def generate(self) -> bool:
        self.emit_source(empty_batch(self.schema), eow=True, eos=True)
        return False


def _py_value(value: plan_pb2.ScalarValue) -> object:
    if DataType(value.data_type) is DataType.TIME64NS:
        return int(value.time64_ns_value)
    return scalar_value(value).as_py()


class UDTFSourceOperator(SourceOperator):
    """Calls a table function from the registry with the plan's arguments."""

    kind = "udtf_source"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.udtf_source
        try:
            self.udtf = state.registry.lookup_udtf(spec.name)
        except RegistryError as err:
            raise PlanError(f"{self.label}: {err}") from None
        if len(spec.arg_names) != len(spec.arg_values):
            raise PlanError(f"{self.label}: {spec.name} has mismatched argument names/values")
        self.args = {n: _py_value(v) for n, v in zip(spec.arg_names, spec.arg_values, strict=True)}
        known = {a.name for a in self.udtf.args}
        unknown = sorted(set(self.args) - known)
        if unknown:
            raise PlanError(f"{self.label}: {spec.name} has no argument(s) {', '.join(unknown)}")
        for arg in self.udtf.args:
            if arg.name not in self.args:
                if arg.required:
                    raise PlanError(f"{self.label}: {spec.name} needs argument {arg.name!r}")
                self.args[arg.name] = arg.default

    async def generate(self) -> bool:
        result = self.udtf.fn(self.state.func_ctx, **self.args)
        table = await result if inspect.isawaitable(result) else result
        batches = table.to_batches(max_chunksize=self.state.batch_rows)
        for batch in batches:
            self.emit_source(_conform(batch, self.schema))
        self.emit_source(empty_batch(self.schema), eow=True, eos=True)
        return False


class GRPCSourceOperator(SourceOperator):
    """Receives batches other agents' GRPC sinks address to this node."""

    kind = "grpc_source"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        self.expected_senders = int(node.op.grpc_source.expected_senders)
        self._queue: asyncio.Queue[SourceItem] | None = None
        self._finished_senders = 0

    async def open_async(self) -> None:
        if self.state.router is None:
            raise PlanError(f"{self.label}: this agent receives no remote batches (no router)")
        self._queue = self.state.router.source_queue(self.state.query_id, self.node_id)

    async def generate(self) -> bool:
        if self._finished_senders >= self.expected_senders:
            self.emit_source(empty_batch(self.schema), eow=True, eos=True)
            return False
        assert self._queue is not None
        try:
            item = await asyncio.wait_for(self._queue.get(), self.state.source_silence_s)
        except TimeoutError:
            missing = self.expected_senders - self._finished_senders
            raise UpstreamSilent(
                f"{self.label}: {missing} of {self.expected_senders} agents feeding this query "
                f"sent nothing for {self.state.source_silence_s or 0:.0f} s (an agent may have "
                "restarted or lost its network); retry the query"
            ) from None
        if item.error is not None:
            raise item.error
        if item.eos:
            self._finished_senders += 1
        done = self._finished_senders >= self.expected_senders
        batch = item.batch if item.batch is not None else empty_batch(self.schema)
        self.emit_source(_conform(batch, self.schema), eow=item.eow or done, eos=done)
        return not done

    def close(self) -> None:
        if self.state.router is not None:
            self.state.router.release_source(self.state.query_id, self.node_id)
