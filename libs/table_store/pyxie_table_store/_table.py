"""One table: a byte-bounded ring buffer of Arrow record batches (Pixie's `table_store/table`).

Layout. Appended batches go to the *hot* partition untouched. `compact()` (the agent calls it
every minute) copies hot batches into *cold* batches of about `compacted_batch_bytes`, so scans
see few, large batches and eviction frees memory in even steps. Rows get consecutive row ids in
append order; ids are never materialised as a column, each stored batch keeps only the id of its
first row. Eviction removes the oldest batches (cold, then hot), so the stored rows are always one
contiguous id range `[oldest_row_id, next_row_id)`: cursors resume by row id and neither
compaction nor eviction can make them return a row twice.

Locking. One lock per table guards the two partition lists and the counters. It is held for list
edits and lookups only; validating a batch, compacting (copying) and slicing/filtering for a
reader all happen outside it. Arrow batches are immutable, so a reader holding a batch that is
evicted or compacted meanwhile still reads valid data.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import TableSchema

from ._budget import DEFAULT_COMPACTED_BATCH_BYTES, MAX_COLD_BATCHES_PER_COMPACTION
from ._errors import (
    BatchTooLargeError,
    NoTimeColumnError,
    NullValuesError,
    SchemaMismatchError,
    UnknownColumnError,
)

__all__ = ["Cursor", "Table", "TableStats"]

# A hot batch at least this many times the compacted size is split across several cold batches
# instead of being kept whole, so eviction granularity stays near the compacted size.
_SPLIT_FACTOR = 2


@dataclass(frozen=True, slots=True)
class TableStats:
    """A consistent snapshot of one table's counters (taken under the table lock)."""

    name: str
    rows: int
    bytes: int
    hot_batches: int
    cold_batches: int
    max_bytes: int
    rows_appended: int
    batches_appended: int
    rows_evicted: int
    bytes_evicted: int
    batches_evicted: int
    compactions: int
    oldest_row_id: int
    next_row_id: int


@dataclass(frozen=True, slots=True)
class _StoredBatch:
    batch: pa.RecordBatch
    first_row_id: int
    num_rows: int
    nbytes: int
    # Bounds of the time column in this batch; None when the table has no time column.
    min_time: int | None
    max_time: int | None

    @property
    def end_row_id(self) -> int:
        return self.first_row_id + self.num_rows


# Pieces to concatenate into one cold batch, the row id of its first row, and whether the pieces
# are slices of a bigger hot batch (then they must be copied so eviction frees their memory).
_Group = tuple[list[pa.RecordBatch], int, bool]


def _first_row_id(entry: _StoredBatch) -> int:
    return entry.first_row_id


def _time_bounds(batch: pa.RecordBatch, time_index: int | None) -> tuple[int | None, int | None]:
    if time_index is None or batch.num_rows == 0:
        return None, None
    bounds = pc.min_max(batch.column(time_index).view(pa.int64()))
    return bounds["min"].as_py(), bounds["max"].as_py()


