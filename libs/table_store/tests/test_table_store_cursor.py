"""Reading: time bounds, column selection, streaming, and cursors across compaction/eviction."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from pyxie_table_store import (
    Cursor,
    NoTimeColumnError,
    Table,
    UnknownColumnError,
)
from pyxie_types import TableSchema

BatchFactory = Callable[..., pa.RecordBatch]


def _drain(cursor: Cursor, max_rows: int | None = None) -> list[int]:
    seqs: list[int] = []
    while (batch := cursor.next_batch(max_rows)) is not None:
        assert batch.num_rows > 0
        if max_rows is not None:
            assert batch.num_rows <= max_rows
        seqs.extend(batch.column("seq").to_pylist())
    return seqs


def test_time_bounds_are_inclusive_at_both_ends(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events(range(0, 50)))
    table.append(make_events(range(50, 100)))
    assert _drain(table.cursor(start_time_ns=20, stop_time_ns=60)) == list(range(20, 61))
    assert _drain(table.cursor(start_time_ns=99)) == [99]
    assert _drain(table.cursor(stop_time_ns=0)) == [0]
    assert _drain(table.cursor(start_time_ns=40, stop_time_ns=40)) == [40]


def test_time_filter_does_not_assume_rows_are_time_ordered(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events([0, 1, 2, 3], times=[500, 5, 300, 100]))
    table.append(make_events([4, 5], times=[1, 250]))
    assert _drain(table.cursor(start_time_ns=100, stop_time_ns=300)) == [2, 3, 5]
    assert _drain(table.cursor(start_time_ns=100, stop_time_ns=300), max_rows=1) == [2, 3, 5]


def test_start_after_stop_reads_nothing(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events(range(10)))
    cursor = table.cursor(start_time_ns=5, stop_time_ns=4)
    assert cursor.exhausted
    assert cursor.next_batch() is None


def test_columns_are_selected_and_ordered_as_requested(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events([1, 2], msg=["a", "b"]))
    batch = table.cursor(columns=["msg", "time_"]).next_batch()
    assert batch is not None
    assert batch.schema.names == ["msg", "time_"]
    assert batch.column("msg").to_pylist() == ["a", "b"]
    # Semantic types travel in field metadata and survive selection.
    assert batch.schema.field("time_").metadata == table.arrow_schema.field("time_").metadata


def test_unknown_column_error_lists_available_columns(events_schema: TableSchema) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    with pytest.raises(UnknownColumnError, match=r"'nope'.*available columns: time_, seq, msg"):
        table.cursor(columns=["seq", "nope"])


def test_empty_table_non_streaming_cursor_is_exhausted(events_schema: TableSchema) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    cursor = table.cursor()
    assert cursor.next_batch() is None
    assert cursor.exhausted


def test_non_streaming_cursor_stops_at_rows_present_when_created(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events(range(10)))
    cursor = table.cursor()
    table.append(make_events(range(10, 20)))
    assert _drain(cursor) == list(range(10))
    assert cursor.exhausted


def test_streaming_cursor_returns_rows_appended_later(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    cursor = table.cursor(streaming=True)
    assert cursor.next_batch() is None
    assert not cursor.exhausted
    table.append(make_events(range(5)))
    assert _drain(cursor) == list(range(5))
    table.append(make_events(range(5, 8)))
    assert _drain(cursor) == [5, 6, 7]
    assert not cursor.exhausted


def test_streaming_cursor_with_stop_time_ends_once_the_table_moves_past_it(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    cursor = table.cursor(start_time_ns=10, stop_time_ns=20, streaming=True)
    table.append(make_events(range(0, 15)))
    assert _drain(cursor) == list(range(10, 15))
    assert not cursor.exhausted
    table.append(make_events(range(15, 30)))
    assert _drain(cursor) == list(range(15, 21))
    assert cursor.exhausted


def test_max_rows_splits_output(events_schema: TableSchema, make_events: BatchFactory) -> None:
    table = Table(events_schema, max_bytes=1 << 20)
    table.append(make_events(range(10)))
    table.append(make_events(range(10, 25)))
    assert _drain(table.cursor(), max_rows=4) == list(range(25))
    assert _drain(table.cursor(start_time_ns=3, stop_time_ns=21), max_rows=4) == list(range(3, 22))


def test_table_without_time_column_supports_unbounded_scans_only(
    no_time_schema: TableSchema,
) -> None:
    table = Table(no_time_schema, max_bytes=1 << 20)
    table.append(pa.record_batch({"seq": pa.array([1, 2]), "msg": pa.array(["a", "b"])}))
    table.compact()
    assert _drain(table.cursor()) == [1, 2]
    with pytest.raises(NoTimeColumnError, match="no_time"):
        table.cursor(start_time_ns=0)


def test_cursor_never_returns_a_row_twice_across_compaction_and_eviction(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    batch_bytes = make_events(range(10)).nbytes
    table = Table(events_schema, max_bytes=batch_bytes * 6, compacted_batch_bytes=batch_bytes * 3)
    for start in range(0, 40, 10):
        table.append(make_events(range(start, start + 10)))
    cursor = table.cursor(streaming=True)
    seen = _first(cursor, max_rows=7)
    table.compact()  # the cursor is now in the middle of a cold batch
    seen += _first(cursor, max_rows=7)
    for start in range(40, 80, 10):
        table.append(make_events(range(start, start + 10)))  # evicts rows the cursor skipped
    seen += _drain(cursor)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert seen[:14] == list(range(14))
    stored = set(_drain(table.cursor()))
    assert stored <= set(seen)
    assert cursor.rows_expired_unread == 80 - len(seen) > 0
    assert cursor.rows_returned == len(seen)


def test_unicode_and_very_long_strings_survive_compaction(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    texts = ["héllo wörld", "日本語のテキスト", "emoji 🐛🔥", "", "x" * 1_000_000, "\u0000nul"]

    table = Table(events_schema, max_bytes=64 << 20, compacted_batch_bytes=1024)
    for i, text in enumerate(texts):
        table.append(make_events([i], msg=text))
    table.compact()
    assert table.stats().hot_batches == 0
    out = pa.Table.from_batches(list(table.cursor()))
    assert out.column("msg").to_pylist() == texts


def test_byte_accounting_matches_stored_batches_before_and_after_compaction(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 24, compacted_batch_bytes=4096)
    inputs = [make_events(range(s, s + 50), msg=f"payload-{s}") for s in range(0, 5000, 50)]
    for batch in inputs:
        table.append(batch)
    before = table.stats()
    assert before.bytes == sum(b.nbytes for b in inputs)
    made = table.compact()
    after = table.stats()
    assert made == after.cold_batches > 1
    assert after.hot_batches == 0
    assert after.compactions == 1
    assert after.rows == before.rows == 5000
    stored = list(table.cursor())
    assert after.bytes == sum(b.nbytes for b in stored)
    assert abs(after.bytes - before.bytes) <= before.bytes // 100
    assert [s for b in stored for s in b.column("seq").to_pylist()] == list(range(5000))


def test_compaction_makes_at_most_the_configured_number_of_cold_batches(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    batch_bytes = make_events(range(10)).nbytes
    table = Table(
        events_schema,
        max_bytes=1 << 24,
        compacted_batch_bytes=batch_bytes,
        max_cold_batches_per_compaction=3,
    )
    for start in range(0, 100, 10):
        table.append(make_events(range(start, start + 10)))
    assert table.compact() == 3
    assert (table.stats().cold_batches, table.stats().hot_batches) == (3, 7)
    assert _drain(table.cursor()) == list(range(100))


def test_large_hot_batch_is_split_into_cold_sized_batches(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    big = make_events(range(10_000))
    table = Table(events_schema, max_bytes=1 << 24, compacted_batch_bytes=big.nbytes // 10)
    table.append(big)
    table.compact()
    stats = table.stats()
    assert stats.cold_batches == 10
    assert stats.bytes <= big.nbytes + 10 * 64
    assert _drain(table.cursor()) == list(range(10_000))


def _first(cursor: Cursor, max_rows: int) -> list[int]:
    batch = cursor.next_batch(max_rows)
    assert batch is not None
    return list(batch.column("seq").to_pylist())
