"""Kelvin's ResultSinkService: the engine's router plus the exec stats other agents report.

PEMs send their `AgentExecutionStats` after their fragment finished, on a stream of their own
(`initiate_conn{}` then `execution_and_timing_info`). Kelvin waits for the stats of every agent
that sent it data for a query, then forwards all of them (plus its own) to the broker.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import grpc
from pyxie_carnot import ResultSinkServer
from pyxie_proto.carnot.carnotpb import result_sink_pb2

__all__ = ["StatsCollectingRouter"]

# Queries whose senders/stats are remembered before the oldest are dropped: bounds memory when
# stats arrive for queries this agent never runs or never collects.
_MAX_TRACKED_QUERIES = 1024


class _QueryStats:
    __slots__ = ("senders", "stats")

    def __init__(self) -> None:
        self.senders: set[str] = set()
        self.stats: dict[str, result_sink_pb2.AgentExecutionStats] = {}

    def complete(self) -> bool:
        return self.senders <= set(self.stats)


class StatsCollectingRouter(ResultSinkServer):
    """Routes batches to GRPC sources and keeps each query's senders and their exec stats."""

    def __init__(self) -> None:
        super().__init__(on_execution_stats=self._on_stats)
        self._queries: collections.OrderedDict[str, _QueryStats] = collections.OrderedDict()
        self._changed = asyncio.Condition()

    def _query(self, query_id: str) -> _QueryStats:
        entry = self._queries.get(query_id)
        if entry is None:
            entry = self._queries[query_id] = _QueryStats()
            while len(self._queries) > _MAX_TRACKED_QUERIES:
                self._queries.popitem(last=False)
        return entry

    async def TransferResultChunk(
        self,
        request_iterator: AsyncIterator[result_sink_pb2.TransferResultChunkRequest],
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> result_sink_pb2.TransferResultChunkResponse:
        return await super().TransferResultChunk(self._track(request_iterator), context)

    async def _track(
        self, requests: AsyncIterator[result_sink_pb2.TransferResultChunkRequest]
    ) -> AsyncIterator[result_sink_pb2.TransferResultChunkRequest]:
        async for request in requests:
            if (
                request.WhichOneof("result") == "initiate_conn"
                and request.initiate_conn.WhichOneof("destination") == "grpc_source_id"
                and request.sender
            ):
                self._query(request.query_id).senders.add(request.sender)
            yield request

    async def _on_stats(self, request: result_sink_pb2.TransferResultChunkRequest) -> None:
        entry = self._query(request.query_id)
        for stats in request.execution_and_timing_info.agent_stats:
            entry.stats[stats.agent_id or request.sender] = stats
        async with self._changed:
            self._changed.notify_all()

    def senders(self, query_id: str) -> set[str]:
        entry = self._queries.get(query_id)
        return set(entry.senders) if entry is not None else set()

    async def collect_stats(
        self, query_id: str, timeout_s: float
    ) -> list[result_sink_pb2.AgentExecutionStats]:
        """Stats of the agents that sent to `query_id`, waiting up to `timeout_s` for late
        ones; forgets the query afterwards."""
        entry = self._query(query_id)
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(entry.complete), timeout_s)
        except TimeoutError:
            pass
        self._queries.pop(query_id, None)
        return [entry.stats[agent_id] for agent_id in sorted(entry.stats)]

    def forget(self, query_id: str) -> None:
        self._queries.pop(query_id, None)
