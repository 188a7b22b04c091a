"""ExecuteScript end to end: a broker on port 0, real NATS, fake metadata, agents at NATS.

The happy paths run the real agent query core (`pyxie_agent.QueryRunner` on `Carnot` over a
table store of canned rows); protocol edge cases use scripted agents.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pyarrow as pa
import pytest
from pyxie_client import PxLError, ScriptError, VizierClient
from pyxie_crypto import decrypt_compact, generate_rsa_private_key, rsa_public_jwk
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, sign_token, user_claims
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_query_broker.testing import (
    DEMO_SCHEMA,
    RunnerAgent,
    ScriptedAgent,
    Vizier,
    agent_status,
    chunk,
    cluster_token,
    demo_rows,
    open_result_stream,
    service_token,
    start_demo_pem,
)
from pyxie_table_store import TableStore
from pyxie_types.rowbatch import relation_from_vizier, row_batch_from_vizier

StartVizier = Callable[..., Awaitable[Vizier]]

ONE_TABLE = "import px\npx.display(px.DataFrame('demo_events'), 'events')\n"

TWO_TABLES = """
import px
df = px.DataFrame('demo_events')
px.display(df[['service', 'latency', 'upid', 'ok', 'ratio', 'time_']], 'events')
stats = df.groupby('service').agg(n=('latency', px.count), total=('latency', px.sum))
px.display(stats, 'per_service')
"""


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"bearer {token}"),)


async def collect(
    vizier: Vizier,
    request: vpb.ExecuteScriptRequest,
    token: str | None = None,
) -> list[vpb.ExecuteScriptResponse]:
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(request, metadata=auth(token or service_token(vizier.key)))
        return [response async for response in call]


async def collect_until_error(
    vizier: Vizier, request: vpb.ExecuteScriptRequest
) -> tuple[list[vpb.ExecuteScriptResponse], grpc.aio.AioRpcError]:
    responses: list[vpb.ExecuteScriptResponse] = []
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(request, metadata=auth(service_token(vizier.key)))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for response in call:
                responses.append(response)
    return responses, caught.value


@pytest.fixture
async def pem_vizier(start_vizier: StartVizier) -> AsyncIterator[tuple[Vizier, RunnerAgent]]:
    """A broker with one PEM (real query core) holding 25 demo rows."""
    vizier = await start_vizier()
    pem = await start_demo_pem(vizier, 25)
    yield vizier, pem
    await pem.stop()


def kinds(responses: list[vpb.ExecuteScriptResponse]) -> list[str]:
    out = []
    for response in responses:
        if response.HasField("meta_data"):
            out.append("meta")
        elif response.data.HasField("execution_stats"):
            out.append("stats")
        elif response.HasField("data"):
            out.append("eos" if response.data.batch.eos else "batch")
        else:
            out.append("status")
    return out


async def test_metadata_comes_before_data_each_table_ends_with_one_eos_and_stats_come_last(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, pem = pem_vizier
    responses = await collect(vizier, vpb.ExecuteScriptRequest(query_str=TWO_TABLES))
    order = kinds(responses)
    assert order[:2] == ["meta", "meta"]
    assert "meta" not in order[2:]
    assert order[-1] == "stats" and order.count("stats") == 1
    query_id = responses[0].query_id
    assert uuid.UUID(query_id).version == 4
    assert all(r.query_id == query_id for r in responses)
    metas = {r.meta_data.id: r.meta_data for r in responses if r.HasField("meta_data")}
    assert sorted(m.name for m in metas.values()) == ["events", "per_service"]
    eos_ids = [r.data.batch.table_id for r in responses if r.data.batch.eos]
    assert sorted(eos_ids) == sorted(metas)
    for response in responses:
        if response.data.batch.eos:
            assert response.data.batch.eow
    tables: dict[str, list[pa.RecordBatch]] = {m.name: [] for m in metas.values()}
    for response in responses:
        if response.HasField("data") and response.data.HasField("batch"):
            meta = metas[response.data.batch.table_id]
            relation = relation_from_vizier(meta.relation)
            tables[meta.name].append(row_batch_from_vizier(response.data.batch, relation))
    events = pa.Table.from_batches(tables["events"])
    expected = demo_rows(25)
    assert events.num_rows == 25
    assert sorted(events.column("latency").to_pylist()) == expected.column("latency").to_pylist()
    assert sorted(events.column("upid").to_pylist()) == sorted(expected.column("upid").to_pylist())
    per_service = pa.Table.from_batches(tables["per_service"]).to_pylist()
    assert sorted((r["service"], r["n"]) for r in per_service) == [
        ("svc-0", 9),
        ("svc-1", 8),
        ("svc-2", 8),
    ]
    stats = responses[-1].data.execution_stats
    assert stats.records_processed > 0
    assert stats.timing.compilation_time_ns > 0 and stats.timing.execution_time_ns > 0
    assert responses[-1].status.code == 0
    assert pem.executes[0].query_id == query_id


async def test_a_given_query_id_is_used(pem_vizier: tuple[Vizier, RunnerAgent]) -> None:
    vizier, _ = pem_vizier
    query_id = str(uuid.uuid4())
    responses = await collect(
        vizier, vpb.ExecuteScriptRequest(query_str=TWO_TABLES, query_id=query_id)
    )
    assert {r.query_id for r in responses} == {query_id}


async def test_compile_error_is_sent_in_band_with_line_and_column_then_the_rpc_fails(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, pem = pem_vizier
    script = "import px\ndf = px.DataFrame('demo_events')\npx.display(nope)\n"
    responses, error = await collect_until_error(vizier, vpb.ExecuteScriptRequest(query_str=script))
    assert len(responses) == 1
    status = responses[0].status
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    detail = status.error_details[0].compiler_error
    assert (detail.line, detail.column) == (3, 12)
    assert "name 'nope' is not defined" in detail.message
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert pem.executes == []


async def test_a_script_on_a_missing_table_fails_with_a_clear_error(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    client = VizierClient(vizier.address, token=service_token(vizier.key))
    with pytest.raises(PxLError) as caught:
        await client.execute("import px\npx.display(px.DataFrame('no_such_table'))\n")
    detail = caught.value.details[0]
    assert detail.line == 2
    assert "table 'no_such_table' not found" in detail.message
    assert "demo_events" in detail.message


async def test_unknown_px_set_flag_is_an_error(pem_vizier: tuple[Vizier, RunnerAgent]) -> None:
    vizier, _ = pem_vizier
    client = VizierClient(vizier.address, token=service_token(vizier.key))
    with pytest.raises(PxLError, match="unknown #px:set flag 'bogus'"):
        await client.execute("#px:set bogus=1\nimport px\npx.display(px.DataFrame('demo_events'))")


async def test_row_limit_truncates_tables_and_says_so_on_the_final_message(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    script = "#px:set max_output_rows_per_table=4\n" + ONE_TABLE
    responses = await collect(vizier, vpb.ExecuteScriptRequest(query_str=script))
    rows = sum(r.data.batch.num_rows for r in responses if r.data.HasField("batch"))
    assert rows == 4
    final = responses[-1]
    assert final.data.HasField("execution_stats")
    assert final.status.code == 0
    assert "'events' reached max_output_rows_per_table=4" in final.status.message


async def test_the_client_decrypts_results_encrypted_for_its_key(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    client = VizierClient(vizier.address, token=service_token(vizier.key), encrypt=True)
    result = await client.execute(TWO_TABLES)
    assert result.tables["events"].num_rows == 25
    assert sum(result.tables["per_service"].column("n").to_pylist()) == 25
    assert result.stats.records_processed > 0


async def test_with_encryption_every_batch_travels_only_encrypted(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    key = generate_rsa_private_key(2048)
    request = vpb.ExecuteScriptRequest(
        query_str=TWO_TABLES,
        encryption_options=vpb.ExecuteScriptRequest.EncryptionOptions(
            jwk_key=rsa_public_jwk(key.public_key()),
            key_alg="RSA-OAEP-256",
            content_alg="A256GCM",
            compression_alg="DEF",
        ),
    )
    responses = await collect(vizier, request)
    data = [
        r.data for r in responses if r.HasField("data") and not r.data.HasField("execution_stats")
    ]
    assert data
    metas = {r.meta_data.id: r.meta_data for r in responses if r.HasField("meta_data")}
    assert len(metas) == 2  # metadata stays plaintext
    rows = 0
    for item in data:
        assert not item.HasField("batch")
        assert item.encrypted_batch.count(b".") == 4  # JWE compact serialization
        batch = vpb.RowBatchData.FromString(decrypt_compact(item.encrypted_batch, key))
        assert batch.table_id in metas
        if metas[batch.table_id].name == "events":
            rows += batch.num_rows
    assert rows == 25
    assert responses[-1].data.execution_stats.records_processed > 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("key_alg", "RSA1_5"), ("content_alg", "A128CBC-HS256"), ("compression_alg", "GZIP")],
)
async def test_unsupported_encryption_algorithms_are_rejected(
    pem_vizier: tuple[Vizier, RunnerAgent], field: str, value: str
) -> None:
    vizier, pem = pem_vizier
    options = vpb.ExecuteScriptRequest.EncryptionOptions(
        jwk_key=rsa_public_jwk(generate_rsa_private_key(2048).public_key()),
        key_alg="RSA-OAEP-256",
        content_alg="A256GCM",
        compression_alg="DEF",
    )
    setattr(options, field, value)
    request = vpb.ExecuteScriptRequest(query_str=TWO_TABLES, encryption_options=options)
    responses, error = await collect_until_error(vizier, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "encryption_options" in (error.details() or "")
    assert responses[0].status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert pem.executes == []


async def test_calls_without_a_valid_vizier_token_are_rejected(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    request = vpb.ExecuteScriptRequest(query_str=TWO_TABLES)
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            async for _ in stub.ExecuteScript(request):
                pass
        forged = service_token(SigningKey.generate())
        with pytest.raises(grpc.aio.AioRpcError) as wrong_key:
            async for _ in stub.ExecuteScript(request, metadata=auth(forged)):
                pass
        user = sign_token(
            user_claims(user_id="u", org_id="o", email="e@x", audience=VIZIER_AUDIENCE),
            vizier.key,
        )
        with pytest.raises(grpc.aio.AioRpcError) as user_token:
            async for _ in stub.ExecuteScript(request, metadata=auth(user)):
                pass
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_key.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert user_token.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_cluster_token_is_accepted(pem_vizier: tuple[Vizier, RunnerAgent]) -> None:
    vizier, _ = pem_vizier
    responses = await collect(
        vizier, vpb.ExecuteScriptRequest(query_str=TWO_TABLES), token=cluster_token(vizier.key)
    )
    assert kinds(responses)[-1] == "stats"


async def test_health_check_is_ok_when_the_internal_query_returns_one_row(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    client = VizierClient(vizier.address, token=service_token(vizier.key))
    status = await client.health_check()
    assert status.code == 0, status.message


async def test_health_check_is_unavailable_without_agents(start_vizier: StartVizier) -> None:
    vizier = await start_vizier()
    await vizier.wait_for_agents(0)
    client = VizierClient(vizier.address, token=service_token(vizier.key))
    status = await client.health_check()
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "no agents" in status.message


async def test_generate_otel_script_refuses_a_script_with_nothing_to_export(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GenerateOTelScript(
                vpb.GenerateOTelScriptRequest(pxl_script="import px"),
                metadata=auth(service_token(vizier.key)),
            )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no displayed table can be exported" in (caught.value.details() or "")


async def test_a_removed_agent_is_no_longer_planned_for(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, pem = pem_vizier
    await vizier.metadata.remove_agent("pem-1")
    await vizier.wait_for_agents(0)
    client = VizierClient(vizier.address, token=service_token(vizier.key))
    with pytest.raises(ScriptError) as caught:
        await client.execute(TWO_TABLES)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert pem.executes == []


async def test_an_unresponsive_agent_is_not_planned_for(
    pem_vizier: tuple[Vizier, RunnerAgent],
) -> None:
    vizier, _ = pem_vizier
    from pyxie_proto.vizier.metadatapb import metadata_pb2

    vizier.metadata.agents["pem-1"].state = metadata_pb2.AGENT_STATE_UNRESPONSIVE
    await vizier.metadata.push(vizier.metadata.snapshot())
    await vizier.wait_for_agents(0)
    assert vizier.broker.tracker.state is not None
    assert [a.agent_id for a in vizier.broker.tracker.state.agents] == ["pem-1"]


# ------------------------------------------------------------------ scripted agents


async def scripted_vizier(
    start_vizier: StartVizier,
    scenario: Callable[[messages_pb2.ExecuteQueryRequest, ScriptedAgent], Awaitable[None]],
    **settings: Any,
) -> tuple[Vizier, ScriptedAgent]:
    vizier = await start_vizier(**settings)
    agent = ScriptedAgent("pem-x", vizier.bus, vizier.key, scenario)
    await agent.subscribe()
    vizier.metadata.agents["pem-x"] = agent_status("pem-x", pem=True, tables=[DEMO_SCHEMA.name])
    await vizier.metadata.push(vizier.metadata.snapshot())
    await vizier.wait_for_agents(1)
    return vizier, agent


async def test_client_cancel_sends_cancel_query_request_to_agents(
    start_vizier: StartVizier,
) -> None:
    hold = asyncio.Event()

    async def connect_and_wait(
        request: messages_pb2.ExecuteQueryRequest, agent: ScriptedAgent
    ) -> None:
        (address,) = set(agent.sinks(request).values())
        messages = [chunk(agent.agent_id, request.query_id, initiate="events")]
        await open_result_stream(address, agent.key, messages, hold=hold)

    vizier, agent = await scripted_vizier(start_vizier, connect_and_wait)
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(
            vpb.ExecuteScriptRequest(query_str=ONE_TABLE), metadata=auth(service_token(vizier.key))
        )
        first = await call.read()
        assert isinstance(first, vpb.ExecuteScriptResponse) and first.HasField("meta_data")
        await agent.wait_until(lambda: len(agent.executes) == 1)
        call.cancel()
    await agent.wait_until(lambda: agent.cancels == [first.query_id])
    hold.set()
    await agent.stop()
    assert vizier.broker.forwarder.running() == []


async def test_agent_execution_error_becomes_a_non_ok_status(start_vizier: StartVizier) -> None:
    async def fail(request: messages_pb2.ExecuteQueryRequest, agent: ScriptedAgent) -> None:
        (address,) = set(agent.sinks(request).values())
        messages = [
            chunk(agent.agent_id, request.query_id, initiate="events"),
            chunk(agent.agent_id, request.query_id, error=(8, "query exceeded its memory budget")),
        ]
        await open_result_stream(address, agent.key, messages)

    vizier, agent = await scripted_vizier(start_vizier, fail)
    responses, error = await collect_until_error(
        vizier, vpb.ExecuteScriptRequest(query_str=ONE_TABLE)
    )
    await agent.stop()
    assert responses[0].HasField("meta_data")
    status = responses[-1].status
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert status.message == "query exceeded its memory budget"
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_second_eos_is_refused_and_fails_the_query(start_vizier: StartVizier) -> None:
    refused: list[str] = []

    async def double_eos(request: messages_pb2.ExecuteQueryRequest, agent: ScriptedAgent) -> None:
        (address,) = set(agent.sinks(request).values())
        schema = agent.relations(request)["events"]
        empty = pa.RecordBatch.from_pylist([], schema=schema)
        messages = [
            chunk(agent.agent_id, request.query_id, initiate="events"),
            chunk(agent.agent_id, request.query_id, table="events", batch=empty, eos=True),
            chunk(agent.agent_id, request.query_id, table="events", batch=empty, eos=True),
        ]
        response = await open_result_stream(address, agent.key, messages)
        refused.append(response.message)

    vizier, agent = await scripted_vizier(start_vizier, double_eos)
    responses, error = await collect_until_error(
        vizier, vpb.ExecuteScriptRequest(query_str=ONE_TABLE)
    )
    await agent.stop()
    assert error.code() == grpc.StatusCode.ABORTED
    assert "after its eos" in responses[-1].status.message
    assert refused and "after its eos" in refused[0]


async def test_a_table_that_never_connects_fails_initialization(start_vizier: StartVizier) -> None:
    async def silent(request: messages_pb2.ExecuteQueryRequest, agent: ScriptedAgent) -> None:
        return None

    vizier, agent = await scripted_vizier(
        start_vizier, silent, result_sink_init_timeout_seconds=0.3
    )
    responses, error = await collect_until_error(
        vizier, vpb.ExecuteScriptRequest(query_str=ONE_TABLE)
    )
    await agent.wait_until(lambda: len(agent.cancels) == 1)
    await agent.stop()
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "failed to initialize all result tables" in responses[-1].status.message


async def test_large_batches_are_split_under_the_clients_receive_limit(
    start_vizier: StartVizier,
) -> None:
    big = 40_000

    async def send_big(request: messages_pb2.ExecuteQueryRequest, agent: ScriptedAgent) -> None:
        (address,) = set(agent.sinks(request).values())
        schema = agent.relations(request)["events"]
        rows = demo_rows(big, service="a-rather-long-service-name-" * 4)
        batch = pa.RecordBatch.from_arrays(
            [rows.column(name) for name in schema.names], schema=schema
        )
        # 2 MB pieces: each needs splitting for the client, and each stays under the 4 MiB
        # a gRPC server receives by default.
        step = big // 4
        messages = [chunk(agent.agent_id, request.query_id, initiate="events")]
        for offset in range(0, big, step):
            piece = batch.slice(offset, step)
            last = offset + step >= big
            messages.append(
                chunk(agent.agent_id, request.query_id, table="events", batch=piece, eos=last)
            )
        await open_result_stream(address, agent.key, messages)
        await open_result_stream(
            address,
            agent.key,
            [
                chunk(agent.agent_id, request.query_id, initiate=""),
                chunk(agent.agent_id, request.query_id, stats=big),
            ],
        )

    vizier, agent = await scripted_vizier(start_vizier, send_big, max_output_rows_per_table=big)
    responses = await collect(vizier, vpb.ExecuteScriptRequest(query_str=ONE_TABLE))
    await agent.stop()
    batches = [r for r in responses if r.data.HasField("batch")]
    assert len(batches) > 1
    assert all(r.ByteSize() < (1 << 20) + 4096 for r in batches)
    assert sum(r.data.batch.num_rows for r in batches) == big
    assert [r.data.batch.eos for r in batches].count(True) == 1 and batches[-1].data.batch.eos
    assert responses[-1].data.execution_stats.records_processed == big


async def test_two_pems_and_a_kelvin_merge_results_and_stats(start_vizier: StartVizier) -> None:
    vizier = await start_vizier()
    agents: list[RunnerAgent] = []
    for index, service in enumerate(("alpha", "beta"), start=1):
        store = TableStore()
        store.add_table(DEMO_SCHEMA)
        store.append(DEMO_SCHEMA.name, demo_rows(10 * index, service=service))
        pem = RunnerAgent(f"pem-{index}", vizier.bus, vizier.key, store=store)
        await pem.start()
        agents.append(pem)
        vizier.metadata.agents[pem.agent_id] = agent_status(
            pem.agent_id, pem=True, tables=[DEMO_SCHEMA.name]
        )
    kelvin = RunnerAgent("kelvin-1", vizier.bus, vizier.key, kelvin_settings=vizier.settings)
    kelvin_address = await kelvin.start()
    agents.append(kelvin)
    vizier.metadata.agents["kelvin-1"] = agent_status("kelvin-1", pem=False, address=kelvin_address)
    await vizier.metadata.push(vizier.metadata.snapshot())
    await vizier.wait_for_agents(3)
    try:
        client = VizierClient(vizier.address, token=service_token(vizier.key))
        result = await client.execute(TWO_TABLES)
    finally:
        for agent in agents:
            await agent.stop()
    assert result.incomplete == []
    assert result.tables["events"].num_rows == 30
    per_service = {r["service"]: r["n"] for r in result.tables["per_service"].to_pylist()}
    assert per_service == {
        "alpha-0": 4,
        "alpha-1": 3,
        "alpha-2": 3,
        "beta-0": 7,
        "beta-1": 7,
        "beta-2": 6,
    }
    # Kelvin's final stats include both PEMs' (each read its 10 or 20 rows).
    assert result.stats.records_processed >= 30
    assert all(len(agent.executes) == 1 for agent in agents)
