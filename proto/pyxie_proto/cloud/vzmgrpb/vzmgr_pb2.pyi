from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as _cvmsgs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VizierInfo(_message.Message):
    __slots__ = ("vizier_id", "org_id", "name", "cluster_uid", "status", "last_heartbeat_ns", "status_message", "vizier_version", "num_nodes", "num_instrumented_nodes", "previous_status_time_ns", "previous_status")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_NS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VIZIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    NUM_INSTRUMENTED_NODES_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    org_id: str
    name: str
    cluster_uid: str
    status: _cvmsgs_pb2.VizierStatus
    last_heartbeat_ns: int
    status_message: str
    vizier_version: str
    num_nodes: int
    num_instrumented_nodes: int
    previous_status_time_ns: int
    previous_status: _cvmsgs_pb2.VizierStatus
    def __init__(self, vizier_id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., cluster_uid: _Optional[str] = ..., status: _Optional[_Union[_cvmsgs_pb2.VizierStatus, str]] = ..., last_heartbeat_ns: _Optional[int] = ..., status_message: _Optional[str] = ..., vizier_version: _Optional[str] = ..., num_nodes: _Optional[int] = ..., num_instrumented_nodes: _Optional[int] = ..., previous_status_time_ns: _Optional[int] = ..., previous_status: _Optional[_Union[_cvmsgs_pb2.VizierStatus, str]] = ...) -> None: ...

class GetViziersByOrgRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetViziersByOrgResponse(_message.Message):
    __slots__ = ("viziers",)
    VIZIERS_FIELD_NUMBER: _ClassVar[int]
    viziers: _containers.RepeatedCompositeFieldContainer[VizierInfo]
    def __init__(self, viziers: _Optional[_Iterable[_Union[VizierInfo, _Mapping]]] = ...) -> None: ...

class GetVizierInfoRequest(_message.Message):
    __slots__ = ("vizier_id",)
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    def __init__(self, vizier_id: _Optional[str] = ...) -> None: ...

class GetVizierConnectionInfoRequest(_message.Message):
    __slots__ = ("vizier_id",)
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    def __init__(self, vizier_id: _Optional[str] = ...) -> None: ...

class VizierConnectionInfo(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class VizierConnectedRequest(_message.Message):
    __slots__ = ("register",)
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    register: _cvmsgs_pb2.RegisterVizierRequest
    def __init__(self, register: _Optional[_Union[_cvmsgs_pb2.RegisterVizierRequest, _Mapping]] = ...) -> None: ...

class RegisterVizierDeploymentRequest(_message.Message):
    __slots__ = ("deploy_key", "k8s_cluster_uid", "k8s_cluster_name", "peer")
    DEPLOY_KEY_FIELD_NUMBER: _ClassVar[int]
    K8S_CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    K8S_CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    deploy_key: str
    k8s_cluster_uid: str
    k8s_cluster_name: str
    peer: str
    def __init__(self, deploy_key: _Optional[str] = ..., k8s_cluster_uid: _Optional[str] = ..., k8s_cluster_name: _Optional[str] = ..., peer: _Optional[str] = ...) -> None: ...

class RegisterVizierDeploymentResponse(_message.Message):
    __slots__ = ("vizier_id", "vizier_name", "jwt_signing_key")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    VIZIER_NAME_FIELD_NUMBER: _ClassVar[int]
    JWT_SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    vizier_name: str
    jwt_signing_key: str
    def __init__(self, vizier_id: _Optional[str] = ..., vizier_name: _Optional[str] = ..., jwt_signing_key: _Optional[str] = ...) -> None: ...

class DeploymentKey(_message.Message):
    __slots__ = ("id", "org_id", "user_id", "created_at_ns", "description", "key", "expires_at_ns", "last_used_at_ns")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    user_id: str
    created_at_ns: int
    description: str
    key: str
    expires_at_ns: int
    last_used_at_ns: int
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ..., user_id: _Optional[str] = ..., created_at_ns: _Optional[int] = ..., description: _Optional[str] = ..., key: _Optional[str] = ..., expires_at_ns: _Optional[int] = ..., last_used_at_ns: _Optional[int] = ...) -> None: ...

class CreateDeploymentKeyRequest(_message.Message):
    __slots__ = ("org_id", "user_id", "description", "expires_at_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    user_id: str
    description: str
    expires_at_ns: int
    def __init__(self, org_id: _Optional[str] = ..., user_id: _Optional[str] = ..., description: _Optional[str] = ..., expires_at_ns: _Optional[int] = ...) -> None: ...

class ListDeploymentKeysRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListDeploymentKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[DeploymentKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[DeploymentKey, _Mapping]]] = ...) -> None: ...

class GetDeploymentKeyRequest(_message.Message):
    __slots__ = ("id", "org_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class LookupDeploymentKeyRequest(_message.Message):
    __slots__ = ("key", "org_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    org_id: str
    def __init__(self, key: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class DeleteDeploymentKeyRequest(_message.Message):
    __slots__ = ("id", "org_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class DeleteDeploymentKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
