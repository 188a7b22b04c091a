from google.protobuf import any_pb2 as _any_pb2
from pyxie_proto.api.vizierpb import vizierapi_pb2 as _vizierapi_pb2
from pyxie_proto.uuidpb import uuid_pb2 as _uuid_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VizierStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VZ_ST_UNKNOWN: _ClassVar[VizierStatus]
    VZ_ST_HEALTHY: _ClassVar[VizierStatus]
    VZ_ST_UNHEALTHY: _ClassVar[VizierStatus]
    VZ_ST_DISCONNECTED: _ClassVar[VizierStatus]
    VZ_ST_UPDATING: _ClassVar[VizierStatus]
    VZ_ST_CONNECTED: _ClassVar[VizierStatus]
    VZ_ST_UPDATE_FAILED: _ClassVar[VizierStatus]
    VZ_ST_DEGRADED: _ClassVar[VizierStatus]
VZ_ST_UNKNOWN: VizierStatus
VZ_ST_HEALTHY: VizierStatus
VZ_ST_UNHEALTHY: VizierStatus
VZ_ST_DISCONNECTED: VizierStatus
VZ_ST_UPDATING: VizierStatus
VZ_ST_CONNECTED: VizierStatus
VZ_ST_UPDATE_FAILED: VizierStatus
VZ_ST_DEGRADED: VizierStatus

