"""Synthetic http_events for benchmarks: exactly N rows, in time order, inside the window."""

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_synthetic.http_events import SYNTHETIC_WINDOW_NS, synthetic_http_events
from pyxie_types.tables import HTTP_EVENTS

_NOW = 1_800_000_000 * 10**9


def test_synthetic_rows_are_exactly_n_in_time_order_inside_the_window() -> None:
    table = pa.Table.from_batches(synthetic_http_events(45_001, now_ns=_NOW))
    assert table.num_rows == 45_001
    assert table.schema.equals(HTTP_EVENTS.arrow_schema())
    times = table.column("time_").cast(pa.int64()).combine_chunks()
    assert pc.all(pc.greater_equal(pc.pairwise_diff(times).fill_null(0), 0)).as_py()
    assert _NOW - SYNTHETIC_WINDOW_NS <= pc.min(times).as_py() <= pc.max(times).as_py() <= _NOW
