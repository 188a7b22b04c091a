"""Streaming transforms: Map, Filter, Limit, Union."""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType

from .._errors import PlanError, QueryMemoryExceeded
from ._agg import AggOperator
from ._base import ExecState, Operator, empty_batch
from ._dictionary import with_column_types
from ._expr import CompiledExpr, compile_expr, to_array

__all__ = ["FilterOperator", "LimitOperator", "MapOperator", "UnionOperator"]


class MapOperator(Operator):
    """Evaluates one expression per output column."""

    kind = "map"
    takes_dictionaries = True

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        self._exprs: list[CompiledExpr] = []

    def validate(self) -> None:
        spec = self.node.op.map
        if len(spec.expressions) != len(self.relation):
            raise PlanError(
                f"{self.label}: {len(spec.expressions)} expressions for "
                f"{len(self.relation)} output columns"
            )
        parent = self.parents[0].relation
        for position, (expr, column) in enumerate(
            zip(spec.expressions, self.relation.columns, strict=True)
        ):
            fn, data_type = compile_expr(
                expr, parent, self.state.func_ctx, f"{self.label} column {column.name!r}"
            )
            if data_type is not column.data_type:
                raise PlanError(
                    f"{self.label}: expression {position} ({column.name!r}) yields "
                    f"{data_type.name}, the relation says {column.data_type.name}"
                )
            self._exprs.append(fn)

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        rows = batch.num_rows
        try:
            columns = [to_array(fn(batch), rows) for fn in self._exprs]
        except (pa.ArrowCapacityError, pa.ArrowMemoryError) as err:
            # A function result too big for one Arrow array (2 GiB of strings) or for memory:
            # the query asked for it, the engine is fine.
            raise QueryMemoryExceeded(
                f"{self.label}: a computed column is too large: {err}"
            ) from None
        except pa.ArrowInvalid as err:
            if "cannot contain more than" not in str(err):
                raise
            raise QueryMemoryExceeded(
                f"{self.label}: a computed column is too large: {err}"
            ) from None
        # A STRING column may stay dictionary-encoded (a metadata lookup's result, or such a
        # column passed through) for the operators that take them.
        schema = with_column_types(self.schema, columns)
        self.emit(pa.RecordBatch.from_arrays(columns, schema=schema), eow, all_done)


class FilterOperator(Operator):
    """Keeps the rows where the condition is true."""

    kind = "filter"
    takes_dictionaries = True

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        self._condition: CompiledExpr | None = None
        # The row-counting aggregate this filter feeds alone: it gets the number of rows the
        # condition keeps instead of a filtered copy of them (see ``open``).
        self._count_into: tuple[AggOperator, int] | None = None
        # Counting: the rows and bytes the condition kept since the last end of window.
        self._kept = 0
        self._kept_bytes = 0

    def validate(self) -> None:
        parent = self.parents[0].relation
        if len(parent) != len(self.relation):
            raise PlanError(f"{self.label}: output relation must equal the input relation")
        fn, data_type = compile_expr(
            self.node.op.filter.condition, parent, self.state.func_ctx, f"{self.label} condition"
        )
        if data_type is not DataType.BOOLEAN:
            raise PlanError(f"{self.label}: the condition is {data_type.name}, not BOOLEAN")
        self._condition = fn

    def open(self) -> None:
        # filter -> count (ungrouped): counting the condition's true values gives the same
        # number as counting the filtered rows, without copying every column of the kept rows.
        if len(self.children) == 1:
            child, index = self.children[0]
            if isinstance(child, AggOperator) and child.counts_rows:
                self._count_into = (child, index)

    @property
    def takes_small_batches(self) -> bool:
        return self._count_into is not None

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if self._count_into is not None:
            self._count(batch, eow, all_done)
            return
        assert self._condition is not None
        mask = self._condition(batch)
        if isinstance(mask, pa.Scalar):
            out = batch if mask.as_py() else batch.slice(0, 0)
        else:
            if isinstance(mask, pa.ChunkedArray):
                mask = mask.combine_chunks()
            out = batch.filter(mask)
        if out.num_rows or eow or all_done:
            self.emit(out, eow, all_done)

    def _count(self, batch: pa.RecordBatch, eow: bool, all_done: bool) -> None:
        """filter -> count: the rows the condition keeps are counted (its true values; a null
        drops its row, as ``filter`` does), not copied; the aggregate gets the sum at the end
        of each window."""
        if self.done:
            return
        rows = batch.num_rows
        if rows:
            assert self._condition is not None
            mask = self._condition(batch)
            if isinstance(mask, pa.Scalar):
                kept = rows if mask.as_py() else 0
            elif isinstance(mask, pa.ChunkedArray):
                kept = sum(int(chunk.true_count) for chunk in mask.chunks)
            else:
                kept = int(mask.true_count)
            self._kept += kept
            # The kept rows' share of the batch's bytes (what a filtered copy would hold).
            self._kept_bytes += (self._batch_nbytes * kept) // rows
        if not (eow or all_done):
            return
        kept, nbytes = self._kept, self._kept_bytes
        self._kept = self._kept_bytes = 0
        if all_done:
            self.done = True
        self.records_out += kept
        self.bytes_out += nbytes
        assert self._count_into is not None
        child, index = self._count_into
        start = time.perf_counter_ns()
        try:
            child.consume_count(kept, index, eow, all_done, nbytes)
        finally:
            self._child_ns += time.perf_counter_ns() - start


