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

class LifeCycleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_STATE: _ClassVar[LifeCycleState]
    PENDING_STATE: _ClassVar[LifeCycleState]
    RUNNING_STATE: _ClassVar[LifeCycleState]
    FAILED_STATE: _ClassVar[LifeCycleState]
    TERMINATED_STATE: _ClassVar[LifeCycleState]

class ContainerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTAINER_STATE_UNKNOWN: _ClassVar[ContainerState]
    CONTAINER_STATE_RUNNING: _ClassVar[ContainerState]
    CONTAINER_STATE_TERMINATED: _ClassVar[ContainerState]
    CONTAINER_STATE_WAITING: _ClassVar[ContainerState]

class PodPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_UNKNOWN: _ClassVar[PodPhase]
    PENDING: _ClassVar[PodPhase]
    RUNNING: _ClassVar[PodPhase]
    SUCCEEDED: _ClassVar[PodPhase]
    FAILED: _ClassVar[PodPhase]
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
UNKNOWN_STATE: LifeCycleState
PENDING_STATE: LifeCycleState
RUNNING_STATE: LifeCycleState
FAILED_STATE: LifeCycleState
TERMINATED_STATE: LifeCycleState
CONTAINER_STATE_UNKNOWN: ContainerState
CONTAINER_STATE_RUNNING: ContainerState
CONTAINER_STATE_TERMINATED: ContainerState
CONTAINER_STATE_WAITING: ContainerState
PHASE_UNKNOWN: PodPhase
PENDING: PodPhase
RUNNING: PodPhase
SUCCEEDED: PodPhase
FAILED: PodPhase

class UInt128(_message.Message):
    __slots__ = ("low", "high")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    low: int
    high: int
    def __init__(self, low: _Optional[int] = ..., high: _Optional[int] = ...) -> None: ...

class BooleanColumn(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, data: _Optional[_Iterable[bool]] = ...) -> None: ...

class Int64Column(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, data: _Optional[_Iterable[int]] = ...) -> None: ...

