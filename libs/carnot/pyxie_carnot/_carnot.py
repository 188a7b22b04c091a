"""The executor: builds operators from a plan, runs its sources to completion, reports stats."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pyarrow as pa
from pyxie_proto.carnot.carnotpb import result_sink_pb2
from pyxie_proto.carnot.planpb import plan_pb2

from ._errors import PlanError, QueryCancelled, QueryTimeout
from ._exec._agg import AggOperator
from ._exec._base import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_MEMORY_BREAKER_BYTES,
    DEFAULT_MEMORY_BUDGET_BYTES,
    DEFAULT_SOURCE_SILENCE_S,
    ExecState,
    MemoryBreaker,
    Operator,
    SourceOperator,
)
from ._exec._grpc import ResultSinkServer
from ._exec._join import JoinOperator
from ._exec._otel import DEFAULT_EXPORT_BYTES, OTelExportBudget, OTelExportSinkOperator, RetryPolicy
from ._exec._sinks import GRPCSinkOperator, MemorySinkOperator
from ._exec._sources import (
    EmptySourceOperator,
    GRPCSourceOperator,
    MemorySourceOperator,
    UDTFSourceOperator,
)
from ._exec._transforms import FilterOperator, LimitOperator, MapOperator, UnionOperator
from .context import FunctionContext
from .metadata import MetadataState
from .registry import Registry

__all__ = ["Carnot", "ExecutionResult", "run_plan"]

_OPERATORS: dict[str, type[Operator]] = {
    "memory_source": MemorySourceOperator,
    "map": MapOperator,
    "filter": FilterOperator,
    "limit": LimitOperator,
    "agg": AggOperator,
    "join": JoinOperator,
    "union": UnionOperator,
    "memory_sink": MemorySinkOperator,
    "grpc_source": GRPCSourceOperator,
    "grpc_sink": GRPCSinkOperator,
    "udtf_source": UDTFSourceOperator,
    "empty_source": EmptySourceOperator,
    "otel_sink": OTelExportSinkOperator,
}
_ARITY = {
    "memory_source": 0,
    "grpc_source": 0,
    "udtf_source": 0,
    "empty_source": 0,
    "join": 2,
}


class _NoMetadata:
    """Metadata state of an agent that has none (tests, the single-process runner)."""

    def hostname(self) -> str:
        return socket.gethostname()


def _default_metadata() -> MetadataState:
    from . import metadata

    factory = getattr(metadata, "InMemoryMetadataState", None)
    if factory is not None:
        return cast(MetadataState, factory(host=socket.gethostname()))
    return cast(MetadataState, _NoMetadata())


@dataclass
class ExecutionResult:
    """What a query produced on this agent: memory-sink tables by name and its stats."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    stats: result_sink_pb2.AgentExecutionStats = field(
        default_factory=result_sink_pb2.AgentExecutionStats
    )


