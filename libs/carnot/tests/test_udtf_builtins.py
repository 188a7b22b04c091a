"""Builtin table functions: output relations and contents."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from pyxie_carnot import funcs, udtfs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry, UDTFExecutor
from pyxie_carnot.udtfs import AGENT_STATUS_EXTRA, AgentStatus, StaticAgentStatus
from pyxie_types import DataType, Relation, tables

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
