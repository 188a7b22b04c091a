from pyxie_proto.carnot.planpb import plan_pb2 as _plan_pb2
from pyxie_proto.types.typespb import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TracepointState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACEPOINT_STATE_UNKNOWN: _ClassVar[TracepointState]
    TRACEPOINT_STATE_PENDING: _ClassVar[TracepointState]
    TRACEPOINT_STATE_RUNNING: _ClassVar[TracepointState]
    TRACEPOINT_STATE_FAILED: _ClassVar[TracepointState]
    TRACEPOINT_STATE_TERMINATED: _ClassVar[TracepointState]
TRACEPOINT_STATE_UNKNOWN: TracepointState
TRACEPOINT_STATE_PENDING: TracepointState
TRACEPOINT_STATE_RUNNING: TracepointState
TRACEPOINT_STATE_FAILED: TracepointState
TRACEPOINT_STATE_TERMINATED: TracepointState

class VizierMessage(_message.Message):
    __slots__ = ("register_agent_request", "register_agent_response", "heartbeat", "heartbeat_ack", "heartbeat_nack", "execute_query_request", "metadata_update", "cancel_query_request", "tracepoint_message")
    REGISTER_AGENT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    REGISTER_AGENT_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_ACK_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_NACK_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_QUERY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    METADATA_UPDATE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_QUERY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    TRACEPOINT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    register_agent_request: RegisterAgentRequest
    register_agent_response: RegisterAgentResponse
    heartbeat: Heartbeat
    heartbeat_ack: HeartbeatAck
    heartbeat_nack: HeartbeatNack
    execute_query_request: ExecuteQueryRequest
    metadata_update: MetadataUpdate
    cancel_query_request: CancelQueryRequest
    tracepoint_message: TracepointMessage
    def __init__(self, register_agent_request: _Optional[_Union[RegisterAgentRequest, _Mapping]] = ..., register_agent_response: _Optional[_Union[RegisterAgentResponse, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., heartbeat_ack: _Optional[_Union[HeartbeatAck, _Mapping]] = ..., heartbeat_nack: _Optional[_Union[HeartbeatNack, _Mapping]] = ..., execute_query_request: _Optional[_Union[ExecuteQueryRequest, _Mapping]] = ..., metadata_update: _Optional[_Union[MetadataUpdate, _Mapping]] = ..., cancel_query_request: _Optional[_Union[CancelQueryRequest, _Mapping]] = ..., tracepoint_message: _Optional[_Union[TracepointMessage, _Mapping]] = ...) -> None: ...

class HostInfo(_message.Message):
    __slots__ = ("hostname", "host_ip", "kernel_version", "kernel_headers_installed", "netns_inode")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    KERNEL_HEADERS_INSTALLED_FIELD_NUMBER: _ClassVar[int]
    NETNS_INODE_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    host_ip: str
    kernel_version: str
    kernel_headers_installed: bool
    netns_inode: int
    def __init__(self, hostname: _Optional[str] = ..., host_ip: _Optional[str] = ..., kernel_version: _Optional[str] = ..., kernel_headers_installed: _Optional[bool] = ..., netns_inode: _Optional[int] = ...) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("agent_id", "host_info", "collects_data", "address", "pod_name")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_INFO_FIELD_NUMBER: _ClassVar[int]
    COLLECTS_DATA_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    host_info: HostInfo
    collects_data: bool
    address: str
    pod_name: str
    def __init__(self, agent_id: _Optional[str] = ..., host_info: _Optional[_Union[HostInfo, _Mapping]] = ..., collects_data: _Optional[bool] = ..., address: _Optional[str] = ..., pod_name: _Optional[str] = ...) -> None: ...

class RegisterAgentRequest(_message.Message):
    __slots__ = ("info", "asid")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ASID_FIELD_NUMBER: _ClassVar[int]
    info: AgentInfo
    asid: int
    def __init__(self, info: _Optional[_Union[AgentInfo, _Mapping]] = ..., asid: _Optional[int] = ...) -> None: ...

class RegisterAgentResponse(_message.Message):
    __slots__ = ("asid",)
    ASID_FIELD_NUMBER: _ClassVar[int]
    asid: int
    def __init__(self, asid: _Optional[int] = ...) -> None: ...

class ProcessCreated(_message.Message):
    __slots__ = ("upid", "start_timestamp_ns", "cmdline", "cgroup", "pid")
    UPID_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    CMDLINE_FIELD_NUMBER: _ClassVar[int]
    CGROUP_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    upid: _types_pb2.UInt128
    start_timestamp_ns: int
    cmdline: str
    cgroup: str
    pid: int
    def __init__(self, upid: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ..., start_timestamp_ns: _Optional[int] = ..., cmdline: _Optional[str] = ..., cgroup: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class ProcessTerminated(_message.Message):
    __slots__ = ("upid", "stop_timestamp_ns")
    UPID_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    upid: _types_pb2.UInt128
    stop_timestamp_ns: int
    def __init__(self, upid: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ..., stop_timestamp_ns: _Optional[int] = ...) -> None: ...

class AgentUpdateInfo(_message.Message):
    __slots__ = ("does_update_schema", "schema", "process_created", "process_terminated")
    DOES_UPDATE_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    PROCESS_CREATED_FIELD_NUMBER: _ClassVar[int]
    PROCESS_TERMINATED_FIELD_NUMBER: _ClassVar[int]
    does_update_schema: bool
    schema: _containers.RepeatedCompositeFieldContainer[_types_pb2.TableSchema]
    process_created: _containers.RepeatedCompositeFieldContainer[ProcessCreated]
    process_terminated: _containers.RepeatedCompositeFieldContainer[ProcessTerminated]
    def __init__(self, does_update_schema: _Optional[bool] = ..., schema: _Optional[_Iterable[_Union[_types_pb2.TableSchema, _Mapping]]] = ..., process_created: _Optional[_Iterable[_Union[ProcessCreated, _Mapping]]] = ..., process_terminated: _Optional[_Iterable[_Union[ProcessTerminated, _Mapping]]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("agent_id", "time", "sequence_number", "update_info")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_INFO_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    time: int
    sequence_number: int
    update_info: AgentUpdateInfo
    def __init__(self, agent_id: _Optional[str] = ..., time: _Optional[int] = ..., sequence_number: _Optional[int] = ..., update_info: _Optional[_Union[AgentUpdateInfo, _Mapping]] = ...) -> None: ...

class HeartbeatAck(_message.Message):
    __slots__ = ("time", "sequence_number")
    TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    time: int
    sequence_number: int
    def __init__(self, time: _Optional[int] = ..., sequence_number: _Optional[int] = ...) -> None: ...

class HeartbeatNack(_message.Message):
    __slots__ = ("reregister",)
    REREGISTER_FIELD_NUMBER: _ClassVar[int]
    reregister: bool
    def __init__(self, reregister: _Optional[bool] = ...) -> None: ...

class ExecuteQueryRequest(_message.Message):
    __slots__ = ("query_id", "plan", "analyze")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ANALYZE_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    plan: _plan_pb2.Plan
    analyze: bool
    def __init__(self, query_id: _Optional[str] = ..., plan: _Optional[_Union[_plan_pb2.Plan, _Mapping]] = ..., analyze: _Optional[bool] = ...) -> None: ...

class CancelQueryRequest(_message.Message):
    __slots__ = ("query_id",)
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    query_id: str
    def __init__(self, query_id: _Optional[str] = ...) -> None: ...

class MetadataUpdate(_message.Message):
    __slots__ = ("version", "prev_version", "pod", "service", "namespace", "node", "container", "replica_set", "deployment")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREV_VERSION_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    REPLICA_SET_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    version: int
    prev_version: int
    pod: PodUpdate
    service: ServiceUpdate
    namespace: NamespaceUpdate
    node: NodeUpdate
    container: ContainerUpdate
    replica_set: ReplicaSetUpdate
    deployment: DeploymentUpdate
    def __init__(self, version: _Optional[int] = ..., prev_version: _Optional[int] = ..., pod: _Optional[_Union[PodUpdate, _Mapping]] = ..., service: _Optional[_Union[ServiceUpdate, _Mapping]] = ..., namespace: _Optional[_Union[NamespaceUpdate, _Mapping]] = ..., node: _Optional[_Union[NodeUpdate, _Mapping]] = ..., container: _Optional[_Union[ContainerUpdate, _Mapping]] = ..., replica_set: _Optional[_Union[ReplicaSetUpdate, _Mapping]] = ..., deployment: _Optional[_Union[DeploymentUpdate, _Mapping]] = ...) -> None: ...

class OwnerReference(_message.Message):
    __slots__ = ("kind", "name", "uid")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    uid: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ...) -> None: ...

class PodUpdate(_message.Message):
    __slots__ = ("uid", "name", "namespace", "node_name", "hostname", "pod_ip", "start_timestamp_ns", "stop_timestamp_ns", "phase", "message", "reason", "ready", "container_ids", "container_names", "labels", "owner_references")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    POD_IP_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_NAMES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OWNER_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    namespace: str
    node_name: str
    hostname: str
    pod_ip: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    phase: str
    message: str
    reason: str
    ready: bool
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    container_names: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    owner_references: _containers.RepeatedCompositeFieldContainer[OwnerReference]
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., node_name: _Optional[str] = ..., hostname: _Optional[str] = ..., pod_ip: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., phase: _Optional[str] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., ready: _Optional[bool] = ..., container_ids: _Optional[_Iterable[str]] = ..., container_names: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., owner_references: _Optional[_Iterable[_Union[OwnerReference, _Mapping]]] = ...) -> None: ...

class ServiceUpdate(_message.Message):
    __slots__ = ("uid", "name", "namespace", "start_timestamp_ns", "stop_timestamp_ns", "pod_ids", "cluster_ip", "external_ips")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    POD_IDS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IP_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IPS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    namespace: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    pod_ids: _containers.RepeatedScalarFieldContainer[str]
    cluster_ip: str
    external_ips: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., pod_ids: _Optional[_Iterable[str]] = ..., cluster_ip: _Optional[str] = ..., external_ips: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplicaSetUpdate(_message.Message):
    __slots__ = ("uid", "name", "namespace", "start_timestamp_ns", "stop_timestamp_ns", "replicas", "ready_replicas", "available_replicas", "owner_references")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    OWNER_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    namespace: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    replicas: int
    ready_replicas: int
    available_replicas: int
    owner_references: _containers.RepeatedCompositeFieldContainer[OwnerReference]
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., available_replicas: _Optional[int] = ..., owner_references: _Optional[_Iterable[_Union[OwnerReference, _Mapping]]] = ...) -> None: ...

class DeploymentUpdate(_message.Message):
    __slots__ = ("uid", "name", "namespace", "start_timestamp_ns", "stop_timestamp_ns", "replicas", "updated_replicas", "ready_replicas", "available_replicas", "unavailable_replicas")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    namespace: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    replicas: int
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    unavailable_replicas: int
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., replicas: _Optional[int] = ..., updated_replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., available_replicas: _Optional[int] = ..., unavailable_replicas: _Optional[int] = ...) -> None: ...

class NamespaceUpdate(_message.Message):
    __slots__ = ("uid", "name", "start_timestamp_ns", "stop_timestamp_ns")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ...) -> None: ...

