"""The operator lifecycle every node shares, and the per-query state operators reach.

Lifecycle: ``__init__`` from the plan node (validates it) → ``open`` → ``consume`` (batches from
parents, with end-of-window / end-of-stream flags) or, for sources, ``generate`` → ``close``.
Batches are pushed: an operator hands its output to its children through ``emit``. Each operator
counts records/bytes in and out and the time spent in its own code (children excluded).
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyxie_proto.carnot.carnotpb import result_sink_pb2
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import Relation

from .._errors import PlanError, QueryMemoryExceeded
from ..context import FunctionContext
from ..registry import Registry
from ._dictionary import decode_batch, has_dictionary

if TYPE_CHECKING:
    from ._grpc import ResultSinkServer
    from ._otel import OTelExportBudget, RetryPolicy

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_MEMORY_BUDGET_BYTES",
    "DEFAULT_SOURCE_SILENCE_S",
    "ExecState",
    "Operator",
    "SourceOperator",
    "empty_batch",
    "worker_pool",
]

# Pixie has no per-query memory breaker (its issue #471); 1 GiB leaves room for several queries
# on a 4 GiB Kelvin while stopping a runaway join or high-cardinality groupby early.
DEFAULT_MEMORY_BUDGET_BYTES = 1 << 30
# Rows per batch read from the table store: large enough that per-batch Python overhead is
# negligible next to the Arrow kernels, small enough that a limit stops a scan early.
DEFAULT_BATCH_ROWS = 1 << 17
# Upstream silence that fails a query (below the broker's 180 s producer timeout, so the
# client hears why instead of a generic cancellation).
DEFAULT_SOURCE_SILENCE_S = 60.0


@functools.cache
def worker_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Threads operators hand GIL-free Arrow/numpy work to (reads ahead, aggregate reduces),
    so that a query uses the other cores while its own thread carries on."""
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix="carnot-worker"
    )


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


# Bytes all running queries of one process may hold together (Kelvin, a PEM), whatever each
# query's own budget says: Pixie issue #471's memory breaker.
DEFAULT_MEMORY_BREAKER_BYTES = 2 << 30


class MemoryBreaker:
    """What every running query of one process holds; trips for the query that grows past it.

    Each query also has its own budget; the breaker bounds their sum, so that several queries
    within their budgets cannot together take the process down. The query whose growth crosses
    the limit fails (QueryMemoryExceeded) and releases what it held; the others go on.
    """

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes <= 0:
            raise ValueError("the memory breaker limit must be positive")
        self.limit_bytes = limit_bytes
        self.held_bytes = 0

    def adjust(self, delta: int) -> bool:
        """Apply ``delta``; growth that would pass the limit is refused (False, not applied)."""
        if delta > 0 and self.held_bytes + delta > self.limit_bytes:
            return False
        self.held_bytes = max(0, self.held_bytes + delta)
        return True


@dataclass
class ExecState:
    """What every operator of one query shares: functions, tables, budget, routing."""

    query_id: str
    registry: Registry
    func_ctx: FunctionContext
    table_store: Any
    memory_budget_bytes: int
    agent_id: str = ""
    batch_rows: int = DEFAULT_BATCH_ROWS
    router: ResultSinkServer | None = None
    channel_factory: Callable[[str], Any] | None = None
    call_metadata: Callable[[], list[tuple[str, str]]] | None = None
    aborted_sources: set[int] = field(default_factory=set)
    breaker: MemoryBreaker | None = None
    # A GRPC source fails the query when its upstream agents send nothing for this long: an
    # agent that died (or was frozen, or cut off) mid-query never sends its end of stream.
    source_silence_s: float | None = DEFAULT_SOURCE_SILENCE_S  # None: a stream, wait forever
    # px.export: the engine's per-org budget, the default per-export bytes, the retry policy.
    otel_budget: OTelExportBudget = field(default=None)  # type: ignore[assignment]
    otel_export_bytes: int = 64 << 20
    otel_retry: RetryPolicy = field(default=None)  # type: ignore[assignment]
    _held: dict[int, int] = field(default_factory=dict)
    _held_total: int = 0
    _labels: dict[int, str] = field(default_factory=dict)

    def hold(self, op: Operator, nbytes: int) -> None:
        """Record that ``op`` now holds ``nbytes``; fail the query beyond the budget."""
        previous = self._held.get(op.node_id, 0)
        breaker = self.breaker
        if breaker is not None and not breaker.adjust(nbytes - previous):
            # This query is the one that would take the process past the limit: it fails and
            # gives back at once all it held, so the other queries never see the breaker.
            breaker.adjust(-self._held_total)
            self.breaker = None
            raise QueryMemoryExceeded(
                f"query {self.query_id or '(unnamed)'} stopped by the agent's memory breaker: "
                f"all running queries together would hold more than "
                f"{breaker.limit_bytes} bytes ({op.label} asked for {nbytes} bytes, "
                f"this query held {self._held_total}); other queries continue, retry with a "
                "smaller time range or more filtering"
            )
        self._held[op.node_id] = nbytes
        self._held_total += nbytes - previous
        if nbytes > previous and self._held_total > self.memory_budget_bytes:
            raise QueryMemoryExceeded(
                f"query {self.query_id or '(unnamed)'} exceeded its memory budget of "
                f"{self.memory_budget_bytes} bytes: {op.label} holds {nbytes} bytes "
                f"({self._held_total} bytes held by all operators)"
            )

    def release_all(self) -> None:
        """The query ended: give back to the breaker what its operators still held."""
        if self.breaker is not None:
            self.breaker.adjust(-self._held_total)
        self._held.clear()
        self._held_total = 0

    @property
    def held_bytes(self) -> int:
        return self._held_total

    def abort_source(self, node_id: int) -> None:
        self.aborted_sources.add(node_id)


