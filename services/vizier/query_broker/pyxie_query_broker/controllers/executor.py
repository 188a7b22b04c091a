"""The ExecuteScript pipeline (Pixie's `query_executor.go`).

1. query id: the request's (a UUID) or a new UUIDv4;
2. `encryption_options` validated (RSA-OAEP-256 / A256GCM / DEF or none); a script that uses
   `pxtrace` has its mutations applied first (`mutations.py`): only a request marked
   `mutation` may deploy tracepoints, and the rest runs once they are RUNNING;
3. compile with the agents' union schema, the request's exec funcs, the data access mode and
   the `#px:set` flags (unknown keys are compile errors);
4. split into one plan per healthy agent, result sinks pointing at this broker;
5. one `QueryMetadata` per output table (fresh UUID table id), all before any data;
6. `ExecuteQueryRequest` to every `Agent/<id>` on NATS, in parallel;
7. row batches as `QueryData.batch` (or only `encrypted_batch`), queued producer batches of a
   table merged and then split so that each message (sealed or not) fits the cloud bridge's
   1 MiB, each table ending with one eos batch; the combined execution stats last.

Every failure after step 1 is sent in-band first (`status{code, message, error_details}`) and
then ends the RPC with the same gRPC error, as pxapi expects. When the query ends early (client
gone, error, timeout) every agent gets a `CancelQueryRequest`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final, Protocol

import pyarrow as pa
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry, Counter, Summary
from pyxie_crypto import CryptoError, JweEncryptor
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.subjects import agent_subject
from pyxie_pxl.compiler import (
    CompileOptions,
    Compiler,
    DataAccess,
    ExecFunc,
    LogicalPlan,
    OTelDefaults,
)
from pyxie_pxl.errors import CompilerError
from pyxie_pxl.explain import explain_distributed
from pyxie_pxl.ir import MemorySourceOp, ResultSinkOp, walk
from pyxie_pxl.planner import PlanningError
from pyxie_service import (
    InvalidArgument,
    PermissionDenied,
    ServiceError,
    Unavailable,
    Unimplemented,
    get_logger,
)
from pyxie_service.audit import audit
from pyxie_types import DataType, Relation
from pyxie_types.batching import split_to_fit
from pyxie_types.catalog import FunctionCatalog
from pyxie_types.rowbatch import relation_to_vizier, row_batch_bytes

from pyxie_query_broker.controllers.agent_tracker import DistributedState
from pyxie_query_broker.controllers.forwarder import (
    ExecStatsSummary,
    QueryResultForwarder,
    ResultTable,
    TableBatch,
)
from pyxie_query_broker.controllers.mutations import MutationExecutor, MutationOutcome

__all__ = [
    "MAX_ENCRYPTED_BATCH_BYTES",
    "MAX_RESPONSE_BATCH_BYTES",
    "QUERY_PLAN_TABLE",
    "AgentBus",
    "AgentStateSource",
    "ExecutorSettings",
    "QueryExecutor",
    "encode_batch",
    "otel_defaults",
    "truncation_note",
]

# Every result message must cross the cloud bridge, whose NATS hops carry at most 1 MiB per
# message: a serialized RowBatchData stays under that less room for the envelopes around it.
MAX_RESPONSE_BATCH_BYTES: Final = (1 << 20) - (16 << 10)
# Sealed, a batch grows by a third (base64) when DEFLATE gains nothing, plus the JWE header and
# the wrapped key: the plaintext budget leaves room for that worst case.
MAX_ENCRYPTED_BATCH_BYTES: Final = (MAX_RESPONSE_BATCH_BYTES - (4 << 10)) * 3 // 4
# Encoded protobuf columns can be larger than Arrow's (varints, per-string tags); planning
# slices with this factor avoids re-splitting in the common case.
_PROTO_EXPANSION: Final = 1.5
# Pixie's name for the `#px:set explain=true` table.
QUERY_PLAN_TABLE: Final = "__query_plan__"
_QUERY_PLAN_RELATION: Final = Relation.of(("plan", DataType.STRING))

_log = get_logger("pyxie.query_broker.executor")


class AgentBus(Protocol):
    """Publishing to agents (a `pyxie_service.NatsBus` in production)."""

    async def publish(self, subject: str, message: Message, *, reply: str = "") -> None: ...


class AgentStateSource(Protocol):
    @property
    def state(self) -> DistributedState | None: ...


@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    # host:port agents send results to; a callable because port 0 is only known after start.
    result_address: Callable[[], str]
    data_access: DataAccess = DataAccess.FULL
    max_output_rows_per_table: int = 10_000
    # 0 = no wall-clock cap; streaming queries never get one.
    query_timeout_seconds: float = 0.0
    # px.export: OTLP bytes one export may send (0 = the engine's default) and the org key of
    # the engine's per-minute budget.
    otel_export_bytes: int = 0
    org_id: str = ""


@dataclass
class _Metrics:
    exec_time_ms: Summary
    pems_queried: Summary
    records_processed: Summary
    bytes_processed: Summary
    truncated_tables: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> _Metrics:
        labels = ["script_name"]
        return cls(
            Summary("query_exec_time_ms", "Query execution time.", labels, registry=registry),
            Summary("query_exec_pems_queried", "PEMs queried.", labels, registry=registry),
            Summary(
                "query_exec_records_processed", "Records processed.", labels, registry=registry
            ),
            Summary("query_exec_bytes_processed", "Bytes processed.", labels, registry=registry),
            Counter(
                "query_result_tables_truncated",
                "Result tables that reached max_output_rows_per_table.",
                labels,
                registry=registry,
            ),
        )


@dataclass
class _Run:
    """Book-keeping of one ExecuteScript call."""

    query_id: str
    script_name: str
    dispatched_to: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    compilation_ns: int = 0
    dispatched_at: float = 0.0
    # Who asked (audit records of mutations).
    actor: str = "unknown"
    mutated: bool = False


def _status(error: ServiceError) -> vpb.Status:
    return vpb.Status(code=error.code.value[0], message=error.message)


def _compiler_status(error: CompilerError) -> vpb.Status:
    return vpb.Status(
        code=InvalidArgument.code.value[0],
        message="\n".join(str(detail) for detail in error.errors),
        error_details=[
            vpb.ErrorDetails(
                compiler_error=vpb.CompilerError(
                    line=max(detail.line, 0),
                    column=max(detail.column, 0),
                    message=detail.message,
                )
            )
            for detail in error.errors
        ],
    )


def _encryptor(request: vpb.ExecuteScriptRequest) -> JweEncryptor | None:
    if not request.HasField("encryption_options"):
        return None
    options = request.encryption_options
    try:
        return JweEncryptor.from_encryption_options(
            options.jwk_key, options.key_alg, options.content_alg, options.compression_alg
        )
    except CryptoError as err:
        raise InvalidArgument(f"invalid encryption_options: {err}") from None


def _exec_funcs(request: vpb.ExecuteScriptRequest) -> list[ExecFunc]:
    return [
        ExecFunc(
            func_name=func.func_name,
            arg_values={arg.name: arg.value for arg in func.arg_values},
            output_table_prefix=func.output_table_prefix,
        )
        for func in request.exec_funcs
    ]


def otel_defaults(request: vpb.ExecuteScriptRequest, settings: ExecutorSettings) -> OTelDefaults:
    """px.export's defaults from the request's plugin configs (cron scripts, plugins)."""
    endpoint = request.configs.otel_endpoint_config
    window = request.configs.plugin_config
    has_window = request.configs.HasField("plugin_config")
    return OTelDefaults(
        url=endpoint.url,
        headers=tuple(sorted(endpoint.headers.items())),
        insecure=endpoint.insecure,
        timeout_s=int(endpoint.timeout),
        plugin_start_ns=window.start_time_ns if has_window else None,
        plugin_end_ns=window.end_time_ns if has_window and window.end_time_ns else None,
        max_export_bytes=settings.otel_export_bytes,
        org_id=settings.org_id,
    )


def _is_streaming(plan: LogicalPlan) -> bool:
    return any(isinstance(node, MemorySourceOp) and node.streaming for node in walk(plan.sinks))


def _result_agents(plan: plan_pb2.DistributedPlan) -> dict[str, set[str]]:
    """Agent id → the result tables its fragment sends to the broker."""
    tables: dict[str, set[str]] = {}
    for agent_plan in plan.agent_plans:
        for fragment in agent_plan.plan.fragments:
            for node in fragment.nodes:
                sink = node.op.grpc_sink
                if node.op.HasField("grpc_sink") and sink.WhichOneof("destination") == "table_name":
                    tables.setdefault(agent_plan.agent_id, set()).add(sink.table_name)
                elif node.op.HasField("otel_sink"):
                    # An OTel export reports its stats (or its error) to the broker.
                    tables.setdefault(agent_plan.agent_id, set())
    return tables


def _framed_batch(raw: bytes) -> bytes:
    size = len(raw)
    prefix = bytearray(b"\x0a")
    while size >= 0x80:
        prefix.append((size & 0x7F) | 0x80)
        size >>= 7
    prefix.append(size)
    return bytes(prefix) + raw


def _batch_budget(encryptor: JweEncryptor | None) -> int:
    return MAX_RESPONSE_BATCH_BYTES if encryptor is None else MAX_ENCRYPTED_BATCH_BYTES


def encode_batch(item: TableBatch, encryptor: JweEncryptor | None) -> list[vpb.QueryData]:
    """One table batch as QueryData messages, each under MAX_RESPONSE_BATCH_BYTES.

    Only the last piece carries eow/eos. With an encryptor each piece travels only as
    `encrypted_batch` (JWE of the serialized RowBatchData). The RowBatchData bytes are built
    from the Arrow buffers (`row_batch_bytes`), never value by value in Python.
    """
    table = item.table
    encoded = list(
        split_to_fit(
            item.batch,
            lambda piece: row_batch_bytes(piece, table.relation, table.table_id),
            len,
            _batch_budget(encryptor),
            expansion=_PROTO_EXPANSION,
        )
    )
    # eow (field 3) and eos (field 4) appended to the last piece: a parser merges fields in
    # any order, so this is the same message as encoding them in place.
    encoded[-1] += (b"\x18\x01" if item.eow else b"") + (b"\x20\x01" if item.eos else b"")
    if encryptor is None:
        # QueryData.batch is field 1: parsing the framed bytes sets it even for an empty batch.
        return [vpb.QueryData.FromString(_framed_batch(raw)) for raw in encoded]
    return [vpb.QueryData(encrypted_batch=encryptor.encrypt(raw)) for raw in encoded]


class QueryExecutor:
    """Runs ExecuteScript requests end to end; `execute` is the response stream."""

    def __init__(
        self,
        tracker: AgentStateSource,
        bus: AgentBus,
        forwarder: QueryResultForwarder,
        catalog: FunctionCatalog,
        settings: ExecutorSettings,
        *,
        metrics_registry: CollectorRegistry | None = None,
        mutations: MutationExecutor | None = None,
    ) -> None:
        self._tracker = tracker
        self._mutations = mutations
        self._bus = bus
        self._forwarder = forwarder
        self._catalog = catalog
        self._settings = settings
        # A private registry until the service's is attached (metric names are per registry).
        self._metrics = _Metrics.create(metrics_registry or CollectorRegistry())
        self._background: set[asyncio.Task[None]] = set()

    def attach_metrics(self, registry: CollectorRegistry) -> None:
        """Report the query metrics on `registry` (the service's) from now on."""
        self._metrics = _Metrics.create(registry)

    async def execute(
        self, request: vpb.ExecuteScriptRequest, *, actor: str = "unknown"
    ) -> AsyncGenerator[vpb.ExecuteScriptResponse, None]:
        query_id = request.query_id or str(uuid.uuid4())
        run = _Run(query_id, request.query_name or "unnamed", actor=actor)
        completed = False
        try:
            try:
                uuid.UUID(query_id)
            except ValueError:
                raise InvalidArgument(f"query_id {query_id!r} is not a UUID") from None
            async for response in self._run(request, run):
                yield response
            completed = True
        except CompilerError as err:
            _log.info("script does not compile", query_id=query_id, error=str(err))
            yield vpb.ExecuteScriptResponse(query_id=query_id, status=_compiler_status(err))
            raise InvalidArgument(err.message) from None
        except ServiceError as err:
            yield vpb.ExecuteScriptResponse(query_id=query_id, status=_status(err))
            raise
        finally:
            self._forwarder.unregister(query_id)
            if run.dispatched_to and not completed:
                self._cancel_agents(query_id, run.dispatched_to)

    async def _run(
        self, request: vpb.ExecuteScriptRequest, run: _Run
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        query_id = run.query_id
        encryptor = _encryptor(request)
        if "pxtrace" in request.query_str:
            outcome = MutationOutcome()
            async for response in self._apply_mutations(request, run, outcome):
                yield response
            if not outcome.ready:
                return
        state = self._tracker.state
        if state is None:
            raise Unavailable("the query broker has no agent state from metadata yet; retry")
        started = time.perf_counter_ns()
        compiled = Compiler(self._catalog, state.schemas).compile(
            request.query_str,
            CompileOptions(
                exec_funcs=_exec_funcs(request),
                data_access=self._settings.data_access,
                max_output_rows_per_table=self._settings.max_output_rows_per_table,
                query_id=query_id,
                otel=otel_defaults(request, self._settings),
            ),
        )
        agents = state.plannable_agents()
        try:
            distributed = compiled.distribute(agents, self._settings.result_address())
        except PlanningError as err:
            raise Unavailable(f"cannot plan the query: {err}") from None
        run.compilation_ns = time.perf_counter_ns() - started
        streaming = _is_streaming(compiled)
        timeout = None if streaming else (self._settings.query_timeout_seconds or None)
        for agent_plan in distributed.agent_plans:
            agent_plan.plan.options.streaming = streaming
            if timeout is not None:
                agent_plan.plan.options.timeout_ns = int(timeout * 1e9)

        sinks = [s for s in compiled.sinks if isinstance(s, ResultSinkOp)]
        if not sinks and run.mutated:
            return  # a script that only deploys or deletes tracepoints
        tables = [ResultTable(s.name, str(uuid.uuid4()), s.relation) for s in sinks]
        result_agents = _result_agents(distributed)
        routed = {name for names in result_agents.values() for name in names}
        missing = {t.name for t in tables} - routed
        if missing:
            raise Unavailable(f"no agent produces the result tables {sorted(missing)}")
        plan_table = (
            ResultTable(QUERY_PLAN_TABLE, str(uuid.uuid4()), _QUERY_PLAN_RELATION)
            if compiled.flags.explain
            else None
        )
        active = self._forwarder.register(
            query_id, tables, set(result_agents), timeout_seconds=timeout
        )
        for table in [*tables, *([plan_table] if plan_table else [])]:
            yield vpb.ExecuteScriptResponse(
                query_id=query_id,
                meta_data=vpb.QueryMetadata(
                    name=table.name, id=table.table_id, relation=relation_to_vizier(table.relation)
                ),
            )

        run.dispatched_to = [agent_plan.agent_id for agent_plan in distributed.agent_plans]
        run.dispatched_at = time.perf_counter()
        await self._dispatch(distributed, analyze=compiled.flags.analyze)
        _log.info(
            "query dispatched",
            query_id=query_id,
            agents=len(run.dispatched_to),
            tables=[t.name for t in tables],
        )

        # Producer batches already queued are merged up to about one message's worth, so a
        # bulk result crosses every hop (and the client's RSA unwrap) in few large messages.
        coalesce = int(_batch_budget(encryptor) / _PROTO_EXPANSION)
        async for item in active.results(coalesce_bytes=coalesce):
            if isinstance(item, TableBatch):
                run.rows[item.table.name] = run.rows.get(item.table.name, 0) + item.batch.num_rows
                pieces = await asyncio.to_thread(encode_batch, item, encryptor)
                for data in pieces:
                    yield vpb.ExecuteScriptResponse(query_id=query_id, data=data)
                continue
            if plan_table is not None:
                text = explain_distributed(distributed)
                plan_batch = pa.RecordBatch.from_arrays(
                    [pa.array([text], pa.string())], schema=_QUERY_PLAN_RELATION.arrow_schema()
                )
                for data in encode_batch(
                    TableBatch(plan_table, plan_batch, True, True, plan_batch.nbytes), encryptor
                ):
                    yield vpb.ExecuteScriptResponse(query_id=query_id, data=data)
            yield self._stats_response(item, run, compiled, agents_queried=len(agents))

    def compile_check(
        self, source: str, *, otel: OTelDefaults | None = None
    ) -> list[tuple[str, Relation]]:
        """Compile ``source`` against the agents' schemas: its result tables (name, relation).

        Raises CompilerError, or Unavailable before the broker knows the schemas.
        """
        state = self._tracker.state
        if state is None:
            raise Unavailable("the query broker has no agent state from metadata yet; retry")
        compiled = Compiler(self._catalog, state.schemas).compile(
            source, CompileOptions(otel=otel or OTelDefaults())
        )
        return [(s.name, s.relation) for s in compiled.sinks if isinstance(s, ResultSinkOp)]

    async def _apply_mutations(
        self, request: vpb.ExecuteScriptRequest, run: _Run, outcome: MutationOutcome
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        state = self._tracker.state
        if state is None:
            raise Unavailable("the query broker has no agent state from metadata yet; retry")
        target = request.query_name or "script"
        try:
            plan = Compiler(self._catalog, state.schemas).compile_mutations(
                request.query_str,
                CompileOptions(exec_funcs=_exec_funcs(request), query_id=run.query_id),
            )
        except CompilerError as err:
            audit(
                "tracepoint.deploy",
                "refused",
                actor=run.actor,
                target=target,
                reason=err.message,
                query_id=run.query_id,
            )
            raise
        if not plan:
            outcome.ready = True
            return
        if not request.mutation:
            reason = (
                "the script deploys or deletes tracepoints (pxtrace) but the request is not a "
                "mutation; send it with mutation=true (read-only API keys may not)"
            )
            audit(
                "tracepoint.deploy",
                "refused",
                actor=run.actor,
                target=target,
                reason=reason,
                query_id=run.query_id,
            )
            raise PermissionDenied(reason)
        if self._mutations is None:
            raise Unimplemented("this query broker has no tracepoint registry to deploy to")
        run.mutated = True
        async for response in self._mutations.apply(
            plan, outcome, actor=run.actor, query_id=run.query_id
        ):
            yield response

    def _stats_response(
        self, stats: ExecStatsSummary, run: _Run, compiled: LogicalPlan, *, agents_queried: int
    ) -> vpb.ExecuteScriptResponse:
        wall_ns = int((time.perf_counter() - run.dispatched_at) * 1e9)
        execution_ns = stats.execution_time_ns or wall_ns
        labels = {"script_name": run.script_name}
        self._metrics.exec_time_ms.labels(**labels).observe(execution_ns / 1e6)
        self._metrics.pems_queried.labels(**labels).observe(agents_queried)
        self._metrics.records_processed.labels(**labels).observe(stats.records_processed)
        self._metrics.bytes_processed.labels(**labels).observe(stats.bytes_processed)
        limit = compiled.flags.max_output_rows_per_table
        truncated = sorted(name for name, rows in run.rows.items() if limit and rows >= limit)
        response = vpb.ExecuteScriptResponse(
            query_id=run.query_id,
            data=vpb.QueryData(
                execution_stats=vpb.QueryExecutionStats(
                    timing=vpb.QueryTimingInfo(
                        execution_time_ns=execution_ns, compilation_time_ns=run.compilation_ns
                    ),
                    bytes_processed=stats.bytes_processed,
                    records_processed=stats.records_processed,
                )
            ),
        )
        if truncated:
            # The public API has no field for it: an OK status (clients only act on non-OK
            # codes) carries the note on the final message, next to the log line and metric.
            note = truncation_note(truncated, limit)
            response.status.CopyFrom(vpb.Status(code=0, message=note))
            self._metrics.truncated_tables.labels(**labels).inc(len(truncated))
            _log.warning(note, query_id=run.query_id)
        _log.info(
            "query completed",
            query_id=run.query_id,
            execution_ms=round(execution_ns / 1e6, 3),
            records_processed=stats.records_processed,
            rows=run.rows,
        )
        return response

    async def _dispatch(self, plan: plan_pb2.DistributedPlan, *, analyze: bool) -> None:
        await asyncio.gather(
            *(
                self._bus.publish(
                    agent_subject(agent_plan.agent_id),
                    messages_pb2.VizierMessage(
                        execute_query_request=messages_pb2.ExecuteQueryRequest(
                            query_id=plan.query_id, plan=agent_plan.plan, analyze=analyze
                        )
                    ),
                )
                for agent_plan in plan.agent_plans
            )
        )

    def _cancel_agents(self, query_id: str, agent_ids: Sequence[str]) -> None:
        """Tell every agent of the query to stop (in the background: the caller may be gone)."""

        async def cancel() -> None:
            message = messages_pb2.VizierMessage(
                cancel_query_request=messages_pb2.CancelQueryRequest(query_id=query_id)
            )
            with suppress(Exception):
                await asyncio.gather(
                    *(self._bus.publish(agent_subject(a), message) for a in agent_ids)
                )
            _log.info("query cancelled on its agents", query_id=query_id, agents=len(agent_ids))

        task = asyncio.ensure_future(cancel())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_background(self) -> None:
        """Let pending cancellations go out (shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def truncation_note(tables: Sequence[str], limit: int) -> str:
    names = ", ".join(repr(t) for t in tables)
    return (
        f"result table(s) {names} reached max_output_rows_per_table={limit}; rows beyond it "
        f"were dropped (raise it with '#px:set max_output_rows_per_table=N')"
    )