class Carnot:
    """Executes plans over a table store (PEM), remote batches (Kelvin), or UDTFs only."""

    def __init__(
        self,
        registry: Registry,
        table_store: Any = None,
        func_ctx: FunctionContext | None = None,
        *,
        agent_id: str = "",
        router: ResultSinkServer | None = None,
        channel_factory: Callable[[str], Any] | None = None,
        call_metadata: Callable[[], list[tuple[str, str]]] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        default_memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
        memory_breaker_bytes: int = DEFAULT_MEMORY_BREAKER_BYTES,
        source_silence_s: float = DEFAULT_SOURCE_SILENCE_S,
        otel_budget: OTelExportBudget | None = None,
        otel_export_bytes: int = DEFAULT_EXPORT_BYTES,
        otel_retry: RetryPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.source_silence_s = source_silence_s
        # One per engine (one engine per agent process): bounds all its queries together.
        self.memory_breaker = MemoryBreaker(memory_breaker_bytes)
        self.table_store = table_store
        self.func_ctx = func_ctx or FunctionContext(
            registry=registry,
            metadata=_default_metadata(),
            agent_id=agent_id,
            hostname=socket.gethostname(),
            num_cpus=os.cpu_count() or 1,
            table_schemas=(lambda: table_store.schemas()) if table_store is not None else dict,
        )
        self.agent_id = agent_id or self.func_ctx.agent_id
        self.router = router
        self.channel_factory = channel_factory
        self.call_metadata = call_metadata
        self.batch_rows = batch_rows
        self.default_memory_budget_bytes = default_memory_budget_bytes
        # Shared by every query of this engine: the per-org OTel export bytes per minute.
        self.otel_budget = otel_budget or OTelExportBudget()
        self.otel_export_bytes = otel_export_bytes
        self.otel_retry = otel_retry or RetryPolicy()
        self._running: dict[str, asyncio.Task[ExecutionResult]] = {}
        self._cancelled: set[str] = set()
        # Why a running query's task was cancelled (timeout or cancel), told to its GRPC sinks.
        self._cancel_reasons: dict[str, BaseException] = {}

    # ------------------------------------------------------------ public API

    async def execute(self, plan: plan_pb2.Plan, *, analyze: bool = False) -> ExecutionResult:
        """Run ``plan`` to completion; raises a CarnotError subclass when the query fails."""
        query_id = plan.query_id
        timeout_ns = plan.options.timeout_ns
        task = asyncio.ensure_future(self._execute(plan, analyze or plan.options.analyze))
        if query_id:
            self._running[query_id] = task
        try:
            if timeout_ns > 0:
                try:
                    return await asyncio.wait_for(asyncio.shield(task), timeout_ns / 1e9)
                except TimeoutError:
                    timeout = QueryTimeout(
                        f"query {query_id or '(unnamed)'} ran past its timeout of "
                        f"{timeout_ns / 1e9:g} s"
                    )
                    self._cancel_reasons[query_id] = timeout
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise timeout from None
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if query_id in self._cancelled:
                raise QueryCancelled(f"query {query_id} was cancelled") from None
            # The caller itself was cancelled: stop the query too, then propagate.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            self._cancelled.discard(query_id)
            self._cancel_reasons.pop(query_id, None)
            if query_id:
                self._running.pop(query_id, None)
                if self.router is not None:
                    self.router.release_query(query_id)

    def cancel(self, query_id: str) -> bool:
        """Stop a running query; its ``execute`` raises QueryCancelled. False if unknown."""
        task = self._running.get(query_id)
        if task is None or task.done():
            return False
        self._cancelled.add(query_id)
        self._cancel_reasons[query_id] = QueryCancelled(f"query {query_id} was cancelled")
        task.cancel()
        return True

    def running_queries(self) -> list[str]:
        return list(self._running)

    # ------------------------------------------------------------ execution

    def _state(self, plan: plan_pb2.Plan) -> ExecState:
        budget = plan.options.memory_budget_bytes or self.default_memory_budget_bytes
        return ExecState(
            query_id=plan.query_id,
            registry=self.registry,
            func_ctx=self.func_ctx,
            table_store=self.table_store,
            memory_budget_bytes=budget,
            agent_id=self.agent_id,
            batch_rows=self.batch_rows,
            router=self.router,
            channel_factory=self.channel_factory,
            call_metadata=self.call_metadata,
            breaker=self.memory_breaker,
            # A stream's agents may rightly stay silent: only the client's cancel ends it.
            source_silence_s=None if plan.options.streaming else self.source_silence_s,
            otel_budget=self.otel_budget,
            otel_export_bytes=self.otel_export_bytes,
            otel_retry=self.otel_retry,
        )

    def build(self, plan: plan_pb2.Plan) -> tuple[ExecState, list[Operator]]:
        """Operators of every fragment, wired and validated (raises PlanError)."""
        state = self._state(plan)
        operators: dict[int, Operator] = {}
        ordered: list[Operator] = []
        for fragment in plan.fragments:
            for node in fragment.nodes:
                kind = node.op.WhichOneof("op")
                if kind is None:
                    raise PlanError(f"node {node.id} has no operator")
                if node.id in operators:
                    raise PlanError(f"node id {node.id} appears twice in the plan")
                arity = _ARITY.get(kind, 1)
                if kind != "union" and len(node.parents) != arity:
                    raise PlanError(
                        f"node {node.id} ({kind}) has {len(node.parents)} parents, expected {arity}"
                    )
                if kind == "union" and not node.parents:
                    raise PlanError(f"node {node.id} (union) has no parents")
                op = _OPERATORS[kind](node, state)
                for parent_id in node.parents:
                    parent = operators.get(parent_id)
                    if parent is None:
                        raise PlanError(
                            f"node {node.id} ({kind}) names parent {parent_id}, which is not "
                            "an earlier node of the plan"
                        )
                    op.add_parent(parent)
                op.validate()
                operators[node.id] = op
                ordered.append(op)
        return state, ordered

    async def _execute(self, plan: plan_pb2.Plan, analyze: bool) -> ExecutionResult:
        started = time.perf_counter_ns()
        state, operators = self.build(plan)
        opened: list[Operator] = []
        failure: BaseException | None = None
        # GRPC sinks connect first, so that a failure opening any other operator (an unknown
        # table, say) reaches their receivers as an ExecutionError.
        open_order = sorted(operators, key=lambda op: not isinstance(op, GRPCSinkOperator))
        try:
            for op in open_order:
                opened.append(op)
                op.open()
                await op.open_async()
            sources = [op for op in operators if isinstance(op, SourceOperator)]
            sinks = [
                op for op in operators if isinstance(op, GRPCSinkOperator | OTelExportSinkOperator)
            ]
            await self._run_sources(sources, sinks)
        except BaseException as err:
            failure = err
            raise
        finally:
            if failure is not None:
                # Receivers of this fragment's GRPC sinks learn why it failed (ExecutionError)
                # instead of waiting for batches that will never come.
                reason = failure
                if isinstance(failure, asyncio.CancelledError):
                    reason = self._cancel_reasons.get(plan.query_id, failure)
                for op in opened:
                    if isinstance(op, GRPCSinkOperator):
                        op.failure = reason
            await self._close(opened, suppress=failure is not None)
            state.release_all()
        result = ExecutionResult()
        for op in operators:
            if isinstance(op, MemorySinkOperator):
                result.tables[op.name] = op.result()
        result.stats = self._stats(operators, time.perf_counter_ns() - started, analyze)
        return result

    async def _run_sources(
        self,
        sources: list[SourceOperator],
        sinks: list[GRPCSinkOperator | OTelExportSinkOperator],
    ) -> None:
        async def run(source: SourceOperator) -> None:
            while await source.step():
                for sink in sinks:
                    await sink.drain()
                # Let other sources, network streams and cancellation in between batches.
                await asyncio.sleep(0)

        tasks = [asyncio.ensure_future(run(s)) for s in sources]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _close(self, operators: list[Operator], suppress: bool) -> None:
        first_error: BaseException | None = None
        for op in operators:
            try:
                op.close()
                await op.close_async()
            except Exception as err:  # every operator gets closed even if one fails
                if first_error is None:
                    first_error = err
        if first_error is not None and not suppress:
            raise first_error

    def _stats(
        self, operators: list[Operator], elapsed_ns: int, analyze: bool
    ) -> result_sink_pb2.AgentExecutionStats:
        sources = [op for op in operators if isinstance(op, SourceOperator)]
        stats = result_sink_pb2.AgentExecutionStats(
            agent_id=self.agent_id,
            execution_time_ns=elapsed_ns,
            bytes_processed=sum(s.bytes_out for s in sources),
            records_processed=sum(s.records_out for s in sources),
        )
        if analyze:
            stats.operator_stats.extend(op.stats() for op in operators)
        return stats


def run_plan(
    plan: plan_pb2.Plan,
    registry: Registry | None = None,
    table_store: Any = None,
    *,
    analyze: bool = False,
    **kwargs: Any,
) -> ExecutionResult:
    """Synchronous wrapper: execute ``plan`` in a fresh event loop (tools, tests, scripts)."""
    if registry is None:
        from .builtins import default_registry

        registry = default_registry()
    carnot = Carnot(registry, table_store, **kwargs)
    return asyncio.run(carnot.execute(plan, analyze=analyze))
