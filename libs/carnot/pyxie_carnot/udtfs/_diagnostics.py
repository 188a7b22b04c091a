"""Per-agent table functions: the processes a PEM observes, heap statistics and debug dumps.

Pixie's agents are C++ and report tcmalloc's heap; ours are Python, so the ``_Heap*`` functions
report what stands in for it: glibc's malloc counters (``mallinfo2``), the interpreter's
allocated blocks, the garbage collector, and ``tracemalloc`` sampling when the agent runs with
it (``PYTHONTRACEMALLOC=<frames>``). Each runs on every agent (``ALL_AGENTS``) and returns one
row per agent, tagged with its ASID, except ``GetUPIDs`` which lists the processes of each PEM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import threading
import traceback
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from pyxie_types import UPID, Column, DataType, Relation, SemanticType

from ..context import FunctionContext
from ..registry import UDTFArg, UDTFExecutor
from ._agent_status import PROCESSES_EXTRA, TABLE_STORE_EXTRA, ProcessListing

__all__ = ["UDTFS", "heap_numbers"]

S, I, T, U = DataType.STRING, DataType.INT64, DataType.TIME64NS, DataType.UINT128  # noqa: E741 (PxL type letters)
_ASID = Column("asid", I, SemanticType.ST_ASID)
_PROC_SELF: Final = Path("/proc/self")
# How many allocation sites a heap sample or growth report lists (largest first).
_TOP_SITES: Final = 40

UPIDS_RELATION = Relation.of(
    _ASID,
    Column("upid", U, SemanticType.ST_UPID),
    ("pid", I),
    ("cmdline", S),
    Column("start_time", T, SemanticType.ST_TIME_NS),
)
HEAP_TEXT_RELATION = Relation.of(_ASID, ("heap", S))
HEAP_NUMERIC_RELATION = Relation.of(
    _ASID,
    ("allocated_blocks", I),
    Column("malloc_in_use_bytes", I, SemanticType.ST_BYTES),
    Column("malloc_free_bytes", I, SemanticType.ST_BYTES),
    Column("malloc_mmap_bytes", I, SemanticType.ST_BYTES),
    Column("rss_bytes", I, SemanticType.ST_BYTES),
    Column("traced_current_bytes", I, SemanticType.ST_BYTES),
    Column("traced_peak_bytes", I, SemanticType.ST_BYTES),
    ("gc_collections", I),
)
HEAP_RANGES_RELATION = Relation.of(_ASID, ("range_start", I), ("range_end", I), ("kind", S))
HEAP_RELEASE_RELATION = Relation.of(
    _ASID, Column("released_bytes", I, SemanticType.ST_BYTES), ("gc_collected", I)
)
STACK_RELATION = Relation.of(_ASID, ("stack_trace", S))
PROC_STATUS_RELATION = Relation.of(_ASID, ("proc_status", S))
PROC_SMAPS_RELATION = Relation.of(_ASID, ("smaps", S))
TABLE_INFO_RELATION = Relation.of(
    _ASID,
    ("table_name", S),
    ("rows", I),
    Column("bytes", I, SemanticType.ST_BYTES),
    Column("max_bytes", I, SemanticType.ST_BYTES),
    ("hot_batches", I),
    ("cold_batches", I),
    ("rows_appended", I),
    ("rows_evicted", I),
    Column("bytes_evicted", I, SemanticType.ST_BYTES),
    ("compactions", I),
)
_TABLE_INFO_FIELDS = (
    "name",
    "rows",
    "bytes",
    "max_bytes",
    "hot_batches",
    "cold_batches",
    "rows_appended",
    "rows_evicted",
    "bytes_evicted",
    "compactions",
)

_NOT_TRACING = (
    "tracemalloc is not tracing on this agent: start the agent with PYTHONTRACEMALLOC=<frames>"
    " (e.g. 16) to sample its Python heap"
)


def _one_row(relation: Relation, ctx: FunctionContext, *values: Any) -> pa.Table:
    row = (ctx.metadata.asid(), *values)
    schema = relation.arrow_schema()
    return pa.Table.from_arrays(
        [pa.array([v], type=f.type) for v, f in zip(row, schema, strict=True)], schema=schema
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as err:
        return f"unreadable: {err}"


# ------------------------------------------------------------------ processes


def _get_upids(ctx: FunctionContext) -> pa.Table:
    listing = ctx.extras.get(PROCESSES_EXTRA)
    if listing is None:
        records: Sequence[Any] = ()
    elif isinstance(listing, ProcessListing):
        records = listing.processes()
    else:
        raise TypeError(f"ctx.extras[{PROCESSES_EXTRA!r}] must provide processes()")
    asid = ctx.metadata.asid()
    records = sorted(records, key=lambda r: r.pid)
    schema = UPIDS_RELATION.arrow_schema()
    columns: list[list[Any]] = [
        [asid] * len(records),
        [UPID(asid, r.pid, r.start_time_ticks).to_bytes() for r in records],
        [r.pid for r in records],
        [r.cmdline for r in records],
        [r.start_time_ns for r in records],
    ]
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


# ------------------------------------------------------------------ heap


class _MallInfo2(ctypes.Structure):
    # glibc >= 2.33; every field is a size_t.
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC: Final = _libc()


def _mallinfo() -> tuple[int, int, int]:
    """(bytes in use, free bytes held by malloc, bytes in mmap'd chunks); -1 when unknown."""
    fn = getattr(_LIBC, "mallinfo2", None)
    if fn is None:
        return -1, -1, -1
    fn.restype = _MallInfo2
    info = fn()
    return int(info.uordblks), int(info.fordblks), int(info.hblkhd)


def _rss_bytes() -> int:
    for line in _read(_PROC_SELF / "status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return -1


def heap_numbers() -> dict[str, int]:
    """The numbers _HeapStatsNumeric reports, by column name."""
    in_use, free, mmapped = _mallinfo()
    traced, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (-1, -1)
    return {
        "allocated_blocks": sys.getallocatedblocks(),
        "malloc_in_use_bytes": in_use,
        "malloc_free_bytes": free,
        "malloc_mmap_bytes": mmapped,
        "rss_bytes": _rss_bytes(),
        "traced_current_bytes": traced,
        "traced_peak_bytes": peak,
        "gc_collections": sum(s["collections"] for s in gc.get_stats()),
    }


def _heap_stats(ctx: FunctionContext) -> pa.Table:
    numbers = heap_numbers()
    lines = [f"{name}: {value}" for name, value in numbers.items()]
    for generation, stats in enumerate(gc.get_stats()):
        lines.append(
            f"gc generation {generation}: collections={stats['collections']}"
            f" collected={stats['collected']} uncollectable={stats['uncollectable']}"
            f" tracked_now={gc.get_count()[generation]}"
        )
    if not tracemalloc.is_tracing():
        lines.append(_NOT_TRACING)
    return _one_row(HEAP_TEXT_RELATION, ctx, "\n".join(lines) + "\n")


def _heap_stats_numeric(ctx: FunctionContext) -> pa.Table:
    return _one_row(HEAP_NUMERIC_RELATION, ctx, *heap_numbers().values())


def _format_sites(stats: Sequence[Any], what: str) -> str:
    if not stats:
        return f"no {what}\n"
    lines = []
    for stat in stats[:_TOP_SITES]:
        size = getattr(stat, "size_diff", stat.size)
        count = getattr(stat, "count_diff", stat.count)
        lines.append(f"{size} bytes in {count} blocks")
        lines.extend(f"    {frame.filename}:{frame.lineno}" for frame in stat.traceback)
    return "\n".join(lines) + "\n"


def _heap_sample(ctx: FunctionContext) -> pa.Table:
    if not tracemalloc.is_tracing():
        return _one_row(HEAP_TEXT_RELATION, ctx, _NOT_TRACING)
    stats = tracemalloc.take_snapshot().statistics("traceback")
    return _one_row(HEAP_TEXT_RELATION, ctx, _format_sites(stats, "traced allocations"))


class _GrowthBaseline:
    """The snapshot the previous _HeapGrowthStacks call saw (growth is measured from it)."""

    def __init__(self) -> None:
        self.snapshot: tracemalloc.Snapshot | None = None
        self.lock = threading.Lock()


_GROWTH = _GrowthBaseline()


def _heap_growth_stacks(ctx: FunctionContext) -> pa.Table:
    if not tracemalloc.is_tracing():
        return _one_row(HEAP_TEXT_RELATION, ctx, _NOT_TRACING)
    current = tracemalloc.take_snapshot()
    with _GROWTH.lock:
        previous, _GROWTH.snapshot = _GROWTH.snapshot, current
    if previous is None:
        # The first call measures growth since tracing started: every live allocation.
        stats: Sequence[Any] = current.statistics("traceback")
    else:
        stats = [s for s in current.compare_to(previous, "traceback") if s.size_diff > 0]
    return _one_row(HEAP_TEXT_RELATION, ctx, _format_sites(stats, "heap growth"))


def _heap_ranges(ctx: FunctionContext) -> pa.Table:
    """Address ranges of the malloc heap ([heap]) and anonymous mappings (arenas, mmap chunks)."""
    rows: list[tuple[int, int, str]] = []
    for line in _read(_PROC_SELF / "maps").splitlines():
        fields = line.split()
        if len(fields) < 5 or "-" not in fields[0]:
            continue
        path = fields[5] if len(fields) > 5 else ""
        if path not in ("", "[heap]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        rows.append((start, end, "heap" if path == "[heap]" else "anonymous"))
    asid = ctx.metadata.asid()
    schema = HEAP_RANGES_RELATION.arrow_schema()
    columns = [[asid] * len(rows), *(list(c) for c in zip(*rows, strict=True))] if rows else []
    if not rows:
        columns = [[], [], [], []]
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def _heap_release_free_memory(ctx: FunctionContext) -> pa.Table:
    """Collect garbage and return malloc's free pages to the kernel (glibc ``malloc_trim``)."""
    before = _rss_bytes()
    collected = gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
    return _one_row(HEAP_RELEASE_RELATION, ctx, max(before - _rss_bytes(), 0), collected)


# ------------------------------------------------------------------ debug


def _debug_stack_trace(ctx: FunctionContext) -> pa.Table:
    """Every Python thread's stack in this agent (Pixie: the C++ symbolized stack)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in sorted(sys._current_frames().items()):
        parts.append(f"thread {names.get(ident, '?')} ({ident}):")
        parts.append("".join(traceback.format_stack(frame)).rstrip())
    return _one_row(STACK_RELATION, ctx, "\n".join(parts) + "\n")


def _debug_proc_status(ctx: FunctionContext) -> pa.Table:
    return _one_row(PROC_STATUS_RELATION, ctx, _read(_PROC_SELF / "status"))


def _debug_proc_smaps(ctx: FunctionContext) -> pa.Table:
    return _one_row(PROC_SMAPS_RELATION, ctx, _read(_PROC_SELF / "smaps"))


def _debug_table_info(ctx: FunctionContext) -> pa.Table:
    """Each table this agent stores: rows, bytes against its budget, batches, evictions."""
    store = ctx.extras.get(TABLE_STORE_EXTRA)
    tables = store.tables() if store is not None else {}
    asid = ctx.metadata.asid()
    rows = [
        (asid, *(getattr(tables[name].stats(), f) for f in _TABLE_INFO_FIELDS))
        for name in sorted(tables)
    ]
    schema = TABLE_INFO_RELATION.arrow_schema()
    columns: list[Sequence[Any]] = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in schema]
    )
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


_Entry = tuple[str, tuple[UDTFArg, ...], Relation, Callable[..., pa.Table], str, UDTFExecutor]
_ALL = UDTFExecutor.ALL_AGENTS
UDTFS: tuple[_Entry, ...] = (
    (
        "GetUPIDs",
        (),
        UPIDS_RELATION,
        _get_upids,
        "The processes each data agent observes, with their UPIDs."
        " Example: px.display(px.GetUPIDs())",
        UDTFExecutor.ALL_PEM,
    ),
    (
        "_HeapStats",
        (),
        HEAP_TEXT_RELATION,
        _heap_stats,
        "Each agent's heap report (malloc, interpreter blocks, GC, tracemalloc) as text."
        " Example: px.display(px._HeapStats())",
        _ALL,
    ),
    (
        "_HeapStatsNumeric",
        (),
        HEAP_NUMERIC_RELATION,
        _heap_stats_numeric,
        "Each agent's heap numbers; -1 where unknown (tracemalloc off, no mallinfo2)."
        " Example: px.display(px._HeapStatsNumeric())",
        _ALL,
    ),
    (
        "_HeapSample",
        (),
        HEAP_TEXT_RELATION,
        _heap_sample,
        "Each agent's largest live allocation sites (needs PYTHONTRACEMALLOC)."
        " Example: px.display(px._HeapSample())",
        _ALL,
    ),
    (
        "_HeapGrowthStacks",
        (),
        HEAP_TEXT_RELATION,
        _heap_growth_stacks,
        "Allocation sites that grew since the previous call, per agent (needs PYTHONTRACEMALLOC)."
        " Example: px.display(px._HeapGrowthStacks())",
        _ALL,
    ),
    (
        "_HeapRanges",
        (),
        HEAP_RANGES_RELATION,
        _heap_ranges,
        "Address ranges of each agent's heap and anonymous mappings."
        " Example: px.display(px._HeapRanges())",
        _ALL,
    ),
    (
        "_HeapReleaseFreeMemory",
        (),
        HEAP_RELEASE_RELATION,
        _heap_release_free_memory,
        "Runs the garbage collector and malloc_trim on each agent; reports the RSS released."
        " Example: px.display(px._HeapReleaseFreeMemory())",
        _ALL,
    ),
    (
        "_DebugStackTrace",
        (),
        STACK_RELATION,
        _debug_stack_trace,
        "Every thread's current stack in each agent. Example: px.display(px._DebugStackTrace())",
        _ALL,
    ),
    (
        "_DebugTableInfo",
        (),
        TABLE_INFO_RELATION,
        _debug_table_info,
        "The tables each data agent stores: rows, bytes and budget, batches, evictions. "
        "Example: px.display(px._DebugTableInfo())",
        UDTFExecutor.ALL_PEM,
    ),
    (
        "_DebugAgentProcStatus",
        (),
        PROC_STATUS_RELATION,
        _debug_proc_status,
        "/proc/self/status of each agent. Example: px.display(px._DebugAgentProcStatus())",
        _ALL,
    ),
    (
        "_DebugAgentProcSMaps",
        (),
        PROC_SMAPS_RELATION,
        _debug_proc_smaps,
        "/proc/self/smaps of each agent. Example: px.display(px._DebugAgentProcSMaps())",
        _ALL,
    ),
)
