from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VizierSpec(_message.Message):
    __slots__ = ("version", "deploy_key", "disable_auto_update", "use_etcd_operator", "cluster_name", "cloud_addr", "dev_cloud_namespace", "pem_memory_limit", "pem_memory_request", "Pod_Policy", "patches", "clock_converter", "data_access", "data_collector_params", "leadership_election_params", "custom_deploy_key_secret", "registry", "autopilot")
    class PatchesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_KEY_FIELD_NUMBER: _ClassVar[int]
    DISABLE_AUTO_UPDATE_FIELD_NUMBER: _ClassVar[int]
    USE_ETCD_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    CLOUD_ADDR_FIELD_NUMBER: _ClassVar[int]
    DEV_CLOUD_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PEM_MEMORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PEM_MEMORY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    POD_POLICY_FIELD_NUMBER: _ClassVar[int]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    CLOCK_CONVERTER_FIELD_NUMBER: _ClassVar[int]
    DATA_ACCESS_FIELD_NUMBER: _ClassVar[int]
    DATA_COLLECTOR_PARAMS_FIELD_NUMBER: _ClassVar[int]
    LEADERSHIP_ELECTION_PARAMS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_DEPLOY_KEY_SECRET_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    AUTOPILOT_FIELD_NUMBER: _ClassVar[int]
    version: str
    deploy_key: str
    disable_auto_update: bool
    use_etcd_operator: bool
    cluster_name: str
    cloud_addr: str
    dev_cloud_namespace: str
    pem_memory_limit: str
    pem_memory_request: str
    Pod_Policy: PodPolicyReq
    patches: _containers.ScalarMap[str, str]
    clock_converter: str
    data_access: str
    data_collector_params: DataCollectorParams
    leadership_election_params: LeadershipElectionParams
    custom_deploy_key_secret: str
    registry: str
    autopilot: bool
    def __init__(self, version: _Optional[str] = ..., deploy_key: _Optional[str] = ..., disable_auto_update: _Optional[bool] = ..., use_etcd_operator: _Optional[bool] = ..., cluster_name: _Optional[str] = ..., cloud_addr: _Optional[str] = ..., dev_cloud_namespace: _Optional[str] = ..., pem_memory_limit: _Optional[str] = ..., pem_memory_request: _Optional[str] = ..., Pod_Policy: _Optional[_Union[PodPolicyReq, _Mapping]] = ..., patches: _Optional[_Mapping[str, str]] = ..., clock_converter: _Optional[str] = ..., data_access: _Optional[str] = ..., data_collector_params: _Optional[_Union[DataCollectorParams, _Mapping]] = ..., leadership_election_params: _Optional[_Union[LeadershipElectionParams, _Mapping]] = ..., custom_deploy_key_secret: _Optional[str] = ..., registry: _Optional[str] = ..., autopilot: _Optional[bool] = ...) -> None: ...

class PodPolicyReq(_message.Message):
    __slots__ = ("labels", "annotations", "resources", "nodeSelector", "tolerations")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class NodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NODESELECTOR_FIELD_NUMBER: _ClassVar[int]
    TOLERATIONS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    resources: ResourceReqs
    nodeSelector: _containers.ScalarMap[str, str]
    tolerations: _containers.RepeatedCompositeFieldContainer[Toleration]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., resources: _Optional[_Union[ResourceReqs, _Mapping]] = ..., nodeSelector: _Optional[_Mapping[str, str]] = ..., tolerations: _Optional[_Iterable[_Union[Toleration, _Mapping]]] = ...) -> None: ...

class ResourceReqs(_message.Message):
    __slots__ = ("limits", "requests")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    limits: ResourceList
    requests: ResourceList
    def __init__(self, limits: _Optional[_Union[ResourceList, _Mapping]] = ..., requests: _Optional[_Union[ResourceList, _Mapping]] = ...) -> None: ...

class Toleration(_message.Message):
    __slots__ = ("key", "operator", "value", "effect", "toleration_seconds")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    TOLERATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    key: str
    operator: str
    value: str
    effect: str
    toleration_seconds: _wrappers_pb2.Int64Value
    def __init__(self, key: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ..., effect: _Optional[str] = ..., toleration_seconds: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ...) -> None: ...

class ResourceList(_message.Message):
    __slots__ = ("resource_list",)
    class ResourceListEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ResourceQuantity
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ResourceQuantity, _Mapping]] = ...) -> None: ...
    RESOURCE_LIST_FIELD_NUMBER: _ClassVar[int]
    resource_list: _containers.MessageMap[str, ResourceQuantity]
    def __init__(self, resource_list: _Optional[_Mapping[str, ResourceQuantity]] = ...) -> None: ...

class ResourceQuantity(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class DataCollectorParams(_message.Message):
    __slots__ = ("datastream_buffer_size", "datastream_buffer_spike_size", "custom_pem_flags")
    class CustomPemFlagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASTREAM_BUFFER_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATASTREAM_BUFFER_SPIKE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_PEM_FLAGS_FIELD_NUMBER: _ClassVar[int]
    datastream_buffer_size: int
    datastream_buffer_spike_size: int
    custom_pem_flags: _containers.ScalarMap[str, str]
    def __init__(self, datastream_buffer_size: _Optional[int] = ..., datastream_buffer_spike_size: _Optional[int] = ..., custom_pem_flags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LeadershipElectionParams(_message.Message):
    __slots__ = ("election_period_ms",)
    ELECTION_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    election_period_ms: int
    def __init__(self, election_period_ms: _Optional[int] = ...) -> None: ...