class NodeUpdate(_message.Message):
    __slots__ = ("uid", "name", "internal_ip", "start_timestamp_ns", "stop_timestamp_ns")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_IP_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    internal_ip: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., internal_ip: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ...) -> None: ...

class ContainerUpdate(_message.Message):
    __slots__ = ("cid", "name", "pod_id", "namespace", "start_timestamp_ns", "stop_timestamp_ns", "state", "pids")
    CID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POD_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    START_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    cid: str
    name: str
    pod_id: str
    namespace: str
    start_timestamp_ns: int
    stop_timestamp_ns: int
    state: str
    pids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, cid: _Optional[str] = ..., name: _Optional[str] = ..., pod_id: _Optional[str] = ..., namespace: _Optional[str] = ..., start_timestamp_ns: _Optional[int] = ..., stop_timestamp_ns: _Optional[int] = ..., state: _Optional[str] = ..., pids: _Optional[_Iterable[int]] = ...) -> None: ...

class TracepointTarget(_message.Message):
    __slots__ = ("upid", "pod_process", "shared_object", "binary_path", "kernel")
    class PodProcess(_message.Message):
        __slots__ = ("pod", "container", "process")
        POD_FIELD_NUMBER: _ClassVar[int]
        CONTAINER_FIELD_NUMBER: _ClassVar[int]
        PROCESS_FIELD_NUMBER: _ClassVar[int]
        pod: str
        container: str
        process: str
        def __init__(self, pod: _Optional[str] = ..., container: _Optional[str] = ..., process: _Optional[str] = ...) -> None: ...
    class SharedObject(_message.Message):
        __slots__ = ("name", "upid")
        NAME_FIELD_NUMBER: _ClassVar[int]
        UPID_FIELD_NUMBER: _ClassVar[int]
        name: str
        upid: _types_pb2.UInt128
        def __init__(self, name: _Optional[str] = ..., upid: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ...) -> None: ...
    UPID_FIELD_NUMBER: _ClassVar[int]
    POD_PROCESS_FIELD_NUMBER: _ClassVar[int]
    SHARED_OBJECT_FIELD_NUMBER: _ClassVar[int]
    BINARY_PATH_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    upid: _types_pb2.UInt128
    pod_process: TracepointTarget.PodProcess
    shared_object: TracepointTarget.SharedObject
    binary_path: str
    kernel: bool
    def __init__(self, upid: _Optional[_Union[_types_pb2.UInt128, _Mapping]] = ..., pod_process: _Optional[_Union[TracepointTarget.PodProcess, _Mapping]] = ..., shared_object: _Optional[_Union[TracepointTarget.SharedObject, _Mapping]] = ..., binary_path: _Optional[str] = ..., kernel: _Optional[bool] = ...) -> None: ...

