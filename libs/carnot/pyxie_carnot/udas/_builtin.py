"""The builtin aggregates: count, sum, mean, min, max, any, quantiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import DataType, arrow_type

from ._base import UDA, ArrowAggSpec, fill_zero, zero_scalar
from ._tdigest import Digests, build_digests, merge_digests

__all__ = [
    "QUANTILE_KEYS",
    "AnyUDA",
    "CountUDA",
    "MaxUDA",
    "MeanUDA",
    "MinUDA",
    "QuantilesUDA",
    "SumUDA",
]

_COUNT_ALL = pc.CountOptions(mode="all")


class CountUDA(UDA):
    """Number of rows in the group, whatever the argument's type.

    Example: ``df.groupby('service').agg(n=('latency', px.count))`` → INT64 per service.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("count", _COUNT_ALL),)
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("sum", None),)

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.int64(),)

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        return fill_zero(states[0], DataType.INT64)

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([0], pa.int64())]


class SumUDA(UDA):
    """Sum of the group's values: INT64→INT64, FLOAT64→FLOAT64, BOOLEAN→INT64 (count of true).

    Example: ``df.agg(bytes=('resp_body_size', px.sum))`` → one row with the total.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("sum", None),)
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("sum", None),)

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (arrow_type(self.return_type),)

    def prepare(self, args: Sequence[pa.Array]) -> list[pa.Array]:
        if self.arg_types[0] is DataType.BOOLEAN:
            return [args[0].cast(pa.int64())]
        return [args[0]]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        return fill_zero(states[0], self.return_type)

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([zero_scalar(self.return_type).as_py()], self.state_types[0])]


class MeanUDA(UDA):
    """Arithmetic mean as FLOAT64 of INT64, FLOAT64 or BOOLEAN values (mean of a bool = rate).

    Example: ``df.groupby('service').agg(error_rate=('failure', px.mean))``.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (
        ("sum", None),
        ("count", _COUNT_ALL),
    )
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("sum", None), ("sum", None))
    int_sum_states: ClassVar[tuple[int, ...]] = (0,)

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.float64(), pa.int64())

    def prepare(self, args: Sequence[pa.Array]) -> list[pa.Array]:
        if self.arg_types[0] is DataType.INT64:
            # No per-row cast: the aggregate sums INT64 exactly where it cannot overflow
            # (``int_sum_states``) and casts each group's sum.
            return [args[0], args[0]]
        return [args[0].cast(pa.float64()), args[0]]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        total = fill_zero(states[0], DataType.FLOAT64)
        count = fill_zero(states[1], DataType.INT64)
        # Pixie returns 0 rather than NaN for a group that saw no rows.
        safe = pc.max_element_wise(count, pa.scalar(1, pa.int64())).cast(pa.float64())
        return pc.divide(total, safe)

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([0.0]), pa.array([0], pa.int64())]


class _ExtremeUDA(UDA):
    _function: ClassVar[str]

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (arrow_type(self.return_type),)

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        return fill_zero(states[0], self.return_type)

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([zero_scalar(self.return_type).as_py()], self.state_types[0])]


class MinUDA(_ExtremeUDA):
    """Smallest value of the group (INT64, FLOAT64 or TIME64NS).

    Example: ``df.groupby('upid').agg(first_seen=('time_', px.min))``.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("min", None),)
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("min", None),)


class MaxUDA(_ExtremeUDA):
    """Largest value of the group (INT64, FLOAT64 or TIME64NS).

    Example: ``df.groupby('service').agg(worst=('latency', px.max))``.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("max", None),)
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("max", None),)


class AnyUDA(UDA):
    """An arbitrary value of the group (any type); used to carry a column through a groupby.

    Example: ``df.groupby('pod').agg(node=('node_name', px.any))``.
    """

    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("one", None),)
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = (("one", None),)
    # Arrow has no ungrouped "one"; the group-id path below covers that case.
    arrow_ungrouped: ClassVar[bool] = False

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (arrow_type(self.return_type),)

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        return [_first_per_group(args[0], gids, num_groups, self.return_type)]

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        return [_first_per_group(states[0], gids, num_groups, self.return_type)]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        return fill_zero(states[0], self.return_type)

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([zero_scalar(self.return_type).as_py()], self.state_types[0])]


def _first_per_group(
    values: pa.Array, gids: npt.NDArray[np.int64], num_groups: int, data_type: DataType
) -> pa.Array:
    first = np.full(num_groups, -1, dtype=np.int64)
    # Reverse assignment leaves the first occurrence of each group id in place.
    positions = np.arange(len(gids), dtype=np.int64)
    first[gids[::-1]] = positions[::-1]
    taken = values.take(pa.array(np.maximum(first, 0))) if len(values) else None
    if taken is None or np.any(first < 0):
        zeros = pa.repeat(zero_scalar(data_type), num_groups)
        if taken is None:
            return zeros
        return pc.if_else(pa.array(first >= 0), taken, zeros)
    return taken


# The keys Pixie's quantiles finalizes to, in this order (pxl-language §5.5).
QUANTILE_KEYS: tuple[tuple[str, float], ...] = (
    ("p01", 0.01),
    ("p10", 0.10),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
    ("p99", 0.99),
)


class QuantilesUDA(UDA):
    """Approximate quantiles (t-digest, compression 1000) of INT64 or FLOAT64 values.

    Finalizes to a JSON STRING with the keys p01, p10, p25, p50, p75, p90 and p99.
    Example: ``df.groupby('service').agg(lat=('latency', px.quantiles))`` then
    ``px.pluck_float64(df.lat, 'p99')``.
    """

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.binary(),)

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        values = np.asarray(args[0].to_numpy(zero_copy_only=False), dtype=np.float64)
        return [build_digests(values, gids, num_groups).to_arrow()]

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        parts = Digests.from_arrow(states[0])
        return [merge_digests(parts, gids, num_groups).to_arrow()]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        digests = Digests.from_arrow(states[0])
        values = digests.quantiles([p for _, p in QUANTILE_KEYS])
        pieces: list[pa.Array | str] = []
        for column, (key, _) in enumerate(QUANTILE_KEYS):
            prefix = "{" if column == 0 else ","
            pieces.append(f'{prefix}"{key}":')
            pieces.append(pc.cast(pa.array(values[:, column]), pa.string()))
        pieces.append("}")
        out = pc.binary_join_element_wise(*pieces, "")
        return out

    def empty_states(self) -> list[pa.Array]:
        return [build_digests(np.zeros(0), np.zeros(0, dtype=np.int64), 1).to_arrow()]
