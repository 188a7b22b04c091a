"""Data types and semantic types, and how they map to Arrow."""

from __future__ import annotations

import enum

import pyarrow as pa

__all__ = [
    "UINT128_ARROW_TYPE",
    "DataType",
    "SemanticType",
    "arrow_type",
    "data_type_of_arrow",
]


class DataType(enum.IntEnum):
    """Column data types; numbers equal px.api.vizierpb.DataType and pyxie.typespb.DataType."""

    DATA_TYPE_UNKNOWN = 0
    BOOLEAN = 1
    INT64 = 2
    UINT128 = 3
    FLOAT64 = 4
    STRING = 5
    TIME64NS = 6


class SemanticType(enum.IntEnum):
    """How a value is meant (bytes, a pod name, a duration...); only the UI formats by it."""

    ST_UNSPECIFIED = 0
    ST_NONE = 1
    ST_TIME_NS = 2
    ST_AGENT_UID = 100
    ST_ASID = 101
    ST_UPID = 200
    ST_SERVICE_NAME = 300
    ST_POD_NAME = 400
    ST_POD_PHASE = 401
    ST_POD_STATUS = 402
    ST_NODE_NAME = 500
    ST_CONTAINER_NAME = 600
    ST_CONTAINER_STATE = 601
    ST_CONTAINER_STATUS = 602
    ST_NAMESPACE_NAME = 700
    ST_BYTES = 800
    ST_PERCENT = 900
    ST_DURATION_NS = 901
    ST_THROUGHPUT_PER_NS = 902
    ST_THROUGHPUT_BYTES_PER_NS = 903
    ST_QUANTILES = 1000
    ST_DURATION_NS_QUANTILES = 1001
    ST_IP_ADDRESS = 1100
    ST_PORT = 1200
    ST_HTTP_REQ_METHOD = 1300
    ST_HTTP_RESP_STATUS = 1400
    ST_HTTP_RESP_MESSAGE = 1500
    ST_SCRIPT_REFERENCE = 3000


# UINT128 values (UPIDs, agent ids) are 16 big-endian bytes: high 64 bits first, so byte order
# equals numeric order and Arrow can hash, group and join on them natively.
UINT128_ARROW_TYPE = pa.binary(16)

_TO_ARROW: dict[DataType, pa.DataType] = {
    DataType.BOOLEAN: pa.bool_(),
    DataType.INT64: pa.int64(),
    DataType.UINT128: UINT128_ARROW_TYPE,
    DataType.FLOAT64: pa.float64(),
    DataType.STRING: pa.string(),
    DataType.TIME64NS: pa.timestamp("ns"),
}


def arrow_type(data_type: DataType) -> pa.DataType:
    """The Arrow type that carries ``data_type`` in record batches."""
    try:
        return _TO_ARROW[data_type]
    except KeyError:
        raise ValueError(f"data type {data_type.name} has no Arrow representation") from None


def data_type_of_arrow(arrow: pa.DataType) -> DataType:
    """The data type an Arrow type carries; raises ValueError for types Pyxie does not use."""
    for data_type, candidate in _TO_ARROW.items():
        if arrow == candidate:
            return data_type
    if pa.types.is_timestamp(arrow):
        return DataType.TIME64NS
    if pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return DataType.STRING
    raise ValueError(f"Arrow type {arrow} does not map to a Pyxie data type")
