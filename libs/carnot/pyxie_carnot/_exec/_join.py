"""The join operator: inner, left/right/full outer and cross, with Pixie's zero filling.

Both inputs are buffered (a blocking hash join through Arrow's join kernel). There are no nulls
in Pixie: a row without a partner gets the zero value of each column of the missing side
(0, 0.0, "", false, time 0, sixteen zero bytes), and both key columns are kept.
"""

from __future__ import annotations

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
        joined = self._join(sides[0], sides[1])
        self.state.hold(self, 0)
        for piece in joined.to_batches(max_chunksize=self.state.batch_rows):
            self.emit(piece)
        self.emit(empty_batch(self.schema), eow=True, eos=True)

    def _join(self, left: pa.Table, right: pa.Table) -> pa.Table:
        # Positional names avoid collisions between the two sides.
        left = left.rename_columns([f"l{i}" for i in range(left.num_columns)])
        right = right.rename_columns([f"r{i}" for i in range(right.num_columns)])
        if self.join_type == plan_pb2.JOIN_TYPE_CROSS:
            left_idx = np.repeat(np.arange(left.num_rows), right.num_rows)
            right_idx = np.tile(np.arange(right.num_rows), left.num_rows)
            joined = pa.Table.from_arrays(
                [*left.take(pa.array(left_idx)).columns, *right.take(pa.array(right_idx)).columns],
                names=[*left.column_names, *right.column_names],
            )
        else:
            joined = left.join(
                right,
                keys=[f"l{li}" for li, _ in self._conditions],
                right_keys=[f"r{ri}" for _, ri in self._conditions],
                join_type=_ARROW_JOIN_TYPES[self.join_type],
                coalesce_keys=False,
                use_threads=True,
            )
        arrays = []
        for (parent, index), column in zip(self._outputs, self.relation.columns, strict=True):
            values = joined.column(f"{'lr'[parent]}{index}")
            if values.null_count:
                values = pc.fill_null(values, zero_scalar(column.data_type))
            arrays.append(values)
        return pa.Table.from_arrays(arrays, schema=self.schema)
