"""A serialized ``px.api.vizierpb.RowBatchData`` straight from Arrow buffers, no Python per row.

The protobuf path (``row_batch_to_vizier(...).SerializeToString()``) turns every value into a
Python object first (``tolist()``, one ``bytes`` per string, one ``UInt128`` message per id).
For bulk results that is most of the broker's time, so the wire bytes are built here with numpy:
varints for the packed int64/time columns, raw little-endian doubles, and the repeated
``bytes``/``UInt128`` elements laid out with vectorised index arithmetic. The output parses to
the same message the protobuf path builds (fields in field-number order, proto3 defaults
omitted), which the tests check value for value.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ._relation import Relation
from ._types import DataType

__all__ = ["row_batch_bytes"]

_U8 = np.uint8
_MAX_VARINT: Final = 10
# Column.col_data field numbers (vizierapi.proto).
_COLUMN_FIELD: Final = {
    DataType.BOOLEAN: 1,
    DataType.INT64: 2,
    DataType.UINT128: 3,
    DataType.TIME64NS: 4,
    DataType.FLOAT64: 5,
    DataType.STRING: 6,
}
_LEN: Final = 2  # wire type of length-delimited fields

_Bytes = npt.NDArray[np.uint8]
_Ints = npt.NDArray[np.int64]


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | _LEN) + _varint(len(payload)) + payload


def _varint_lengths(values: npt.NDArray[np.uint64]) -> _Ints:
    lengths = np.ones(len(values), dtype=np.int64)
    for k in range(1, _MAX_VARINT):
        longer = values >= np.uint64(1 << (7 * k))
        if not longer.any():
            break
        lengths += longer
    return lengths


def _tagged_varints(
    values: npt.NDArray[np.uint64], tag: int | None, *, omit_zero: bool = False
) -> tuple[_Bytes, _Ints]:
    """Per value ``[tag] varint(value)`` (nothing for a zero when ``omit_zero``): the bytes of
    all values in order and each value's byte count."""
    lengths = _varint_lengths(values)
    width = int(lengths.max()) if len(values) else 1
    lead = 0 if tag is None else 1
    matrix = np.empty((len(values), width + lead), dtype=_U8)
    if tag is not None:
        matrix[:, 0] = tag
    for k in range(width):
        matrix[:, lead + k] = ((values >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(_U8) | 0x80
    rows = np.arange(len(values))
    matrix[rows, lead + lengths - 1] &= 0x7F
    lengths = lengths + lead
    if omit_zero:
        lengths = np.where(values == 0, 0, lengths)
    mask = np.arange(width + lead) < lengths[:, None]
    return matrix[mask], lengths


def _interleave(parts: list[tuple[_Bytes, _Ints]]) -> _Bytes:
    """Element i of the result is part0[i] + part1[i] + ...: each part is (flat bytes in element
    order, byte count per element).

    The part with the most bytes (the string data) is copied with one boolean-mask assignment
    into the positions the other parts leave free; only the small parts are scattered by index.
    """
    per_element = np.sum([lengths for _, lengths in parts], axis=0)
    starts = np.cumsum(per_element) - per_element
    out = np.empty(int(per_element.sum()), dtype=_U8)
    bulk = max(range(len(parts)), key=lambda p: len(parts[p][0]))
    free = np.ones(len(out), dtype=bool)
    before = np.zeros_like(starts)
    for index, (flat, lengths) in enumerate(parts):
        if index != bulk and len(flat):
            element_first = np.cumsum(lengths) - lengths  # offset of element i inside `flat`
            positions = np.arange(len(flat)) + np.repeat(starts + before - element_first, lengths)
            out[positions] = flat
            free[positions] = False
        before += lengths
    out[free] = parts[bulk][0]
    return out


def _packed(payload: bytes) -> bytes:
    # The XColumn message: field 1, packed. An empty repeated field is not written at all.
    return _field(1, payload) if payload else b""


def _string_column(array: pa.Array) -> bytes:
    if not (pa.types.is_string(array.type) or pa.types.is_binary(array.type)):
        array = array.cast(pa.binary())  # large or view strings: 32-bit offsets here
    count = len(array)
    if count == 0:
        return b""
    offsets_buf, data_buf = array.buffers()[1], array.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[array.offset : array.offset + count + 1]
    lengths = np.diff(offsets).astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    data = (
        np.frombuffer(data_buf, dtype=_U8)[first:last]
        if data_buf is not None
        else np.zeros(0, dtype=_U8)
    )
    header = _tagged_varints(lengths.astype(np.uint64), 0x0A)
    return _interleave([header, (data, lengths)]).tobytes()


def _uint128_column(array: pa.Array) -> bytes:
    count = len(array)
    if count == 0:
        return b""
    raw = np.frombuffer(array.buffers()[1], dtype=np.dtype(">u8"))[
        array.offset * 2 : (array.offset + count) * 2
    ]
    high = raw[0::2].astype(np.uint64)
    low = raw[1::2].astype(np.uint64)
    low_part = _tagged_varints(low, 0x08, omit_zero=True)
    high_part = _tagged_varints(high, 0x10, omit_zero=True)
    body = low_part[1] + high_part[1]
    header = _tagged_varints(body.astype(np.uint64), 0x0A)
    return _interleave([header, low_part, high_part]).tobytes()


def _encode_column(array: pa.Array, data_type: DataType) -> bytes:
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if data_type is DataType.STRING:
        return _string_column(array)
    if data_type is DataType.UINT128:
        return _uint128_column(array)
    if data_type is DataType.FLOAT64:
        values = array.to_numpy(zero_copy_only=False).astype("<f8", copy=False)
        return _packed(values.tobytes())
    if data_type is DataType.BOOLEAN:
        return _packed(array.to_numpy(zero_copy_only=False).astype(_U8).tobytes())
    if data_type in (DataType.INT64, DataType.TIME64NS):
        if pa.types.is_timestamp(array.type):
            array = array.cast(pa.int64())
        ints = array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        flat, _ = _tagged_varints(ints.view(np.uint64), None)
        return _packed(flat.tobytes())
    raise ValueError(f"cannot encode column of type {data_type.name}")


def row_batch_bytes(
    batch: pa.RecordBatch,
    relation: Relation,
    table_id: str,
    *,
    eow: bool = False,
    eos: bool = False,
) -> bytes:
    """``row_batch_to_vizier(batch, relation, table_id, eow=eow, eos=eos)``, serialized.

    Columns with nulls are refused (the protobuf path cannot carry them either).
    """
    if batch.num_columns != len(relation):
        raise ValueError(
            f"batch has {batch.num_columns} columns but the relation has {len(relation)}"
        )
    parts: list[bytes] = []
    for i, column in enumerate(relation):
        array = batch.column(i)
        if array.null_count:
            raise ValueError(f"column {column.name!r} holds nulls")
        inner = _encode_column(array, column.data_type)
        parts.append(_field(1, _field(_COLUMN_FIELD[column.data_type], inner)))
    if batch.num_rows:
        parts.append(b"\x10" + _varint(batch.num_rows))
    if eow:
        parts.append(b"\x18\x01")
    if eos:
        parts.append(b"\x20\x01")
    if table_id:
        parts.append(_field(5, table_id.encode()))
    return b"".join(parts)
