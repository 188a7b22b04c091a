"""Shared builders for the table store tests: a small event table and batches for it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pytest
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

EVENTS = TableSchema(
    "test_events",
    Relation(
        (
            Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
            Column("seq", DataType.INT64, desc="unique sequence number of the row"),
            Column("msg", DataType.STRING),
        )
    ),
)

NO_TIME = TableSchema(
    "no_time", Relation.of(("seq", DataType.INT64), ("msg", DataType.STRING)), time_column=""
)

BatchFactory = Callable[..., pa.RecordBatch]


def events_batch(
    seqs: Sequence[int], times: Sequence[int] | None = None, msg: str | Sequence[str] = "m"
) -> pa.RecordBatch:
    """Rows with the given sequence numbers; time defaults to the sequence number."""
    times = list(seqs) if times is None else list(times)
    msgs = [msg] * len(seqs) if isinstance(msg, str) else list(msg)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(times, pa.timestamp("ns")),
            pa.array(seqs, pa.int64()),
            pa.array(msgs, pa.string()),
        ],
        schema=EVENTS.arrow_schema(),
    )


@pytest.fixture
def make_events() -> BatchFactory:
    return events_batch


@pytest.fixture
def events_schema() -> TableSchema:
    return EVENTS


@pytest.fixture
def no_time_schema() -> TableSchema:
    return NO_TIME
