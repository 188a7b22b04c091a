"""The contract between the aggregate operator and a UDA, and the state wire codec.

A UDA works on whole columns, never on single rows. The aggregate operator keeps, for every
group, a few *state columns* per aggregate (a sum, a count, a serialized t-digest...). A UDA says
how to build them from input rows (``update``), how to combine several states of the same group
(``merge``) and how to turn them into the output value (``finalize``). Where Arrow's hash
aggregation can do the work, the UDA names Arrow aggregate functions (``arrow_update`` /
``arrow_merge``) and the operator runs all of them in one hash pass; otherwise the operator hands
the UDA dense group ids and it works group-wise with numpy.

Partial states cross agents as STRING columns: every state row is hex-encoded (vectorised), so
the bytes are valid UTF-8 whatever the state holds.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_types import DataType, arrow_type

__all__ = [
    "UDA",
    "ArrowAggSpec",
    "decode_hex_rows",
    "encode_hex_rows",
    "fill_zero",
    "fixed_width",
    "zero_scalar",
]

# (Arrow aggregate function name, function options or None) applied to one prepared column.
ArrowAggSpec = tuple[str, Any]

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte -> its two hex digits
_HEX_PAIRS = np.stack([_HEX_DIGITS[np.arange(256) >> 4], _HEX_DIGITS[np.arange(256) & 15]], 1)
_NIBBLE = np.zeros(256, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def zero_scalar(data_type: DataType) -> pa.Scalar:
    """Pixie's stand-in for a missing value (there are no nulls): 0, 0.0, "", false, time 0."""
    arrow = arrow_type(data_type)
    if data_type is DataType.UINT128:
        return pa.scalar(b"\x00" * 16, arrow)
    if data_type is DataType.STRING:
        return pa.scalar("", arrow)
    if data_type is DataType.BOOLEAN:
        return pa.scalar(False, arrow)
    return pa.scalar(0, arrow)


def fixed_width(arrow: pa.DataType) -> int | None:
    """Bytes per value of a fixed-width Arrow type (bool counts as one byte), else None."""
    if pa.types.is_boolean(arrow):
        return 1
    if pa.types.is_fixed_size_binary(arrow):
        return int(arrow.byte_width)
    try:
        return int(arrow.bit_width) // 8
    except ValueError:
        return None


def _value_bytes(column: pa.Array) -> npt.NDArray[np.uint8]:
    """Row-major raw bytes of a fixed-width column: shape (len, width)."""
    arrow = column.type
    if pa.types.is_boolean(arrow):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.uint8).reshape(-1, 1)
    width = fixed_width(arrow)
    assert width is not None
    data = column.buffers()[1]
    assert data is not None
    raw = np.frombuffer(data, dtype=np.uint8)
    start = column.offset * width
    return raw[start : start + len(column) * width].reshape(-1, width)


