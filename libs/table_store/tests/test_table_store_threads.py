"""Appends from a collector thread while other threads read and compact: real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyarrow as pa
from pyxie_table_store import Cursor, Table
from pyxie_types import TableSchema

BatchFactory = Callable[..., pa.RecordBatch]

BATCHES = 400
ROWS_PER_BATCH = 100


def test_concurrent_append_compact_and_read_lose_and_repeat_nothing(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    batches = [
        make_events(range(i * ROWS_PER_BATCH, (i + 1) * ROWS_PER_BATCH), msg=f"b{i}")
        for i in range(BATCHES)
    ]
    # Room for about a quarter of the data: eviction runs all the time.
    table = Table(
        events_schema,
        max_bytes=sum(b.nbytes for b in batches) // 4,
        compacted_batch_bytes=batches[0].nbytes * 3,
    )
    writer_done = threading.Event()
    errors: list[BaseException] = []
    streaming = table.cursor(streaming=True)
    # A reader that never falls behind far enough to lose rows: it waits for the writer.
    lossless = table.cursor(streaming=True)
    lossless_turn = threading.Semaphore(0)
    lossless_caught_up = threading.Event()
    results: dict[str, list[int]] = {}

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                # Unblock every other thread so the test fails instead of hanging.
                writer_done.set()
                lossless_turn.release()
                lossless_caught_up.set()

        return run

    def write() -> None:
        for i, batch in enumerate(batches):
            table.append(batch)
            if i % 50 == 49:
                lossless_turn.release()
                # Yield so the lossless reader catches up before eviction reaches its rows.
                lossless_caught_up.wait()
                lossless_caught_up.clear()
        writer_done.set()
        lossless_turn.release()

    def read_lossless() -> None:
        seqs: list[int] = []
        while True:
            lossless_turn.acquire()
            seqs.extend(_read_available(lossless))
            lossless_caught_up.set()
            if writer_done.is_set():
                seqs.extend(_read_available(lossless))
                break
        results["lossless"] = seqs

    def read_streaming() -> None:
        seqs: list[int] = []
        while not writer_done.is_set():
            seqs.extend(_read_available(streaming, max_rows=37))
        seqs.extend(_read_available(streaming))
        results["streaming"] = seqs

    def compact() -> None:
        while not writer_done.is_set():
            table.compact()

    threads = [
        threading.Thread(target=guarded(fn), name=fn.__name__)
        for fn in (write, read_lossless, read_streaming, compact)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    total = BATCHES * ROWS_PER_BATCH
    stats = table.stats()
    assert stats.rows_appended == total
    assert stats.rows_evicted > 0
    assert stats.bytes <= stats.max_bytes

    assert results["lossless"] == list(range(total))
    assert lossless.rows_expired_unread == 0

    seen = results["streaming"]
    assert seen == sorted(set(seen)), "a row came back twice or out of order"
    assert set(range(stats.oldest_row_id, total)) <= set(seen)
    assert streaming.rows_returned + streaming.rows_expired_unread == total

    # A fresh scan sees exactly the stored rows, contiguous and intact.
    final = [s for b in table.cursor() for s in b.column("seq").to_pylist()]
    assert final == list(range(stats.oldest_row_id, total))


def test_non_streaming_reader_during_appends_stops_at_its_high_water_mark(
    events_schema: TableSchema, make_events: BatchFactory
) -> None:
    table = Table(events_schema, max_bytes=1 << 26)
    for i in range(20):
        table.append(make_events(range(i * 10, i * 10 + 10)))
    cursor = table.cursor()
    stop = threading.Event()

    def write_more() -> None:
        i = 20
        while not stop.is_set() and i < 2000:
            table.append(make_events(range(i * 10, i * 10 + 10)))
            i += 1

    writer = threading.Thread(target=write_more)
    writer.start()
    try:
        seqs = _read_available(cursor, max_rows=3)
    finally:
        stop.set()
        writer.join()
    assert seqs == list(range(200))
    assert cursor.exhausted


def _read_available(cursor: Cursor, max_rows: int | None = None) -> list[int]:
    seqs: list[int] = []
    while (batch := cursor.next_batch(max_rows)) is not None:
        msgs = batch.column("msg").to_pylist()
        batch_seqs = batch.column("seq").to_pylist()
        # Every row still carries its own batch's message: columns never get misaligned.
        assert msgs == [f"b{s // ROWS_PER_BATCH}" for s in batch_seqs] or set(msgs) == {"m"}
        seqs.extend(batch_seqs)
    return seqs
