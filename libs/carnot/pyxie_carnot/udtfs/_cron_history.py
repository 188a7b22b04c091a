"""``GetCronScriptHistory``: the last runs of the vizier's cron scripts (Pixie's UDTF).

The history lives in the metadata service (``CronScriptStoreService.GetAllExecutionResults``);
the agent puts a provider that asks it into ``FunctionContext.extras``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa
from pyxie_types import Column, DataType, Relation, SemanticType

from .._errors import CarnotError
from ..context import FunctionContext

__all__ = [
    "CRON_SCRIPT_HISTORY_EXTRA",
    "CRON_SCRIPT_HISTORY_RELATION",
    "CronScriptHistoryProvider",
    "CronScriptRun",
    "get_cron_script_history",
]

CRON_SCRIPT_HISTORY_EXTRA = "cron_script_history"
CRON_SCRIPT_HISTORY_RELATION = Relation(
    (
        Column("script_id", DataType.STRING),
        Column("timestamp", DataType.TIME64NS, SemanticType.ST_TIME_NS),
        Column("error_message", DataType.STRING),
        Column("execution_time_ns", DataType.INT64, SemanticType.ST_DURATION_NS),
        Column("compilation_time_ns", DataType.INT64, SemanticType.ST_DURATION_NS),
        Column("bytes_processed", DataType.INT64, SemanticType.ST_BYTES),
        Column("records_processed", DataType.INT64),
    )
)


@dataclass(frozen=True, slots=True)
class CronScriptRun:
    script_id: str
    timestamp_ns: int
    error_message: str = ""
    execution_time_ns: int = 0
    compilation_time_ns: int = 0
    bytes_processed: int = 0
    records_processed: int = 0


@runtime_checkable
class CronScriptHistoryProvider(Protocol):
    async def history(self) -> Sequence[CronScriptRun]: ...


async def get_cron_script_history(ctx: FunctionContext) -> pa.Table:
    provider = ctx.extras.get(CRON_SCRIPT_HISTORY_EXTRA)
    if not isinstance(provider, CronScriptHistoryProvider):
        raise CarnotError(
            "GetCronScriptHistory needs the metadata service: this agent was started without "
            "PL_METADATA_ADDRESS"
        )
    runs = await provider.history()
    schema = CRON_SCRIPT_HISTORY_RELATION.arrow_schema()
    return pa.Table.from_arrays(
        [
            pa.array([r.script_id for r in runs], pa.string()),
            pa.array([r.timestamp_ns for r in runs], pa.int64()).cast(schema.field(1).type),
            pa.array([r.error_message for r in runs], pa.string()),
            pa.array([r.execution_time_ns for r in runs], pa.int64()),
            pa.array([r.compilation_time_ns for r in runs], pa.int64()),
            pa.array([r.bytes_processed for r in runs], pa.int64()),
            pa.array([r.records_processed for r in runs], pa.int64()),
        ],
        schema=schema,
    )
