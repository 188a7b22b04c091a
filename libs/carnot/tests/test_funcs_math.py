"""Operators, math, comparisons, bin and select: PxL semantics on Arrow arrays and scalars."""

from __future__ import annotations

import math
import sys
from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import NoMatchingOverloadError, Registry
from pyxie_types import DataType, SemanticType, data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
CTX = FunctionContext(REGISTRY, InMemoryMetadataState())
TS = pa.timestamp("ns")


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


def ints(*v: int) -> pa.Array:
    return pa.array(v, pa.int64())


def floats(*v: float) -> pa.Array:
    return pa.array(v, pa.float64())


def times(*v: int) -> pa.Array:
    return pa.array(v, TS)


def test_add_integers_floats_and_mixed() -> None:
    assert call("add", ints(1, 2), ints(3, 4)).to_pylist() == [4, 6]
    assert call("add", floats(1.5), ints(2)).to_pylist() == [3.5]
    assert call("add", ints(2), floats(0.25)).type == pa.float64()


def test_add_strings_concatenates_including_unicode() -> None:
    out = call("add", pa.array(["héllo", ""]), pa.scalar(" wörld"))
    assert out.to_pylist() == ["héllo wörld", " wörld"]


def test_time_arithmetic_types() -> None:
    t = times(1_000, 2_000)
    assert call("add", t, pa.scalar(5)).type == TS
    assert call("add", t, pa.scalar(5)).cast(pa.int64()).to_pylist() == [1_005, 2_005]
    assert call("add", pa.scalar(5), t).type == TS
    assert call("subtract", t, pa.scalar(1_000)).cast(pa.int64()).to_pylist() == [0, 1_000]
    assert call("subtract", t, times(500, 500)).to_pylist() == [500, 1_500]
    assert call("subtract", pa.scalar(3_000), t).to_pylist() == [2_000, 1_000]


def test_int_overflow_wraps_like_cpp() -> None:
    big = pa.scalar(2**63 - 1)
    assert call("add", big, pa.scalar(1)).as_py() == -(2**63)


def test_no_implicit_promotion_for_comparisons() -> None:
    with pytest.raises(NoMatchingOverloadError, match="candidates"):
        REGISTRY.lookup_scalar("greaterThan", (DataType.INT64, DataType.FLOAT64))


def test_divide_is_always_float_and_divide_by_zero_is_inf_or_nan() -> None:
    out = call("divide", ints(1, -1, 0, 7), ints(0, 0, 0, 2))
    assert out.type == pa.float64()
    values = out.to_pylist()
    assert values[0] == math.inf and values[1] == -math.inf and math.isnan(values[2])
    assert values[3] == 3.5
    assert out.null_count == 0


def test_divide_semantic_bytes_per_duration_is_throughput() -> None:
    udf = REGISTRY.lookup_scalar("divide", (DataType.INT64, DataType.INT64))
    got = udf.output_semantic_type([SemanticType.ST_BYTES, SemanticType.ST_DURATION_NS])
    assert got is SemanticType.ST_THROUGHPUT_BYTES_PER_NS


def test_modulo_truncates_toward_zero_like_cpp() -> None:
    assert call("modulo", ints(7, -7, 7, -7), ints(3, 3, -3, -3)).to_pylist() == [1, -1, 1, -1]
    assert call("modulo", times(10_500), pa.scalar(1_000)).to_pylist() == [500]


def test_modulo_by_zero_gives_zero_not_a_crash() -> None:
    assert call("modulo", ints(5), ints(0)).to_pylist() == [0]


def test_bin_rounds_toward_zero_for_negatives() -> None:
    assert call("bin", ints(17, -17, 20), pa.scalar(10)).to_pylist() == [10, -10, 20]


def test_bin_time_overloads() -> None:
    out = call("bin", times(1_234_567), pa.scalar(1_000))
    assert out.type == TS and out.cast(pa.int64()).to_pylist() == [1_234_000]
    out = call("bin", times(1_234_567), pa.scalar(1_000, TS))
    assert out.type == TS
    out = call("bin", ints(1_234_567), pa.scalar(1_000, TS))
    assert out.type == pa.int64() and out.to_pylist() == [1_234_000]


def test_bin_float_truncates_first() -> None:
    assert call("bin", floats(17.9, -17.9), pa.scalar(5)).to_pylist() == [15, -15]