class ProbeOutput(_message.Message):
    __slots__ = ("column", "arg", "ret", "latency")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    ARG_FIELD_NUMBER: _ClassVar[int]
    RET_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    column: str
    arg: str
    ret: str
    latency: bool
    def __init__(self, column: _Optional[str] = ..., arg: _Optional[str] = ..., ret: _Optional[str] = ..., latency: _Optional[bool] = ...) -> None: ...

class FunctionProbe(_message.Message):
    __slots__ = ("symbol", "binary", "outputs")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    binary: str
    outputs: _containers.RepeatedCompositeFieldContainer[ProbeOutput]
    def __init__(self, symbol: _Optional[str] = ..., binary: _Optional[str] = ..., outputs: _Optional[_Iterable[_Union[ProbeOutput, _Mapping]]] = ...) -> None: ...

class BPFTraceProgram(_message.Message):
    __slots__ = ("program", "min_kernel", "max_kernel")
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    MIN_KERNEL_FIELD_NUMBER: _ClassVar[int]
    MAX_KERNEL_FIELD_NUMBER: _ClassVar[int]
    program: str
    min_kernel: str
    max_kernel: str
    def __init__(self, program: _Optional[str] = ..., min_kernel: _Optional[str] = ..., max_kernel: _Optional[str] = ...) -> None: ...

