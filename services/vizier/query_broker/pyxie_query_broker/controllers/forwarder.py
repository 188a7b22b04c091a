"""The result forwarder: one `ActiveQuery` per running query, between agents and the client.

Agents push into an `ActiveQuery` (through the broker's ResultSinkService); the ExecuteScript
handler consumes `ActiveQuery.results()`. The state machine is Pixie's
(`query_result_forwarder.go`):

* every result table must connect (initiate its stream or send a batch) within the
  initialization timeout, else "failed to initialize all result tables";
* each table ends with exactly one eos; a second eos (or any batch after it) is an error, and a
  table stream that closes cleanly before its eos cancels the query;
* the query is complete when every table has sent eos AND every agent that feeds result tables
  sent its final execution stats; the combined stats are then the last item;
* watchdogs cancel the query after the producer timeout without any agent message, or when one
  write to the client blocks longer than the consumer timeout;
* the buffer holds at most `buffer_messages` items (full: "consumer likely died"), and the bytes
  buffered by all queries share one `MemoryBudget` (exceeded: RESOURCE_EXHAUSTED);
* an agent's `ExecutionError` fails the query with the agent's code and message.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
from pyxie_proto.carnot.carnotpb import result_sink_pb2
from pyxie_service import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    ResourceExhausted,
    ServiceError,
    error_for_code,
    get_logger,
)
from pyxie_types import Relation

__all__ = [
    "ActiveQuery",
    "ExecStatsSummary",
    "ForwarderSettings",
    "MemoryBudget",
    "QueryResultForwarder",
    "ResultItem",
    "ResultStreamError",
    "ResultTable",
    "TableBatch",
]

# The watchdog looks this often at most (and a quarter of the shortest timeout at least), so
# a deadline is noticed within a fraction of itself without busy-looping.
_MAX_WATCHDOG_TICK_SECONDS: Final = 1.0
_MIN_WATCHDOG_TICK_SECONDS: Final = 0.01

_log = get_logger("pyxie.query_broker.forwarder")


class ResultStreamError(Exception):
    """A result stream broke the protocol; the stream is refused with this message."""


@dataclass(frozen=True, slots=True)
class ForwarderSettings:
    # Pixie's defaultResultSinkInitializationTimeout.
    init_timeout_seconds: float = 30.0
    # Pixie's defaultProducerTimeout / defaultConsumerTimeout.
    producer_timeout_seconds: float = 180.0
    consumer_timeout_seconds: float = 180.0
    # Pixie's queryResultCh capacity.
    buffer_messages: int = 1024


class MemoryBudget:
    """Bytes of buffered row batches, shared by every query of the broker."""

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes <= 0:
            raise ValueError("the memory budget must be positive")
        self.limit_bytes = limit_bytes
        self.used_bytes = 0

    def try_reserve(self, nbytes: int) -> bool:
        if self.used_bytes + nbytes > self.limit_bytes:
            return False
        self.used_bytes += nbytes
        return True

    def release(self, nbytes: int) -> None:
        self.used_bytes = max(0, self.used_bytes - nbytes)


@dataclass(frozen=True, slots=True)
class ResultTable:
    name: str
    # The fresh UUID string the client sees in QueryMetadata.id and RowBatchData.table_id.
    table_id: str
    relation: Relation


@dataclass(frozen=True, slots=True)
class TableBatch:
    table: ResultTable
    batch: pa.RecordBatch
    eow: bool
    eos: bool
    nbytes: int


@dataclass(frozen=True, slots=True)
class ExecStatsSummary:
    """The final stats of a query, combined over every agent that reported."""

    execution_time_ns: int
    bytes_processed: int
    records_processed: int
    agent_stats: tuple[result_sink_pb2.AgentExecutionStats, ...] = field(default=())


ResultItem = TableBatch | ExecStatsSummary


class ActiveQuery:
    """The state of one running query between its agents and its one consumer."""

    def __init__(
        self,
        query_id: str,
        tables: Sequence[ResultTable],
        stats_senders: Collection[str],
        settings: ForwarderSettings,
        budget: MemoryBudget,
        *,
        timeout_seconds: float | None = None,
    ) -> None:
        self.query_id = query_id
        self.tables = {table.name: table for table in tables}
        self._settings = settings
        self._budget = budget
        self._timeout_seconds = timeout_seconds
        self._uninitialized = set(self.tables)
        self._remaining_eos = set(self.tables)
        self._stats_pending = set(stats_senders)
        self._stats: dict[str, result_sink_pb2.AgentExecutionStats] = {}
        self._stats_senders_seen: set[str] = set()
        self._items: collections.deque[ResultItem] = collections.deque()
        self._buffered_bytes = 0
        self._wakeup = asyncio.Event()
        self._failure: ServiceError | None = None
        self._complete = False
        self._closed = False
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._last_producer = self._started
        self._consumer_busy_since: float | None = None
        self._consumer_task: asyncio.Task[object] | None = None
        self._watchdog = asyncio.ensure_future(self._watch())

    # ------------------------------------------------------------------ state

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def failure(self) -> ServiceError | None:
        return self._failure

    @property
    def buffered_bytes(self) -> int:
        return self._buffered_bytes

    def fail(self, error: ServiceError) -> None:
        """End the query with `error` (the first failure wins; later ones are ignored)."""
        if self._failure is not None or self._complete or self._closed:
            return
        self._failure = error
        _log.warning("query failed", query_id=self.query_id, error=error.message)
        self._drop_buffer()
        self._wakeup.set()

    def close(self) -> None:
        """The consumer is gone: stop the watchdog and give back buffered memory."""
        if self._closed:
            return
        self._closed = True
        self._watchdog.cancel()
        self._drop_buffer()
        self._wakeup.set()

    def _drop_buffer(self) -> None:
        self._items.clear()
        self._budget.release(self._buffered_bytes)
        self._buffered_bytes = 0

    # -------------------------------------------------------------- producers

    def _touch(self) -> None:
        self._last_producer = asyncio.get_running_loop().time()

    def _active(self) -> bool:
        return self._failure is None and not self._closed

    def _table(self, name: str) -> ResultTable:
        table = self.tables.get(name)
        if table is None:
            raise ResultStreamError(
                f"query {self.query_id} has no result table {name!r}; "
                f"its tables are {sorted(self.tables)}"
            )
        return table

    def initiate(self, table_name: str) -> ResultTable:
        """A result stream for `table_name` connected."""
        self._touch()
        table = self._table(table_name)
        self._uninitialized.discard(table_name)
        return table

    def push_batch(self, table_name: str, batch: pa.RecordBatch, *, eow: bool, eos: bool) -> None:
        self._touch()
        table = self._table(table_name)
        if not self._active():
            return
        if table_name not in self._remaining_eos:
            message = f"table {table_name!r} of query {self.query_id} got data after its eos"
            self.fail(Aborted(message))
            raise ResultStreamError(message)
        if batch.num_columns != len(table.relation):
            message = (
                f"table {table_name!r} expects {len(table.relation)} columns, "
                f"a batch has {batch.num_columns}"
            )
            self.fail(Aborted(message))
            raise ResultStreamError(message)
        self._uninitialized.discard(table_name)
        if len(self._items) >= self._settings.buffer_messages:
            self.fail(
                Aborted(
                    f"query {self.query_id} cancelled: its result buffer of "
                    f"{self._settings.buffer_messages} messages is full (consumer likely died)"
                )
            )
            raise ResultStreamError("the query's result buffer is full")
        nbytes = batch.nbytes
        if not self._budget.try_reserve(nbytes):
            self.fail(
                ResourceExhausted(
                    f"query {self.query_id} stopped: its results would exceed the broker's "
                    f"memory budget of {self._budget.limit_bytes} bytes for buffered results"
                )
            )
            raise ResultStreamError("the broker's result memory budget is exhausted")
        self._buffered_bytes += nbytes
        self._items.append(TableBatch(table, batch, eow or eos, eos, nbytes))
        if eos:
            self._remaining_eos.discard(table_name)
        self._wakeup.set()
        self._check_complete()

    def push_exec_stats(self, sender: str, info: result_sink_pb2.ExecutionAndTimingInfo) -> None:
        self._touch()
        if not self._active():
            return
        if sender in self._stats_senders_seen:
            message = f"agent {sender} sent execution stats twice for query {self.query_id}"
            self.fail(Aborted(message))
            raise ResultStreamError(message)
        self._stats_senders_seen.add(sender)
        for stats in info.agent_stats:
            self._stats[stats.agent_id or sender] = stats
        if sender not in self._stats_pending:
            _log.info("stats from an agent without result tables", query_id=self.query_id)
        self._stats_pending.discard(sender)
        self._check_complete()

    def report_error(self, sender: str, error: result_sink_pb2.ExecutionError) -> None:
        self._touch()
        message = error.message or "an agent failed to execute its part of the query"
        self.fail(error_for_code(error.code, message))
        _log.info("agent reported an execution error", query_id=self.query_id, agent=sender)

    def stream_closed(self, table_name: str, *, abrupt: bool) -> None:
        """A result stream for `table_name` ended (`abrupt`: connection lost, not closed)."""
        if not self._active() or table_name not in self._remaining_eos:
            return
        if abrupt:
            # The agent may reconnect (Pixie does not cancel on UNAVAILABLE); the producer
            # watchdog ends the query if nothing comes back.
            _log.warning("result stream lost before eos", query_id=self.query_id, table=table_name)
            return
        self.fail(
            Aborted(
                f"the result stream of table {table_name!r} closed before its end of stream; "
                f"query {self.query_id} cancelled"
            )
        )

    def _check_complete(self) -> None:
        if self._complete or self._remaining_eos or self._uninitialized or self._stats_pending:
            return
        stats = tuple(self._stats.values())
        self._items.append(
            ExecStatsSummary(
                execution_time_ns=max((s.execution_time_ns for s in stats), default=0),
                bytes_processed=sum(s.bytes_processed for s in stats),
                records_processed=sum(s.records_processed for s in stats),
                agent_stats=stats,
            )
        )
        self._complete = True
        self._watchdog.cancel()
        self._wakeup.set()

    # --------------------------------------------------------------- consumer

    async def results(self, coalesce_bytes: int = 0) -> AsyncIterator[ResultItem]:
        """Items in arrival order, the combined stats last; raises the query's failure.

        With `coalesce_bytes`, batches of one table that are already queued back to back are
        yielded as one batch of up to that many Arrow bytes (never waiting for more, and never
        past an eow/eos batch, which ends the merged one): a bulk result then leaves in a few
        large messages instead of one per producer batch.
        """
        previous = self._consumer_task
        if previous is not None and not previous.done():
            # Only one consumer: a new one replaces (cancels) the old one, as in Pixie.
            previous.cancel()
        self._consumer_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        while True:
            if self._failure is not None:
                raise self._failure
            if self._items:
                item = self._items.popleft()
                if coalesce_bytes and isinstance(item, TableBatch):
                    item = self._coalesce(item, coalesce_bytes)
                # Out of the buffer's count now; its memory is given back once it was written.
                held = item.nbytes if isinstance(item, TableBatch) else 0
                self._buffered_bytes -= held
                self._consumer_busy_since = loop.time()
                try:
                    yield item
                finally:
                    self._consumer_busy_since = None
                    self._budget.release(held)
                continue
            if self._complete or self._closed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    def _coalesce(self, first: TableBatch, limit: int) -> TableBatch:
        parts = [first]
        size = first.batch.nbytes
        last = first
        while not (last.eow or last.eos) and self._items:
            following = self._items[0]
            if (
                not isinstance(following, TableBatch)
                or following.table.table_id != first.table.table_id
                or size + following.batch.nbytes > limit
                or not following.batch.schema.equals(first.batch.schema)
            ):
                break
            self._items.popleft()
            parts.append(following)
            size += following.batch.nbytes
            last = following
        if len(parts) == 1:
            return first
        return TableBatch(
            first.table,
            pa.concat_batches([part.batch for part in parts]),
            last.eow,
            last.eos,
            sum(part.nbytes for part in parts),
        )

    # --------------------------------------------------------------- watchdog

    def _tick(self) -> float:
        limits = [
            self._settings.init_timeout_seconds,
            self._settings.producer_timeout_seconds,
            self._settings.consumer_timeout_seconds,
        ]
        if self._timeout_seconds:
            limits.append(self._timeout_seconds)
        return min(_MAX_WATCHDOG_TICK_SECONDS, max(_MIN_WATCHDOG_TICK_SECONDS, min(limits) / 4))

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        tick = self._tick()
        settings = self._settings
        while self._active() and not self._complete:
            await asyncio.sleep(tick)
            now = loop.time()
            if self._uninitialized and now - self._started > settings.init_timeout_seconds:
                self.fail(
                    DeadlineExceeded(
                        f"failed to initialize all result tables within "
                        f"{settings.init_timeout_seconds:g} s (missing: "
                        f"{', '.join(sorted(self._uninitialized))})"
                    )
                )
            elif now - self._last_producer > settings.producer_timeout_seconds:
                self.fail(
                    DeadlineExceeded(
                        f"no results from any agent for {settings.producer_timeout_seconds:g} s; "
                        f"query {self.query_id} cancelled"
                    )
                )
            elif (
                self._consumer_busy_since is not None
                and now - self._consumer_busy_since > settings.consumer_timeout_seconds
            ):
                self.fail(
                    DeadlineExceeded(
                        f"the client read no results for {settings.consumer_timeout_seconds:g} s; "
                        f"query {self.query_id} cancelled"
                    )
                )
                # The consumer is stuck in a write and will not look at the failure itself.
                if self._consumer_task is not None:
                    self._consumer_task.cancel()
            elif self._timeout_seconds and now - self._started > self._timeout_seconds:
                self.fail(
                    DeadlineExceeded(
                        f"query {self.query_id} ran past its timeout of {self._timeout_seconds:g} s"
                    )
                )


class QueryResultForwarder:
    """The running queries of this broker, by query id."""

    def __init__(self, settings: ForwarderSettings, budget: MemoryBudget) -> None:
        self.settings = settings
        self.budget = budget
        self._queries: dict[str, ActiveQuery] = {}

    def register(
        self,
        query_id: str,
        tables: Sequence[ResultTable],
        stats_senders: Collection[str],
        *,
        timeout_seconds: float | None = None,
    ) -> ActiveQuery:
        if query_id in self._queries:
            raise AlreadyExists(f"query {query_id} is already running")
        query = ActiveQuery(
            query_id,
            tables,
            stats_senders,
            self.settings,
            self.budget,
            timeout_seconds=timeout_seconds,
        )
        self._queries[query_id] = query
        return query

    def get(self, query_id: str) -> ActiveQuery | None:
        return self._queries.get(query_id)

    def unregister(self, query_id: str) -> None:
        query = self._queries.pop(query_id, None)
        if query is not None:
            query.close()

    def running(self) -> list[str]:
        return list(self._queries)
