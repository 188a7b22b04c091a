"""Appending: schema checks, byte limits and oldest-first eviction."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from pyxie_table_store import (
    BatchTooLargeError,
    NullValuesError,
    SchemaMismatchError,
    Table,
    TableStoreError,
)
from pyxie_types import TableSchema

BatchFactory = Callable[..., pa.RecordBatch]


def _all_seqs(table: Table) -> list[int]:
    cursor = table.cursor()
    return [seq for batch in cursor for seq in batch.column("seq").to_pylist()]


def test_eviction_drops_oldest_rows_first_and_keeps_bytes_under_limit(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    one = make_events(range(100))
    table = Table(events_schema, max_bytes=one.nbytes * 5 + 10)
    for start in range(0, 2000, 100):
        table.append(make_events(range(start, start + 100)))
        assert table.stats().bytes <= table.max_bytes
    seqs = _all_seqs(table)
    assert seqs == list(range(1500, 2000))
    stats = table.stats()
    assert stats.rows == 500
    assert stats.rows_evicted == 1500
    assert stats.rows_appended == 2000
    assert stats.bytes + stats.bytes_evicted == 20 * one.nbytes


def test_eviction_takes_cold_batches_before_hot_ones(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    batch_bytes = make_events(range(10)).nbytes
    table = Table(events_schema, max_bytes=batch_bytes * 4, compacted_batch_bytes=batch_bytes)
    table.append(make_events(range(0, 10)))
    table.append(make_events(range(10, 20)))
    table.compact()
    table.append(make_events(range(20, 30)))
    table.append(make_events(range(30, 40)))
    assert (table.stats().cold_batches, table.stats().hot_batches) == (2, 2)
    table.append(make_events(range(40, 50)))
    stats = table.stats()
    assert (stats.cold_batches, stats.hot_batches) == (1, 3)
    assert _all_seqs(table) == list(range(10, 50))


def test_batch_larger_than_the_table_is_rejected_and_nothing_is_lost(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    small = make_events(range(10))
    table = Table(events_schema, max_bytes=small.nbytes * 3)
    table.append(small)
    huge = make_events(range(10, 1010), msg="x" * 100)
    with pytest.raises(BatchTooLargeError, match=r"larger than the whole limit of table"):
        table.append(huge)
    assert _all_seqs(table) == list(range(10))
    assert table.stats().rows_evicted == 0
    table.append(make_events(range(10, 20)))
    assert _all_seqs(table) == list(range(20))


def test_schema_mismatch_names_every_difference(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events([1]))
    bad = pa.record_batch(
        {
            "time_": pa.array([1], pa.int64()),
            "seq": pa.array([1], pa.int64()),
            "extra": pa.array([1.0]),
        }
    )
    with pytest.raises(SchemaMismatchError) as info:
        table.append(bad)
    message = str(info.value)
    assert "test_events" in message
    assert "missing columns ['msg']" in message
    assert "unexpected columns ['extra']" in message
    assert "column 'time_' has type int64, expected timestamp[ns]" in message
    assert isinstance(info.value, TableStoreError)
    assert table.stats().rows == 1


def test_batch_with_same_columns_in_another_order_or_without_metadata_is_accepted(
    events_schema: TableSchema,
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    reordered = pa.record_batch(
        {
            "msg": pa.array(["a", "b"]),
            "seq": pa.array([1, 2], pa.int64()),
            "time_": pa.array([10, 20], pa.timestamp("ns")),
        }
    )
    table.append(reordered)
    out = table.cursor().next_batch()
    assert out is not None
    assert out.schema.equals(table.arrow_schema, check_metadata=True)
    assert out.column("seq").to_pylist() == [1, 2]
    assert out.column("msg").to_pylist() == ["a", "b"]


def test_batch_with_nulls_is_rejected(events_schema: TableSchema) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    with_null = pa.record_batch(
        {
            "time_": pa.array([1, 2], pa.timestamp("ns")),
            "seq": pa.array([1, None], pa.int64()),
            "msg": pa.array(["a", "b"]),
        }
    )
    with pytest.raises(NullValuesError, match="seq"):
        table.append(with_null)
    assert table.stats().rows == 0


def test_empty_batch_stores_nothing(events_schema: TableSchema, make_events: BatchFactory) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events([]))
    stats = table.stats()
    assert (stats.rows, stats.bytes, stats.hot_batches, stats.next_row_id) == (0, 0, 0, 0)


def test_shrinking_the_limit_evicts_at_once(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    batch_bytes = make_events(range(10)).nbytes
    table = Table(events_schema, max_bytes=batch_bytes * 10)
    for start in range(0, 50, 10):
        table.append(make_events(range(start, start + 10)))
    table.set_max_bytes(batch_bytes * 2)
    assert table.stats().bytes <= batch_bytes * 2
    assert _all_seqs(table) == list(range(30, 50))


def test_store_append_routes_by_table_name(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    from pyxie_table_store import TableStore

    store = TableStore()
    store.add_table(events_schema, max_bytes=1 << 20)
    store.append("test_events", make_events([1, 2, 3]))
    assert store.table("test_events").stats().rows == 3


def test_store_compact_compacts_every_table_and_reports_stats(
    events_schema: TableSchema, no_time_schema: TableSchema, make_events: BatchFactory
) -> None:
    from pyxie_table_store import TableStore

    store = TableStore.from_schemas([events_schema, no_time_schema])
    for start in range(0, 100, 10):
        store.append("test_events", make_events(range(start, start + 10)))
        store.append("no_time", pa.record_batch({"seq": pa.array([start]), "msg": pa.array(["x"])}))
    assert store.compact() == 2
    stats = store.stats()
    assert {name: (s.hot_batches, s.cold_batches, s.compactions) for name, s in stats.items()} == {
        "test_events": (0, 1, 1),
        "no_time": (0, 1, 1),
    }
    assert store.total_bytes() == stats["test_events"].bytes + stats["no_time"].bytes
