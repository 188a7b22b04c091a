"""CronScriptStoreService over real gRPC and the SQLite KV store; state survives a restart."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pyxie_metadata.controllers.cron_scripts import RESULTS_KEPT, uuid_from_proto, uuid_to_proto
from pyxie_metadata.testing import bearer, make_settings, start_metadata, user_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc


def _script(script_id: str, text: str = "import px", freq: int = 10) -> cvmsgs_pb2.CronScript:
    return cvmsgs_pb2.CronScript(
        id=uuid_to_proto(script_id), script=text, configs="c: 1", frequency_s=freq
    )


def _stamp(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


async def test_scripts_and_results_persist_across_restarts(
    tmp_path: Path, nats_server: Any
) -> None:
    settings = make_settings(tmp_path)
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    running = await start_metadata(settings, nats_server.url)
    try:
        stub = mdpb_grpc.CronScriptStoreServiceStub(running.channel)
        auth = running.auth
        await stub.AddOrUpdateScript(
            mdpb.AddOrUpdateScriptRequest(script=_script(a)), metadata=auth
        )
        await stub.AddOrUpdateScript(
            mdpb.AddOrUpdateScriptRequest(script=_script(a, "import px\n# v2", 20)), metadata=auth
        )
        await stub.SetScripts(
            mdpb.SetScriptsRequest(scripts={a: _script(a, "v3"), b: _script(b)}), metadata=auth
        )
        await stub.AddOrUpdateScript(
            mdpb.AddOrUpdateScriptRequest(script=_script(c)), metadata=auth
        )
        await stub.DeleteScript(mdpb.DeleteScriptRequest(script_id=uuid_to_proto(c)), metadata=auth)
        for second in range(RESULTS_KEPT + 3):
            request = mdpb.RecordExecutionResultRequest(
                script_id=uuid_to_proto(a), timestamp=_stamp(1000 + second)
            )
            if second % 2:
                request.error.CopyFrom(vpb.Status(code=8, message=f"budget {second}"))
            else:
                request.execution_stats.records_processed = second
            await stub.RecordExecutionResult(request, metadata=auth)
    finally:
        await running.stop()

    running = await start_metadata(settings, nats_server.url)
    try:
        stub = mdpb_grpc.CronScriptStoreServiceStub(running.channel)
        scripts = (await stub.GetScripts(mdpb.GetScriptsRequest(), metadata=running.auth)).scripts
        assert set(scripts) == {a, b}
        assert scripts[a].script == "v3" and scripts[a].frequency_s == 10
        results = (
            await stub.GetAllExecutionResults(
                mdpb.GetAllExecutionResultsRequest(), metadata=running.auth
            )
        ).results
        assert len(results) == RESULTS_KEPT
        assert [r.timestamp.seconds for r in results] == list(range(1003, 1013))
        assert {uuid_from_proto(r.script_id) for r in results} == {a}
        assert results[-1].error.message == "budget 12" or results[-1].HasField("execution_stats")
        assert results[0].WhichOneof("result") == "error"
    finally:
        await running.stop()


async def test_bad_scripts_and_callers_are_refused(tmp_path: Path, nats_server: Any) -> None:
    running = await start_metadata(make_settings(tmp_path), nats_server.url)
    try:
        stub = mdpb_grpc.CronScriptStoreServiceStub(running.channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AddOrUpdateScript(
                mdpb.AddOrUpdateScriptRequest(script=_script(str(uuid.uuid4()), freq=0)),
                metadata=running.auth,
            )
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AddOrUpdateScript(
                mdpb.AddOrUpdateScriptRequest(script=cvmsgs_pb2.CronScript(frequency_s=5)),
                metadata=running.auth,
            )
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        # A user token is not a vizier service: refused.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetScripts(mdpb.GetScriptsRequest(), metadata=bearer(user_token()))
        assert caught.value.code() in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetScripts(mdpb.GetScriptsRequest())
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    finally:
        await running.stop()
