from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferResultChunkRequest(_message.Message):
    __slots__ = ("sender", "query_id", "query_result", "initiate_conn", "execution_and_timing_info", "execution_error")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_RESULT_FIELD_NUMBER: _ClassVar[int]
    INITIATE_CONN_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_AND_TIMING_INFO_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ERROR_FIELD_NUMBER: _ClassVar[int]
    sender: str
    query_id: str
    query_result: QueryResult
    initiate_conn: InitiateConnection
    execution_and_timing_info: ExecutionAndTimingInfo
    execution_error: ExecutionError
    def __init__(self, sender: _Optional[str] = ..., query_id: _Optional[str] = ..., query_result: _Optional[_Union[QueryResult, _Mapping]] = ..., initiate_conn: _Optional[_Union[InitiateConnection, _Mapping]] = ..., execution_and_timing_info: _Optional[_Union[ExecutionAndTimingInfo, _Mapping]] = ..., execution_error: _Optional[_Union[ExecutionError, _Mapping]] = ...) -> None: ...

class ExecutionError(_message.Message):
    __slots__ = ("message", "code")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    message: str
    code: int
    def __init__(self, message: _Optional[str] = ..., code: _Optional[int] = ...) -> None: ...

class InitiateConnection(_message.Message):
    __slots__ = ("grpc_source_id", "table_name")
    GRPC_SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    grpc_source_id: int
    table_name: str
    def __init__(self, grpc_source_id: _Optional[int] = ..., table_name: _Optional[str] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("grpc_source_id", "table_name", "arrow_ipc", "eow", "eos")
    GRPC_SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    ARROW_IPC_FIELD_NUMBER: _ClassVar[int]
    EOW_FIELD_NUMBER: _ClassVar[int]
    EOS_FIELD_NUMBER: _ClassVar[int]
    grpc_source_id: int
    table_name: str
    arrow_ipc: bytes
    eow: bool
    eos: bool
    def __init__(self, grpc_source_id: _Optional[int] = ..., table_name: _Optional[str] = ..., arrow_ipc: _Optional[bytes] = ..., eow: _Optional[bool] = ..., eos: _Optional[bool] = ...) -> None: ...

class OperatorExecutionStats(_message.Message):
    __slots__ = ("node_id", "operator", "records_in", "bytes_in", "records_out", "bytes_out", "total_time_ns")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    operator: str
    records_in: int
    bytes_in: int
    records_out: int
    bytes_out: int
    total_time_ns: int
    def __init__(self, node_id: _Optional[int] = ..., operator: _Optional[str] = ..., records_in: _Optional[int] = ..., bytes_in: _Optional[int] = ..., records_out: _Optional[int] = ..., bytes_out: _Optional[int] = ..., total_time_ns: _Optional[int] = ...) -> None: ...

class AgentExecutionStats(_message.Message):
    __slots__ = ("agent_id", "execution_time_ns", "bytes_processed", "records_processed", "operator_stats")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    BYTES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_STATS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    execution_time_ns: int
    bytes_processed: int
    records_processed: int
    operator_stats: _containers.RepeatedCompositeFieldContainer[OperatorExecutionStats]
    def __init__(self, agent_id: _Optional[str] = ..., execution_time_ns: _Optional[int] = ..., bytes_processed: _Optional[int] = ..., records_processed: _Optional[int] = ..., operator_stats: _Optional[_Iterable[_Union[OperatorExecutionStats, _Mapping]]] = ...) -> None: ...

class ExecutionAndTimingInfo(_message.Message):
    __slots__ = ("agent_stats",)
    AGENT_STATS_FIELD_NUMBER: _ClassVar[int]
    agent_stats: _containers.RepeatedCompositeFieldContainer[AgentExecutionStats]
    def __init__(self, agent_stats: _Optional[_Iterable[_Union[AgentExecutionStats, _Mapping]]] = ...) -> None: ...

class TransferResultChunkResponse(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...