class LimitOperator(Operator):
    """Passes the first N rows, then ends the stream and stops the listed sources."""

    kind = "limit"
    takes_dictionaries = True

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.limit
        if spec.limit < 0:
            raise PlanError(f"{self.label}: negative limit {spec.limit}")
        self._remaining = int(spec.limit)
        self._abortable = [int(i) for i in spec.abortable_source_ids]

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if self.done:
            return
        if batch.num_rows >= self._remaining:
            self.emit(batch.slice(0, self._remaining), eow=True, eos=True)
            self._remaining = 0
            for source_id in self._abortable:
                self.state.abort_source(source_id)
            return
        self._remaining -= batch.num_rows
        if batch.num_rows or eow or all_done:
            self.emit(batch, eow, all_done)


class UnionOperator(Operator):
    """Concatenates its inputs column-mapped into one relation, or merges them by time_."""

    kind = "union"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.union
        self._mappings = [list(m.column_indexes) for m in spec.column_mappings]
        self._time_ordered = spec.time_ordered
        self._buffer: list[pa.RecordBatch] = []
        self._held = 0

    def validate(self) -> None:
        if len(self._mappings) != len(self.parents):
            raise PlanError(
                f"{self.label}: {len(self._mappings)} column mappings for "
                f"{len(self.parents)} parents"
            )
        for parent, mapping in zip(self.parents, self._mappings, strict=True):
            if len(mapping) != len(self.relation):
                raise PlanError(f"{self.label}: a column mapping does not cover the output")
            for out_col, index in zip(self.relation.columns, mapping, strict=True):
                if not 0 <= index < len(parent.relation):
                    raise PlanError(f"{self.label}: mapping index {index} is out of range")
                if parent.relation.columns[index].data_type is not out_col.data_type:
                    raise PlanError(
                        f"{self.label}: column {out_col.name!r} has different types in the inputs"
                    )
        if self._time_ordered and "time_" not in self.relation:
            raise PlanError(f"{self.label}: a time-ordered union needs a time_ column")

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        mapping = self._mappings[parent_index]
        mapped = pa.RecordBatch.from_arrays([batch.column(i) for i in mapping], schema=self.schema)
        if not self._time_ordered:
            if mapped.num_rows or all_done:
                self.emit(mapped, eow=all_done, eos=all_done)
            return
        # Time-ordered: inputs are buffered, then sorted once (a stable sort keeps each input's
        # order for equal times) when every input has ended.
        if mapped.num_rows:
            self._buffer.append(mapped)
            self._held += mapped.nbytes
            self.state.hold(self, self._held)
        if not all_done:
            return
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        self._buffer = []
        ordered = table.take(pc.sort_indices(table, [("time_", "ascending")]))
        batches = ordered.combine_chunks().to_batches(max_chunksize=self.state.batch_rows)
        for out in batches:
            self.emit(out)
        self.state.hold(self, 0)
        self.emit(empty_batch(self.schema), eow=True, eos=True)