class V2CMessage(_message.Message):
    __slots__ = ("vizier_id", "session_id", "msg")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    session_id: str
    msg: _any_pb2.Any
    def __init__(self, vizier_id: _Optional[str] = ..., session_id: _Optional[str] = ..., msg: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class C2VMessage(_message.Message):
    __slots__ = ("vizier_id", "msg")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    msg: _any_pb2.Any
    def __init__(self, vizier_id: _Optional[str] = ..., msg: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class RegisterVizierRequest(_message.Message):
    __slots__ = ("vizier_id", "jwt_key_proof", "cluster_uid", "cluster_name", "vizier_version")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    JWT_KEY_PROOF_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    VIZIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    jwt_key_proof: str
    cluster_uid: str
    cluster_name: str
    vizier_version: str
    def __init__(self, vizier_id: _Optional[str] = ..., jwt_key_proof: _Optional[str] = ..., cluster_uid: _Optional[str] = ..., cluster_name: _Optional[str] = ..., vizier_version: _Optional[str] = ...) -> None: ...

class RegisterVizierAck(_message.Message):
    __slots__ = ("status", "vizier_name", "message")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ST_UNKNOWN: _ClassVar[RegisterVizierAck.Status]
        ST_OK: _ClassVar[RegisterVizierAck.Status]
        ST_FAILED_NOT_FOUND: _ClassVar[RegisterVizierAck.Status]
        ST_FAILED_REJECTED: _ClassVar[RegisterVizierAck.Status]
    ST_UNKNOWN: RegisterVizierAck.Status
    ST_OK: RegisterVizierAck.Status
    ST_FAILED_NOT_FOUND: RegisterVizierAck.Status
    ST_FAILED_REJECTED: RegisterVizierAck.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VIZIER_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    status: RegisterVizierAck.Status
    vizier_name: str
    message: str
    def __init__(self, status: _Optional[_Union[RegisterVizierAck.Status, str]] = ..., vizier_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class VizierHeartbeat(_message.Message):
    __slots__ = ("vizier_id", "time", "sequence_number", "status", "status_message", "num_nodes", "num_instrumented_nodes", "vizier_version")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    NUM_INSTRUMENTED_NODES_FIELD_NUMBER: _ClassVar[int]
    VIZIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    time: int
    sequence_number: int
    status: VizierStatus
    status_message: str
    num_nodes: int
    num_instrumented_nodes: int
    vizier_version: str
    def __init__(self, vizier_id: _Optional[str] = ..., time: _Optional[int] = ..., sequence_number: _Optional[int] = ..., status: _Optional[_Union[VizierStatus, str]] = ..., status_message: _Optional[str] = ..., num_nodes: _Optional[int] = ..., num_instrumented_nodes: _Optional[int] = ..., vizier_version: _Optional[str] = ...) -> None: ...

class UpdateOrInstallVizierRequest(_message.Message):
    __slots__ = ("vizier_id", "version", "token", "redeploy_etcd")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    REDEPLOY_ETCD_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    version: str
    token: str
    redeploy_etcd: bool
    def __init__(self, vizier_id: _Optional[str] = ..., version: _Optional[str] = ..., token: _Optional[str] = ..., redeploy_etcd: _Optional[bool] = ...) -> None: ...

class C2VAPIStreamRequest(_message.Message):
    __slots__ = ("request_id", "token", "exec_req", "hc_req", "cancel_req")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXEC_REQ_FIELD_NUMBER: _ClassVar[int]
    HC_REQ_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQ_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    token: str
    exec_req: _vizierapi_pb2.ExecuteScriptRequest
    hc_req: _vizierapi_pb2.HealthCheckRequest
    cancel_req: C2VAPIStreamCancel
    def __init__(self, request_id: _Optional[str] = ..., token: _Optional[str] = ..., exec_req: _Optional[_Union[_vizierapi_pb2.ExecuteScriptRequest, _Mapping]] = ..., hc_req: _Optional[_Union[_vizierapi_pb2.HealthCheckRequest, _Mapping]] = ..., cancel_req: _Optional[_Union[C2VAPIStreamCancel, _Mapping]] = ...) -> None: ...

class C2VAPIStreamCancel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class V2CAPIStreamResponse(_message.Message):
    __slots__ = ("request_id", "exec_resp", "hc_resp", "status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXEC_RESP_FIELD_NUMBER: _ClassVar[int]
    HC_RESP_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    exec_resp: _vizierapi_pb2.ExecuteScriptResponse
    hc_resp: _vizierapi_pb2.HealthCheckResponse
    status: _vizierapi_pb2.Status
    def __init__(self, request_id: _Optional[str] = ..., exec_resp: _Optional[_Union[_vizierapi_pb2.ExecuteScriptResponse, _Mapping]] = ..., hc_resp: _Optional[_Union[_vizierapi_pb2.HealthCheckResponse, _Mapping]] = ..., status: _Optional[_Union[_vizierapi_pb2.Status, _Mapping]] = ...) -> None: ...

class CronScript(_message.Message):
    __slots__ = ("id", "script", "configs", "frequency_s")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_S_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    script: str
    configs: str
    frequency_s: int
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., script: _Optional[str] = ..., configs: _Optional[str] = ..., frequency_s: _Optional[int] = ...) -> None: ...

class GetCronScriptsChecksumRequest(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: str
    def __init__(self, topic: _Optional[str] = ...) -> None: ...

class GetCronScriptsChecksumResponse(_message.Message):
    __slots__ = ("checksum",)
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    checksum: str
    def __init__(self, checksum: _Optional[str] = ...) -> None: ...

class GetCronScriptsRequest(_message.Message):
    __slots__ = ("topic",)
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    topic: str
    def __init__(self, topic: _Optional[str] = ...) -> None: ...

class GetCronScriptsResponse(_message.Message):
    __slots__ = ("scripts",)
    class ScriptsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CronScript
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CronScript, _Mapping]] = ...) -> None: ...
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.MessageMap[str, CronScript]
    def __init__(self, scripts: _Optional[_Mapping[str, CronScript]] = ...) -> None: ...

class RegisterOrUpdateCronScriptRequest(_message.Message):
    __slots__ = ("script",)
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    script: CronScript
    def __init__(self, script: _Optional[_Union[CronScript, _Mapping]] = ...) -> None: ...

class RegisterOrUpdateCronScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteCronScriptRequest(_message.Message):
    __slots__ = ("script_id",)
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    script_id: _uuid_pb2.UUID
    def __init__(self, script_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeleteCronScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CronScriptUpdate(_message.Message):
    __slots__ = ("upsert_req", "delete_req", "request_id", "timestamp")
    UPSERT_REQ_FIELD_NUMBER: _ClassVar[int]
    DELETE_REQ_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    upsert_req: RegisterOrUpdateCronScriptRequest
    delete_req: DeleteCronScriptRequest
    request_id: str
    timestamp: int
    def __init__(self, upsert_req: _Optional[_Union[RegisterOrUpdateCronScriptRequest, _Mapping]] = ..., delete_req: _Optional[_Union[DeleteCronScriptRequest, _Mapping]] = ..., request_id: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class CronScriptUpdateResponse(_message.Message):
    __slots__ = ("upsert_resp", "delete_resp")
    UPSERT_RESP_FIELD_NUMBER: _ClassVar[int]
    DELETE_RESP_FIELD_NUMBER: _ClassVar[int]
    upsert_resp: RegisterOrUpdateCronScriptResponse
    delete_resp: DeleteCronScriptResponse
    def __init__(self, upsert_resp: _Optional[_Union[RegisterOrUpdateCronScriptResponse, _Mapping]] = ..., delete_resp: _Optional[_Union[DeleteCronScriptResponse, _Mapping]] = ...) -> None: ...