class Table:
    """A named, schema-checked, byte-bounded table. Safe for one writer and many readers."""

    def __init__(
        self,
        schema: TableSchema,
        max_bytes: int,
        *,
        compacted_batch_bytes: int = DEFAULT_COMPACTED_BATCH_BYTES,
        max_cold_batches_per_compaction: int = MAX_COLD_BATCHES_PER_COMPACTION,
    ) -> None:
        _check_max_bytes(schema.name, max_bytes)
        if compacted_batch_bytes <= 0:
            raise ValueError(f"compacted_batch_bytes must be positive, got {compacted_batch_bytes}")
        if max_cold_batches_per_compaction <= 0:
            raise ValueError("max_cold_batches_per_compaction must be positive")
        self._schema = schema
        self._arrow_schema = schema.arrow_schema()
        self._names = tuple(self._arrow_schema.names)
        self._types = tuple(f.type for f in self._arrow_schema)
        self._time_index = schema.relation.index(schema.time_column) if schema.time_column else None
        self._compacted_batch_bytes = compacted_batch_bytes
        self._max_cold_batches = max_cold_batches_per_compaction

        self._lock = threading.Lock()
        # Serialises compactions; appends and reads proceed while one runs.
        self._compaction_lock = threading.Lock()
        # Both lists are ordered by row id and every cold id is below every hot id.
        self._cold: list[_StoredBatch] = []
        self._hot: list[_StoredBatch] = []
        self._max_bytes = max_bytes
        self._bytes = 0
        self._rows = 0
        self._next_row_id = 0
        # Largest time ever appended: tells a streaming cursor the table has moved past its stop.
        self._max_time: int | None = None
        self._batches_appended = 0
        self._rows_evicted = 0
        self._bytes_evicted = 0
        self._batches_evicted = 0
        self._compactions = 0

    # -- description --------------------------------------------------------------------------

    @property
    def schema(self) -> TableSchema:
        return self._schema

    @property
    def name(self) -> str:
        return self._schema.name

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._arrow_schema

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def compacted_batch_bytes(self) -> int:
        return self._compacted_batch_bytes

    def __repr__(self) -> str:
        return f"Table({self.name!r}, max_bytes={self._max_bytes})"

    def stats(self) -> TableStats:
        with self._lock:
            return TableStats(
                name=self.name,
                rows=self._rows,
                bytes=self._bytes,
                hot_batches=len(self._hot),
                cold_batches=len(self._cold),
                max_bytes=self._max_bytes,
                rows_appended=self._next_row_id,
                batches_appended=self._batches_appended,
                rows_evicted=self._rows_evicted,
                bytes_evicted=self._bytes_evicted,
                batches_evicted=self._batches_evicted,
                compactions=self._compactions,
                oldest_row_id=self._oldest_row_id_locked(),
                next_row_id=self._next_row_id,
            )

    # -- writing ------------------------------------------------------------------------------

    def append(self, batch: pa.RecordBatch) -> None:
        """Store `batch`, evicting the oldest rows first if it would not fit under max_bytes.

        Raises SchemaMismatchError, NullValuesError or BatchTooLargeError; on any error nothing
        is stored and nothing is evicted.
        """
        normalized = self._conform(batch)
        num_rows = normalized.num_rows
        if num_rows == 0:
            return
        nbytes = normalized.nbytes
        min_time, max_time = _time_bounds(normalized, self._time_index)
        with self._lock:
            if nbytes > self._max_bytes:
                raise BatchTooLargeError(
                    f"batch of {num_rows} rows is {nbytes} bytes, larger than the whole limit "
                    f"of table {self.name!r} ({self._max_bytes} bytes); split it into smaller "
                    f"batches"
                )
            self._evict_locked(incoming_bytes=nbytes)
            self._hot.append(
                _StoredBatch(normalized, self._next_row_id, num_rows, nbytes, min_time, max_time)
            )
            self._next_row_id += num_rows
            self._rows += num_rows
            self._bytes += nbytes
            self._batches_appended += 1
            if max_time is not None and (self._max_time is None or max_time > self._max_time):
                self._max_time = max_time

    def set_max_bytes(self, max_bytes: int) -> None:
        """Change the byte limit; evicts the oldest rows at once if the table is now over it."""
        _check_max_bytes(self.name, max_bytes)
        with self._lock:
            self._max_bytes = max_bytes
            self._evict_locked(incoming_bytes=0)

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` with exactly the table's schema (zero-copy), or a clear error."""
        if not isinstance(batch, pa.RecordBatch):
            raise TypeError(f"expected a pyarrow.RecordBatch, got {type(batch).__name__}")
        incoming = batch.schema
        if incoming.equals(self._arrow_schema, check_metadata=True):
            conformed = batch
        elif tuple(incoming.names) == self._names and all(
            f.type.equals(t) for f, t in zip(incoming, self._types, strict=True)
        ):
            # Same columns, different field metadata or nullability flags: relabel.
            conformed = pa.RecordBatch.from_arrays(batch.columns, schema=self._arrow_schema)
        else:
            self._raise_mismatch(incoming)
            # Same columns in another order.
            conformed = pa.RecordBatch.from_arrays(
                [batch.column(name) for name in self._names], schema=self._arrow_schema
            )
        with_nulls = [
            n for n, col in zip(self._names, conformed.columns, strict=True) if col.null_count
        ]
        if with_nulls:
            raise NullValuesError(
                f"batch for table {self.name!r} has nulls in column(s) {', '.join(with_nulls)}; "
                f'Pixie tables hold no nulls (use "" or 0 for a missing value)'
            )
        return conformed

    def _raise_mismatch(self, incoming: pa.Schema) -> None:
        """Raise SchemaMismatchError unless `incoming` has the table's columns in some order."""
        problems: list[str] = []
        names = list(incoming.names)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"duplicate columns {duplicates}")
        got = {f.name: f.type for f in incoming}
        missing = [n for n in self._names if n not in got]
        unexpected = [n for n in names if n not in self._names]
        if missing:
            problems.append(f"missing columns {missing}")
        if unexpected:
            problems.append(f"unexpected columns {unexpected}")
        for name, expected in zip(self._names, self._types, strict=True):
            actual = got.get(name)
            if actual is not None and not actual.equals(expected):
                problems.append(f"column {name!r} has type {actual}, expected {expected}")
        if problems:
            raise SchemaMismatchError(
                f"batch does not match the schema of table {self.name!r}: " + "; ".join(problems)
            )

    def _evict_locked(self, incoming_bytes: int) -> None:
        """Drop the oldest batches (cold first, then hot) until `incoming_bytes` more fit."""
        excess = self._bytes + incoming_bytes - self._max_bytes
        if excess <= 0:
            return
        freed_bytes = freed_rows = 0
        for partition in (self._cold, self._hot):
            count = 0
            while freed_bytes < excess and count < len(partition):
                freed_bytes += partition[count].nbytes
                freed_rows += partition[count].num_rows
                count += 1
            del partition[:count]
            self._batches_evicted += count
        self._bytes -= freed_bytes
        self._rows -= freed_rows
        self._bytes_evicted += freed_bytes
        self._rows_evicted += freed_rows

    # -- compaction ---------------------------------------------------------------------------

    def compact(self) -> int:
        """Move hot batches into cold batches of about `compacted_batch_bytes`.

        Makes at most `max_cold_batches_per_compaction` cold batches per call and returns how
        many it made. The copying happens outside the table lock; appends and reads go on.
        """
        with self._compaction_lock:
            with self._lock:
                snapshot = list(self._hot)
            if not snapshot:
                return 0
            groups, consumed = self._plan_compaction(snapshot)
            if consumed == 0:
                return 0
            cold = [self._build_cold_batch(*group) for group in groups]
            with self._lock:
                # Appends only add to the end of the hot list; only eviction removes from its
                # front. If eviction took any snapshot batch, drop this round: the rows are gone
                # and the cold batches would bring them back. (Only under extreme memory pressure:
                # eviction reaches hot batches only once the cold partition is empty.)
                if not self._hot or self._hot[0] is not snapshot[0]:
                    return 0
                removed_bytes = sum(entry.nbytes for entry in snapshot[:consumed])
                del self._hot[:consumed]
                self._cold.extend(cold)
                self._bytes += sum(entry.nbytes for entry in cold) - removed_bytes
                self._compactions += 1
                # Concatenation can change sizes by a few bytes (offsets, bitmaps): stay under.
                self._evict_locked(incoming_bytes=0)
            return len(cold)

    def _plan_compaction(self, hot: Sequence[_StoredBatch]) -> tuple[list[_Group], int]:
        """Group hot batches into cold-batch-sized runs; returns the groups and hot batches used.

        A group is (pieces to concatenate, row id of its first row, whether the pieces are slices
        of a bigger batch). Small batches are gathered until a group reaches the target size; a
        batch far above the target is split by rows. Only whole hot batches are consumed.
        """
        target = self._compacted_batch_bytes
        limit = self._max_cold_batches
        groups: list[_Group] = []
        pending: list[pa.RecordBatch] = []
        pending_first = 0
        pending_bytes = 0
        consumed = 0

        for entry in hot:
            if len(groups) >= limit:
                break
            if entry.nbytes >= _SPLIT_FACTOR * target:
                if pending:
                    groups.append((pending, pending_first, False))
                    pending, pending_bytes = [], 0
                    if len(groups) >= limit:
                        break
                parts = min(math.ceil(entry.nbytes / target), limit - len(groups))
                rows_per_part = math.ceil(entry.num_rows / parts)
                for start in range(0, entry.num_rows, rows_per_part):
                    piece = entry.batch.slice(start, rows_per_part)
                    groups.append(([piece], entry.first_row_id + start, True))
                consumed += 1
                continue
            if not pending:
                pending_first = entry.first_row_id
            pending.append(entry.batch)
            pending_bytes += entry.nbytes
            consumed += 1
            if pending_bytes >= target:
                groups.append((pending, pending_first, False))
                pending, pending_bytes = [], 0
        if pending:
            groups.append((pending, pending_first, False))
        return groups, consumed

    def _build_cold_batch(
        self, pieces: list[pa.RecordBatch], first_row_id: int, sliced: bool
    ) -> _StoredBatch:
        if len(pieces) == 1 and not sliced:
            # A lone whole hot batch: keep it rather than copy it.
            batch = pieces[0]
        else:
            # concat_batches copies into fresh buffers (even for a single sliced piece), so
            # every cold batch owns exactly its bytes and evicting it frees them.
            batch = pa.concat_batches(pieces)
        min_time, max_time = _time_bounds(batch, self._time_index)
        return _StoredBatch(batch, first_row_id, batch.num_rows, batch.nbytes, min_time, max_time)

    # -- reading ------------------------------------------------------------------------------

    def cursor(
        self,
        start_time_ns: int | None = None,
        stop_time_ns: int | None = None,
        columns: Sequence[str] | None = None,
        *,
        streaming: bool = False,
    ) -> Cursor:
        """A cursor over rows with `start_time_ns <= time <= stop_time_ns` (both inclusive).

        Non-streaming cursors end at the last row present when the cursor is made; streaming
        cursors keep returning rows appended later. `columns` picks and orders the output
        columns (all by default).
        """
        if self._time_index is None and (start_time_ns is not None or stop_time_ns is not None):
            raise NoTimeColumnError(
                f"table {self.name!r} has no time column; it supports only unbounded scans"
            )
        column_indices: list[int] | None = None
        if columns is not None:
            if isinstance(columns, str):
                raise TypeError("columns must be a sequence of column names, not a string")
            unknown = [c for c in columns if c not in self._schema.relation]
            if unknown:
                raise UnknownColumnError(
                    f"table {self.name!r} has no column(s) {', '.join(map(repr, unknown))}; "
                    f"available columns: {', '.join(self._names)}"
                )
            column_indices = [self._schema.relation.index(c) for c in columns]
        with self._lock:
            first_row_id = self._oldest_row_id_locked()
            high_water_mark = self._next_row_id
        return Cursor(
            self,
            start_time_ns=start_time_ns,
            stop_time_ns=stop_time_ns,
            column_indices=column_indices,
            first_row_id=first_row_id,
            stop_row_id=None if streaming else high_water_mark,
        )

    def _oldest_row_id_locked(self) -> int:
        if self._cold:
            return self._cold[0].first_row_id
        if self._hot:
            return self._hot[0].first_row_id
        return self._next_row_id

    def _locate(self, row_id: int) -> tuple[_StoredBatch | None, int, int | None]:
        """The stored batch holding `row_id`, or else the first one after it (None if none).

        Also returns the table's next row id and largest time seen, read under the same lock.
        """
        with self._lock:
            found: _StoredBatch | None = None
            for partition in (self._cold, self._hot):
                if partition and partition[-1].end_row_id > row_id:
                    position = bisect_right(partition, row_id, key=_first_row_id) - 1
                    found = partition[max(position, 0)]
                    break
            return found, self._next_row_id, self._max_time


def _check_max_bytes(name: str, max_bytes: int) -> None:
    if max_bytes <= 0:
        raise ValueError(f"max_bytes of table {name!r} must be positive, got {max_bytes}")


class Cursor:
    """Reads a table in row-id order; used by one reader at a time (not shared across threads).

    The cursor remembers the next row id it wants. Rows evicted before it reached them are
    skipped and counted in `rows_expired_unread`.
    """

    def __init__(
        self,
        table: Table,
        *,
        start_time_ns: int | None,
        stop_time_ns: int | None,
        column_indices: list[int] | None,
        first_row_id: int,
        stop_row_id: int | None,
    ) -> None:
        self._table = table
        self._time_index = table._time_index
        self._start = start_time_ns
        self._stop = stop_time_ns
        self._column_indices = column_indices
        self._next_row_id = first_row_id
        self._stop_row_id = stop_row_id
        self._rows_returned = 0
        self._rows_expired_unread = 0
        self._exhausted = (
            start_time_ns is not None and stop_time_ns is not None and start_time_ns > stop_time_ns
        ) or (stop_row_id is not None and first_row_id >= stop_row_id)

    @property
    def table(self) -> Table:
        return self._table

    @property
    def streaming(self) -> bool:
        return self._stop_row_id is None

    @property
    def exhausted(self) -> bool:
        """True once nothing more can ever come from this cursor."""
        return self._exhausted

    @property
    def rows_returned(self) -> int:
        return self._rows_returned

    @property
    def rows_expired_unread(self) -> int:
        """Rows evicted from the table before this cursor got to them."""
        return self._rows_expired_unread

    @property
    def next_row_id(self) -> int:
        return self._next_row_id

    def next_batch(self, max_rows: int | None = None) -> pa.RecordBatch | None:
        """The next batch of matching rows (at most `max_rows`), or None if none is available now.

        Never returns an empty batch. After None, check `exhausted` to tell "wait and poll
        again" (streaming) from "done".
        """
        if max_rows is not None and max_rows <= 0:
            raise ValueError(f"max_rows must be positive, got {max_rows}")
        while not self._exhausted:
            entry, table_next_row_id, table_max_time = self._table._locate(self._next_row_id)
            if entry is None:
                self._skip_expired_to(table_next_row_id)
                self._check_exhausted(caught_up=True, table_max_time=table_max_time)
                return None
            self._skip_expired_to(entry.first_row_id)
            self._check_exhausted(caught_up=False, table_max_time=table_max_time)
            if self._exhausted:
                return None
            batch = self._read(entry, max_rows)
            if batch is not None:
                self._rows_returned += batch.num_rows
                return batch
        return None

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> pa.RecordBatch:
        """Iterate over what is available now (ends at the first None, even when streaming)."""
        batch = self.next_batch()
        if batch is None:
            raise StopIteration
        return batch

    def _skip_expired_to(self, row_id: int) -> None:
        if self._stop_row_id is not None:
            row_id = min(row_id, self._stop_row_id)
        if row_id > self._next_row_id:
            self._rows_expired_unread += row_id - self._next_row_id
            self._next_row_id = row_id

    def _check_exhausted(self, *, caught_up: bool, table_max_time: int | None) -> None:
        if self._stop_row_id is not None:
            self._exhausted = self._next_row_id >= self._stop_row_id
        elif caught_up and self._stop is not None:
            # Streaming with a stop time: rows arrive roughly in time order, so once everything
            # present has been read and the table holds rows past the stop, the window is closed.
            self._exhausted = table_max_time is not None and table_max_time > self._stop

    def _read(self, entry: _StoredBatch, max_rows: int | None) -> pa.RecordBatch | None:
        """Matching rows of `entry` from the cursor's position on; advances the position."""
        offset = self._next_row_id - entry.first_row_id
        end = entry.num_rows
        if self._stop_row_id is not None:
            end = min(end, self._stop_row_id - entry.first_row_id)
        length = end - offset

        bounded = self._start is not None or self._stop is not None
        if bounded:
            assert entry.min_time is not None and entry.max_time is not None
            outside = (self._start is not None and entry.max_time < self._start) or (
                self._stop is not None and entry.min_time > self._stop
            )
            if outside:
                self._next_row_id += length
                return None
            inside = (self._start is None or entry.min_time >= self._start) and (
                self._stop is None or entry.max_time <= self._stop
            )
            bounded = not inside

        piece = entry.batch
        if offset or length != entry.num_rows:
            piece = piece.slice(offset, length)

        if not bounded:
            if max_rows is not None and length > max_rows:
                piece = piece.slice(0, max_rows)
                length = max_rows
            self._next_row_id += length
            return self._project(piece)

        mask = self._time_mask(piece)
        if max_rows is not None:
            positions = pc.indices_nonzero(mask)
            if len(positions) > max_rows:
                length = positions[max_rows - 1].as_py() + 1
                piece = piece.slice(0, length)
                mask = mask.slice(0, length)
        self._next_row_id += length
        selected = self._project(piece).filter(mask)
        return selected if selected.num_rows else None

    def _time_mask(self, piece: pa.RecordBatch) -> pa.BooleanArray:
        assert self._time_index is not None
        times = piece.column(self._time_index).view(pa.int64())
        if self._start is not None and self._stop is not None:
            mask = pc.and_(pc.greater_equal(times, self._start), pc.less_equal(times, self._stop))
        elif self._start is not None:
            mask = pc.greater_equal(times, self._start)
        else:
            mask = pc.less_equal(times, self._stop)
        return mask

    def _project(self, piece: pa.RecordBatch) -> pa.RecordBatch:
        if self._column_indices is None:
            return piece
        return piece.select(self._column_indices)