def test_all_scalar_arguments_give_a_scalar() -> None:
    out = call("multiply", pa.scalar(6), pa.scalar(7))
    assert isinstance(out, pa.Scalar) and out.as_py() == 42
    out = call("bin", pa.scalar(-17), pa.scalar(10))
    assert isinstance(out, pa.Scalar) and out.as_py() == -10
    assert call("modulo", pa.scalar(-7), pa.scalar(3)).as_py() == -1


def test_empty_arrays_give_empty_arrays() -> None:
    empty = ints()
    assert len(call("add", empty, empty)) == 0
    assert len(call("modulo", empty, pa.scalar(3))) == 0
    assert len(call("bin", times(), pa.scalar(3))) == 0
    assert len(call("select", pa.array([], pa.bool_()), empty, empty)) == 0


def test_float_equality_is_within_dbl_epsilon() -> None:
    eps = sys.float_info.epsilon
    a = floats(0.1 + 0.2, 1.0, 1.0)
    b = floats(0.3, 1.0 + 2 * eps, 1.0)
    assert call("equal", a, b).to_pylist() == [True, False, True]
    assert call("notEqual", a, b).to_pylist() == [False, True, False]
    assert call("approxEqual", a, b).to_pylist() == [True, False, True]


def test_equality_of_mixed_bool_int_and_int_float() -> None:
    assert call("equal", pa.array([True, False]), ints(1, 1)).to_pylist() == [True, False]
    assert call("equal", ints(2, 3), floats(2.0, 3.5)).to_pylist() == [True, False]


def test_equality_of_uint128() -> None:
    a = pa.array([b"\x00" * 16, b"\x01" * 16], pa.binary(16))
    assert call("equal", a, pa.scalar(b"\x01" * 16, pa.binary(16))).to_pylist() == [False, True]


def test_string_comparisons_are_bytewise() -> None:
    assert call("lessThan", pa.array(["a", "b", "é"]), pa.scalar("b")).to_pylist() == [
        True,
        False,
        False,
    ]


def test_logical_ops_accept_ints_as_truthiness() -> None:
    assert call("logicalAnd", ints(0, 2, 3), ints(1, 0, -1)).to_pylist() == [False, False, True]
    assert call("logicalOr", pa.array([False, True]), pa.scalar(False)).to_pylist() == [False, True]
    assert call("logicalNot", ints(0, 5)).to_pylist() == [True, False]


def test_floor_ceil_return_int64_and_round_returns_string() -> None:
    assert call("floor", floats(1.7, -1.2)).to_pylist() == [1, -2]
    assert call("ceil", floats(1.2, -1.7)).type == pa.int64()
    assert call("round", floats(1.23456, 2.5), pa.scalar(2)).to_pylist() == ["1.23", "2.50"]


def test_unary_math() -> None:
    assert call("negate", ints(3, -4)).to_pylist() == [-3, 4]
    assert call("invert", ints(0)).to_pylist() == [-1]
    assert call("abs", floats(-2.5)).to_pylist() == [2.5]
    assert call("sqrt", floats(9.0)).to_pylist() == [3.0]
    assert math.isnan(call("sqrt", floats(-1.0)).to_pylist()[0])
    assert call("ln", floats(0.0)).to_pylist() == [-math.inf]
    assert call("log", pa.scalar(2.0), floats(8.0)).to_pylist() == [3.0]
    assert call("log10", floats(1000.0)).to_pylist() == [pytest.approx(3.0)]
    assert call("pow", floats(2.0), pa.scalar(10.0)).to_pylist() == [1024.0]


def test_time_int_conversions_round_trip() -> None:
    t = call("int64_to_time", ints(42))
    assert t.type == TS
    assert call("time_to_int64", t).to_pylist() == [42]


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        (([True], [False]), pa.bool_()),
        (([1], [2]), pa.int64()),
        (([1.5], [2.5]), pa.float64()),
        (([1], [2]), TS),
        ((["yes"], ["no"]), pa.string()),
    ],
)
def test_select_picks_per_row_for_each_type(values: Any, arrow_type: pa.DataType) -> None:
    a, b = (pa.array(v * 2, arrow_type) for v in values)
    out = call("select", pa.array([True, False]), a, b)
    assert out.type == arrow_type
    assert out.equals(pa.concat_arrays([a.slice(0, 1), b.slice(1, 1)]))


def test_select_with_constant_branches() -> None:
    out = call("select", pa.array([True, False, True]), pa.scalar(1), pa.scalar(0))
    assert out.to_pylist() == [1, 0, 1]
