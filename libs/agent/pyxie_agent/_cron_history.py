"""The provider behind ``px.GetCronScriptHistory()``: asks the metadata service's
``CronScriptStoreService.GetAllExecutionResults`` with the agent's service JWT."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import grpc
from pyxie_carnot.udtfs import CronScriptRun
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc

from ._auth import ServiceCallCredentials

__all__ = ["MetadataCronScriptHistory"]

_TIMEOUT_S = 10.0


class MetadataCronScriptHistory:
    def __init__(self, address: str, credentials: ServiceCallCredentials) -> None:
        self._address = address
        self._credentials = credentials

    async def history(self) -> Sequence[CronScriptRun]:
        async with grpc.aio.insecure_channel(self._address) as channel:
            stub: Any = mdpb_grpc.CronScriptStoreServiceStub(channel)
            response: mdpb.GetAllExecutionResultsResponse = await stub.GetAllExecutionResults(
                mdpb.GetAllExecutionResultsRequest(),
                metadata=tuple(self._credentials()),
                timeout=_TIMEOUT_S,
            )
        runs = []
        for result in response.results:
            script_id = str(
                uuid.UUID(int=(result.script_id.high_bits << 64) | result.script_id.low_bits)
            )
            stats = result.execution_stats
            runs.append(
                CronScriptRun(
                    script_id=script_id,
                    timestamp_ns=result.timestamp.ToNanoseconds(),
                    error_message=result.error.message if result.HasField("error") else "",
                    execution_time_ns=stats.execution_time_ns,
                    compilation_time_ns=stats.compilation_time_ns,
                    bytes_processed=stats.bytes_processed,
                    records_processed=stats.records_processed,
                )
            )
        return runs
