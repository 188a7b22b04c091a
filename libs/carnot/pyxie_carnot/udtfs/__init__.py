"""Builtin table functions: introspection (GetTables, GetSchemas, GetUDF/UDA/UDTFList),
GetAgentStatus, GetLinuxHeadersStatus, GetTracepointStatus, GetCronScriptHistory, Version, and
the per-agent diagnostics of
``_diagnostics`` (process listing, heap and debug functions).

Output relations are exactly the ones Pixie's scripts read (pxl-language §3 "UDTF outputs").
Where they run follows Pixie: the cluster-wide ones (agents, schemas) on one Kelvin from the
metadata service's state, the per-agent ones on every agent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from typing import Any, TypeAlias

import pyarrow as pa
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

from ..context import FunctionContext
from ..registry import Registry, UDTFArg, UDTFDef, UDTFExecutor
from . import _diagnostics
from ._agent_status import (
    AGENT_STATUS_EXTRA,
    METADATA_KV_EXTRA,
    PROCESSES_EXTRA,
    SCHEMAS_EXTRA,
    TABLE_STORE_EXTRA,
    AgentStatus,
    AgentStatusProvider,
    MetadataKV,
    ProcessListing,
    ProcessRecord,
    SchemasProvider,
    StaticAgentStatus,
    then,
)
from ._cron_history import (
    CRON_SCRIPT_HISTORY_EXTRA,
    CRON_SCRIPT_HISTORY_RELATION,
    CronScriptHistoryProvider,
    CronScriptRun,
    get_cron_script_history,
)
from ._tracepoint_status import TRACEPOINT_STATUS_EXTRA, TracepointStatusBoard

__all__ = [
    "AGENT_STATUS_EXTRA",
    "CRON_SCRIPT_HISTORY_EXTRA",
    "METADATA_KV_EXTRA",
    "PROCESSES_EXTRA",
    "SCHEMAS_EXTRA",
    "TABLE_STORE_EXTRA",
    "TRACEPOINT_STATUS_EXTRA",
    "VERSION_EXTRA",
    "AgentStatus",
    "AgentStatusProvider",
    "CronScriptHistoryProvider",
    "CronScriptRun",
    "MetadataKV",
    "ProcessListing",
    "ProcessRecord",
    "SchemasProvider",
    "StaticAgentStatus",
    "TracepointStatusBoard",
    "register_all",
]

_TableResult: TypeAlias = pa.Table | Awaitable[pa.Table]

# Key in FunctionContext.extras of the version string Version() reports.
VERSION_EXTRA = "version"

S, I, B, T, U = (  # noqa: E741 (PxL type letters)
    DataType.STRING,
    DataType.INT64,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.UINT128,
)


def _relation(*columns: tuple[str, DataType] | Column) -> Relation:
    return Relation.of(*columns)


def _table(relation: Relation, columns: Sequence[Sequence[Any]]) -> pa.Table:
    schema = relation.arrow_schema()
    arrays = [
        pa.array(list(values), type=f.type) for values, f in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _rows_to_table(relation: Relation, rows: Sequence[Sequence[Any]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(relation)
    return _table(relation, columns)


# ------------------------------------------------------------------ introspection

TABLES_RELATION = _relation(("table_name", S), ("table_desc", S))
SCHEMAS_RELATION = _relation(
    ("table_name", S),
    ("column_name", S),
    ("column_type", S),
    ("pattern_type", S),
    ("column_desc", S),
)
FUNC_LIST_RELATION = _relation(("name", S), ("return_type", S), ("args", S))
UDTF_LIST_RELATION = _relation(
    ("name", S), ("executor", S), ("init_args", S), ("output_relation", S)
)
AGENT_STATUS_RELATION = _relation(
    Column("agent_id", U, SemanticType.ST_AGENT_UID),
    Column("asid", I, SemanticType.ST_ASID),
    ("hostname", S),
    Column("ip_address", S, SemanticType.ST_IP_ADDRESS),
    ("agent_state", S),
    Column("create_time", T, SemanticType.ST_TIME_NS),
    Column("last_heartbeat_ns", I, SemanticType.ST_DURATION_NS),
    ("kernel_headers_installed", B),
)
TRACEPOINT_STATUS_RELATION = _relation(
    ("tracepoint_id", U),
    ("name", S),
    ("state", S),
    ("status", S),
    ("output_tables", S),
)
VERSION_RELATION = _relation(Column("asid", I, SemanticType.ST_ASID), ("version", S))
LINUX_HEADERS_RELATION = _relation(
    Column("asid", I, SemanticType.ST_ASID), ("hostname", S), ("kernel_headers_installed", B)
)


def _schemas(
    ctx: FunctionContext,
) -> Mapping[str, TableSchema] | Awaitable[Mapping[str, TableSchema]]:
    """The cluster's union schema when the agent can ask for it (Kelvin), else its own tables."""
    provider = ctx.extras.get(SCHEMAS_EXTRA)
    if provider is None:
        return ctx.table_schemas()
    if not isinstance(provider, SchemasProvider):
        raise TypeError(f"ctx.extras[{SCHEMAS_EXTRA!r}] must provide schemas()")
    return provider.schemas()


