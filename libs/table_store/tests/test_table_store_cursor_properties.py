"""Property: whatever the interleaving of appends, compactions, evictions and reads, a cursor
returns each row at most once, in row order, and misses only rows evicted before it got there."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pyxie_table_store import Table
from pyxie_types import Column, DataType, Relation, TableSchema

SCHEMA = TableSchema(
    "prop_events",
    Relation(
        (
            Column("time_", DataType.TIME64NS),
            Column("seq", DataType.INT64),
            Column("msg", DataType.STRING),
        )
    ),
)


@dataclass(frozen=True)
class Append:
    rows: int
    jitter: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class Compact:
    pass


@dataclass(frozen=True)
class Read:
    max_rows: int | None


_ops = st.lists(
    st.one_of(
        st.integers(2, 8).flatmap(
            lambda n: st.builds(
                Append,
                st.just(n),
                st.lists(st.integers(-5, 5), min_size=n, max_size=n).map(tuple),
                st.text(max_size=4),
            )
        ),
        st.just(Compact()),
        st.builds(Read, st.one_of(st.none(), st.integers(1, 30))),
    ),
    min_size=5,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    ops=_ops,
    streaming=st.booleans(),
    window=st.one_of(st.none(), st.tuples(st.integers(-10, 300), st.integers(0, 120))),
    preload=st.integers(0, 8),
    capacity=st.floats(0.1, 1.2),
)
def test_cursor_returns_each_row_once_and_misses_only_evicted_rows(
    ops: list[Append | Compact | Read],
    streaming: bool,
    window: tuple[int, int] | None,
    preload: int,
    capacity: float,
) -> None:
    # Build every batch first so the limit can be set from real sizes: it holds `capacity` of
    # all the bytes the run appends (so most runs evict) and never less than the largest batch.
    times: list[int] = []
    batches: list[pa.RecordBatch] = []
    for rows, jitter, text in [(preload, (0,) * preload, "pre")] + [
        (op.rows, op.jitter, op.text) for op in ops if isinstance(op, Append)
    ]:
        seqs = list(range(len(times), len(times) + rows))
        new_times = [max(0, s + j) for s, j in zip(seqs, jitter, strict=True)]
        times.extend(new_times)
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(new_times, pa.timestamp("ns")),
                    pa.array(seqs, pa.int64()),
                    pa.array([f"{text}{s}" for s in seqs], pa.string()),
                ],
                schema=SCHEMA.arrow_schema(),
            )
        )
    total_bytes = sum(b.nbytes for b in batches)
    max_bytes = max(max(b.nbytes for b in batches), int(total_bytes * capacity), 1)
    table = Table(SCHEMA, max_bytes=max_bytes, compacted_batch_bytes=150)
    pending = iter(batches)
    appended_rows = 0

    def append() -> None:
        nonlocal appended_rows
        batch = next(pending)
        table.append(batch)
        appended_rows += batch.num_rows

    append()  # the preload (maybe empty)
    start, stop = (None, None) if window is None else (window[0], window[0] + window[1])
    cursor = table.cursor(start, stop, streaming=streaming)
    first_id = table.stats().oldest_row_id
    high_water_mark = appended_rows
    returned: list[int] = []
    exhausted_at: int | None = None

    def in_window(seq: int) -> bool:
        return (start is None or times[seq] >= start) and (stop is None or times[seq] <= stop)

    def read(max_rows: int | None) -> None:
        oldest_before = table.stats().oldest_row_id
        batch = cursor.next_batch(max_rows)
        if batch is None:
            return
        seqs = batch.column("seq").to_pylist()
        assert 0 < len(seqs) <= (max_rows or len(seqs))
        assert all(in_window(s) for s in seqs)
        assert all(s >= oldest_before for s in seqs)
        # Columns stay aligned through compaction: each message ends with its row's seq.
        msgs = batch.column("msg").to_pylist()
        assert all(m.endswith(str(s)) for m, s in zip(msgs, seqs, strict=True))
        returned.extend(seqs)

    for op in ops:
        if isinstance(op, Append):
            append()
        elif isinstance(op, Compact):
            table.compact()
        else:
            read(op.max_rows)
        stats = table.stats()
        assert stats.bytes <= stats.max_bytes
        if cursor.exhausted and exhausted_at is None:
            # A streaming cursor with a stop time closes once the table has moved past the
            # stop; late rows appended after that are out of its reach by design.
            exhausted_at = appended_rows

    oldest_at_end = table.stats().oldest_row_id
    event("evicted" if table.stats().rows_evicted else "nothing evicted")
    while (batch := cursor.next_batch()) is not None:
        returned.extend(batch.column("seq").to_pylist())

    assert returned == sorted(set(returned)), "a row came back twice or out of order"
    if cursor.exhausted and exhausted_at is None:
        exhausted_at = appended_rows
    reachable = appended_rows if streaming else high_water_mark
    if exhausted_at is not None:
        reachable = min(reachable, exhausted_at)
    must_see = [s for s in range(oldest_at_end, reachable) if in_window(s)]
    assert set(must_see) <= set(returned), "a row that was never evicted was not returned"
    assert all(s < reachable for s in returned)
    if not streaming:
        assert cursor.exhausted
    if window is None:
        assert cursor.rows_returned + cursor.rows_expired_unread == reachable - first_id
