"""Compile planpb scalar expressions into closures over record batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType, Relation, arrow_type, uint128_to_bytes

from .._errors import PlanError, QueryMemoryExceeded
from ..context import FunctionContext
from ..registry import ArrowValue, RegistryError
from ._dictionary import decode

__all__ = ["CompiledExpr", "compile_expr", "scalar_value", "to_array"]

CompiledExpr = Callable[[pa.RecordBatch], ArrowValue]


def scalar_value(value: plan_pb2.ScalarValue) -> pa.Scalar:
    """The Arrow scalar a plan constant stands for."""
    data_type = DataType(value.data_type)
    kind = value.WhichOneof("value")
    if data_type is DataType.DATA_TYPE_UNKNOWN or kind is None:
        raise PlanError(f"constant without a data type or value: {value}")
    arrow = arrow_type(data_type)
    if kind == "uint128_value":
        raw = uint128_to_bytes((value.uint128_value.high << 64) | value.uint128_value.low)
        return pa.scalar(raw, arrow)
    py = getattr(value, kind)
    if data_type is DataType.TIME64NS:
        return pa.scalar(int(py), pa.int64()).cast(arrow)
    return pa.scalar(py, arrow)


# The most bytes one column of one batch may take. Arrow's string and binary arrays hold at most
# 2 GiB (their offsets are 32-bit); well before that, a constant broadcast over a batch would
# take memory the query cannot account for.
MAX_COLUMN_BYTES = 1 << 30


def to_array(value: ArrowValue, length: int) -> pa.Array:
    """A function result as an array of the batch length (broadcast scalars, join chunks)."""
    if isinstance(value, pa.Scalar):
        if value.is_valid and isinstance(value, pa.StringScalar | pa.BinaryScalar):
            total = len(value.as_buffer()) * length
            if total > MAX_COLUMN_BYTES:
                raise QueryMemoryExceeded(
                    f"a constant of {len(value.as_buffer())} bytes repeated over {length} rows "
                    f"would make a column of {total} bytes; one column of a batch may hold at "
                    f"most {MAX_COLUMN_BYTES} bytes"
                )
        return pa.repeat(value, length)
    if isinstance(value, pa.ChunkedArray):
        return value.combine_chunks()
    return value


def compile_expr(
    expr: plan_pb2.ScalarExpression,
    input_relation: Relation,
    ctx: FunctionContext,
    where: str,
) -> tuple[CompiledExpr, DataType]:
    """A closure computing ``expr`` on a batch, and the expression's data type."""
    kind = expr.WhichOneof("value")
    if kind == "constant":
        constant = scalar_value(expr.constant)
        return (lambda _batch: constant), DataType(expr.constant.data_type)
    if kind == "column":
        index = expr.column.index
        if not 0 <= index < len(input_relation):
            raise PlanError(
                f"{where}: column reference {index} ({expr.column.name!r}) is out of range; "
                f"the input has {len(input_relation)} columns: {', '.join(input_relation.names)}"
            )
        data_type = input_relation.columns[index].data_type
        return (lambda batch: batch.column(index)), data_type
    if kind == "func":
        return _compile_call(expr.func, input_relation, ctx, where)
    raise PlanError(f"{where}: empty scalar expression")


def _compile_call(
    func: plan_pb2.ScalarFunction, input_relation: Relation, ctx: FunctionContext, where: str
) -> tuple[CompiledExpr, DataType]:
    arg_types = [DataType(t) for t in func.arg_types]
    signature = f"{func.name}({', '.join(t.name for t in arg_types)})"
    if len(arg_types) != len(func.args):
        raise PlanError(
            f"{where}: call {signature} has {len(func.args)} arguments but "
            f"{len(arg_types)} argument types"
        )
    try:
        udf = ctx.registry.lookup_scalar(func.name, arg_types)
    except RegistryError as err:
        raise PlanError(f"{where}: cannot resolve {signature}: {err}") from None
    compiled: list[CompiledExpr] = []
    for position, (arg, declared) in enumerate(zip(func.args, arg_types, strict=True)):
        fn, actual = compile_expr(arg, input_relation, ctx, where)
        if actual is not declared:
            raise PlanError(
                f"{where}: argument {position} of {signature} is {actual.name}, "
                f"the plan declares {declared.name}"
            )
        if declared is DataType.STRING:
            # Functions get plain strings; a dictionary-encoded column is decoded first.
            fn = _plain(fn)
        compiled.append(fn)
    impl = udf.fn
    return _caller(impl, compiled, ctx), udf.return_type


def _plain(fn: CompiledExpr) -> CompiledExpr:
    def plain(batch: pa.RecordBatch) -> ArrowValue:
        value = fn(batch)
        if isinstance(value, pa.Scalar):
            return value
        return decode(value)

    return plain


def _caller(
    impl: Callable[..., ArrowValue], args: Sequence[CompiledExpr], ctx: FunctionContext
) -> CompiledExpr:
    if len(args) == 1:
        only = args[0]
        return lambda batch: impl(ctx, only(batch))
    if len(args) == 2:
        first, second = args
        return lambda batch: impl(ctx, first(batch), second(batch))
    return lambda batch: impl(ctx, *[a(batch) for a in args])
