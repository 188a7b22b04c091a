"""Shared plumbing for scalar functions: argument normalisation and distinct-value mapping.

Scalar functions receive ``pa.Array``/``pa.ChunkedArray`` columns or ``pa.Scalar`` constants.
Everything here keeps the contract: outputs have the batch length (or are scalars when every
argument is a scalar) and never contain nulls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Arg",
    "FunctionArgumentError",
    "as_float",
    "as_int",
    "as_time",
    "batch_length",
    "from_numpy",
    "map_distinct",
    "map_rows",
    "norm",
    "to_numpy",
]

# What a normalised argument is: a contiguous array or a constant.
Arg: TypeAlias = pa.Array | pa.Scalar


class FunctionArgumentError(ValueError):
    """A scalar function got an argument it cannot work with (bad regex, wrong constant...)."""


def norm(value: Any) -> Arg:
    """Flatten chunked arrays so kernels and numpy see one contiguous array."""
    if isinstance(value, pa.ChunkedArray):
        if value.num_chunks == 1:
            return value.chunk(0)
        return value.combine_chunks()
    if isinstance(value, (pa.Array, pa.Scalar)):
        return value
    raise TypeError(f"scalar function argument must be an Arrow array or scalar, got {value!r}")


def batch_length(args: Sequence[Arg]) -> int | None:
    """The length of the array arguments, or None when every argument is a constant."""
    for arg in args:
        if isinstance(arg, pa.Array):
            return len(arg)
    return None


def as_int(value: Arg) -> Arg:
    """TIME64NS (or BOOLEAN) as INT64 nanoseconds, zero-copy for arrays where possible."""
    if pa.types.is_int64(value.type):
        return value
    if pa.types.is_timestamp(value.type):
        if isinstance(value, pa.Array):
            return value.view(pa.int64())
        return pa.scalar(value.value, pa.int64())
    return pc.cast(value, pa.int64())


def as_time(value: Arg) -> Arg:
    """INT64 nanoseconds as TIME64NS."""
    if pa.types.is_timestamp(value.type):
        return value
    if isinstance(value, pa.Array):
        return value.view(pa.timestamp("ns"))
    return pa.scalar(value.as_py(), pa.timestamp("ns"))


def as_float(value: Arg) -> Arg:
    if pa.types.is_float64(value.type):
        return value
    return pc.cast(value, pa.float64())


def to_numpy(value: Arg) -> Any:
    """An array as a numpy array, a scalar as a 0-d numpy value of the matching dtype."""
    if isinstance(value, pa.Array):
        return value.to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(value.type):
        return np.int64(value.value)
    if pa.types.is_int64(value.type):
        return np.int64(value.as_py())
    if pa.types.is_float64(value.type):
        return np.float64(value.as_py())
    return value.as_py()


def from_numpy(result: Any, out_type: pa.DataType, scalar: bool) -> Arg:
    if scalar:
        return pa.scalar(np.asarray(result).item(), out_type)
    return pa.array(np.asarray(result), type=out_type)


def _scalar_out(value: Any, out_type: pa.DataType) -> pa.Scalar:
    return pa.scalar(value, out_type)


def map_distinct(
    fn: Callable[[Any], Any], arg: Arg, out_type: pa.DataType, *, dictionary: bool = False
) -> Arg:
    """Apply a Python function once per *distinct* value of ``arg`` and scatter the results.

    The column is dictionary-encoded (one hash pass in C++), ``fn`` runs over the dictionary
    only, and ``take`` expands the mapped dictionary back to row order. Columns of metadata
    keys, JSON payloads of a handful of shapes, IPs and the like have far fewer distinct values
    than rows, so the Python cost is per distinct value, not per row.

    ``dictionary``: a STRING result stays dictionary-encoded (the row's index into the mapped
    distinct values, which may repeat) instead of being expanded; the engine takes such a
    column as a STRING column (function results that a query groups on, as metadata lookups).
    """
    if isinstance(arg, pa.Scalar):
        return _scalar_out(fn(arg.as_py()), out_type)
    if len(arg) == 0:
        return pa.array([], type=out_type)
    encoded = arg.dictionary_encode()
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=out_type)
    if dictionary and pa.types.is_string(out_type):
        return pa.DictionaryArray.from_arrays(encoded.indices, mapped)
    return pc.take(mapped, encoded.indices)


def map_rows(fn: Callable[..., Any], args: Sequence[Arg], out_type: pa.DataType) -> Arg:
    """Per-row fallback over several arguments (constants are broadcast).

    When exactly one argument is an array the work is per distinct value of that array.
    """
    n = batch_length(args)
    if n is None:
        return _scalar_out(fn(*(a.as_py() for a in args)), out_type)
    array_positions = [i for i, a in enumerate(args) if isinstance(a, pa.Array)]
    if len(array_positions) == 1:
        pos = array_positions[0]
        consts = [a.as_py() if isinstance(a, pa.Scalar) else None for a in args]

        def one(value: Any) -> Any:
            call = list(consts)
            call[pos] = value
            return fn(*call)

        return map_distinct(one, args[pos], out_type)
    # Several column arguments: per row, but each distinct argument tuple is computed once.
    columns = [a.to_pylist() if isinstance(a, pa.Array) else [a.as_py()] * n for a in args]
    cache: dict[tuple[Any, ...], Any] = {}
    out: list[Any] = []
    for row in zip(*columns, strict=True):
        try:
            out.append(cache[row])
        except KeyError:
            value = cache[row] = fn(*row)
            out.append(value)
    return pa.array(out, type=out_type)