def _tables_rows(schemas: Mapping[str, TableSchema]) -> pa.Table:
    rows = [(name, schemas[name].desc) for name in sorted(schemas)]
    return _rows_to_table(TABLES_RELATION, rows)


def _schemas_rows(schemas: Mapping[str, TableSchema]) -> pa.Table:
    rows = [
        # Pixie's pattern types (metric gauge/counter...) are not declared by our collectors;
        # every column is reported as GENERAL.
        (name, column.name, column.data_type.name, "GENERAL", column.desc)
        for name in sorted(schemas)
        for column in schemas[name].columns
    ]
    return _rows_to_table(SCHEMAS_RELATION, rows)


def _get_tables(ctx: FunctionContext) -> _TableResult:
    return then(_schemas(ctx), _tables_rows)


def _get_schemas(ctx: FunctionContext) -> _TableResult:
    return then(_schemas(ctx), _schemas_rows)


def _arg_list(types: Sequence[DataType]) -> str:
    return ",".join(t.name for t in types)


def _get_udf_list(ctx: FunctionContext) -> pa.Table:
    rows = sorted(
        (udf.name, udf.return_type.name, _arg_list(udf.arg_types)) for udf in ctx.registry.scalars()
    )
    return _rows_to_table(FUNC_LIST_RELATION, rows)


def _get_uda_list(ctx: FunctionContext) -> pa.Table:
    rows = sorted(
        (uda.name, uda.return_type.name, _arg_list(uda.arg_types)) for uda in ctx.registry.udas()
    )
    return _rows_to_table(FUNC_LIST_RELATION, rows)


def _describe_relation(relation: Relation) -> str:
    return ",".join(f"{c.name}:{c.data_type.name}" for c in relation)


def _describe_args(args: Sequence[UDTFArg]) -> str:
    return ",".join(f"{a.name}:{a.data_type.name}" for a in args)


def _get_udtf_list(ctx: FunctionContext) -> pa.Table:
    rows = sorted(
        (u.name, u.executor.value, _describe_args(u.args), _describe_relation(u.relation))
        for u in ctx.registry.udtfs()
    )
    return _rows_to_table(UDTF_LIST_RELATION, rows)


# ------------------------------------------------------------------ agents


def _agents(ctx: FunctionContext) -> Sequence[AgentStatus] | Awaitable[Sequence[AgentStatus]]:
    provider = ctx.extras.get(AGENT_STATUS_EXTRA)
    if provider is None:
        return ()
    if not isinstance(provider, AgentStatusProvider):
        raise TypeError(f"ctx.extras[{AGENT_STATUS_EXTRA!r}] must provide agents()")
    return provider.agents()


def _get_agent_status(ctx: FunctionContext, include_kelvin: bool = True) -> _TableResult:
    return then(_agents(ctx), lambda agents: _agent_status_rows(agents, include_kelvin))


def _agent_status_rows(agents: Sequence[AgentStatus], include_kelvin: bool) -> pa.Table:
    rows = [
        (
            a.agent_id.bytes,
            a.asid,
            a.hostname,
            a.ip_address,
            a.agent_state,
            a.create_time_ns,
            a.last_heartbeat_ns,
            a.kernel_headers_installed,
        )
        for a in agents
        if include_kelvin or not a.is_kelvin
    ]
    return _rows_to_table(AGENT_STATUS_RELATION, rows)


def _linux_headers_rows(agents: Sequence[AgentStatus]) -> pa.Table:
    rows = [(a.asid, a.hostname, a.kernel_headers_installed) for a in agents if not a.is_kelvin]
    return _rows_to_table(LINUX_HEADERS_RELATION, rows)


def _get_linux_headers_status(ctx: FunctionContext) -> _TableResult:
    return then(_agents(ctx), _linux_headers_rows)


MD_PREFIX_RELATION = _relation(("key", S), ("value", S))


def _debug_md_get_with_prefix(ctx: FunctionContext, prefix: str, proto: str = "") -> _TableResult:
    provider = ctx.extras.get(METADATA_KV_EXTRA)
    if provider is None:
        # No metadata service to ask (a single-process run): nothing is stored.
        return _rows_to_table(MD_PREFIX_RELATION, [])
    if not isinstance(provider, MetadataKV):
        raise TypeError(f"ctx.extras[{METADATA_KV_EXTRA!r}] must provide get_with_prefix()")
    return _md_rows(provider, prefix, proto)


