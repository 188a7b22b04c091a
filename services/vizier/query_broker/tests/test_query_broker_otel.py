"""px.export through the broker, GenerateOTelScript and the cron-script runner.

A broker on port 0 with real NATS, the real agent query core on one PEM, a real OTLP/gRPC
receiver, and (for cron scripts) metadata's real CronScriptStoreService over SQLite.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyxie_jwt import SigningKey
from pyxie_metadata.controllers.cron_scripts import (
    CronScriptStore,
    CronScriptStoreServicer,
    uuid_to_proto,
)
from pyxie_metadata.kvstore import SqliteKVStore
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_query_broker import QueryBroker
from pyxie_query_broker.testing import (
    DEMO_SCHEMA,
    FakeMetadata,
    RunnerAgent,
    Vizier,
    broker_settings,
    service_token,
    start_demo_pem,
)
from pyxie_service import NatsBus
from pyxie_testing.otlp import OTLPReceiver

SECRET = "px-api-otel-secret-42"

EXPORT = """import px
df = px.DataFrame('demo_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)
px.export(df, px.otel.Data(
    resource={'service.name': df.service},
    data=[px.otel.metric.Gauge(name='demo.latency', value=df.latency)],
))
"""


def _auth(key: SigningKey) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"bearer {service_token(key)}"),)


def _configs(url: str, **window: int) -> vpb.Configs:
    return vpb.Configs(
        otel_endpoint_config=vpb.Configs.OTelEndpointConfig(
            url=url, headers={"api-key": SECRET}, insecure=True, timeout=2
        ),
        plugin_config=vpb.Configs.PluginConfig(
            start_time_ns=window.get("start", 0), end_time_ns=window.get("end", 0)
        ),
    )


async def _run(
    vizier: Vizier, request: vpb.ExecuteScriptRequest
) -> tuple[list[vpb.ExecuteScriptResponse], grpc.aio.AioRpcError | None]:
    out: list[vpb.ExecuteScriptResponse] = []
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        call = vpb_grpc.VizierServiceStub(channel).ExecuteScript(
            request, metadata=_auth(vizier.key)
        )
        try:
            async for response in call:
                out.append(response)
        except grpc.aio.AioRpcError as err:
            return out, err
    return out, None


@pytest.fixture
async def vizier(
    nats_server: Any, tmp_path: Path
) -> AsyncIterator[tuple[Vizier, RunnerAgent, CronScriptStore]]:
    key = SigningKey.generate()
    kv = await SqliteKVStore.open(tmp_path / "kv.sqlite")
    store = CronScriptStore(kv)
    metadata = FakeMetadata(key)
    metadata.schemas = [DEMO_SCHEMA]
    metadata.extra.append(CronScriptStoreServicer(store).registration())
    address = await metadata.start(broker_settings(key))
    settings = broker_settings(
        key, nats_server.url, otel_export_max_bytes=2_500, cron_script_poll_seconds=0.5
    )
    bus = await NatsBus.connect(nats_server.url, name="broker-otel-test")
    channel = grpc.aio.insecure_channel(address)
    broker = QueryBroker(settings, bus=bus, metadata_channel=channel)
    await broker.start()
    running = Vizier(broker, metadata, bus, key, settings, channel)
    pem = await start_demo_pem(running, 200)
    yield running, pem, store
    await pem.stop()
    await broker.stop()
    await channel.close(None)
    await metadata.stop()
    await bus.drain()
    await kv.close()


async def test_export_script_sends_metrics_and_reports_stats(
    vizier: tuple[Vizier, RunnerAgent, CronScriptStore],
) -> None:
    running, _, _ = vizier
    with OTLPReceiver() as receiver:
        small = EXPORT.replace("df = px.DataFrame", "df = px.DataFrame").replace(
            "px.export(df,", "df = df.head(20)\npx.export(df,"
        )
        responses, error = await _run(
            running,
            vpb.ExecuteScriptRequest(query_str=small, configs=_configs(receiver.address)),
        )
        assert error is None, error
        assert not [r for r in responses if r.HasField("meta_data")]
        assert responses[-1].data.HasField("execution_stats")
        points = receiver.data_points()
        assert len(points) == 20
        assert {p.resource["service.name"] for p in points} == {"svc-0", "svc-1", "svc-2"}
        assert all(m["api-key"] == SECRET for m in receiver.metadata)


async def test_over_budget_fails_with_a_clear_error_and_the_broker_goes_on(
    vizier: tuple[Vizier, RunnerAgent, CronScriptStore],
) -> None:
    running, _, _ = vizier
    with OTLPReceiver() as receiver:
        responses, error = await _run(
            running,
            vpb.ExecuteScriptRequest(query_str=EXPORT, configs=_configs(receiver.address)),
        )
        assert error is not None and error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "export byte budget of 2500 bytes" in (error.details() or "")
        assert responses[-1].status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert SECRET not in (error.details() or "")
        assert receiver.received_bytes() <= 2_500
    # The vizier still answers queries.
    ok, error = await _run(
        running,
        vpb.ExecuteScriptRequest(
            query_str="import px\npx.display(px.DataFrame('demo_events').head(3))\n"
        ),
    )
    assert error is None and any(r.data.batch.num_rows == 3 for r in ok)


async def test_bad_export_script_reports_its_line(
    vizier: tuple[Vizier, RunnerAgent, CronScriptStore],
) -> None:
    running, _, _ = vizier
    bad = EXPORT.replace("value=df.latency", "value=df.service")
    responses, error = await _run(
        running, vpb.ExecuteScriptRequest(query_str=bad, configs=_configs("c:4317"))
    )
    assert error is not None and error.code() is grpc.StatusCode.INVALID_ARGUMENT
    detail = responses[-1].status.error_details[0].compiler_error
    assert detail.line == 5 and "column 'service' is STRING" in detail.message


async def test_generate_otel_script_output_compiles_and_exports(
    vizier: tuple[Vizier, RunnerAgent, CronScriptStore],
) -> None:
    running, _, _ = vizier
    display = """import px
df = px.DataFrame('demo_events', start_time='-5m')
df = df.head(10)
px.display(df[['time_', 'service', 'latency', 'ratio', 'ok']], 'events')
stats = df.groupby('service').agg(n=('latency', px.count))
px.display(stats, 'no_time')
"""
    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        response = await stub.GenerateOTelScript(
            vpb.GenerateOTelScriptRequest(pxl_script=display), metadata=_auth(running.key)
        )
        script = response.otel_script
        assert "px.plugin.start_time" in script and "'events.latency'" in script
        assert "no_time" in script.splitlines()[2]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GenerateOTelScript(
                vpb.GenerateOTelScriptRequest(pxl_script="import px\npx.display(px.nope())\n"),
                metadata=_auth(running.key),
            )
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with OTLPReceiver() as receiver:
        _, error = await _run(
            running,
            vpb.ExecuteScriptRequest(query_str=script, configs=_configs(receiver.address)),
        )
        assert error is None, error
        names = {p.metric for p in receiver.data_points()}
    assert names == {"events.latency", "events.ratio"}


async def test_cron_script_runs_on_schedule_and_records_history(
    vizier: tuple[Vizier, RunnerAgent, CronScriptStore],
) -> None:
    running, _, store = vizier
    with OTLPReceiver() as receiver:
        good, bad = str(uuid.uuid4()), str(uuid.uuid4())
        configs = (
            f"otelEndpointConfig:\n  url: {receiver.address}\n  insecure: true\n"
            f"  headers:\n    api-key: {SECRET}\n"
        )
        await store.upsert(
            cvmsgs_pb2.CronScript(
                id=uuid_to_proto(good),
                # The canned rows are old: this script reads them all, not the plugin window.
                script=EXPORT.replace(
                    ", start_time=px.plugin.start_time, end_time=px.plugin.end_time", ""
                ).replace("px.export(df,", "df = df.head(5)\npx.export(df,"),
                configs=configs,
                frequency_s=1,
            )
        )
        await store.upsert(
            cvmsgs_pb2.CronScript(
                id=uuid_to_proto(bad),
                script="import px\n\npx.display(px.DataFrame('nope'))\n",
                configs=configs,
                frequency_s=1,
            )
        )
        async with asyncio.timeout(30):
            while len(await store.results()) < 4:  # noqa: ASYNC110 - the runner records runs
                await asyncio.sleep(0.2)
        results = await store.results()
        by_id: dict[str, list[Any]] = {}
        for result in results:
            key = str(uuid.UUID(int=(result.script_id.high_bits << 64) | result.script_id.low_bits))
            by_id.setdefault(key, []).append(result)
        assert all(r.WhichOneof("result") == "execution_stats" for r in by_id[good])
        errors = [r.error for r in by_id[bad]]
        assert errors and errors[0].error_details[0].compiler_error.line == 3
        assert receiver.data_points()
        # Deleting it from the store stops the schedule at the next poll.
        await store.delete(good)
        async with asyncio.timeout(10):
            while good in running.broker.cron_scripts.scheduled():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
