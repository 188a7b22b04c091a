from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterVizierDeploymentRequest(_message.Message):
    __slots__ = ("k8s_cluster_uid", "k8s_cluster_name")
    K8S_CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    K8S_CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    k8s_cluster_uid: str
    k8s_cluster_name: str
    def __init__(self, k8s_cluster_uid: _Optional[str] = ..., k8s_cluster_name: _Optional[str] = ...) -> None: ...

class RegisterVizierDeploymentResponse(_message.Message):
    __slots__ = ("vizier_id", "vizier_name", "jwt_signing_key")
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    VIZIER_NAME_FIELD_NUMBER: _ClassVar[int]
    JWT_SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    vizier_id: str
    vizier_name: str
    jwt_signing_key: str
    def __init__(self, vizier_id: _Optional[str] = ..., vizier_name: _Optional[str] = ..., jwt_signing_key: _Optional[str] = ...) -> None: ...

class V2CBridgeMessage(_message.Message):
    __slots__ = ("topic", "session_id", "msg")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    topic: str
    session_id: str
    msg: _any_pb2.Any
    def __init__(self, topic: _Optional[str] = ..., session_id: _Optional[str] = ..., msg: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class C2VBridgeMessage(_message.Message):
    __slots__ = ("topic", "msg")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    topic: str
    msg: _any_pb2.Any
    def __init__(self, topic: _Optional[str] = ..., msg: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...