class Operator:
    """Base of every operator: wiring, eos bookkeeping, stats."""

    kind = "operator"
    # Whether ``process`` takes dictionary-encoded STRING columns as they are (see
    # ``_dictionary``); other operators get them decoded to plain strings.
    takes_dictionaries = False

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        self.node = node
        self.node_id = int(node.id)
        self.state = state
        if not node.output_relation.columns and not self._allows_empty_relation():
            raise PlanError(f"node {self.node_id} ({self.kind}) has no output relation")
        try:
            self.relation = Relation.from_proto(node.output_relation)
        except ValueError as err:
            raise PlanError(f"node {self.node_id} ({self.kind}): {err}") from None
        self.schema = self.relation.arrow_schema()
        self.parents: list[Operator] = []
        self.children: list[tuple[Operator, int]] = []
        self._parents_done: set[int] = set()
        self.done = False
        self.records_in = 0
        self.bytes_in = 0
        self.records_out = 0
        self.bytes_out = 0
        self._total_ns = 0
        self._child_ns = 0
        # Bytes of the batch being processed (set by ``consume``).
        self._batch_nbytes = 0

    def _allows_empty_relation(self) -> bool:
        return False

    @property
    def label(self) -> str:
        return f"node {self.node_id} ({self.kind})"

    # -------------------------------------------------------------- wiring

    def add_parent(self, parent: Operator) -> None:
        parent.children.append((self, len(self.parents)))
        self.parents.append(parent)

    def validate(self) -> None:
        """Check the node against its parents' relations once wiring is complete."""

    @property
    def takes_small_batches(self) -> bool:
        """True when this operator's cost per batch is negligible (known once every operator
        is open): a table scan then hands it the stored batches as they are instead of joining
        small ones into a bigger copy."""
        return False

    # -------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Acquire resources before the first batch."""

    async def open_async(self) -> None:
        """Async part of ``open`` (network connections)."""

    def close(self) -> None:
        """Release resources; called exactly once, also after errors."""

    async def close_async(self) -> None:
        """Async part of ``close`` (flushing network streams)."""

    def consume(
        self,
        batch: pa.RecordBatch,
        parent_index: int,
        eow: bool,
        eos: bool,
        nbytes: int | None = None,
    ) -> None:
        """Take one batch from parent ``parent_index``; default timing/eos wrapper.

        ``nbytes`` is ``batch.nbytes`` when the parent already knows it (Arrow walks every
        buffer to compute it, tens of microseconds per column).
        """
        start = time.perf_counter_ns()
        child_before = self._child_ns
        if not self.takes_dictionaries and has_dictionary(batch.schema):
            batch = decode_batch(batch)
            nbytes = None
        self.records_in += batch.num_rows
        if nbytes is None:
            nbytes = batch.nbytes
        self.bytes_in += nbytes
        self._batch_nbytes = nbytes
        stream_done = False
        if eos:
            self._parents_done.add(parent_index)
            stream_done = len(self._parents_done) == len(self.parents)
        try:
            self.process(batch, parent_index, eow, eos, stream_done)
        finally:
            self._total_ns += time.perf_counter_ns() - start - (self._child_ns - child_before)

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        """Operator logic; ``all_done`` is True once every parent reached end of stream."""
        raise NotImplementedError

    def emit(
        self,
        batch: pa.RecordBatch,
        eow: bool = False,
        eos: bool = False,
        nbytes: int | None = None,
    ) -> None:
        """Push ``batch`` to every child (``nbytes``: its size, when already known)."""
        if self.done:
            return
        if eos:
            self.done = True
        if nbytes is None:
            nbytes = batch.nbytes
        self.records_out += batch.num_rows
        self.bytes_out += nbytes
        start = time.perf_counter_ns()
        try:
            for child, index in self.children:
                child.consume(batch, index, eow, eos, nbytes)
        finally:
            self._child_ns += time.perf_counter_ns() - start

    # -------------------------------------------------------------- stats

    def stats(self) -> result_sink_pb2.OperatorExecutionStats:
        return result_sink_pb2.OperatorExecutionStats(
            node_id=self.node_id,
            operator=self.kind,
            records_in=self.records_in,
            bytes_in=self.bytes_in,
            records_out=self.records_out,
            bytes_out=self.bytes_out,
            total_time_ns=max(self._total_ns, 0),
        )


class SourceOperator(Operator):
    """A node with no parents that produces batches when the executor asks."""

    async def generate(self) -> bool:
        """Produce (and emit) the next batch; return False once the source emitted eos."""
        raise NotImplementedError

    async def step(self) -> bool:
        if self.done:
            return False
        if self.node_id in self.state.aborted_sources:
            self.emit(empty_batch(self.schema), eow=True, eos=True)
            return False
        start = time.perf_counter_ns()
        child_before = self._child_ns
        try:
            return await self.generate()
        finally:
            self._total_ns += time.perf_counter_ns() - start - (self._child_ns - child_before)

    def emit_source(
        self,
        batch: pa.RecordBatch,
        eow: bool = False,
        eos: bool = False,
        nbytes: int | None = None,
    ) -> None:
        """Emit and count as this source's input too (records/bytes processed)."""
        if nbytes is None:
            nbytes = batch.nbytes
        self.records_in += batch.num_rows
        self.bytes_in += nbytes
        self.emit(batch, eow, eos, nbytes)
