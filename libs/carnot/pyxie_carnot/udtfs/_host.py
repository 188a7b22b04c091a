"""The PEM's host: the profiler's sampling period (a table function run on every PEM, one row
per agent, as Pixie's) and whether kernel headers are installed (reported at registration;
`GetLinuxHeadersStatus` reads it on the Kelvin).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
from pyxie_types import Column, DataType, Relation, SemanticType

from ..context import FunctionContext
from ..registry import Registry, UDTFDef, UDTFExecutor

__all__ = [
    "PROFILER_PERIOD_EXTRA",
    "PROFILER_PERIOD_RELATION",
    "kernel_headers_installed",
    "register_host_udtfs",
]

# Key in FunctionContext.extras of the PEM's profiler sampling period in ms (absent: the
# profiler's default of 99 Hz, i.e. 10 ms).
PROFILER_PERIOD_EXTRA = "profiler_sampling_period_ms"
_DEFAULT_PERIOD_MS = 10

_ASID = Column("asid", DataType.INT64, SemanticType.ST_ASID)
PROFILER_PERIOD_RELATION = Relation.of(_ASID, ("profiler_sampling_period_ms", DataType.INT64))


def kernel_headers_installed(
    release: str | None = None, modules: Path = Path("/lib/modules")
) -> bool:
    """Whether headers for the running kernel are where bcc looks (/lib/modules/<r>/build)."""
    release = release or os.uname().release
    build = modules / release / "build"
    return (build / "include").is_dir() or (modules / release / "source" / "include").is_dir()


def _one_row(relation: Relation, row: tuple[object, ...]) -> pa.Table:
    schema = relation.arrow_schema()
    return pa.Table.from_arrays(
        [pa.array([v], type=f.type) for v, f in zip(row, schema, strict=True)], schema=schema
    )


def _profiler_period(ctx: FunctionContext) -> pa.Table:
    period = ctx.extras.get(PROFILER_PERIOD_EXTRA, _DEFAULT_PERIOD_MS)
    return _one_row(PROFILER_PERIOD_RELATION, (ctx.metadata.asid(), int(period)))


def register_host_udtfs(registry: Registry) -> None:
    registry.register_udtf(
        UDTFDef(
            "GetProfilerSamplingPeriodMS",
            (),
            PROFILER_PERIOD_RELATION,
            _profiler_period,
            "The CPU profiler's sampling period of each PEM. "
            "Example: px.display(px.GetProfilerSamplingPeriodMS())",
            UDTFExecutor.ALL_PEM,
        )
    )
    # GetLinuxHeadersStatus runs on the Kelvin from the agents' registrations (udtfs/__init__):
    # each PEM reports `kernel_headers_installed()` when it registers.
