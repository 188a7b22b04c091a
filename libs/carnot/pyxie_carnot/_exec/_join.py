"""The join operator: inner, left/right/full outer and cross, with Pixie's zero filling.

Both inputs are buffered (a blocking hash join through Arrow's join kernel); the output is
built and emitted in bounded pieces, each counted against the query's memory budget, so a
join that multiplies rows streams instead of materialising the product. There are no nulls in
Pixie: a row without a partner gets the zero value of each column of the missing side (0, 0.0,
"", false, time 0, sixteen zero bytes), and both key columns are kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_proto.carnot.planpb import plan_pb2

from .._errors import PlanError
from ..udas import zero_scalar
from ._base import ExecState, Operator, empty_batch

__all__ = ["JoinOperator"]

_ARROW_JOIN_TYPES = {
    plan_pb2.JOIN_TYPE_INNER: "inner",
    plan_pb2.JOIN_TYPE_LEFT_OUTER: "left outer",
    plan_pb2.JOIN_TYPE_RIGHT_OUTER: "right outer",
    plan_pb2.JOIN_TYPE_FULL_OUTER: "full outer",
}


# The size of one output piece: large enough that per-piece overhead is negligible.
_PIECE_BYTES = 8 << 20


class JoinOperator(Operator):
    kind = "join"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.join
        self.join_type = spec.type
        self._conditions = [
            (c.left_column_index, c.right_column_index) for c in spec.equality_conditions
        ]
        self._outputs = [(o.parent_index, o.column_index) for o in spec.output_columns]
        self._buffers: list[list[pa.RecordBatch]] = [[], []]
        self._held = 0
        self._row_bytes = 1

    def validate(self) -> None:
        if len(self.parents) != 2:
            raise PlanError(f"{self.label}: a join needs exactly two parents")
        left, right = (p.relation for p in self.parents)
        if self.join_type != plan_pb2.JOIN_TYPE_CROSS:
            if self.join_type not in _ARROW_JOIN_TYPES:
                raise PlanError(f"{self.label}: unknown join type {self.join_type}")
            if not self._conditions:
                raise PlanError(f"{self.label}: a non-cross join needs equality conditions")
        for li, ri in self._conditions:
            if not (0 <= li < len(left) and 0 <= ri < len(right)):
                raise PlanError(f"{self.label}: join key ({li}, {ri}) is out of range")
            if left.columns[li].data_type is not right.columns[ri].data_type:
                raise PlanError(
                    f"{self.label}: join keys {left.columns[li].name!r} and "
                    f"{right.columns[ri].name!r} have different types"
                )
        if len(self._outputs) != len(self.relation):
            raise PlanError(f"{self.label}: output columns do not match the output relation")
        for (parent, index), column in zip(self._outputs, self.relation.columns, strict=True):
            if parent not in (0, 1):
                raise PlanError(f"{self.label}: output parent index {parent} is not 0 or 1")
            source = (left, right)[parent]
            if not 0 <= index < len(source):
                raise PlanError(f"{self.label}: output column index {index} is out of range")
            if source.columns[index].data_type is not column.data_type:
                raise PlanError(f"{self.label}: output column {column.name!r} has the wrong type")

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if batch.num_rows:
            self._buffers[parent_index].append(batch)
            self._held += batch.nbytes
            self.state.hold(self, self._held)
        if not all_done:
            return
        sides = [
            pa.Table.from_batches(self._buffers[i], schema=self.parents[i].schema) for i in (0, 1)
        ]
        self._buffers = [[], []]
        rows = [max(1, side.num_rows) for side in sides]
        self._row_bytes = sides[0].nbytes // rows[0] + sides[1].nbytes // rows[1] + 1
        left = sides[0].rename_columns([f"l{i}" for i in range(sides[0].num_columns)])
        right = sides[1].rename_columns([f"r{i}" for i in range(sides[1].num_columns)])
        # The product is built and emitted piece by piece, each piece counted against the
        # budget while it exists: what a join produces can be far larger than its inputs
        # (2000 x 2000 rows), so counting only the inputs let it grow past any budget.
        for piece in self._pieces(left, right):
            for out in self._output(piece).to_batches(max_chunksize=self.state.batch_rows):
                self.state.hold(self, self._held + out.nbytes)
                self.emit(out)
            self.state.hold(self, self._held)
        self.state.hold(self, 0)
        self.emit(empty_batch(self.schema), eow=True, eos=True)

    def _chunk_rows(self, fanout: int) -> int:
        """Rows of the driving side per piece, so that a piece has at most ``batch_rows`` rows
        and about ``_PIECE_BYTES`` bytes (less under a small budget)."""
        target = min(_PIECE_BYTES, max(1, self.state.memory_budget_bytes // 16))
        piece_rows = min(self.state.batch_rows, max(1, target // max(1, self._row_bytes)))
        return max(1, piece_rows // max(1, fanout))

    @staticmethod
    def _max_matches(table: pa.Table, column: str) -> int:
        """An upper bound on how many rows of ``table`` one key can match: the count of the
        most frequent value of the first key column (all keys matching implies this one)."""
        if table.num_rows == 0:
            return 0
        counts = pc.value_counts(table.column(column).combine_chunks())
        return int(pc.max(counts.field("counts")).as_py())

    def _pieces(self, left: pa.Table, right: pa.Table) -> Iterator[pa.Table]:
        if self.join_type == plan_pb2.JOIN_TYPE_CROSS:
            step = self._chunk_rows(right.num_rows)
            for start in range(0, left.num_rows, step):
                count = min(step, left.num_rows - start)
                left_idx = np.repeat(np.arange(start, start + count), right.num_rows)
                right_idx = np.tile(np.arange(right.num_rows), count)
                yield pa.Table.from_arrays(
                    [
                        *left.take(pa.array(left_idx)).columns,
                        *right.take(pa.array(right_idx)).columns,
                    ],
                    names=[*left.column_names, *right.column_names],
                )
            return
        left_keys = [f"l{li}" for li, _ in self._conditions]
        right_keys = [f"r{ri}" for _, ri in self._conditions]

        def join(a: pa.Table, b: pa.Table, how: str) -> pa.Table:
            return a.join(
                b,
                keys=left_keys,
                right_keys=right_keys,
                join_type=how,
                coalesce_keys=False,
                use_threads=True,
            )

        how = _ARROW_JOIN_TYPES[self.join_type]
        if self.join_type == plan_pb2.JOIN_TYPE_RIGHT_OUTER:
            # Each right row stands alone: drive by the right side.
            step = self._chunk_rows(self._max_matches(left, left_keys[0]))
            for start in range(0, max(right.num_rows, 1), step):
                yield join(left, right.slice(start, step), how)
            return
        step = self._chunk_rows(self._max_matches(right, right_keys[0]))
        per_chunk = "left outer" if self.join_type == plan_pb2.JOIN_TYPE_FULL_OUTER else how
        for start in range(0, max(left.num_rows, 1), step):
            yield join(left.slice(start, step), right, per_chunk)
        if self.join_type == plan_pb2.JOIN_TYPE_FULL_OUTER:
            # The right rows no left row matched, once, with the left columns empty.
            unmatched = right.join(
                left,
                keys=right_keys,
                right_keys=left_keys,
                join_type="left anti",
                use_threads=True,
            )
            if unmatched.num_rows:
                yield join(left.slice(0, 0), unmatched, "right outer")

    def _output(self, joined: pa.Table) -> pa.Table:
        arrays = []
        for (parent, index), column in zip(self._outputs, self.relation.columns, strict=True):
            values = joined.column(f"{'lr'[parent]}{index}")
            if values.null_count:
                values = pc.fill_null(values, zero_scalar(column.data_type))
            arrays.append(values)
        return pa.Table.from_arrays(arrays, schema=self.schema)
