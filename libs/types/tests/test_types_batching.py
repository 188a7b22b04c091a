"""split_to_fit: pieces under the budget, in row order, oversized single rows alone."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyxie_types.batching import split_to_fit


def _batch(sizes: list[int]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"i": list(range(len(sizes))), "s": ["x" * n for n in sizes]})


def _encoded_size(piece: pa.RecordBatch) -> int:
    return int(piece.nbytes)


def test_pieces_stay_under_the_budget_and_keep_every_row_in_order() -> None:
    batch = _batch([100] * 1000)
    pieces = list(split_to_fit(batch, lambda p: p, _encoded_size, 10_000))
    assert len(pieces) > 1
    assert all(p.nbytes <= 10_000 for p in pieces)
    assert pa.Table.from_batches(pieces).column("i").to_pylist() == list(range(1000))


def test_a_piece_whose_encoding_grows_past_the_estimate_is_halved_until_it_fits() -> None:
    # Rows grow tenfold when encoded, which the estimate does not know about.
    batch = _batch([50] * 400)
    pieces = list(split_to_fit(batch, lambda p: p, lambda p: p.nbytes * 10, 20_000))
    assert all(p.nbytes * 10 <= 20_000 for p in pieces)
    assert sum(p.num_rows for p in pieces) == 400


def test_a_single_row_over_the_budget_travels_alone() -> None:
    batch = _batch([10, 50_000, 10])
    pieces = list(split_to_fit(batch, lambda p: p, _encoded_size, 1_000))
    assert [p.column(0).to_pylist() for p in pieces] == [[0], [1], [2]]


def test_an_empty_batch_is_one_empty_piece_and_a_zero_budget_is_refused() -> None:
    empty = _batch([])
    assert [p.num_rows for p in split_to_fit(empty, lambda p: p, _encoded_size, 100)] == [0]
    with pytest.raises(ValueError, match="budget_bytes"):
        list(split_to_fit(empty, lambda p: p, _encoded_size, 0))
