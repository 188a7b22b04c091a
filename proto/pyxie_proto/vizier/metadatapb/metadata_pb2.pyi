import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from pyxie_proto.api.vizierpb import vizierapi_pb2 as _vizierapi_pb2
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as _cvmsgs_pb2
from pyxie_proto.types.typespb import types_pb2 as _types_pb2
from pyxie_proto.uuidpb import uuid_pb2 as _uuid_pb2
from pyxie_proto.vizier.messagespb import messages_pb2 as _messages_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATE_UNKNOWN: _ClassVar[AgentState]
    AGENT_STATE_HEALTHY: _ClassVar[AgentState]
    AGENT_STATE_UNRESPONSIVE: _ClassVar[AgentState]
    AGENT_STATE_DISCONNECTED: _ClassVar[AgentState]
AGENT_STATE_UNKNOWN: AgentState
AGENT_STATE_HEALTHY: AgentState
AGENT_STATE_UNRESPONSIVE: AgentState
AGENT_STATE_DISCONNECTED: AgentState

class WithPrefixKeyRequest(_message.Message):
    __slots__ = ("prefix", "proto")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    PROTO_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    proto: str
    def __init__(self, prefix: _Optional[str] = ..., proto: _Optional[str] = ...) -> None: ...

class WithPrefixKeyResponse(_message.Message):
    __slots__ = ("kvs", "truncated")
    class KV(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    KVS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    kvs: _containers.RepeatedCompositeFieldContainer[WithPrefixKeyResponse.KV]
    truncated: bool
    def __init__(self, kvs: _Optional[_Iterable[_Union[WithPrefixKeyResponse.KV, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class AgentStatus(_message.Message):
    __slots__ = ("info", "asid", "create_time_ns", "last_heartbeat_ns", "state", "tables")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ASID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_NS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    info: _messages_pb2.AgentInfo
    asid: int
    create_time_ns: int
    last_heartbeat_ns: int
    state: AgentState
    tables: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, info: _Optional[_Union[_messages_pb2.AgentInfo, _Mapping]] = ..., asid: _Optional[int] = ..., create_time_ns: _Optional[int] = ..., last_heartbeat_ns: _Optional[int] = ..., state: _Optional[_Union[AgentState, str]] = ..., tables: _Optional[_Iterable[str]] = ...) -> None: ...

class AgentUpdatesRequest(_message.Message):
    __slots__ = ("max_update_interval_ms", "max_updates_per_response")
    MAX_UPDATE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_UPDATES_PER_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    max_update_interval_ms: int
    max_updates_per_response: int
    def __init__(self, max_update_interval_ms: _Optional[int] = ..., max_updates_per_response: _Optional[int] = ...) -> None: ...

class AgentUpdate(_message.Message):
    __slots__ = ("agent_id", "deleted", "agent")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    deleted: bool
    agent: AgentStatus
    def __init__(self, agent_id: _Optional[str] = ..., deleted: _Optional[bool] = ..., agent: _Optional[_Union[AgentStatus, _Mapping]] = ...) -> None: ...

class AgentUpdatesResponse(_message.Message):
    __slots__ = ("agent_updates", "schema", "end_of_version")
    AGENT_UPDATES_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    END_OF_VERSION_FIELD_NUMBER: _ClassVar[int]
    agent_updates: _containers.RepeatedCompositeFieldContainer[AgentUpdate]
    schema: ComputedSchema
    end_of_version: bool
    def __init__(self, agent_updates: _Optional[_Iterable[_Union[AgentUpdate, _Mapping]]] = ..., schema: _Optional[_Union[ComputedSchema, _Mapping]] = ..., end_of_version: _Optional[bool] = ...) -> None: ...

class ComputedSchema(_message.Message):
    __slots__ = ("tables", "table_name_to_agent_ids")
    class AgentIds(_message.Message):
        __slots__ = ("agent_ids",)
        AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
        agent_ids: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, agent_ids: _Optional[_Iterable[str]] = ...) -> None: ...
    class TableNameToAgentIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ComputedSchema.AgentIds
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ComputedSchema.AgentIds, _Mapping]] = ...) -> None: ...
    TABLES_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_TO_AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    tables: _containers.RepeatedCompositeFieldContainer[_types_pb2.TableSchema]
    table_name_to_agent_ids: _containers.MessageMap[str, ComputedSchema.AgentIds]
    def __init__(self, tables: _Optional[_Iterable[_Union[_types_pb2.TableSchema, _Mapping]]] = ..., table_name_to_agent_ids: _Optional[_Mapping[str, ComputedSchema.AgentIds]] = ...) -> None: ...

class SchemaRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SchemaResponse(_message.Message):
    __slots__ = ("schema",)
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    schema: ComputedSchema
    def __init__(self, schema: _Optional[_Union[ComputedSchema, _Mapping]] = ...) -> None: ...

class AgentInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentInfoResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: _containers.RepeatedCompositeFieldContainer[AgentStatus]
    def __init__(self, info: _Optional[_Iterable[_Union[AgentStatus, _Mapping]]] = ...) -> None: ...

class MissingMetadataRequest(_message.Message):
    __slots__ = ("selector", "from_version", "to_version")
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    selector: str
    from_version: int
    to_version: int
    def __init__(self, selector: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class MissingMetadataResponse(_message.Message):
    __slots__ = ("updates", "first_update_available", "last_update_available")
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    FIRST_UPDATE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[_messages_pb2.MetadataUpdate]
    first_update_available: int
    last_update_available: int
    def __init__(self, updates: _Optional[_Iterable[_Union[_messages_pb2.MetadataUpdate, _Mapping]]] = ..., first_update_available: _Optional[int] = ..., last_update_available: _Optional[int] = ...) -> None: ...

class ProcessInfo(_message.Message):
    __slots__ = ("upid", "agent_id", "pid", "start_timestamp_ns", "stop_timestamp_ns", "cmdline", "cgroup")
    UPID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    CMDLINE_FIELD_NUMBER: _ClassVar[int]
    CGROUP_FIELD_NUMBER: _ClassVar[int]
    upid: _types_pb2.UInt128
    agent_id: str
    pid: int
    start_timestamp_ns: int
    stop_timestamp_ns: int
    cmdline: str
    cgroup: str
    def __init__(self, upid: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ..., agent_id: _Optional[str] = ..., pid: _Optional[int] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., cmdline: _Optional[str] = ..., cgroup: _Optional[str] = ...) -> None: ...

class GetScriptsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetScriptsResponse(_message.Message):
    __slots__ = ("scripts",)
    class ScriptsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _cvmsgs_pb2.CronScript
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_cvmsgs_pb2.CronScript, _Mapping]] = ...) -> None: ...
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.MessageMap[str, _cvmsgs_pb2.CronScript]
    def __init__(self, scripts: _Optional[_Mapping[str, _cvmsgs_pb2.CronScript]] = ...) -> None: ...

class AddOrUpdateScriptRequest(_message.Message):
    __slots__ = ("script",)
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    script: _cvmsgs_pb2.CronScript
    def __init__(self, script: _Optional[_Union[_cvmsgs_pb2.CronScript, _Mapping]] = ...) -> None: ...

class AddOrUpdateScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteScriptRequest(_message.Message):
    __slots__ = ("script_id",)
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    script_id: _uuid_pb2.UUID
    def __init__(self, script_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeleteScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetScriptsRequest(_message.Message):
    __slots__ = ("scripts",)
    class ScriptsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _cvmsgs_pb2.CronScript
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_cvmsgs_pb2.CronScript, _Mapping]] = ...) -> None: ...
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.MessageMap[str, _cvmsgs_pb2.CronScript]
    def __init__(self, scripts: _Optional[_Mapping[str, _cvmsgs_pb2.CronScript]] = ...) -> None: ...

class SetScriptsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CronScriptExecutionStats(_message.Message):
    __slots__ = ("execution_time_ns", "compilation_time_ns", "bytes_processed", "records_processed", "export_bytes", "export_requests")
    EXECUTION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    COMPILATION_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    BYTES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    EXPORT_BYTES_FIELD_NUMBER: _ClassVar[int]
    EXPORT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    execution_time_ns: int
    compilation_time_ns: int
    bytes_processed: int
    records_processed: int
    export_bytes: int
    export_requests: int
    def __init__(self, execution_time_ns: _Optional[int] = ..., compilation_time_ns: _Optional[int] = ..., bytes_processed: _Optional[int] = ..., records_processed: _Optional[int] = ..., export_bytes: _Optional[int] = ..., export_requests: _Optional[int] = ...) -> None: ...