class TracepointProgram(_message.Message):
    __slots__ = ("table_name", "probe", "bpftrace")
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBE_FIELD_NUMBER: _ClassVar[int]
    BPFTRACE_FIELD_NUMBER: _ClassVar[int]
    table_name: str
    probe: FunctionProbe
    bpftrace: BPFTraceProgram
    def __init__(self, table_name: _Optional[str] = ..., probe: _Optional[_Union[FunctionProbe, _Mapping]] = ..., bpftrace: _Optional[_Union[BPFTraceProgram, _Mapping]] = ...) -> None: ...

class TracepointDeployment(_message.Message):
    __slots__ = ("name", "ttl_ns", "target", "programs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TTL_NS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    ttl_ns: int
    target: TracepointTarget
    programs: _containers.RepeatedCompositeFieldContainer[TracepointProgram]
    def __init__(self, name: _Optional[str] = ..., ttl_ns: _Optional[int] = ..., target: _Optional[_Union[TracepointTarget, _Mapping]] = ..., programs: _Optional[_Iterable[_Union[TracepointProgram, _Mapping]]] = ...) -> None: ...

class RegisterTracepointRequest(_message.Message):
    __slots__ = ("id", "deployment")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    deployment: TracepointDeployment
    def __init__(self, id: _Optional[str] = ..., deployment: _Optional[_Union[TracepointDeployment, _Mapping]] = ...) -> None: ...

class RemoveTracepointRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TracepointInfoUpdate(_message.Message):
    __slots__ = ("id", "agent_id", "state", "status_code", "status_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    agent_id: str
    state: TracepointState
    status_code: int
    status_message: str
    def __init__(self, id: _Optional[str] = ..., agent_id: _Optional[str] = ..., state: _Optional[_Union[TracepointState, str]] = ..., status_code: _Optional[int] = ..., status_message: _Optional[str] = ...) -> None: ...

class TracepointMessage(_message.Message):
    __slots__ = ("register_tracepoint_request", "remove_tracepoint_request", "tracepoint_info_update")
    REGISTER_TRACEPOINT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TRACEPOINT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    TRACEPOINT_INFO_UPDATE_FIELD_NUMBER: _ClassVar[int]
    register_tracepoint_request: RegisterTracepointRequest
    remove_tracepoint_request: RemoveTracepointRequest
    tracepoint_info_update: TracepointInfoUpdate
    def __init__(self, register_tracepoint_request: _Optional[_Union[RegisterTracepointRequest, _Mapping]] = ..., remove_tracepoint_request: _Optional[_Union[RemoveTracepointRequest, _Mapping]] = ..., tracepoint_info_update: _Optional[_Union[TracepointInfoUpdate, _Mapping]] = ...) -> None: ...
