"""The broker's `ResultSinkService`: agents push result tables, stats and errors here.

Stream protocol (shared with `pyxie_agent` and the engine's GRPC sinks):

* the first message is `initiate_conn`; its destination is a result table name, or nothing
  for a stream that only carries `execution_and_timing_info` / `execution_error`;
* one query and at most one table per stream; `query_result` messages carry one Arrow IPC
  stream each, addressed by `table_name`, the table's last one with `eos` (and `eow`);
* a stream that initiated a table and ends cleanly before that table's eos cancels the query.

Only service tokens (agents) may call it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import pyarrow as pa
from pyxie_carnot import batch_from_ipc
from pyxie_jwt import ServiceClaims
from pyxie_proto.carnot.carnotpb import result_sink_pb2, result_sink_pb2_grpc
from pyxie_service import ServiceRegistration, get_logger, require_claims

from pyxie_query_broker.controllers.forwarder import (
    ActiveQuery,
    QueryResultForwarder,
    ResultStreamError,
)

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["RESULT_SINK_SERVICE_NAME", "ResultSinkServicer"]

RESULT_SINK_SERVICE_NAME = "pyxie.carnot.carnotpb.ResultSinkService"

_Request = result_sink_pb2.TransferResultChunkRequest
_Response = result_sink_pb2.TransferResultChunkResponse

_log = get_logger("pyxie.query_broker.result_sink")


def _refuse(message: str) -> _Response:
    return _Response(success=False, message=message)


class ResultSinkServicer(result_sink_pb2_grpc.ResultSinkServiceServicer):
    def __init__(self, forwarder: QueryResultForwarder) -> None:
        self._forwarder = forwarder

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            RESULT_SINK_SERVICE_NAME,
            lambda server: result_sink_pb2_grpc.add_ResultSinkServiceServicer_to_server(
                self, server
            ),
        )

    async def TransferResultChunk(
        self, request_iterator: AsyncIterator[_Request], context: _Context
    ) -> _Response:
        require_claims(ServiceClaims)
        stream = _Stream(self._forwarder)
        abrupt = True
        try:
            async for request in request_iterator:
                stream.handle(request)
            abrupt = False
        except ResultStreamError as err:
            abrupt = False
            _log.info("refused a result stream", query_id=stream.query_id, reason=str(err))
            return _refuse(str(err))
        except asyncio.CancelledError:
            raise
        finally:
            stream.closed(abrupt=abrupt)
        return _Response(success=True)


class _Stream:
    """The state of one TransferResultChunk stream."""

    def __init__(self, forwarder: QueryResultForwarder) -> None:
        self._forwarder = forwarder
        self.query_id = ""
        self._query: ActiveQuery | None = None
        self._table: str | None = None

    def handle(self, request: _Request) -> None:
        kind = request.WhichOneof("result")
        query = self._query
        if query is None:
            if kind != "initiate_conn":
                raise ResultStreamError("the first message of a stream must be initiate_conn")
            query = self._forwarder.get(request.query_id)
            if query is None:
                raise ResultStreamError(f"query {request.query_id!r} is not running here")
            self._query, self.query_id = query, request.query_id
            if request.initiate_conn.WhichOneof("destination") == "table_name":
                self._set_table(request.initiate_conn.table_name)
                query.initiate(request.initiate_conn.table_name)
            elif request.initiate_conn.WhichOneof("destination") is not None:
                raise ResultStreamError("the query broker only receives result tables")
            return
        if request.query_id and request.query_id != self.query_id:
            raise ResultStreamError("one stream carries one query")
        if kind == "query_result":
            result = request.query_result
            if result.WhichOneof("destination") != "table_name":
                raise ResultStreamError("results for the broker must name their table")
            if self._table is None:
                query.initiate(result.table_name)
            self._set_table(result.table_name)
            try:
                batch = batch_from_ipc(result.arrow_ipc)
            except (pa.ArrowInvalid, OSError) as err:
                raise ResultStreamError(f"invalid Arrow IPC payload: {err}") from None
            query.push_batch(result.table_name, batch, eow=result.eow, eos=result.eos)
        elif kind == "execution_and_timing_info":
            query.push_exec_stats(request.sender, request.execution_and_timing_info)
        elif kind == "execution_error":
            query.report_error(request.sender, request.execution_error)
        elif kind == "initiate_conn":
            raise ResultStreamError("initiate_conn may only open a stream")

    def _set_table(self, name: str) -> None:
        if self._table is not None and self._table != name:
            raise ResultStreamError("one stream carries one table")
        self._table = name

    def closed(self, *, abrupt: bool) -> None:
        if self._query is not None and self._table is not None:
            self._query.stream_closed(self._table, abrupt=abrupt)
