from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_TYPE_UNKNOWN: _ClassVar[DataType]
    BOOLEAN: _ClassVar[DataType]
    INT64: _ClassVar[DataType]
    UINT128: _ClassVar[DataType]
    FLOAT64: _ClassVar[DataType]
    STRING: _ClassVar[DataType]
    TIME64NS: _ClassVar[DataType]

class SemanticType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ST_UNSPECIFIED: _ClassVar[SemanticType]
    ST_NONE: _ClassVar[SemanticType]
    ST_TIME_NS: _ClassVar[SemanticType]
    ST_AGENT_UID: _ClassVar[SemanticType]
    ST_ASID: _ClassVar[SemanticType]
    ST_UPID: _ClassVar[SemanticType]
    ST_SERVICE_NAME: _ClassVar[SemanticType]
    ST_POD_NAME: _ClassVar[SemanticType]
    ST_POD_PHASE: _ClassVar[SemanticType]
    ST_POD_STATUS: _ClassVar[SemanticType]
    ST_NODE_NAME: _ClassVar[SemanticType]
    ST_CONTAINER_NAME: _ClassVar[SemanticType]
    ST_CONTAINER_STATE: _ClassVar[SemanticType]
    ST_CONTAINER_STATUS: _ClassVar[SemanticType]
    ST_NAMESPACE_NAME: _ClassVar[SemanticType]
    ST_BYTES: _ClassVar[SemanticType]
    ST_PERCENT: _ClassVar[SemanticType]
    ST_DURATION_NS: _ClassVar[SemanticType]
    ST_THROUGHPUT_PER_NS: _ClassVar[SemanticType]
    ST_THROUGHPUT_BYTES_PER_NS: _ClassVar[SemanticType]
    ST_QUANTILES: _ClassVar[SemanticType]
    ST_DURATION_NS_QUANTILES: _ClassVar[SemanticType]
    ST_IP_ADDRESS: _ClassVar[SemanticType]
    ST_PORT: _ClassVar[SemanticType]
    ST_HTTP_REQ_METHOD: _ClassVar[SemanticType]
    ST_HTTP_RESP_STATUS: _ClassVar[SemanticType]
    ST_HTTP_RESP_MESSAGE: _ClassVar[SemanticType]
    ST_SCRIPT_REFERENCE: _ClassVar[SemanticType]
DATA_TYPE_UNKNOWN: DataType
BOOLEAN: DataType
INT64: DataType
UINT128: DataType
FLOAT64: DataType
STRING: DataType
TIME64NS: DataType
ST_UNSPECIFIED: SemanticType
ST_NONE: SemanticType
ST_TIME_NS: SemanticType
ST_AGENT_UID: SemanticType
ST_ASID: SemanticType
ST_UPID: SemanticType
ST_SERVICE_NAME: SemanticType
ST_POD_NAME: SemanticType
ST_POD_PHASE: SemanticType
ST_POD_STATUS: SemanticType
ST_NODE_NAME: SemanticType
ST_CONTAINER_NAME: SemanticType
ST_CONTAINER_STATE: SemanticType
ST_CONTAINER_STATUS: SemanticType
ST_NAMESPACE_NAME: SemanticType
ST_BYTES: SemanticType
ST_PERCENT: SemanticType
ST_DURATION_NS: SemanticType
ST_THROUGHPUT_PER_NS: SemanticType
ST_THROUGHPUT_BYTES_PER_NS: SemanticType
ST_QUANTILES: SemanticType
ST_DURATION_NS_QUANTILES: SemanticType
ST_IP_ADDRESS: SemanticType
ST_PORT: SemanticType
ST_HTTP_REQ_METHOD: SemanticType
ST_HTTP_RESP_STATUS: SemanticType
ST_HTTP_RESP_MESSAGE: SemanticType
ST_SCRIPT_REFERENCE: SemanticType

class UInt128(_message.Message):
    __slots__ = ("high", "low")
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    high: int
    low: int
    def __init__(self, high: _Optional[int] = ..., low: _Optional[int] = ...) -> None: ...

class ColumnSchema(_message.Message):
    __slots__ = ("name", "data_type", "semantic_type", "desc")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    name: str
    data_type: DataType
    semantic_type: SemanticType
    desc: str
    def __init__(self, name: _Optional[str] = ..., data_type: _Optional[_Union[DataType, str]] = ..., semantic_type: _Optional[_Union[SemanticType, str]] = ..., desc: _Optional[str] = ...) -> None: ...

class Relation(_message.Message):
    __slots__ = ("columns",)
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[ColumnSchema]
    def __init__(self, columns: _Optional[_Iterable[_Union[ColumnSchema, _Mapping]]] = ...) -> None: ...

class TableSchema(_message.Message):
    __slots__ = ("name", "desc", "columns", "time_column", "sensitive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    TIME_COLUMN_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    desc: str
    columns: _containers.RepeatedCompositeFieldContainer[ColumnSchema]
    time_column: str
    sensitive: bool
    def __init__(self, name: _Optional[str] = ..., desc: _Optional[str] = ..., columns: _Optional[_Iterable[_Union[ColumnSchema, _Mapping]]] = ..., time_column: _Optional[str] = ..., sensitive: _Optional[bool] = ...) -> None: ...
