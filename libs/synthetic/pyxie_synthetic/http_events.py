"""Any number of synthetic ``http_events`` rows, so query latency is measured over a known
volume (the PEM's ``PL_PEM_SYNTHETIC_ROWS``, benchmarks only).

A template of realistic requests (``pyxie_synthetic.cluster``, a fake sock-shop cluster) is made
once and tiled: each tile is re-timed into its own slice of the window, so the rows stay in time
order the way the socket tracer appends them.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_table_store import TableStore
from pyxie_types.tables import HTTP_EVENTS

from .cluster import build_cluster, fill_store

__all__ = ["SYNTHETIC_WINDOW_NS", "synthetic_http_events"]

# Rows land in the last 10 minutes: inside the default -5m..-1h windows of the bundled scripts.
SYNTHETIC_WINDOW_NS = 10 * 60 * 10**9
# Rows generated row by row in Python; the rest are re-timed copies (fast, vectorised).
_TEMPLATE_ROWS = 20_000


def _template(now_ns: int, seed: int) -> pa.Table:
    scratch = TableStore()
    fill_store(
        scratch,
        build_cluster(seed, now_ns=now_ns),
        now_ns=now_ns,
        events_per_table=_TEMPLATE_ROWS,
        seed=seed,
    )
    cursor = scratch.table(HTTP_EVENTS.name).cursor()
    batches = []
    while (batch := cursor.next_batch()) is not None:
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=HTTP_EVENTS.arrow_schema())
    return table.sort_by("time_")


def synthetic_http_events(
    rows: int, *, now_ns: int | None = None, seed: int = 0
) -> list[pa.RecordBatch]:
    """``rows`` http_events rows in time order over the window ending at ``now_ns``."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    template = _template(now_ns, seed)
    times = template.column("time_").cast(pa.int64())
    first, last = pc.min(times).as_py(), pc.max(times).as_py()
    span = max(1, last - first)
    tiles = -(-rows // template.num_rows)
    slice_ns = SYNTHETIC_WINDOW_NS // tiles
    start = now_ns - SYNTHETIC_WINDOW_NS
    batches: list[pa.RecordBatch] = []
    remaining = rows
    for tile in range(tiles):
        part = template.slice(0, min(remaining, template.num_rows))
        offsets = pc.subtract(part.column("time_").cast(pa.int64()), first)
        # In float: offset * slice_ns overflows int64 (1e11 * 1e10).
        scaled = pc.multiply(offsets.cast(pa.float64()), slice_ns / span)
        retimed = pc.add(pc.floor(scaled).cast(pa.int64()), start + tile * slice_ns)
        retimed = retimed.cast(pa.timestamp("ns"))
        part = part.set_column(
            part.schema.get_field_index("time_"), part.schema.field("time_"), retimed
        )
        batches.extend(part.combine_chunks().to_batches())
        remaining -= part.num_rows
    return batches