def _var_parts(column: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Offsets (rebased to 0) and data bytes of a string/binary array."""
    if pa.types.is_large_binary(column.type) or pa.types.is_large_string(column.type):
        offset_type: type[np.signedinteger[Any]] = np.int64
    else:
        offset_type = np.int32
    buffers = column.buffers()
    assert buffers[1] is not None
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[
        column.offset : column.offset + len(column) + 1
    ].astype(np.int64)
    data_buffer = buffers[2]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    data = data[offsets[0] : offsets[-1]]
    return offsets - offsets[0], data


def encode_hex_rows(columns: Sequence[pa.Array]) -> pa.Array:
    """One hex STRING per row holding the row's values of ``columns`` back to back.

    Every column but the last must be fixed-width; the last may be string/binary.
    """
    num_rows = len(columns[0]) if columns else 0
    fixed = [c for c in columns if fixed_width(c.type) is not None]
    variable = [c for c in columns if fixed_width(c.type) is None]
    if len(variable) > 1 or (variable and columns[-1] is not variable[0]):
        raise ValueError("only the last state column may be variable-width")
    parts = [_value_bytes(c) for c in fixed]
    head = np.concatenate(parts, axis=1) if parts else np.zeros((num_rows, 0), np.uint8)
    head_width = head.shape[1]
    if not variable:
        data = head.reshape(-1)
        offsets = np.arange(num_rows + 1, dtype=np.int64) * head_width
    else:
        var_offsets, var_data = _var_parts(variable[0])
        lengths = np.diff(var_offsets) + head_width
        offsets = np.zeros(num_rows + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = np.empty(int(offsets[-1]), dtype=np.uint8)
        # positions of the head bytes of each row, then the rest is the variable part
        head_pos = (offsets[:-1, None] + np.arange(head_width)[None, :]).reshape(-1)
        mask = np.ones(len(data), dtype=bool)
        mask[head_pos] = False
        data[head_pos] = head.reshape(-1)
        data[mask] = var_data
    hex_data = _HEX_PAIRS[data].reshape(-1)
    hex_offsets = offsets * 2
    if hex_offsets[-1] >= 2**31:
        return pa.Array.from_buffers(
            pa.large_string(), num_rows, [None, pa.py_buffer(hex_offsets), pa.py_buffer(hex_data)]
        ).cast(pa.string())
    return pa.Array.from_buffers(
        pa.string(),
        num_rows,
        [None, pa.py_buffer(hex_offsets.astype(np.int32)), pa.py_buffer(hex_data)],
    )


def decode_hex_rows(
    encoded: pa.Array | pa.ChunkedArray, types: Sequence[pa.DataType]
) -> list[pa.Array]:
    """Inverse of ``encode_hex_rows`` for state columns of the given Arrow types."""
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    num_rows = len(encoded)
    hex_offsets, hex_data = _var_parts(encoded)
    if len(hex_data) % 2 or np.any(hex_offsets % 2):
        raise ValueError("a partial aggregate state is not a hex string")
    pairs = hex_data.reshape(-1, 2)
    data = (_NIBBLE[pairs[:, 0]] << 4) | _NIBBLE[pairs[:, 1]]
    offsets = hex_offsets // 2
    widths = [fixed_width(t) for t in types]
    head_width = sum(w for w in widths if w is not None)
    out: list[pa.Array] = []
    variable = widths and widths[-1] is None
    if not variable:
        if len(data) != num_rows * head_width:
            raise ValueError("a partial aggregate state has the wrong size")
        rows = data.reshape(num_rows, head_width) if head_width else data.reshape(num_rows, 0)
    else:
        head_pos = (offsets[:-1, None] + np.arange(head_width)[None, :]).reshape(-1)
        rows = data[head_pos].reshape(num_rows, head_width)
    position = 0
    for arrow, width in zip(types, widths, strict=True):
        if width is None:
            continue
        chunk = np.ascontiguousarray(rows[:, position : position + width])
        position += width
        if pa.types.is_boolean(arrow):
            out.append(pa.array(chunk.reshape(-1).astype(bool)))
        else:
            out.append(
                pa.Array.from_buffers(arrow, num_rows, [None, pa.py_buffer(chunk.reshape(-1))])
            )
    if variable:
        mask = np.ones(len(data), dtype=bool)
        mask[head_pos] = False
        var_data = data[mask]
        var_offsets = offsets - np.arange(num_rows + 1, dtype=np.int64) * head_width
        out.append(
            pa.Array.from_buffers(
                pa.large_binary(),
                num_rows,
                [None, pa.py_buffer(var_offsets), pa.py_buffer(np.ascontiguousarray(var_data))],
            ).cast(types[-1])
        )
    return out


class UDA(abc.ABC):
    """One aggregate overload, instantiated once per aggregate expression of a query.

    Subclasses set ``state_types`` (the Arrow types of their per-group state columns) and either
    ``arrow_update``/``arrow_merge`` (Arrow hash-aggregate functions, one per state column) or
    override ``update``/``merge`` (numpy over dense group ids).
    """

    # Arrow hash aggregate specs: update takes ``prepare(arg)`` once per state column.
    arrow_update: ClassVar[tuple[ArrowAggSpec, ...] | None] = None
    arrow_merge: ClassVar[tuple[ArrowAggSpec, ...] | None] = None
    # Whether Arrow's scalar (no group keys) aggregation has the same functions.
    arrow_ungrouped: ClassVar[bool] = True
    # State columns (by position) whose ``prepare`` may hand an INT64 column to an Arrow "sum"
    # although the state is FLOAT64: the aggregate sums such a chunk exactly as int64 when no
    # overflow is possible and casts the per-group sums, else casts the rows first.
    int_sum_states: ClassVar[tuple[int, ...]] = ()

    def __init__(self, arg_types: Sequence[DataType], return_type: DataType) -> None:
        self.arg_types = tuple(arg_types)
        self.return_type = return_type

    @property
    @abc.abstractmethod
    def state_types(self) -> tuple[pa.DataType, ...]:
        """Arrow types of the state columns, in order."""

    def uses_arrow(self, grouped: bool) -> bool:
        return self.arrow_update is not None and (grouped or self.arrow_ungrouped)

    def prepare(self, args: Sequence[pa.Array]) -> list[pa.Array]:
        """Input columns for ``arrow_update``, one per state column."""
        return [args[0]] * len(self.state_types)

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        """States of ``num_groups`` groups from input rows whose dense group ids are ``gids``."""
        raise NotImplementedError(f"{type(self).__name__} has no group-id update")

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        """Combine state rows that share a group id into one state row per group."""
        raise NotImplementedError(f"{type(self).__name__} has no group-id merge")

    @abc.abstractmethod
    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        """Output values (of ``return_type``) from per-group states."""

    @abc.abstractmethod
    def empty_states(self) -> list[pa.Array]:
        """States of one group that saw no rows (an ungrouped aggregate over no input)."""

    def serialize(self, states: Sequence[pa.Array]) -> pa.Array:
        """Per-group states as a STRING column (what a PARTIAL aggregate ships)."""
        return encode_hex_rows([_as_array(s) for s in states])

    def deserialize(self, encoded: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
        """Inverse of ``serialize``."""
        return decode_hex_rows(encoded, self.state_types)


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def fill_zero(values: pa.Array, data_type: DataType) -> pa.Array:
    """Replace nulls (which Arrow produces for empty sums etc.) by Pixie's zero value."""
    if values.null_count == 0:
        return values
    return pc.fill_null(values, zero_scalar(data_type))
