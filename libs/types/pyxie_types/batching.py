"""`split_to_fit`: one Arrow batch as encoded pieces that each stay under a byte budget.

Both result paths use it: the engine's GRPC sink (Arrow IPC payloads to Kelvin and the broker)
and the query broker (`RowBatchData` messages to the client). The batch is first sliced by an
estimate (Arrow bytes per row times `expansion`, the encoding's usual growth); a piece whose
encoding is still over the budget is halved until it fits. A single row larger than the budget
is sent alone: it cannot be split further.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pyarrow as pa

__all__ = ["split_to_fit"]

_Encoded = TypeVar("_Encoded")


def split_to_fit(
    batch: pa.RecordBatch,
    encode: Callable[[pa.RecordBatch], _Encoded],
    size: Callable[[_Encoded], int],
    budget_bytes: int,
    *,
    expansion: float = 1.0,
) -> Iterator[_Encoded]:
    """`encode` of consecutive slices of `batch`, in row order, each `size` <= `budget_bytes`
    where possible. An empty batch yields one (empty) piece."""
    if budget_bytes <= 0:
        raise ValueError("budget_bytes must be positive")
    if batch.num_rows == 0:
        yield encode(batch)
        return
    per_row = max(batch.nbytes / batch.num_rows, 1.0) * expansion
    rows = max(1, int(budget_bytes / per_row))
    pending = [batch.slice(offset, rows) for offset in range(0, batch.num_rows, rows)]
    pending.reverse()
    while pending:
        piece = pending.pop()
        encoded = encode(piece)
        if size(encoded) > budget_bytes and piece.num_rows > 1:
            half = piece.num_rows // 2
            pending.append(piece.slice(half))
            pending.append(piece.slice(0, half))
            continue
        yield encoded