async def _md_rows(provider: MetadataKV, prefix: str, proto: str) -> pa.Table:
    rows = await provider.get_with_prefix(prefix, proto)
    return _rows_to_table(MD_PREFIX_RELATION, list(rows))


def _state_name(state: int) -> str:
    # Pixie prints px.api.vizierpb.LifeCycleState names (same numbers).
    name = messages_pb2.TracepointState.Name(state)
    return name.removeprefix("TRACEPOINT_STATE_") + "_STATE"


def _get_tracepoint_status(ctx: FunctionContext) -> pa.Table:
    board = ctx.extras.get(TRACEPOINT_STATUS_EXTRA)
    tracepoints = board.tracepoints() if isinstance(board, TracepointStatusBoard) else []
    rows = []
    for info in tracepoints:
        statuses = [
            {
                "agent_id": agent.agent_id,
                "state": _state_name(agent.state),
                "code": agent.status_code,
                "message": agent.status_message,
            }
            for agent in info.agents
        ]
        rows.append(
            (
                uuid.UUID(info.id).bytes,
                info.name,
                _state_name(info.state),
                json.dumps(statuses),
                json.dumps(list(info.table_names)),
            )
        )
    return _rows_to_table(TRACEPOINT_STATUS_RELATION, rows)


def _package_version() -> str:
    try:
        return importlib_metadata.version("pyxie-carnot")
    except importlib_metadata.PackageNotFoundError:
        return "0.0.0"


def _version(ctx: FunctionContext) -> pa.Table:
    version = ctx.extras.get(VERSION_EXTRA) or _package_version()
    return _rows_to_table(VERSION_RELATION, [(ctx.metadata.asid(), str(version))])


_UDTFS: tuple[
    tuple[str, tuple[UDTFArg, ...], Relation, Callable[..., _TableResult], str, UDTFExecutor], ...
] = (
    (
        "GetTables",
        (),
        TABLES_RELATION,
        _get_tables,
        "Tables and their descriptions. Example: px.display(px.GetTables())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetSchemas",
        (),
        SCHEMAS_RELATION,
        _get_schemas,
        "Every column of every table with its type. Example: px.display(px.GetSchemas())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetUDFList",
        (),
        FUNC_LIST_RELATION,
        _get_udf_list,
        "Every scalar function overload. Example: px.display(px.GetUDFList())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetUDAList",
        (),
        FUNC_LIST_RELATION,
        _get_uda_list,
        "Every aggregate function overload. Example: px.display(px.GetUDAList())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetUDTFList",
        (),
        UDTF_LIST_RELATION,
        _get_udtf_list,
        "Every table function with its arguments and output. Example: px.display(px.GetUDTFList())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetAgentStatus",
        (UDTFArg("include_kelvin", B, True),),
        AGENT_STATUS_RELATION,
        _get_agent_status,
        "Registered agents and their health. Example: px.display(px.GetAgentStatus())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetLinuxHeadersStatus",
        (),
        LINUX_HEADERS_RELATION,
        _get_linux_headers_status,
        "Whether each data agent's host has kernel headers (BPF programs compile against them)."
        " Example: px.display(px.GetLinuxHeadersStatus())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "_DebugMDGetWithPrefix",
        (UDTFArg("prefix", S), UDTFArg("proto", S, "")),
        MD_PREFIX_RELATION,
        _debug_md_get_with_prefix,
        "Entries of the metadata service's store under a key prefix; values as text protos of "
        "the named type, else hex. "
        "Example: px._DebugMDGetWithPrefix('/agent/', 'pyxie.vizier.metadatapb.AgentStatus')",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetCronScriptHistory",
        (),
        CRON_SCRIPT_HISTORY_RELATION,
        get_cron_script_history,
        "The last runs of the vizier's cron scripts (plugins, retention scripts) with their "
        "error or stats. Example: px.display(px.GetCronScriptHistory())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "GetTracepointStatus",
        (),
        TRACEPOINT_STATUS_RELATION,
        _get_tracepoint_status,
        "pxtrace tracepoints, their state (PENDING_STATE, RUNNING_STATE, FAILED_STATE, "
        "TERMINATED_STATE), per-agent statuses and tables. "
        "Example: px.display(px.GetTracepointStatus())",
        UDTFExecutor.ONE_KELVIN,
    ),
    (
        "Version",
        (),
        VERSION_RELATION,
        _version,
        "Software version of each agent. Example: px.display(px.Version())",
        UDTFExecutor.ALL_AGENTS,
    ),
    *_diagnostics.UDTFS,
)


def register_all(registry: Registry) -> None:
    """Register every builtin table function into ``registry``."""
    for name, args, relation, fn, doc, executor in _UDTFS:
        registry.register_udtf(UDTFDef(name, args, relation, fn, doc, executor))
