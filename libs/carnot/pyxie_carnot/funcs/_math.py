"""Operators, math, comparisons, logic, ``bin``, time conversions and ``select``.

Overloads follow PxL's type rules exactly (no implicit promotion). Arithmetic on INT64 wraps
like C++ on two's-complement hardware; FLOAT64 follows IEEE (division by zero gives inf/NaN);
``%`` truncates toward zero like C++.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import DataType, SemanticType

from ..context import FunctionContext
from ..registry import Registry, SemanticRule
from ._arrow import Arg, as_float, as_int, as_time, from_numpy, map_rows, norm, to_numpy

__all__ = ["register"]

B, I, F, S, T, U = (  # noqa: E741 (PxL type letters)
    DataType.BOOLEAN,
    DataType.INT64,
    DataType.FLOAT64,
    DataType.STRING,
    DataType.TIME64NS,
    DataType.UINT128,
)
_NONE = SemanticType.ST_NONE
# C++ DBL_EPSILON: PxL's float equality is |a - b| < DBL_EPSILON.
_DBL_EPSILON = sys.float_info.epsilon


# ------------------------------------------------------------------ semantic rules


def _common_semantic(args: Sequence[SemanticType]) -> SemanticType:
    """The shared semantic type of the operands that have one (DURATION + DURATION, ...)."""
    meaningful = {a for a in args if a not in (SemanticType.ST_NONE, SemanticType.ST_UNSPECIFIED)}
    return meaningful.pop() if len(meaningful) == 1 else _NONE


def _first_semantic(args: Sequence[SemanticType]) -> SemanticType:
    return args[0] if args else _NONE


def _divide_semantic(args: Sequence[SemanticType]) -> SemanticType:
    num, den = args[0], args[1]
    if den == SemanticType.ST_DURATION_NS:
        if num == SemanticType.ST_BYTES:
            return SemanticType.ST_THROUGHPUT_BYTES_PER_NS
        if num in (SemanticType.ST_NONE, SemanticType.ST_UNSPECIFIED):
            return SemanticType.ST_THROUGHPUT_PER_NS
        return _NONE
    if den in (SemanticType.ST_NONE, SemanticType.ST_UNSPECIFIED):
        return num if num in (SemanticType.ST_BYTES, SemanticType.ST_DURATION_NS) else _NONE
    return _NONE


# ------------------------------------------------------------------ helpers


def _np_binary(fn: Callable[[Any, Any], Any], a: Arg, b: Arg, out_type: pa.DataType) -> Arg:
    scalar = isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar)
    with np.errstate(all="ignore"):
        result = fn(to_numpy(a), to_numpy(b))
    return from_numpy(result, out_type, scalar)


def _trunc_mod(a: Arg, b: Arg) -> Arg:
    """C++ ``a % b`` on INT64 (truncating toward zero; x % 0 gives 0 instead of trapping)."""
    return _np_binary(np.fmod, as_int(a), as_int(b), pa.int64())


def _bin(x: Arg, w: Arg) -> Arg:
    """``x - (x % w)`` with C++ truncating modulo, on INT64 nanoseconds."""
    xi, wi = as_int(x), as_int(w)
    return pc.subtract(xi, _trunc_mod(xi, wi))


def _to_bool(value: Arg) -> Arg:
    if pa.types.is_boolean(value.type):
        return value
    return pc.not_equal(value, pa.scalar(0, value.type))


def _approx_equal(a: Arg, b: Arg) -> Arg:
    diff = pc.abs(pc.subtract(as_float(a), as_float(b)))
    return pc.less(diff, pa.scalar(_DBL_EPSILON))


# ------------------------------------------------------------------ kernels


def _add(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.add(norm(a), norm(b))


def _add_str(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.binary_join_element_wise(norm(a), norm(b), "")


def _add_time_int(_: FunctionContext, a: Any, b: Any) -> Arg:
    return as_time(pc.add(as_int(norm(a)), as_int(norm(b))))


def _sub(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.subtract(norm(a), norm(b))


def _sub_to_time(_: FunctionContext, a: Any, b: Any) -> Arg:
    return as_time(pc.subtract(as_int(norm(a)), as_int(norm(b))))


def _sub_to_int(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.subtract(as_int(norm(a)), as_int(norm(b)))


def _mul(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.multiply(norm(a), norm(b))


def _div(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.divide(as_float(norm(a)), as_float(norm(b)))


def _mod(_: FunctionContext, a: Any, b: Any) -> Arg:
    return _trunc_mod(norm(a), norm(b))


def _negate(_: FunctionContext, a: Any) -> Arg:
    return pc.negate(norm(a))


def _invert(_: FunctionContext, a: Any) -> Arg:
    return pc.bit_wise_not(norm(a))


def _abs(_: FunctionContext, a: Any) -> Arg:
    return pc.abs(norm(a))


def _floor(_: FunctionContext, a: Any) -> Arg:
    return pc.cast(pc.floor(norm(a)), pa.int64(), safe=False)


def _ceil(_: FunctionContext, a: Any) -> Arg:
    return pc.cast(pc.ceil(norm(a)), pa.int64(), safe=False)


def _format_round(value: float, decimals: int) -> str:
    # printf("%.*f") treats a negative precision as if none were given (6 digits).
    return f"{value:.{decimals if decimals >= 0 else 6}f}"


def _round(_: FunctionContext, a: Any, d: Any) -> Arg:
    return map_rows(_format_round, [norm(a), norm(d)], pa.string())


def _unary_float(kernel: Callable[[Arg], Arg]) -> Callable[[FunctionContext, Any], Arg]:
    def run(_: FunctionContext, a: Any) -> Arg:
        return kernel(norm(a))

    return run


def _log(_: FunctionContext, base: Any, x: Any) -> Arg:
    return pc.divide(pc.ln(norm(x)), pc.ln(norm(base)))


def _pow(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.power(norm(a), norm(b))


def _equal(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.equal(norm(a), norm(b))


def _not_equal(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.not_equal(norm(a), norm(b))


def _equal_bool_int(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.equal(as_int(norm(a)), as_int(norm(b)))


def _not_equal_bool_int(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.not_equal(as_int(norm(a)), as_int(norm(b)))


def _equal_float(_: FunctionContext, a: Any, b: Any) -> Arg:
    return _approx_equal(norm(a), norm(b))


def _not_equal_float(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.invert(_approx_equal(norm(a), norm(b)))


def _compare(kernel: Callable[[Arg, Arg], Arg]) -> Callable[[FunctionContext, Any, Any], Arg]:
    def run(_: FunctionContext, a: Any, b: Any) -> Arg:
        return kernel(norm(a), norm(b))

    return run


def _logical_and(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.and_(_to_bool(norm(a)), _to_bool(norm(b)))


def _logical_or(_: FunctionContext, a: Any, b: Any) -> Arg:
    return pc.or_(_to_bool(norm(a)), _to_bool(norm(b)))


def _logical_not(_: FunctionContext, a: Any) -> Arg:
    return pc.invert(_to_bool(norm(a)))


def _bin_int(_: FunctionContext, x: Any, w: Any) -> Arg:
    return _bin(norm(x), norm(w))


def _bin_time(_: FunctionContext, x: Any, w: Any) -> Arg:
    return as_time(_bin(norm(x), norm(w)))


def _bin_float(_: FunctionContext, x: Any, w: Any) -> Arg:
    truncated = pc.cast(pc.trunc(norm(x)), pa.int64(), safe=False)
    return _bin(truncated, norm(w))


def _time_to_int64(_: FunctionContext, t: Any) -> Arg:
    return as_int(norm(t))


def _int64_to_time(_: FunctionContext, i: Any) -> Arg:
    return as_time(norm(i))


def _select(_: FunctionContext, cond: Any, a: Any, b: Any) -> Arg:
    return pc.if_else(norm(cond), norm(a), norm(b))


# ------------------------------------------------------------------ registration


def register(registry: Registry) -> None:
    def reg(
        name: str,
        types: Sequence[DataType],
        ret: DataType,
        fn: Callable[..., Arg],
        doc: str,
        semantic: SemanticRule | None = None,
    ) -> None:
        registry.register_scalar(name, types, ret, fn, doc, semantic=semantic)

    add_doc = (
        "Add two values; strings concatenate. Example: df.total = df.req_bytes + df.resp_bytes"
    )
    for ta, tb in ((I, I), (F, F), (F, I), (I, F)):
        ret = I if (ta, tb) == (I, I) else F
        reg("add", (ta, tb), ret, _add, add_doc, _common_semantic)
    reg("add", (S, S), S, _add_str, add_doc)
    reg("add", (T, I), T, _add_time_int, add_doc, _first_semantic)
    reg("add", (I, T), T, _add_time_int, add_doc, SemanticType.ST_TIME_NS)

    sub_doc = "Subtract the second value from the first. Example: df.dur = df.stop - df.start"
    for ta, tb in ((I, I), (F, F), (F, I), (I, F)):
        ret = I if (ta, tb) == (I, I) else F
        reg("subtract", (ta, tb), ret, _sub, sub_doc, _common_semantic)
    reg("subtract", (T, I), T, _sub_to_time, sub_doc, _first_semantic)
    reg("subtract", (T, T), I, _sub_to_int, sub_doc, SemanticType.ST_DURATION_NS)
    reg("subtract", (I, T), I, _sub_to_int, sub_doc)

    mul_doc = "Multiply two values. Example: df.bits = df.bytes * 8"
    for ta, tb in ((I, I), (F, F), (F, I), (I, F)):
        ret = I if (ta, tb) == (I, I) else F
        reg("multiply", (ta, tb), ret, _mul, mul_doc, _common_semantic)

    div_doc = (
        "Divide, always giving FLOAT64; x/0 is inf or NaN, never an error. "
        "Example: df.rate = df.bytes / window_ns"
    )
    for ta, tb in ((I, I), (F, F), (F, I), (I, F)):
        reg("divide", (ta, tb), F, _div, div_doc, _divide_semantic)

    mod_doc = "C++ remainder (truncating toward zero): -7 % 3 == -1. Example: df.r = df.pid % 10"
    for ta, tb in ((I, I), (T, I), (I, T), (T, T)):
        reg("modulo", (ta, tb), I, _mod, mod_doc)

    reg("negate", (I,), I, _negate, "Negate a number. Example: df.neg = -df.delta", _first_semantic)
    reg("negate", (F,), F, _negate, "Negate a number. Example: df.neg = -df.delta", _first_semantic)
    reg("invert", (I,), I, _invert, "Bitwise NOT of an integer. Example: df.mask = ~df.flags")
    abs_doc = "Absolute value, same type as the input. Example: df.mag = px.abs(df.delta)"
    reg("abs", (I,), I, _abs, abs_doc, _first_semantic)
    reg("abs", (F,), F, _abs, abs_doc, _first_semantic)

    reg(
        "floor",
        (F,),
        I,
        _floor,
        "Round down to an INT64. Example: df.p50 = px.floor(px.pluck_float64(df.q, 'p50'))",
        _first_semantic,
    )
    reg(
        "ceil",
        (F,),
        I,
        _ceil,
        "Round up to an INT64. Example: df.c = px.ceil(df.ratio)",
        _first_semantic,
    )
    reg(
        "round",
        (F, I),
        S,
        _round,
        "Format a float with N decimals, as a STRING. Example: px.round(df.ratio, 2) gives '0.33'",
    )
    for name, kernel, example in (
        ("sqrt", pc.sqrt, "px.sqrt(df.var)"),
        ("exp", pc.exp, "px.exp(df.x)"),
        ("ln", pc.ln, "px.ln(df.x)"),
        ("log2", pc.log2, "px.log2(df.x)"),
        ("log10", pc.log10, "px.log10(df.x)"),
    ):
        reg(name, (F,), F, _unary_float(kernel), f"{name} of a float. Example: df.y = {example}")
    reg(
        "log", (F, F), F, _log, "Logarithm of x in a base: log(base, x). Example: px.log(2.0, df.x)"
    )
    reg("pow", (F, F), F, _pow, "Raise x to a power. Example: df.sq = px.pow(df.x, 2.0)")

    eq_doc = (
        "Whether two values are equal (floats within DBL_EPSILON). "
        "Example: df.ok = df.status == 200"
    )
    ne_doc = (
        "Whether two values differ (floats beyond DBL_EPSILON). Example: df.bad = df.status != 200"
    )
    for t in (I, S, B, T, U):
        reg("equal", (t, t), B, _equal, eq_doc)
        reg("notEqual", (t, t), B, _not_equal, ne_doc)
    for ta, tb in ((B, I), (I, B)):
        reg("equal", (ta, tb), B, _equal_bool_int, eq_doc)
        reg("notEqual", (ta, tb), B, _not_equal_bool_int, ne_doc)
    for ta, tb in ((F, F), (I, F), (F, I)):
        reg("equal", (ta, tb), B, _equal_float, eq_doc)
        reg("notEqual", (ta, tb), B, _not_equal_float, ne_doc)
    reg(
        "approxEqual",
        (F, F),
        B,
        _equal_float,
        "Whether |a - b| < DBL_EPSILON. Example: df.same = px.approxEqual(df.a, df.b)",
    )

    for name, kernel, op in (
        ("greaterThan", pc.greater, ">"),
        ("greaterThanEqual", pc.greater_equal, ">="),
        ("lessThan", pc.less, "<"),
        ("lessThanEqual", pc.less_equal, "<="),
    ):
        doc = (
            f"Compare two values of the same type with {op}. "
            f"Example: df.slow = df.latency {op} 1000"
        )
        for t in (I, F, S, T):
            reg(name, (t, t), B, _compare(kernel), doc)

    for t in (B, I):
        reg(
            "logicalAnd",
            (t, t),
            B,
            _logical_and,
            "Logical AND (integers are true when non-zero). Example: df[df.a and df.b]",
        )
        reg(
            "logicalOr",
            (t, t),
            B,
            _logical_or,
            "Logical OR (integers are true when non-zero). Example: df[df.a or df.b]",
        )
        reg(
            "logicalNot",
            (t,),
            B,
            _logical_not,
            "Logical NOT (integers are true when non-zero). Example: df[not df.is_health_check]",
        )

    bin_doc = (
        "Round down to a multiple of the width: x - (x % w) with C++ truncating %. "
        "Example: df.timestamp = px.bin(df.time_, px.seconds(10))"
    )
    reg("bin", (I, I), I, _bin_int, bin_doc, _first_semantic)
    reg("bin", (T, T), T, _bin_time, bin_doc, _first_semantic)
    reg("bin", (T, I), T, _bin_time, bin_doc, _first_semantic)
    reg("bin", (I, T), I, _bin_int, bin_doc, _first_semantic)
    reg("bin", (F, I), I, _bin_float, bin_doc)
    reg(
        "time_to_int64",
        (T,),
        I,
        _time_to_int64,
        "Nanoseconds since the epoch of a time. Example: df.ns = px.time_to_int64(df.time_)",
    )
    reg(
        "int64_to_time",
        (I,),
        T,
        _int64_to_time,
        "A time from nanoseconds since the epoch. Example: df.t = px.int64_to_time(df.ns)",
        SemanticType.ST_TIME_NS,
    )

    select_doc = (
        "Pick a or b per row by a condition; both are evaluated. "
        "Example: df.failure = px.select(df.resp_status >= 400, 1, 0)"
    )
    for t in (B, I, F, T, S):
        reg("select", (B, t, t), t, _select, select_doc, lambda a: _common_semantic(a[1:]))