class UInt128Column(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[UInt128]
    def __init__(self, data: _Optional[_Iterable[_Union[UInt128, _Mapping]]] = ...) -> None: ...

class Float64Column(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, data: _Optional[_Iterable[float]] = ...) -> None: ...

class Time64NSColumn(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, data: _Optional[_Iterable[int]] = ...) -> None: ...

class StringColumn(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, data: _Optional[_Iterable[bytes]] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("boolean_data", "int64_data", "uint128_data", "time64ns_data", "float64_data", "string_data")
    BOOLEAN_DATA_FIELD_NUMBER: _ClassVar[int]
    INT64_DATA_FIELD_NUMBER: _ClassVar[int]
    UINT128_DATA_FIELD_NUMBER: _ClassVar[int]
    TIME64NS_DATA_FIELD_NUMBER: _ClassVar[int]
    FLOAT64_DATA_FIELD_NUMBER: _ClassVar[int]
    STRING_DATA_FIELD_NUMBER: _ClassVar[int]
    boolean_data: BooleanColumn
    int64_data: Int64Column
    uint128_data: UInt128Column
    time64ns_data: Time64NSColumn
    float64_data: Float64Column
    string_data: StringColumn
    def __init__(self, boolean_data: _Optional[_Union[BooleanColumn, _Mapping]] = ..., int64_data: _Optional[_Union[Int64Column, _Mapping]] = ..., uint128_data: _Optional[_Union[UInt128Column, _Mapping]] = ..., time64ns_data: _Optional[_Union[Time64NSColumn, _Mapping]] = ..., float64_data: _Optional[_Union[Float64Column, _Mapping]] = ..., string_data: _Optional[_Union[StringColumn, _Mapping]] = ...) -> None: ...

class RowBatchData(_message.Message):
    __slots__ = ("table_id", "cols", "num_rows", "eow", "eos")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    NUM_ROWS_FIELD_NUMBER: _ClassVar[int]
    EOW_FIELD_NUMBER: _ClassVar[int]
    EOS_FIELD_NUMBER: _ClassVar[int]
    table_id: str
    cols: _containers.RepeatedCompositeFieldContainer[Column]
    num_rows: int
    eow: bool
    eos: bool
    def __init__(self, table_id: _Optional[str] = ..., cols: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., num_rows: _Optional[int] = ..., eow: _Optional[bool] = ..., eos: _Optional[bool] = ...) -> None: ...

class Relation(_message.Message):
    __slots__ = ("columns",)
    class ColumnInfo(_message.Message):
        __slots__ = ("column_name", "column_type", "column_desc", "column_semantic_type")
        COLUMN_NAME_FIELD_NUMBER: _ClassVar[int]
        COLUMN_TYPE_FIELD_NUMBER: _ClassVar[int]
        COLUMN_DESC_FIELD_NUMBER: _ClassVar[int]
        COLUMN_SEMANTIC_TYPE_FIELD_NUMBER: _ClassVar[int]
        column_name: str
        column_type: DataType
        column_desc: str
        column_semantic_type: SemanticType
        def __init__(self, column_name: _Optional[str] = ..., column_type: _Optional[_Union[DataType, str]] = ..., column_desc: _Optional[str] = ..., column_semantic_type: _Optional[_Union[SemanticType, str]] = ...) -> None: ...
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[Relation.ColumnInfo]
    def __init__(self, columns: _Optional[_Iterable[_Union[Relation.ColumnInfo, _Mapping]]] = ...) -> None: ...

class CompilerError(_message.Message):
    __slots__ = ("line", "column", "message")
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    line: int
    column: int
    message: str
    def __init__(self, line: _Optional[int] = ..., column: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ErrorDetails(_message.Message):
    __slots__ = ("compiler_error",)
    COMPILER_ERROR_FIELD_NUMBER: _ClassVar[int]
    compiler_error: CompilerError
    def __init__(self, compiler_error: _Optional[_Union[CompilerError, _Mapping]] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("code", "message", "error_details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    error_details: _containers.RepeatedCompositeFieldContainer[ErrorDetails]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., error_details: _Optional[_Iterable[_Union[ErrorDetails, _Mapping]]] = ...) -> None: ...

class ScalarValue(_message.Message):
    __slots__ = ("data_type", "bool_value", "int64_value", "float64_value", "string_value", "time64_ns_value", "uint128_value")
    DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME64_NS_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT128_VALUE_FIELD_NUMBER: _ClassVar[int]
    data_type: DataType
    bool_value: bool
    int64_value: int
    float64_value: float
    string_value: str
    time64_ns_value: int
    uint128_value: UInt128
    def __init__(self, data_type: _Optional[_Union[DataType, str]] = ..., bool_value: _Optional[bool] = ..., int64_value: _Optional[int] = ..., float64_value: _Optional[float] = ..., string_value: _Optional[str] = ..., time64_ns_value: _Optional[int] = ..., uint128_value: _Optional[_Union[UInt128, _Mapping]] = ...) -> None: ...

class ExecuteScriptRequest(_message.Message):
    __slots__ = ("query_str", "cluster_id", "exec_funcs", "mutation", "encryption_options", "query_id", "configs", "query_name")
    class FuncToExecute(_message.Message):
        __slots__ = ("func_name", "arg_values", "output_table_prefix")
        class ArgValue(_message.Message):
            __slots__ = ("name", "value")
            NAME_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            name: str
            value: str
            def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
        FUNC_NAME_FIELD_NUMBER: _ClassVar[int]
        ARG_VALUES_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_TABLE_PREFIX_FIELD_NUMBER: _ClassVar[int]
        func_name: str
        arg_values: _containers.RepeatedCompositeFieldContainer[ExecuteScriptRequest.FuncToExecute.ArgValue]
        output_table_prefix: str
        def __init__(self, func_name: _Optional[str] = ..., arg_values: _Optional[_Iterable[_Union[ExecuteScriptRequest.FuncToExecute.ArgValue, _Mapping]]] = ..., output_table_prefix: _Optional[str] = ...) -> None: ...
    class EncryptionOptions(_message.Message):
        __slots__ = ("jwk_key", "key_alg", "content_alg", "compression_alg")
        JWK_KEY_FIELD_NUMBER: _ClassVar[int]
        KEY_ALG_FIELD_NUMBER: _ClassVar[int]
        CONTENT_ALG_FIELD_NUMBER: _ClassVar[int]
        COMPRESSION_ALG_FIELD_NUMBER: _ClassVar[int]
        jwk_key: str
        key_alg: str
        content_alg: str
        compression_alg: str
        def __init__(self, jwk_key: _Optional[str] = ..., key_alg: _Optional[str] = ..., content_alg: _Optional[str] = ..., compression_alg: _Optional[str] = ...) -> None: ...
    QUERY_STR_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    EXEC_FUNCS_FIELD_NUMBER: _ClassVar[int]
    MUTATION_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    QUERY_NAME_FIELD_NUMBER: _ClassVar[int]
    query_str: str
    cluster_id: str
    exec_funcs: _containers.RepeatedCompositeFieldContainer[ExecuteScriptRequest.FuncToExecute]
    mutation: bool
    encryption_options: ExecuteScriptRequest.EncryptionOptions
    query_id: str
    configs: Configs
    query_name: str
    def __init__(self, query_str: _Optional[str] = ..., cluster_id: _Optional[str] = ..., exec_funcs: _Optional[_Iterable[_Union[ExecuteScriptRequest.FuncToExecute, _Mapping]]] = ..., mutation: _Optional[bool] = ..., encryption_options: _Optional[_Union[ExecuteScriptRequest.EncryptionOptions, _Mapping]] = ..., query_id: _Optional[str] = ..., configs: _Optional[_Union[Configs, _Mapping]] = ..., query_name: _Optional[str] = ...) -> None: ...

class Configs(_message.Message):
    __slots__ = ("otel_endpoint_config", "plugin_config")
    class OTelEndpointConfig(_message.Message):
        __slots__ = ("url", "headers", "insecure", "timeout")
        class HeadersEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: str
            value: str
            def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
        URL_FIELD_NUMBER: _ClassVar[int]
        HEADERS_FIELD_NUMBER: _ClassVar[int]
        INSECURE_FIELD_NUMBER: _ClassVar[int]
        TIMEOUT_FIELD_NUMBER: _ClassVar[int]
        url: str
        headers: _containers.ScalarMap[str, str]
        insecure: bool
        timeout: int
        def __init__(self, url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., insecure: _Optional[bool] = ..., timeout: _Optional[int] = ...) -> None: ...
    class PluginConfig(_message.Message):
        __slots__ = ("start_time_ns", "end_time_ns")
        START_TIME_NS_FIELD_NUMBER: _ClassVar[int]
        END_TIME_NS_FIELD_NUMBER: _ClassVar[int]
        start_time_ns: int
        end_time_ns: int
        def __init__(self, start_time_ns: _Optional[int] = ..., end_time_ns: _Optional[int] = ...) -> None: ...
    OTEL_ENDPOINT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_CONFIG_FIELD_NUMBER: _ClassVar[int]
    otel_endpoint_config: Configs.OTelEndpointConfig
    plugin_config: Configs.PluginConfig
    def __init__(self, otel_endpoint_config: _Optional[_Union[Configs.OTelEndpointConfig, _Mapping]] = ..., plugin_config: _Optional[_Union[Configs.PluginConfig, _Mapping]] = ...) -> None: ...

class QueryTimingInfo(_message.Message):
    __slots__ = ("execution_time_ns", "compilation_time_ns")
    EXECUTION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    COMPILATION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    execution_time_ns: int
    compilation_time_ns: int
    def __init__(self, execution_time_ns: _Optional[int] = ..., compilation_time_ns: _Optional[int] = ...) -> None: ...

class QueryExecutionStats(_message.Message):
    __slots__ = ("timing", "bytes_processed", "records_processed")
    TIMING_FIELD_NUMBER: _ClassVar[int]
    BYTES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    timing: QueryTimingInfo
    bytes_processed: int
    records_processed: int
    def __init__(self, timing: _Optional[_Union[QueryTimingInfo, _Mapping]] = ..., bytes_processed: _Optional[int] = ..., records_processed: _Optional[int] = ...) -> None: ...

class QueryMetadata(_message.Message):
    __slots__ = ("relation", "name", "id")
    RELATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    relation: Relation
    name: str
    id: str
    def __init__(self, relation: _Optional[_Union[Relation, _Mapping]] = ..., name: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class QueryData(_message.Message):
    __slots__ = ("batch", "encrypted_batch", "execution_stats")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_BATCH_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATS_FIELD_NUMBER: _ClassVar[int]
    batch: RowBatchData
    encrypted_batch: bytes
    execution_stats: QueryExecutionStats
    def __init__(self, batch: _Optional[_Union[RowBatchData, _Mapping]] = ..., encrypted_batch: _Optional[bytes] = ..., execution_stats: _Optional[_Union[QueryExecutionStats, _Mapping]] = ...) -> None: ...

class ExecuteScriptResponse(_message.Message):
    __slots__ = ("status", "query_id", "data", "meta_data", "mutation_info")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    META_DATA_FIELD_NUMBER: _ClassVar[int]
    MUTATION_INFO_FIELD_NUMBER: _ClassVar[int]
    status: Status
    query_id: str
    data: QueryData
    meta_data: QueryMetadata
    mutation_info: MutationInfo
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ..., query_id: _Optional[str] = ..., data: _Optional[_Union[QueryData, _Mapping]] = ..., meta_data: _Optional[_Union[QueryMetadata, _Mapping]] = ..., mutation_info: _Optional[_Union[MutationInfo, _Mapping]] = ...) -> None: ...

class MutationInfo(_message.Message):
    __slots__ = ("status", "states")
    class MutationState(_message.Message):
        __slots__ = ("id", "state", "name")
        ID_FIELD_NUMBER: _ClassVar[int]
        STATE_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        id: str
        state: LifeCycleState
        name: str
        def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[LifeCycleState, str]] = ..., name: _Optional[str] = ...) -> None: ...
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    status: Status
    states: _containers.RepeatedCompositeFieldContainer[MutationInfo.MutationState]
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ..., states: _Optional[_Iterable[_Union[MutationInfo.MutationState, _Mapping]]] = ...) -> None: ...

class HealthCheckRequest(_message.Message):
    __slots__ = ("cluster_id",)
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    def __init__(self, cluster_id: _Optional[str] = ...) -> None: ...

class HealthCheckResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class GenerateOTelScriptRequest(_message.Message):
    __slots__ = ("cluster_id", "pxl_script")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    PXL_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    pxl_script: str
    def __init__(self, cluster_id: _Optional[str] = ..., pxl_script: _Optional[str] = ...) -> None: ...

class GenerateOTelScriptResponse(_message.Message):
    __slots__ = ("status", "otel_script")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OTEL_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    status: Status
    otel_script: str
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ..., otel_script: _Optional[str] = ...) -> None: ...

class DebugLogRequest(_message.Message):
    __slots__ = ("cluster_id", "pod_name", "previous", "container")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    pod_name: str
    previous: bool
    container: str
    def __init__(self, cluster_id: _Optional[str] = ..., pod_name: _Optional[str] = ..., previous: _Optional[bool] = ..., container: _Optional[str] = ...) -> None: ...

class DebugLogResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: str
    def __init__(self, data: _Optional[str] = ...) -> None: ...

class ContainerStatus(_message.Message):
    __slots__ = ("name", "container_state", "message", "reason", "start_timestamp_ns", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    container_state: ContainerState
    message: str
    reason: str
    start_timestamp_ns: int
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., container_state: _Optional[_Union[ContainerState, str]] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., restart_count: _Optional[int] = ...) -> None: ...

class VizierPodStatus(_message.Message):
    __slots__ = ("name", "phase", "message", "reason", "created_at", "container_statuses", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_STATUSES_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    phase: PodPhase
    message: str
    reason: str
    created_at: int
    container_statuses: _containers.RepeatedCompositeFieldContainer[ContainerStatus]
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., phase: _Optional[_Union[PodPhase, str]] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[int] = ..., container_statuses: _Optional[_Iterable[_Union[ContainerStatus, _Mapping]]] = ..., restart_count: _Optional[int] = ...) -> None: ...

class DebugPodsRequest(_message.Message):
    __slots__ = ("cluster_id",)
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    def __init__(self, cluster_id: _Optional[str] = ...) -> None: ...

class DebugPodsResponse(_message.Message):
    __slots__ = ("data_plane_pods", "control_plane_pods")
    DATA_PLANE_PODS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_PLANE_PODS_FIELD_NUMBER: _ClassVar[int]
    data_plane_pods: _containers.RepeatedCompositeFieldContainer[VizierPodStatus]
    control_plane_pods: _containers.RepeatedCompositeFieldContainer[VizierPodStatus]
    def __init__(self, data_plane_pods: _Optional[_Iterable[_Union[VizierPodStatus, _Mapping]]] = ..., control_plane_pods: _Optional[_Iterable[_Union[VizierPodStatus, _Mapping]]] = ...) -> None: ...
