"""Running ExecuteQueryRequests: the plan on Carnot, then exec stats or the error to its sinks.

Contract with the receivers of a plan's GRPC sinks (Kelvin's GRPC sources, the broker's result
tables), besides the engine's own batch streams:

* a fragment that fails reports `ExecutionError{message, code}` on each GRPC sink's stream (the
  engine does it for streams it opened; this runner does it for plans that fail to build, on a
  stream of its own: `initiate_conn{<the sink's destination>}` then `execution_error`);
* after a fragment finished, its `AgentExecutionStats` go, on a stream of their own
  (`initiate_conn{}` with no destination, then one `execution_and_timing_info`):
  - from an agent whose plan feeds result tables (`GRPCSink.table_name`, i.e. the broker): the
    final `ExecutionAndTimingInfo` with its own stats and those of every agent that sent it
    data for the query (Kelvin; or a lone PEM), once per distinct result address;
  - from any other agent (a PEM feeding Kelvin): its own stats to each distinct sink address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Gauge
from pyxie_carnot import KEEPALIVE_OPTIONS, Carnot, PlanError, QueryCancelled, status_code_of
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_service import get_logger

from ._router import StatsCollectingRouter

__all__ = ["CallMetadata", "ChannelFactory", "QueryRunner", "SinkTarget", "grpc_sink_targets"]

CallMetadata = Callable[[], list[tuple[str, str]]]
ChannelFactory = Callable[[str], Any]

_log = get_logger("pyxie.agent.query")

# Deadline of the small stats/error RPCs (Pixie's agent result RPC deadline, kRPCResultTimeout).
DEFAULT_RESULT_RPC_TIMEOUT_S = 2.0
# How long Kelvin waits, after its own fragment finished, for the stats of the agents that fed
# it (they send them right after their last batch, so this only bounds a lost message).
DEFAULT_STATS_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class SinkTarget:
    """Where one GRPC sink of a plan sends: a Kelvin GRPC source or a broker result table."""

    address: str
    grpc_source_id: int | None = None
    table_name: str | None = None
    # An OTel export sink's report address (the broker): only stats or the error go there.
    report_only: bool = False

    @property
    def to_broker(self) -> bool:
        return self.table_name is not None or self.report_only

    def initiate(self) -> result_sink_pb2.InitiateConnection:
        if self.report_only:
            return result_sink_pb2.InitiateConnection()
        if self.grpc_source_id is not None:
            return result_sink_pb2.InitiateConnection(grpc_source_id=self.grpc_source_id)
        return result_sink_pb2.InitiateConnection(table_name=self.table_name or "")


def grpc_sink_targets(plan: plan_pb2.Plan) -> list[SinkTarget]:
    targets: list[SinkTarget] = []
    for fragment in plan.fragments:
        for node in fragment.nodes:
            if node.op.WhichOneof("op") == "otel_sink" and node.op.otel_sink.report_address:
                targets.append(SinkTarget(node.op.otel_sink.report_address, report_only=True))
                continue
            if node.op.WhichOneof("op") != "grpc_sink":
                continue
            sink = node.op.grpc_sink
            if sink.WhichOneof("destination") == "grpc_source_id":
                targets.append(SinkTarget(sink.address, grpc_source_id=int(sink.grpc_source_id)))
            else:
                targets.append(SinkTarget(sink.address, table_name=sink.table_name))
    return targets


def _distinct(addresses: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(a for a in addresses if a))


class QueryRunner:
    """Executes plans asynchronously on one Carnot and reports their outcome to the sinks."""

    def __init__(
        self,
        carnot: Carnot,
        *,
        agent_id: str,
        call_metadata: CallMetadata | None = None,
        channel_factory: ChannelFactory | None = None,
        router: StatsCollectingRouter | None = None,
        metrics_registry: CollectorRegistry | None = None,
        rpc_timeout_s: float = DEFAULT_RESULT_RPC_TIMEOUT_S,
        stats_wait_s: float = DEFAULT_STATS_WAIT_S,
    ) -> None:
        self.carnot = carnot
        self.agent_id = agent_id
        self._call_metadata = call_metadata
        self._channel_factory = channel_factory
        self._router = router
        self._rpc_timeout_s = rpc_timeout_s
        self._stats_wait_s = stats_wait_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight = Gauge(
            "num_queries_in_flight",
            "Queries this agent is executing now.",
            # A private registry when none is given, so several runners can share a process.
            registry=metrics_registry if metrics_registry is not None else CollectorRegistry(),
        )
        self.completed = 0
        self.failed = 0

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def submit(self, request: messages_pb2.ExecuteQueryRequest) -> asyncio.Task[None]:
        """Start executing `request` in the background."""
        plan = plan_pb2.Plan()
        plan.CopyFrom(request.plan)
        query_id = request.query_id or plan.query_id
        plan.query_id = query_id
        task = asyncio.ensure_future(self._run(plan, request.analyze))
        self._tasks[query_id] = task
        self._in_flight.inc()

        def finished(_: asyncio.Task[None]) -> None:
            if self._tasks.get(query_id) is task:
                del self._tasks[query_id]
            self._in_flight.dec()

        task.add_done_callback(finished)
        return task

    def cancel(self, query_id: str) -> bool:
        """Cancel a running query (CancelQueryRequest); False when it is not running here."""
        return self.carnot.cancel(query_id)

    async def stop(self) -> None:
        """Cancel every running query and wait for them to wind down."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, plan: plan_pb2.Plan, analyze: bool) -> None:
        query_id = plan.query_id
        targets = grpc_sink_targets(plan)
        try:
            # Build once up front: a plan that cannot even be built opens no sink stream, so
            # the runner itself must tell the receivers.
            self.carnot.build(plan)
        except PlanError as err:
            self.failed += 1
            _log.warning("query plan rejected", query_id=query_id, error=str(err))
            await self._send_error(query_id, targets, err)
            self._forget(query_id)
            return
        try:
            result = await self.carnot.execute(plan, analyze=analyze)
        except QueryCancelled:
            _log.info("query cancelled", query_id=query_id)
            self._forget(query_id)
            return
        except Exception as err:
            # The engine has already sent ExecutionError on the sink streams it had open; an
            # OTel export's report address has no stream, so it is told here.
            self.failed += 1
            _log.warning("query failed", query_id=query_id, error=str(err))
            reports = list({t.address: t for t in targets if t.report_only}.values())
            if reports:
                await self._send_error(query_id, reports, err)
            self._forget(query_id)
            return
        self.completed += 1
        await self._send_stats(query_id, targets, result.stats)

    def _forget(self, query_id: str) -> None:
        if self._router is not None:
            self._router.forget(query_id)

    async def _send_error(
        self, query_id: str, targets: list[SinkTarget], error: BaseException
    ) -> None:
        failure = result_sink_pb2.ExecutionError(message=str(error), code=status_code_of(error))
        await asyncio.gather(
            *(
                self._send(
                    target.address,
                    query_id,
                    target.initiate(),
                    result_sink_pb2.TransferResultChunkRequest(
                        sender=self.agent_id, query_id=query_id, execution_error=failure
                    ),
                )
                for target in targets
            )
        )

    async def _send_stats(
        self,
        query_id: str,
        targets: list[SinkTarget],
        own: result_sink_pb2.AgentExecutionStats,
    ) -> None:
        if not own.agent_id:
            own.agent_id = self.agent_id
        result_addresses = _distinct(t.address for t in targets if t.to_broker)
        if result_addresses:
            stats = [own]
            if self._router is not None:
                received = await self._router.collect_stats(query_id, self._stats_wait_s)
                stats.extend(s for s in received if s.agent_id != own.agent_id)
            addresses = result_addresses
        else:
            stats = [own]
            addresses = _distinct(t.address for t in targets)
        info = result_sink_pb2.ExecutionAndTimingInfo(agent_stats=stats)
        await asyncio.gather(
            *(
                self._send(
                    address,
                    query_id,
                    result_sink_pb2.InitiateConnection(),
                    result_sink_pb2.TransferResultChunkRequest(
                        sender=self.agent_id, query_id=query_id, execution_and_timing_info=info
                    ),
                )
                for address in addresses
            )
        )

    async def _send(
        self,
        address: str,
        query_id: str,
        initiate: result_sink_pb2.InitiateConnection,
        message: result_sink_pb2.TransferResultChunkRequest,
    ) -> None:
        """One short stream: initiate_conn, then `message`; failures are logged, not raised."""
        first = result_sink_pb2.TransferResultChunkRequest(
            sender=self.agent_id, query_id=query_id, initiate_conn=initiate
        )
        if self._channel_factory is not None:
            channel = self._channel_factory(address)
        else:
            channel = grpc.aio.insecure_channel(address, options=KEEPALIVE_OPTIONS)
        try:
            stub = result_sink_pb2_grpc.ResultSinkServiceStub(channel)
            metadata = tuple(self._call_metadata()) if self._call_metadata else None
            # grpc-stubs types the aio call as the response itself; it is an awaitable call.
            call: Any = stub.TransferResultChunk(
                iter([first, message]), metadata=metadata, timeout=self._rpc_timeout_s
            )
            response: result_sink_pb2.TransferResultChunkResponse = await call
            if not response.success:
                _log.warning(
                    "result sink refused a message",
                    address=address,
                    query_id=query_id,
                    message=response.message,
                )
        except grpc.aio.AioRpcError as err:
            _log.warning(
                "sending to a result sink failed",
                address=address,
                query_id=query_id,
                code=err.code().name,
                details=err.details(),
            )
        finally:
            if self._channel_factory is None:
                await channel.close(None)
