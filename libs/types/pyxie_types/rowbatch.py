"""Arrow record batches <-> the public API's ``px.api.vizierpb.RowBatchData`` and ``Relation``.

The query broker encodes with these; clients (ours, the CLI) decode with them. The layout is
Pixie's: one ``Column`` per relation column in relation order, strings as bytes, UINT128 as
(low, high) pairs, TIME64NS as int64 nanoseconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb

from ._relation import Column, Relation
from ._types import DataType, SemanticType, arrow_type
from ._wire import row_batch_bytes

__all__ = [
    "relation_from_vizier",
    "relation_to_vizier",
    "row_batch_bytes",
    "row_batch_from_vizier",
    "row_batch_to_vizier",
]

_U64 = np.dtype(">u8")


def relation_to_vizier(relation: Relation) -> vpb.Relation:
    return vpb.Relation(
        columns=[
            vpb.Relation.ColumnInfo(
                column_name=c.name,
                column_type=int(c.data_type),  # type: ignore[arg-type]
                column_desc=c.desc,
                column_semantic_type=int(c.semantic_type),  # type: ignore[arg-type]
            )
            for c in relation
        ]
    )


def relation_from_vizier(relation: vpb.Relation) -> Relation:
    return Relation(
        tuple(
            Column(
                c.column_name,
                DataType(c.column_type),
                SemanticType(c.column_semantic_type),
                c.column_desc,
            )
            for c in relation.columns
        )
    )


def _encode_column(array: pa.Array, data_type: DataType) -> vpb.Column:
    if data_type is DataType.BOOLEAN:
        return vpb.Column(boolean_data=vpb.BooleanColumn(data=array.to_numpy(False).tolist()))
    if data_type is DataType.INT64:
        return vpb.Column(int64_data=vpb.Int64Column(data=array.to_numpy(False).tolist()))
    if data_type is DataType.FLOAT64:
        return vpb.Column(float64_data=vpb.Float64Column(data=array.to_numpy(False).tolist()))
    if data_type is DataType.TIME64NS:
        ints = array.cast(pa.int64()).to_numpy(False).tolist()
        return vpb.Column(time64ns_data=vpb.Time64NSColumn(data=ints))
    if data_type is DataType.STRING:
        return vpb.Column(
            string_data=vpb.StringColumn(data=[s.encode() for s in array.to_pylist()])
        )
    if data_type is DataType.UINT128:
        raw = np.frombuffer(array.buffers()[1], dtype=_U64)[
            array.offset * 2 : (array.offset + len(array)) * 2
        ]
        high, low = raw[0::2].tolist(), raw[1::2].tolist()
        values = [vpb.UInt128(low=lo, high=hi) for hi, lo in zip(high, low, strict=True)]
        return vpb.Column(uint128_data=vpb.UInt128Column(data=values))
    raise ValueError(f"cannot encode column of type {data_type.name}")


def row_batch_to_vizier(
    batch: pa.RecordBatch,
    relation: Relation,
    table_id: str,
    *,
    eow: bool = False,
    eos: bool = False,
) -> vpb.RowBatchData:
    """Encode ``batch`` (columns in ``relation`` order) as a RowBatchData."""
    if batch.num_columns != len(relation):
        raise ValueError(
            f"batch has {batch.num_columns} columns but the relation has {len(relation)}"
        )
    cols = [_encode_column(batch.column(i), column.data_type) for i, column in enumerate(relation)]
    return vpb.RowBatchData(table_id=table_id, cols=cols, num_rows=batch.num_rows, eow=eow, eos=eos)


def _decode_column(column: vpb.Column, data_type: DataType) -> pa.Array:
    kind = column.WhichOneof("col_data")
    if data_type is DataType.BOOLEAN and kind == "boolean_data":
        return pa.array(list(column.boolean_data.data), pa.bool_())
    if data_type is DataType.INT64 and kind == "int64_data":
        return pa.array(np.asarray(column.int64_data.data, dtype=np.int64), pa.int64())
    if data_type is DataType.FLOAT64 and kind == "float64_data":
        return pa.array(np.asarray(column.float64_data.data, dtype=np.float64), pa.float64())
    if data_type is DataType.TIME64NS and kind == "time64ns_data":
        ints = pa.array(np.asarray(column.time64ns_data.data, dtype=np.int64), pa.int64())
        return ints.cast(pa.timestamp("ns"))
    if data_type is DataType.STRING and kind == "string_data":
        raw = pa.array(list(column.string_data.data), pa.binary())
        return pc.cast(raw, pa.string())
    if data_type is DataType.UINT128 and kind == "uint128_data":
        values = column.uint128_data.data
        packed = np.empty(len(values) * 2, dtype=_U64)
        packed[0::2] = [v.high for v in values]
        packed[1::2] = [v.low for v in values]
        return pa.Array.from_buffers(
            arrow_type(DataType.UINT128), len(values), [None, pa.py_buffer(packed.tobytes())]
        )
    raise ValueError(f"column holds {kind} but the relation says {data_type.name}")


def row_batch_from_vizier(batch: vpb.RowBatchData, relation: Relation) -> pa.RecordBatch:
    """Decode a RowBatchData into an Arrow batch with ``relation``'s schema."""
    if len(batch.cols) != len(relation):
        raise ValueError(f"batch has {len(batch.cols)} columns, relation has {len(relation)}")
    arrays = [
        _decode_column(col, column.data_type)
        for col, column in zip(batch.cols, relation, strict=True)
    ]
    for array, column in zip(arrays, relation, strict=True):
        if len(array) != batch.num_rows:
            raise ValueError(
                f"column {column.name!r} has {len(array)} values, num_rows is {batch.num_rows}"
            )
    return pa.RecordBatch.from_arrays(arrays, schema=relation.arrow_schema())
