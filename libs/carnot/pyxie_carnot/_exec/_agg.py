"""The aggregate operator: FULL, PARTIAL and FINALIZE stages, blocking or windowed.

Input rows are buffered (only the group and argument columns) and reduced in large chunks into
per-group *state tables* (group keys + state columns per aggregate). One Arrow hash aggregation
computes the states of every aggregate Arrow can handle; aggregates Arrow cannot express
(quantiles, ungrouped ``any``) get dense group ids and work with numpy. State tables from
several chunks, or from several agents (FINALIZE), are merged the same way with each
aggregate's merge functions.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType

from .._errors import PlanError
from ..registry import RegistryError
from ..udas import UDA, CountUDA
from ._base import ExecState, Operator, empty_batch, worker_pool
from ._dictionary import KeyCodes, decode
from ._expr import CompiledExpr, compile_expr, to_array

__all__ = ["AggOperator"]

# Buffered input bytes that trigger a reduce into a state table: big chunks keep Arrow's hash
# aggregation efficient and per-chunk overhead (t-digest building) low, and with many groups
# they avoid merging state tables again and again (32 MiB chunks cost a 1.5 M-group
# aggregate 60 % more CPU). Each full chunk is reduced on a worker thread while this thread
# reads and transforms the next one.
_REDUCE_BYTES = 128 << 20
# Chunks reduced on worker threads at once, while the query's thread carries on upstream.
_MAX_INFLIGHT = 1
# State rows beyond which accumulated state tables are merged into one.
_COMPACT_ROWS = 1 << 20
# Multi-key group ids are combined arithmetically while the key space stays this small;
# beyond it a sort-based unique is used.
_DENSE_KEY_SPACE = 1 << 24


# Ungrouped aggregation: the scalar kernel for each hash-aggregate function the UDAs use.
_SCALAR_KERNELS: dict[str, Callable[[pa.ChunkedArray, Any], pa.Scalar]] = {
    "count": lambda values, options: pc.count(values, options=options),
    "sum": lambda values, options: pc.sum(values, options=options),
    "min": lambda values, options: pc.min(values, options=options),
    "max": lambda values, options: pc.max(values, options=options),
}


@dataclass
class _Value:
    uda: UDA
    name: str
    args: list[CompiledExpr]
    arrow: bool
    state_index: int = -1  # FINALIZE: input column holding the serialized state


def _group_ids(
    keys: list[pa.Array],
) -> tuple[npt.NDArray[np.int64], int, list[pa.Array]]:
    """Dense group ids per row, the number of groups and each group's key values."""
    num_rows = len(keys[0])
    encoded = [pc.dictionary_encode(k) for k in keys]
    indices = [np.asarray(e.indices.to_numpy(zero_copy_only=False), np.int64) for e in encoded]
    sizes = [max(len(e.dictionary), 1) for e in encoded]
    if len(keys) == 1:
        return indices[0], len(encoded[0].dictionary), [encoded[0].dictionary]
    space = 1
    for size in sizes:
        space *= size
    if space <= max(_DENSE_KEY_SPACE, 4 * num_rows):
        codes = np.zeros(num_rows, dtype=np.int64)
        for idx, size in zip(indices, sizes, strict=True):
            codes = codes * size + idx
        present = np.zeros(space, dtype=bool)
        present[codes] = True
        used = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        gids = remap[codes]
        key_values: list[pa.Array] = []
        rest = used
        divisor = space
        for e, size in zip(encoded, sizes, strict=True):
            divisor //= size
            key_values.append(e.dictionary.take(pa.array(rest // divisor)))
            rest = rest % divisor
        return gids, len(used), key_values
    stacked = np.stack(indices, axis=1)
    _, first, gids = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    take = pa.array(first)
    return gids.reshape(-1).astype(np.int64), len(first), [k.take(take) for k in keys]


def _int_sum_is_safe(column: pa.ChunkedArray) -> bool:
    """Whether no sum of values of ``column`` can overflow int64 (|value| x rows < 2^63)."""
    extremes = pc.min_max(column)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    if low is None:
        return True
    return bool(max(abs(low), abs(high)) * len(column) < 1 << 63)


class AggOperator(Operator):
    """Groups rows and computes aggregates (see the module docstring for the stages)."""

    kind = "agg"
    # Group keys may come dictionary-encoded: the operator groups on query-wide codes of their
    # values (``KeyCodes``) and turns the codes back into strings in its output.
    takes_dictionaries = True

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        spec = node.op.agg
        self.stage = spec.stage
        self.windowed = spec.windowed
        self._group_indexes = [int(g.index) for g in spec.groups]
        self._values: list[_Value] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        # Chunks being reduced on a worker thread (their input still counts as held).
        self._inflight: list[tuple[concurrent.futures.Future[pa.Table], int]] = []
        self._inflight_bytes = 0
        self._states: list[pa.Table] = []
        self._state_bytes = 0
        self._state_rows = 0
        self._rows_seen = 0
        self._work_schema: pa.Schema | None = None
        # Per group key, decided by the first rows seen: codes (the key came dictionary-encoded:
        # rows are grouped on int32 codes of its values) or None (plain values). Unset before.
        self._key_codes: list[KeyCodes | None] | None = None
        # Set by validate: every value is a count of rows and there are no groups, so the
        # operator only counts the rows it is given (a filter before it hands it the number).
        self.counts_rows = False
        self._row_count = 0

    # ------------------------------------------------------------ validation

    def validate(self) -> None:
        spec = self.node.op.agg
        parent = self.parents[0].relation
        for index in self._group_indexes:
            if not 0 <= index < len(parent):
                raise PlanError(f"{self.label}: group column {index} is out of range")
        if len(self.relation) != len(spec.groups) + len(spec.values):
            raise PlanError(
                f"{self.label}: output relation has {len(self.relation)} columns, expected "
                f"{len(spec.groups)} groups + {len(spec.values)} values"
            )
        grouped = bool(self._group_indexes)
        finalize = self.stage == plan_pb2.AGG_STAGE_FINALIZE
        for position, expr in enumerate(spec.values):
            arg_types = [DataType(t) for t in expr.arg_types]
            signature = f"{expr.name}({', '.join(t.name for t in arg_types)})"
            where = f"{self.label} value {position} ({signature})"
            try:
                definition = self.state.registry.lookup_uda(expr.name, arg_types)
            except RegistryError as err:
                raise PlanError(f"{where}: {err}") from None
            uda = definition.impl()
            if not isinstance(uda, UDA):
                raise PlanError(f"{where}: the registered implementation is not a UDA")
            value = _Value(uda, f"v{position}", [], uda.uses_arrow(grouped))
            if finalize:
                if len(expr.args) != 1 or expr.args[0].WhichOneof("value") != "column":
                    raise PlanError(f"{where}: FINALIZE takes one column with the partial state")
                value.state_index = expr.args[0].column.index
                if not 0 <= value.state_index < len(parent):
                    raise PlanError(f"{where}: state column is out of range")
            else:
                if len(expr.args) != len(arg_types):
                    raise PlanError(f"{where}: {len(expr.args)} arguments for the signature")
                for arg, declared in zip(expr.args, arg_types, strict=True):
                    fn, actual = compile_expr(arg, parent, self.state.func_ctx, where)
                    if actual is not declared:
                        raise PlanError(f"{where}: an argument is {actual.name}, not {declared}")
                    value.args.append(fn)
            self._values.append(value)
        self.counts_rows = (
            not grouped
            and not finalize
            and bool(self._values)
            and all(
                type(v.uda) is CountUDA
                and all(a.WhichOneof("value") in ("column", "constant") for a in e.args)
                for v, e in zip(self._values, spec.values, strict=True)
            )
        )

    @property
    def takes_small_batches(self) -> bool:
        return self.counts_rows

    # ------------------------------------------------------------ input

    def _work_columns(self, batch: pa.RecordBatch) -> tuple[list[pa.Array], list[str]]:
        """Group keys plus, per aggregate, its prepared (Arrow) or raw (numpy) inputs."""
        rows = batch.num_rows
        arrays = self._keys(batch)
        names = [f"k{i}" for i in range(len(self._group_indexes))]
        for value in self._values:
            args = [decode(to_array(fn(batch), rows)) for fn in value.args]
            inputs = value.uda.prepare(args) if value.arrow else args
            for m, array in enumerate(inputs):
                arrays.append(array)
                names.append(f"{value.name}_{m}")
        return arrays, names

    def _keys(self, batch: pa.RecordBatch) -> list[pa.Array]:
        """The group key columns of ``batch``: dictionary-encoded keys as int32 codes."""
        keys = [batch.column(i) for i in self._group_indexes]
        if self._key_codes is None:
            self._key_codes = [
                KeyCodes(key.type.value_type) if pa.types.is_dictionary(key.type) else None
                for key in keys
            ]
        out = []
        for key, codes in zip(keys, self._key_codes, strict=True):
            if codes is not None:
                out.append(codes.encode(key))
            else:
                out.append(decode(key))
        return out

    def consume_count(
        self, rows: int, parent_index: int, eow: bool, eos: bool, nbytes: int
    ) -> None:
        """Take ``rows`` rows from parent ``parent_index`` without their values: only a
        row-counting aggregate (``counts_rows``) accepts this, from a filter that counted
        the rows its condition kept instead of copying them."""
        assert self.counts_rows
        start = time.perf_counter_ns()
        child_before = self._child_ns
        self.records_in += rows
        self.bytes_in += nbytes
        stream_done = False
        if eos:
            self._parents_done.add(parent_index)
            stream_done = len(self._parents_done) == len(self.parents)
        try:
            self._rows_seen += rows
            self._row_count += rows
            if stream_done or (eow and self.windowed):
                self._flush(eos=stream_done)
        finally:
            self._total_ns += time.perf_counter_ns() - start - (self._child_ns - child_before)

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if batch.num_rows and self.counts_rows:
            # Counting rows needs none of their values (the arguments are plain columns or
            # constants: nothing to evaluate, nothing that could fail).
            self._rows_seen += batch.num_rows
            self._row_count += batch.num_rows
        elif batch.num_rows:
            self._rows_seen += batch.num_rows
            if self.stage == plan_pb2.AGG_STAGE_FINALIZE:
                self._add_states(self._decode_partial(batch))
            else:
                arrays, names = self._work_columns(batch)
                work = pa.RecordBatch.from_arrays(arrays, names=names)
                self._pending.append(work)
                self._pending_bytes += work.nbytes
                if self._pending_bytes >= _REDUCE_BYTES:
                    self._reduce_pending()
            self._account()
        if all_done or (eow and self.windowed):
            self._flush(eos=all_done)

    def _account(self) -> None:
        self.state.hold(self, self._pending_bytes + self._inflight_bytes + self._state_bytes)

    def _reduce_pending(self, wait: bool = False) -> None:
        """Reduce the buffered input on a worker thread; ``wait`` (a flush) finishes them all."""
        local: pa.Table | None = None
        if self._pending:
            table = pa.Table.from_batches(self._pending)
            nbytes = self._pending_bytes
            self._pending = []
            self._pending_bytes = 0
            if wait:
                # The last chunk is reduced here, while the worker finishes the previous one.
                local = self._aggregate(table, merge=False)
            else:
                # Arrow and numpy release the GIL: the chunk is reduced on another core while
                # this thread reads and transforms the next one.
                future = worker_pool().submit(self._aggregate, table, False)
                self._inflight.append((future, nbytes))
                self._inflight_bytes += nbytes
        while self._inflight and (wait or len(self._inflight) > _MAX_INFLIGHT):
            future, nbytes = self._inflight.pop(0)
            try:
                states = future.result()
            finally:
                self._inflight_bytes -= nbytes
            self._add_states(states)
        if local is not None:
            self._add_states(local)

    def close(self) -> None:
        for future, _ in self._inflight:
            future.cancel()
        concurrent.futures.wait([f for f, _ in self._inflight])
        self._inflight = []
        self._inflight_bytes = 0
        super().close()

    def _add_states(self, states: pa.Table) -> None:
        self._states.append(states)
        self._state_bytes += states.nbytes
        self._state_rows += states.num_rows
        if len(self._states) > 1 and self._state_rows > _COMPACT_ROWS:
            merged = self._aggregate(pa.concat_tables(self._states), merge=True)
            self._states = [merged]
            self._state_bytes = merged.nbytes
            self._state_rows = merged.num_rows

    def _decode_partial(self, batch: pa.RecordBatch) -> pa.Table:
        arrays = [decode(batch.column(i)) for i in self._group_indexes]
        names = [f"k{i}" for i in range(len(self._group_indexes))]
        for value in self._values:
            states = value.uda.deserialize(batch.column(value.state_index))
            for m, array in enumerate(states):
                arrays.append(array)
                names.append(f"{value.name}_{m}")
        return pa.Table.from_arrays(arrays, names=names)

    # ------------------------------------------------------------ aggregation

    def _aggregate(self, table: pa.Table, merge: bool) -> pa.Table:
        """Per-group states from input rows (``merge=False``) or from state rows."""
        if merge:
            return self._aggregate_states(table, merge)
        int_sums = [
            f"{value.name}_{m}"
            for value in self._values
            if value.arrow
            for m in value.uda.int_sum_states
        ]
        for name in int_sums:
            column = table.column(name)
            if column.type == pa.int64() and not _int_sum_is_safe(column):
                index = table.schema.get_field_index(name)
                table = table.set_column(index, name, pc.cast(column, pa.float64(), safe=False))
        states = self._aggregate_states(table, merge)
        for name in int_sums:
            column = states.column(name)
            if column.type != pa.float64():
                index = states.schema.get_field_index(name)
                states = states.set_column(index, name, pc.cast(column, pa.float64(), safe=False))
        return states

    def _aggregate_states(self, table: pa.Table, merge: bool) -> pa.Table:
        key_names = [f"k{i}" for i in range(len(self._group_indexes))]
        arrow_values = [v for v in self._values if v.arrow]
        custom_values = [v for v in self._values if not v.arrow]
        aggregations: list[tuple[str, str, object]] = []
        outputs: list[tuple[_Value, list[str]]] = []
        for value in arrow_values:
            specs = value.uda.arrow_merge if merge else value.uda.arrow_update
            assert specs is not None
            columns = []
            for m, (function, options) in enumerate(specs):
                column = f"{value.name}_{m}"
                aggregations.append((column, function, options))
                columns.append(f"{column}_{function}")
            outputs.append((value, columns))
        if not custom_values:
            if not key_names and all(a[1] in _SCALAR_KERNELS for a in aggregations):
                # Ungrouped: Arrow's scalar kernels, without building a hash-aggregate plan
                # (same types and nulls as the one-row group-by; several times faster).
                return pa.Table.from_arrays(
                    [
                        pa.repeat(_SCALAR_KERNELS[function](table.column(column), options), 1)
                        for (column, function, options) in aggregations
                    ],
                    names=[f"{v.name}_{m}" for v, cols in outputs for m in range(len(cols))],
                )
            result = table.group_by(key_names, use_threads=True).aggregate(aggregations)
            arrays = [result.column(k) for k in key_names]
            names = list(key_names)
            for value, columns in outputs:
                for m, column in enumerate(columns):
                    arrays.append(result.column(column))
                    names.append(f"{value.name}_{m}")
            return pa.Table.from_arrays(arrays, names=names)
        # Dense group ids for the numpy aggregates; Arrow aggregates group on the ids.
        num_rows = table.num_rows
        if key_names:
            key_arrays = [table.column(k).combine_chunks() for k in key_names]
            gids, num_groups, key_values = _group_ids(key_arrays)
        else:
            gids = np.zeros(num_rows, dtype=np.int64)
            num_groups = 1 if num_rows else 0
            key_values = []
        arrays = list(key_values)
        names = list(key_names)
        state_columns: dict[str, pa.Array] = {}
        if aggregations:
            inputs = table.select([a[0] for a in aggregations]).append_column(
                "__gid", pa.array(gids)
            )
            result = inputs.group_by("__gid", use_threads=True).aggregate(aggregations)
            order = np.empty(num_groups, dtype=np.int64)
            order[result.column("__gid").to_numpy()] = np.arange(num_groups)
            take = pa.array(order)
            for value, columns in outputs:
                for m, column in enumerate(columns):
                    state_columns[f"{value.name}_{m}"] = result.column(column).take(take)
        for value in custom_values:
            count = len(value.uda.state_types) if merge else len(value.args)
            inputs_ = [table.column(f"{value.name}_{m}").combine_chunks() for m in range(count)]
            if merge:
                states = value.uda.merge(inputs_, gids, num_groups)
            else:
                states = value.uda.update(inputs_, gids, num_groups)
            for m, state in enumerate(states):
                state_columns[f"{value.name}_{m}"] = state
        for value in self._values:
            for m in range(len(value.uda.state_types)):
                column_name = f"{value.name}_{m}"
                column = state_columns[column_name]
                arrays.append(
                    column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
                )
                names.append(column_name)
        return pa.Table.from_arrays(arrays, names=names)

    # ------------------------------------------------------------ output

    def _flush(self, eos: bool) -> None:
        self._reduce_pending(wait=True)
        if self._row_count:
            # The states a count's hash/scalar aggregation would have made: one int64 each.
            count = pa.array([self._row_count], pa.int64())
            self._add_states(
                pa.Table.from_arrays(
                    [count] * len(self._values), names=[f"{v.name}_0" for v in self._values]
                )
            )
            self._row_count = 0
        if len(self._states) > 1 or (self._states and self.stage == plan_pb2.AGG_STAGE_FINALIZE):
            states = self._aggregate(pa.concat_tables(self._states), merge=True)
        elif self._states:
            states = self._states[0]
        else:
            states = None
        out = self._output(states)
        self._states = []
        self._state_bytes = 0
        self._state_rows = 0
        self._rows_seen = 0
        self._account()
        for piece in out.to_batches(max_chunksize=self.state.batch_rows) or []:
            self.emit(piece)
        self.emit(empty_batch(self.schema), eow=True, eos=eos)

    def _output(self, states: pa.Table | None) -> pa.Table:
        num_keys = len(self._group_indexes)
        if states is None:
            if num_keys:
                return pa.Table.from_batches([], schema=self.schema)
            states = pa.Table.from_arrays(
                [a for v in self._values for a in v.uda.empty_states()],
                names=[
                    f"{v.name}_{m}" for v in self._values for m in range(len(v.uda.state_types))
                ],
            )
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for i in range(num_keys):
            key = states.column(f"k{i}")
            codes = self._key_codes[i] if self._key_codes is not None else None
            arrays.append(key if codes is None else codes.values(key))
        for value in self._values:
            columns = [
                states.column(f"{value.name}_{m}").combine_chunks()
                for m in range(len(value.uda.state_types))
            ]
            if self.stage == plan_pb2.AGG_STAGE_PARTIAL:
                arrays.append(value.uda.serialize(columns))
            else:
                arrays.append(value.uda.finalize(columns))
        try:
            return pa.Table.from_arrays(arrays, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise PlanError(f"{self.label}: output does not match its relation: {err}") from None
