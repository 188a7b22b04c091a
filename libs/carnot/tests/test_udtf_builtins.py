"""Builtin table functions: output relations and contents."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

import pyarrow as pa
import pytest
from pyxie_carnot import funcs, udtfs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry, UDTFExecutor
from pyxie_carnot.udtfs import AGENT_STATUS_EXTRA, AgentStatus, StaticAgentStatus
from pyxie_types import UPID, DataType, Relation, tables

REGISTRY = Registry()
funcs.register_all(REGISTRY)
udtfs.register_all(REGISTRY)
SCHEMAS = {t.name: t for t in tables.ALL_TABLES}
S, I, B, T, U = (  # noqa: E741 (PxL type letters)
    DataType.STRING,
    DataType.INT64,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.UINT128,
)

EXPECTED = {
    "GetTables": [("table_name", S), ("table_desc", S)],
    "GetSchemas": [
        ("table_name", S),
        ("column_name", S),
        ("column_type", S),
        ("pattern_type", S),
        ("column_desc", S),
    ],
    "GetUDFList": [("name", S), ("return_type", S), ("args", S)],
    "GetUDAList": [("name", S), ("return_type", S), ("args", S)],
    "GetUDTFList": [("name", S), ("executor", S), ("init_args", S), ("output_relation", S)],
    "GetAgentStatus": [
        ("agent_id", U),
        ("asid", I),
        ("hostname", S),
        ("ip_address", S),
        ("agent_state", S),
        ("create_time", T),
        ("last_heartbeat_ns", I),
        ("kernel_headers_installed", B),
    ],
}


def _ctx(**extras: object) -> FunctionContext:
    return FunctionContext(
        REGISTRY,
        InMemoryMetadataState(agent_asid=3),
        table_schemas=lambda: SCHEMAS,
        extras=dict(extras),
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_udtf_relation_and_output_schema_match_pixie(name: str) -> None:
    udtf = REGISTRY.lookup_udtf(name)
    assert [(c.name, c.data_type) for c in udtf.relation] == EXPECTED[name]
    out = udtf.fn(_ctx())
    assert isinstance(out, pa.Table)
    assert Relation.from_arrow_schema(out.schema) == udtf.relation


def test_get_tables_and_schemas_list_every_declared_table() -> None:
    ctx = _ctx()
    got = REGISTRY.lookup_udtf("GetTables").fn(ctx)
    assert sorted(got.column("table_name").to_pylist()) == sorted(SCHEMAS)
    schemas = REGISTRY.lookup_udtf("GetSchemas").fn(ctx).to_pylist()
    http = {r["column_name"]: r["column_type"] for r in schemas if r["table_name"] == "http_events"}
    assert http["time_"] == "TIME64NS" and http["upid"] == "UINT128"
    assert http["resp_status"] == "INT64"
    assert len(schemas) == sum(len(t.columns) for t in SCHEMAS.values())


def test_get_udf_list_has_one_row_per_overload() -> None:
    rows = REGISTRY.lookup_udtf("GetUDFList").fn(_ctx()).to_pylist()
    assert len(rows) == len(list(REGISTRY.scalars()))
    assert {"name": "add", "return_type": "STRING", "args": "STRING,STRING"} in rows


def test_get_uda_list_reads_registered_udas() -> None:
    registry = Registry()
    registry.register_uda("count", (S,), I, object(), "count rows. Example: px.count")
    udtfs.register_all(registry)
    ctx = FunctionContext(registry, InMemoryMetadataState())
    rows = registry.lookup_udtf("GetUDAList").fn(ctx).to_pylist()
    assert rows == [{"name": "count", "return_type": "INT64", "args": "STRING"}]


def test_get_udtf_list_describes_args_and_relations() -> None:
    rows = {r["name"]: r for r in REGISTRY.lookup_udtf("GetUDTFList").fn(_ctx()).to_pylist()}
    assert rows["GetAgentStatus"]["init_args"] == "include_kelvin:BOOLEAN"
    assert rows["GetAgentStatus"]["executor"] == UDTFExecutor.ONE_KELVIN.value
    assert rows["GetTables"]["output_relation"] == "table_name:STRING,table_desc:STRING"


def test_get_agent_status_from_provider_and_kelvin_filter() -> None:
    pem = AgentStatus(uuid.UUID(int=1), 1, "node-a", "10.0.0.1", create_time_ns=5)
    kelvin = AgentStatus(
        uuid.UUID(int=2), 2, "kelvin", is_kelvin=True, kernel_headers_installed=True
    )
    ctx = _ctx(**{AGENT_STATUS_EXTRA: StaticAgentStatus((pem, kelvin))})
    fn = REGISTRY.lookup_udtf("GetAgentStatus").fn
    both = fn(ctx)
    assert both.column("agent_id").to_pylist() == [uuid.UUID(int=1).bytes, uuid.UUID(int=2).bytes]
    assert both.column("agent_state").to_pylist() == ["AGENT_STATE_HEALTHY"] * 2
    assert both.column("create_time").cast(pa.int64()).to_pylist() == [5, 0]
    only_pems = fn(ctx, include_kelvin=False)
    assert only_pems.column("hostname").to_pylist() == ["node-a"]


def test_get_agent_status_without_provider_is_empty() -> None:
    assert REGISTRY.lookup_udtf("GetAgentStatus").fn(_ctx()).num_rows == 0


def test_version_reports_this_agent() -> None:
    out = REGISTRY.lookup_udtf("Version").fn(_ctx(version="1.2.3")).to_pylist()
    assert out == [{"asid": 3, "version": "1.2.3"}]


class _AsyncCluster:
    """A provider answering like Kelvin's metadata view: with awaitables."""

    def __init__(self, agents: tuple[AgentStatus, ...]) -> None:
        self._agents = agents

    async def agents(self) -> tuple[AgentStatus, ...]:
        return self._agents

    async def schemas(self) -> dict[str, object]:
        return {"process_stats": SCHEMAS["process_stats"]}