class CronScriptExecutionResult(_message.Message):
    __slots__ = ("script_id", "timestamp", "error", "execution_stats")
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATS_FIELD_NUMBER: _ClassVar[int]
    script_id: _uuid_pb2.UUID
    timestamp: _timestamp_pb2.Timestamp
    error: _vizierapi_pb2.Status
    execution_stats: CronScriptExecutionStats
    def __init__(self, script_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[_Union[_vizierapi_pb2.Status, _Mapping]] = ..., execution_stats: _Optional[_Union[CronScriptExecutionStats, _Mapping]] = ...) -> None: ...

class RecordExecutionResultRequest(_message.Message):
    __slots__ = ("script_id", "timestamp", "error", "execution_stats")
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATS_FIELD_NUMBER: _ClassVar[int]
    script_id: _uuid_pb2.UUID
    timestamp: _timestamp_pb2.Timestamp
    error: _vizierapi_pb2.Status
    execution_stats: CronScriptExecutionStats
    def __init__(self, script_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[_Union[_vizierapi_pb2.Status, _Mapping]] = ..., execution_stats: _Optional[_Union[CronScriptExecutionStats, _Mapping]] = ...) -> None: ...

class RecordExecutionResultResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAllExecutionResultsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAllExecutionResultsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CronScriptExecutionResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CronScriptExecutionResult, _Mapping]]] = ...) -> None: ...

class RegisterTracepointRequest(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[_messages_pb2.TracepointDeployment]
    def __init__(self, deployments: _Optional[_Iterable[_Union[_messages_pb2.TracepointDeployment, _Mapping]]] = ...) -> None: ...

class TracepointRegistration(_message.Message):
    __slots__ = ("id", "name", "status_code", "status_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    status_code: int
    status_message: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., status_code: _Optional[int] = ..., status_message: _Optional[str] = ...) -> None: ...

class RegisterTracepointResponse(_message.Message):
    __slots__ = ("tracepoints",)
    TRACEPOINTS_FIELD_NUMBER: _ClassVar[int]
    tracepoints: _containers.RepeatedCompositeFieldContainer[TracepointRegistration]
    def __init__(self, tracepoints: _Optional[_Iterable[_Union[TracepointRegistration, _Mapping]]] = ...) -> None: ...

class GetTracepointInfoRequest(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AgentTracepointStatus(_message.Message):
    __slots__ = ("agent_id", "state", "status_code", "status_message")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    state: _messages_pb2.TracepointState
    status_code: int
    status_message: str
    def __init__(self, agent_id: _Optional[str] = ..., state: _Optional[_Union[_messages_pb2.TracepointState, str]] = ..., status_code: _Optional[int] = ..., status_message: _Optional[str] = ...) -> None: ...

class TracepointInfo(_message.Message):
    __slots__ = ("id", "name", "state", "expected_state", "agents", "table_names", "create_time_ns", "expires_at_ns", "deployment")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAMES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    state: _messages_pb2.TracepointState
    expected_state: _messages_pb2.TracepointState
    agents: _containers.RepeatedCompositeFieldContainer[AgentTracepointStatus]
    table_names: _containers.RepeatedScalarFieldContainer[str]
    create_time_ns: int
    expires_at_ns: int
    deployment: _messages_pb2.TracepointDeployment
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[_messages_pb2.TracepointState, str]] = ..., expected_state: _Optional[_Union[_messages_pb2.TracepointState, str]] = ..., agents: _Optional[_Iterable[_Union[AgentTracepointStatus, _Mapping]]] = ..., table_names: _Optional[_Iterable[str]] = ..., create_time_ns: _Optional[int] = ..., expires_at_ns: _Optional[int] = ..., deployment: _Optional[_Union[_messages_pb2.TracepointDeployment, _Mapping]] = ...) -> None: ...

class GetTracepointInfoResponse(_message.Message):
    __slots__ = ("tracepoints",)
    TRACEPOINTS_FIELD_NUMBER: _ClassVar[int]
    tracepoints: _containers.RepeatedCompositeFieldContainer[TracepointInfo]
    def __init__(self, tracepoints: _Optional[_Iterable[_Union[TracepointInfo, _Mapping]]] = ...) -> None: ...

class RemoveTracepointRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveTracepointResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, removed: _Optional[_Iterable[str]] = ...) -> None: ...