def test_metadata_backed_udtfs_await_an_async_provider() -> None:
    pem = AgentStatus(uuid.UUID(int=1), 1, "node-a", kernel_headers_installed=True)
    kelvin = AgentStatus(uuid.UUID(int=2), 2, "kelvin", is_kelvin=True)
    cluster = _AsyncCluster((pem, kelvin))
    ctx = _ctx(**{AGENT_STATUS_EXTRA: cluster, udtfs.SCHEMAS_EXTRA: cluster})

    async def run(name: str) -> pa.Table:
        result = REGISTRY.lookup_udtf(name).fn(ctx)
        assert asyncio.iscoroutine(result)
        return await result

    assert asyncio.run(run("GetAgentStatus")).num_rows == 2
    assert asyncio.run(run("GetTables")).column("table_name").to_pylist() == ["process_stats"]
    headers = asyncio.run(run("GetLinuxHeadersStatus")).to_pylist()
    assert headers == [{"asid": 1, "hostname": "node-a", "kernel_headers_installed": True}]


def test_get_upids_lists_the_agents_processes_with_their_upids() -> None:
    listing = [udtfs.ProcessRecord(pid=42, start_time_ticks=7, start_time_ns=9_000, cmdline="a b")]

    class Listing:
        def processes(self) -> list[udtfs.ProcessRecord]:
            return listing

    out = REGISTRY.lookup_udtf("GetUPIDs").fn(_ctx(**{udtfs.PROCESSES_EXTRA: Listing()}))
    row = out.to_pylist()[0]
    assert row["asid"] == 3 and row["pid"] == 42 and row["cmdline"] == "a b"
    assert row["upid"] == UPID(3, 42, 7).to_bytes()


@pytest.mark.parametrize(
    ("name", "column", "needle"),
    [
        ("_HeapStats", "heap", "malloc_in_use_bytes"),
        ("_DebugStackTrace", "stack_trace", "thread MainThread"),
        ("_DebugAgentProcStatus", "proc_status", "VmRSS:"),
        ("_DebugAgentProcSMaps", "smaps", "Rss:"),
    ],
)
def test_debug_udtfs_report_this_process(name: str, column: str, needle: str) -> None:
    out = REGISTRY.lookup_udtf(name).fn(_ctx()).to_pylist()
    assert len(out) == 1 and out[0]["asid"] == 3
    assert needle in out[0][column]


def test_heap_sampling_needs_tracemalloc_and_reports_growth_when_on() -> None:
    sample = REGISTRY.lookup_udtf("_HeapSample").fn
    growth = REGISTRY.lookup_udtf("_HeapGrowthStacks").fn
    assert "PYTHONTRACEMALLOC" in sample(_ctx()).column("heap")[0].as_py()
    tracemalloc.start(4)
    try:
        growth(_ctx())  # the baseline
        kept = [bytearray(4096) for _ in range(64)]
        report = growth(_ctx()).column("heap")[0].as_py()
        assert "test_udtf_builtins.py" in report
        assert "bytes in" in sample(_ctx()).column("heap")[0].as_py()
        del kept
    finally:
        tracemalloc.stop()


def test_heap_numbers_and_release_are_plausible() -> None:
    numbers = REGISTRY.lookup_udtf("_HeapStatsNumeric").fn(_ctx()).to_pylist()[0]
    assert numbers["rss_bytes"] > 0 and numbers["allocated_blocks"] > 0
    assert numbers["traced_current_bytes"] == -1  # tracemalloc is off
    released = REGISTRY.lookup_udtf("_HeapReleaseFreeMemory").fn(_ctx()).to_pylist()[0]
    assert released["released_bytes"] >= 0 and released["gc_collected"] >= 0
    ranges = REGISTRY.lookup_udtf("_HeapRanges").fn(_ctx()).to_pylist()
    assert ranges and all(r["range_end"] > r["range_start"] for r in ranges)


def test_debug_table_info_reports_each_stored_table() -> None:
    from pyxie_table_store import TableStore

    store = TableStore()
    store.add_table(SCHEMAS["process_stats"])
    store.add_table(SCHEMAS["http_events"])
    out = REGISTRY.lookup_udtf("_DebugTableInfo").fn(_ctx(**{udtfs.TABLE_STORE_EXTRA: store}))
    rows = out.to_pylist()
    assert [r["table_name"] for r in rows] == ["http_events", "process_stats"]
    assert all(r["asid"] == 3 and r["rows"] == 0 and r["max_bytes"] > 0 for r in rows)
    assert REGISTRY.lookup_udtf("_DebugTableInfo").fn(_ctx()).num_rows == 0
