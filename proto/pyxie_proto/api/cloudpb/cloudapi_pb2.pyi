import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from pyxie_proto.uuidpb import uuid_pb2 as _uuid_pb2
from pyxie_proto.api.vispb import vis_pb2 as _vis_pb2
from pyxie_proto.api.vizierconfigpb import vizier_types_pb2 as _vizier_types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AT_UNKNOWN: _ClassVar[ArtifactType]
    AT_LINUX_AMD64: _ClassVar[ArtifactType]
    AT_DARWIN_AMD64: _ClassVar[ArtifactType]
    AT_CONTAINER_SET_YAMLS: _ClassVar[ArtifactType]
    AT_CONTAINER_SET_TEMPLATE_YAMLS: _ClassVar[ArtifactType]
    AT_CONTAINER_SET_LINUX_AMD64: _ClassVar[ArtifactType]

class ClusterStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CS_UNKNOWN: _ClassVar[ClusterStatus]
    CS_HEALTHY: _ClassVar[ClusterStatus]
    CS_UNHEALTHY: _ClassVar[ClusterStatus]
    CS_DISCONNECTED: _ClassVar[ClusterStatus]
    CS_UPDATING: _ClassVar[ClusterStatus]
    CS_CONNECTED: _ClassVar[ClusterStatus]
    CS_UPDATE_FAILED: _ClassVar[ClusterStatus]
    CS_DEGRADED: _ClassVar[ClusterStatus]

class PodPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_UNKNOWN: _ClassVar[PodPhase]
    PENDING: _ClassVar[PodPhase]
    RUNNING: _ClassVar[PodPhase]
    SUCCEEDED: _ClassVar[PodPhase]
    FAILED: _ClassVar[PodPhase]
    TERMINATED: _ClassVar[PodPhase]

class ContainerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTAINER_STATE_UNKNOWN: _ClassVar[ContainerState]
    CONTAINER_STATE_RUNNING: _ClassVar[ContainerState]
    CONTAINER_STATE_TERMINATED: _ClassVar[ContainerState]
    CONTAINER_STATE_WAITING: _ClassVar[ContainerState]

class AutocompleteActionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AAT_UNKNOWN: _ClassVar[AutocompleteActionType]
    AAT_EDIT: _ClassVar[AutocompleteActionType]
    AAT_SELECT: _ClassVar[AutocompleteActionType]

class AutocompleteEntityKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AEK_UNKNOWN: _ClassVar[AutocompleteEntityKind]
    AEK_POD: _ClassVar[AutocompleteEntityKind]
    AEK_SVC: _ClassVar[AutocompleteEntityKind]
    AEK_SCRIPT: _ClassVar[AutocompleteEntityKind]
    AEK_NAMESPACE: _ClassVar[AutocompleteEntityKind]
    AEK_NODE: _ClassVar[AutocompleteEntityKind]

class AutocompleteEntityState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AES_UNKNOWN: _ClassVar[AutocompleteEntityState]
    AES_PENDING: _ClassVar[AutocompleteEntityState]
    AES_RUNNING: _ClassVar[AutocompleteEntityState]
    AES_FAILED: _ClassVar[AutocompleteEntityState]
    AES_TERMINATED: _ClassVar[AutocompleteEntityState]

class PluginKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PK_UNKNOWN: _ClassVar[PluginKind]
    PK_RETENTION: _ClassVar[PluginKind]
AT_UNKNOWN: ArtifactType
AT_LINUX_AMD64: ArtifactType
AT_DARWIN_AMD64: ArtifactType
AT_CONTAINER_SET_YAMLS: ArtifactType
AT_CONTAINER_SET_TEMPLATE_YAMLS: ArtifactType
AT_CONTAINER_SET_LINUX_AMD64: ArtifactType
CS_UNKNOWN: ClusterStatus
CS_HEALTHY: ClusterStatus
CS_UNHEALTHY: ClusterStatus
CS_DISCONNECTED: ClusterStatus
CS_UPDATING: ClusterStatus
CS_CONNECTED: ClusterStatus
CS_UPDATE_FAILED: ClusterStatus
CS_DEGRADED: ClusterStatus
PHASE_UNKNOWN: PodPhase
PENDING: PodPhase
RUNNING: PodPhase
SUCCEEDED: PodPhase
FAILED: PodPhase
TERMINATED: PodPhase
CONTAINER_STATE_UNKNOWN: ContainerState
CONTAINER_STATE_RUNNING: ContainerState
CONTAINER_STATE_TERMINATED: ContainerState
CONTAINER_STATE_WAITING: ContainerState
AAT_UNKNOWN: AutocompleteActionType
AAT_EDIT: AutocompleteActionType
AAT_SELECT: AutocompleteActionType
AEK_UNKNOWN: AutocompleteEntityKind
AEK_POD: AutocompleteEntityKind
AEK_SVC: AutocompleteEntityKind
AEK_SCRIPT: AutocompleteEntityKind
AEK_NAMESPACE: AutocompleteEntityKind
AEK_NODE: AutocompleteEntityKind
AES_UNKNOWN: AutocompleteEntityState
AES_PENDING: AutocompleteEntityState
AES_RUNNING: AutocompleteEntityState
AES_FAILED: AutocompleteEntityState
AES_TERMINATED: AutocompleteEntityState
PK_UNKNOWN: PluginKind
PK_RETENTION: PluginKind

class UserInfo(_message.Message):
    __slots__ = ("id", "org_id", "first_name", "last_name", "email", "profile_picture", "is_approved")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_PICTURE_FIELD_NUMBER: _ClassVar[int]
    IS_APPROVED_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    org_id: _uuid_pb2.UUID
    first_name: str
    last_name: str
    email: str
    profile_picture: str
    is_approved: bool
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., profile_picture: _Optional[str] = ..., is_approved: _Optional[bool] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("id", "display_picture", "is_approved")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_PICTURE_FIELD_NUMBER: _ClassVar[int]
    IS_APPROVED_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    display_picture: _wrappers_pb2.StringValue
    is_approved: _wrappers_pb2.BoolValue
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., display_picture: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., is_approved: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeleteUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUserSettingsRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetUserSettingsResponse(_message.Message):
    __slots__ = ("analytics_optout",)
    ANALYTICS_OPTOUT_FIELD_NUMBER: _ClassVar[int]
    analytics_optout: bool
    def __init__(self, analytics_optout: _Optional[bool] = ...) -> None: ...

class UpdateUserSettingsRequest(_message.Message):
    __slots__ = ("id", "analytics_optout")
    ID_FIELD_NUMBER: _ClassVar[int]
    ANALYTICS_OPTOUT_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    analytics_optout: _wrappers_pb2.BoolValue
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., analytics_optout: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class UpdateUserSettingsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUserAttributesRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetUserAttributesResponse(_message.Message):
    __slots__ = ("tour_seen",)
    TOUR_SEEN_FIELD_NUMBER: _ClassVar[int]
    tour_seen: bool
    def __init__(self, tour_seen: _Optional[bool] = ...) -> None: ...

class SetUserAttributesRequest(_message.Message):
    __slots__ = ("id", "tour_seen")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOUR_SEEN_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    tour_seen: _wrappers_pb2.BoolValue
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., tour_seen: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class SetUserAttributesResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OrgInfo(_message.Message):
    __slots__ = ("id", "org_name", "domain_name", "enable_approvals")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_NAME_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLE_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    org_name: str
    domain_name: str
    enable_approvals: bool
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., org_name: _Optional[str] = ..., domain_name: _Optional[str] = ..., enable_approvals: _Optional[bool] = ...) -> None: ...

class InviteUserRequest(_message.Message):
    __slots__ = ("email", "first_name", "last_name")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    first_name: str
    last_name: str
    def __init__(self, email: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ...) -> None: ...

class InviteUserResponse(_message.Message):
    __slots__ = ("email", "invite_link")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    INVITE_LINK_FIELD_NUMBER: _ClassVar[int]
    email: str
    invite_link: str
    def __init__(self, email: _Optional[str] = ..., invite_link: _Optional[str] = ...) -> None: ...

class CreateOrgRequest(_message.Message):
    __slots__ = ("org_name",)
    ORG_NAME_FIELD_NUMBER: _ClassVar[int]
    org_name: str
    def __init__(self, org_name: _Optional[str] = ...) -> None: ...

class UpdateOrgRequest(_message.Message):
    __slots__ = ("id", "enable_approvals")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENABLE_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    enable_approvals: _wrappers_pb2.BoolValue
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., enable_approvals: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class GetUsersInOrgRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: _uuid_pb2.UUID
    def __init__(self, org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetUsersInOrgResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[UserInfo]
    def __init__(self, users: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ...) -> None: ...

class RemoveUserFromOrgRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: _uuid_pb2.UUID
    def __init__(self, user_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class RemoveUserFromOrgResponse(_message.Message):
    __slots__ = ("success",)
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    def __init__(self, success: _Optional[bool] = ...) -> None: ...

class CreateInviteTokenRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: _uuid_pb2.UUID
    def __init__(self, org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class InviteToken(_message.Message):
    __slots__ = ("signed_claims",)
    SIGNED_CLAIMS_FIELD_NUMBER: _ClassVar[int]
    signed_claims: str
    def __init__(self, signed_claims: _Optional[str] = ...) -> None: ...

class VerifyInviteTokenResponse(_message.Message):
    __slots__ = ("valid",)
    VALID_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    def __init__(self, valid: _Optional[bool] = ...) -> None: ...

class IDEConfig(_message.Message):
    __slots__ = ("ide_name", "path")
    IDE_NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ide_name: str
    path: str
    def __init__(self, ide_name: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class AddOrgIDEConfigRequest(_message.Message):
    __slots__ = ("org_id", "config")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    org_id: _uuid_pb2.UUID
    config: IDEConfig
    def __init__(self, org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., config: _Optional[_Union[IDEConfig, _Mapping]] = ...) -> None: ...

class AddOrgIDEConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: IDEConfig
    def __init__(self, config: _Optional[_Union[IDEConfig, _Mapping]] = ...) -> None: ...

class DeleteOrgIDEConfigRequest(_message.Message):
    __slots__ = ("org_id", "ide_name")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    IDE_NAME_FIELD_NUMBER: _ClassVar[int]
    org_id: _uuid_pb2.UUID
    ide_name: str
    def __init__(self, org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., ide_name: _Optional[str] = ...) -> None: ...

class DeleteOrgIDEConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetOrgIDEConfigsRequest(_message.Message):
    __slots__ = ("org_id", "ide_name")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    IDE_NAME_FIELD_NUMBER: _ClassVar[int]
    org_id: _uuid_pb2.UUID
    ide_name: str
    def __init__(self, org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., ide_name: _Optional[str] = ...) -> None: ...

class GetOrgIDEConfigsResponse(_message.Message):
    __slots__ = ("configs",)
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.RepeatedCompositeFieldContainer[IDEConfig]
    def __init__(self, configs: _Optional[_Iterable[_Union[IDEConfig, _Mapping]]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("access_token",)
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class LoginReply(_message.Message):
    __slots__ = ("token", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: int
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[int] = ...) -> None: ...

class GetImageCredentialsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetImageCredentialsResponse(_message.Message):
    __slots__ = ("creds",)
    CREDS_FIELD_NUMBER: _ClassVar[int]
    creds: str
    def __init__(self, creds: _Optional[str] = ...) -> None: ...

class ArtifactSet(_message.Message):
    __slots__ = ("name", "artifact")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    name: str
    artifact: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, name: _Optional[str] = ..., artifact: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class ArtifactMirrors(_message.Message):
    __slots__ = ("artifact_type", "sha256", "urls")
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    artifact_type: ArtifactType
    sha256: str
    urls: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, artifact_type: _Optional[_Union[ArtifactType, str]] = ..., sha256: _Optional[str] = ..., urls: _Optional[_Iterable[str]] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("timestamp", "commit_hash", "version_str", "available_artifacts", "changelog", "available_artifact_mirrors")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    COMMIT_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_STR_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_ARTIFACT_MIRRORS_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    commit_hash: str
    version_str: str
    available_artifacts: _containers.RepeatedScalarFieldContainer[ArtifactType]
    changelog: str
    available_artifact_mirrors: _containers.RepeatedCompositeFieldContainer[ArtifactMirrors]
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., commit_hash: _Optional[str] = ..., version_str: _Optional[str] = ..., available_artifacts: _Optional[_Iterable[_Union[ArtifactType, str]]] = ..., changelog: _Optional[str] = ..., available_artifact_mirrors: _Optional[_Iterable[_Union[ArtifactMirrors, _Mapping]]] = ...) -> None: ...

class GetArtifactListRequest(_message.Message):
    __slots__ = ("artifact_name", "artifact_type", "limit")
    ARTIFACT_NAME_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    artifact_name: str
    artifact_type: ArtifactType
    limit: int
    def __init__(self, artifact_name: _Optional[str] = ..., artifact_type: _Optional[_Union[ArtifactType, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class GetDownloadLinkRequest(_message.Message):
    __slots__ = ("artifact_name", "version_str", "artifact_type")
    ARTIFACT_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_STR_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    artifact_name: str
    version_str: str
    artifact_type: ArtifactType
    def __init__(self, artifact_name: _Optional[str] = ..., version_str: _Optional[str] = ..., artifact_type: _Optional[_Union[ArtifactType, str]] = ...) -> None: ...

class GetDownloadLinkResponse(_message.Message):
    __slots__ = ("url", "sha256", "valid_until")
    URL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    url: str
    sha256: str
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., sha256: _Optional[str] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateClusterRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateClusterResponse(_message.Message):
    __slots__ = ("cluster_id",)
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: _uuid_pb2.UUID
    def __init__(self, cluster_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class UpdateOrInstallClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "version", "redeploy_etcd")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REDEPLOY_ETCD_FIELD_NUMBER: _ClassVar[int]
    cluster_id: _uuid_pb2.UUID
    version: str
    redeploy_etcd: bool
    def __init__(self, cluster_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., version: _Optional[str] = ..., redeploy_etcd: _Optional[bool] = ...) -> None: ...

class UpdateOrInstallClusterResponse(_message.Message):
    __slots__ = ("update_started",)
    UPDATE_STARTED_FIELD_NUMBER: _ClassVar[int]
    update_started: bool
    def __init__(self, update_started: _Optional[bool] = ...) -> None: ...

class VizierConfig(_message.Message):
    __slots__ = ("passthrough_enabled",)
    PASSTHROUGH_ENABLED_FIELD_NUMBER: _ClassVar[int]
    passthrough_enabled: bool
    def __init__(self, passthrough_enabled: _Optional[bool] = ...) -> None: ...

class VizierConfigUpdate(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetClusterInfoRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class K8sEvent(_message.Message):
    __slots__ = ("message", "first_time", "last_time")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIRST_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TIME_FIELD_NUMBER: _ClassVar[int]
    message: str
    first_time: _timestamp_pb2.Timestamp
    last_time: _timestamp_pb2.Timestamp
    def __init__(self, message: _Optional[str] = ..., first_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PodStatus(_message.Message):
    __slots__ = ("name", "status", "status_message", "reason", "containers", "created_at", "events", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: PodPhase
    status_message: str
    reason: str
    containers: _containers.RepeatedCompositeFieldContainer[ContainerStatus]
    created_at: _timestamp_pb2.Timestamp
    events: _containers.RepeatedCompositeFieldContainer[K8sEvent]
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[PodPhase, str]] = ..., status_message: _Optional[str] = ..., reason: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[ContainerStatus, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[_Iterable[_Union[K8sEvent, _Mapping]]] = ..., restart_count: _Optional[int] = ...) -> None: ...

class ContainerStatus(_message.Message):
    __slots__ = ("name", "state", "message", "reason", "created_at", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: ContainerState
    message: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[ContainerState, str]] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., restart_count: _Optional[int] = ...) -> None: ...

class ClusterInfo(_message.Message):
    __slots__ = ("id", "status", "lastHeartbeatNs", "config", "cluster_uid", "cluster_name", "pretty_cluster_name", "cluster_version", "operator_version", "vizier_version", "control_plane_pod_statuses", "unhealthy_data_plane_pod_statuses", "num_nodes", "num_instrumented_nodes", "status_message", "previous_status", "previous_status_time")
    class ControlPlanePodStatusesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PodStatus
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PodStatus, _Mapping]] = ...) -> None: ...
    class UnhealthyDataPlanePodStatusesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PodStatus
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PodStatus, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LASTHEARTBEATNS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    PRETTY_CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    VIZIER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTROL_PLANE_POD_STATUSES_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_DATA_PLANE_POD_STATUSES_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    NUM_INSTRUMENTED_NODES_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_TIME_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    status: ClusterStatus
    lastHeartbeatNs: int
    config: VizierConfig
    cluster_uid: str
    cluster_name: str
    pretty_cluster_name: str
    cluster_version: str
    operator_version: str
    vizier_version: str
    control_plane_pod_statuses: _containers.MessageMap[str, PodStatus]
    unhealthy_data_plane_pod_statuses: _containers.MessageMap[str, PodStatus]
    num_nodes: int
    num_instrumented_nodes: int
    status_message: str
    previous_status: ClusterStatus
    previous_status_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., status: _Optional[_Union[ClusterStatus, str]] = ..., lastHeartbeatNs: _Optional[int] = ..., config: _Optional[_Union[VizierConfig, _Mapping]] = ..., cluster_uid: _Optional[str] = ..., cluster_name: _Optional[str] = ..., pretty_cluster_name: _Optional[str] = ..., cluster_version: _Optional[str] = ..., operator_version: _Optional[str] = ..., vizier_version: _Optional[str] = ..., control_plane_pod_statuses: _Optional[_Mapping[str, PodStatus]] = ..., unhealthy_data_plane_pod_statuses: _Optional[_Mapping[str, PodStatus]] = ..., num_nodes: _Optional[int] = ..., num_instrumented_nodes: _Optional[int] = ..., status_message: _Optional[str] = ..., previous_status: _Optional[_Union[ClusterStatus, str]] = ..., previous_status_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetClusterInfoResponse(_message.Message):
    __slots__ = ("clusters",)
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[ClusterInfo]
    def __init__(self, clusters: _Optional[_Iterable[_Union[ClusterInfo, _Mapping]]] = ...) -> None: ...

class GetClusterConnectionInfoRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetClusterConnectionInfoResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class UpdateClusterVizierConfigRequest(_message.Message):
    __slots__ = ("id", "config_update")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_UPDATE_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    config_update: VizierConfigUpdate
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., config_update: _Optional[_Union[VizierConfigUpdate, _Mapping]] = ...) -> None: ...

class UpdateClusterVizierConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeploymentKey(_message.Message):
    __slots__ = ("id", "key", "created_at", "desc", "org_id", "user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    key: str
    created_at: _timestamp_pb2.Timestamp
    desc: str
    org_id: _uuid_pb2.UUID
    user_id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., key: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., desc: _Optional[str] = ..., org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., user_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeploymentKeyMetadata(_message.Message):
    __slots__ = ("id", "created_at", "desc", "org_id", "user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    created_at: _timestamp_pb2.Timestamp
    desc: str
    org_id: _uuid_pb2.UUID
    user_id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., desc: _Optional[str] = ..., org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., user_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class CreateDeploymentKeyRequest(_message.Message):
    __slots__ = ("desc",)
    DESC_FIELD_NUMBER: _ClassVar[int]
    desc: str
    def __init__(self, desc: _Optional[str] = ...) -> None: ...

class ListDeploymentKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDeploymentKeyResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[DeploymentKeyMetadata]
    def __init__(self, keys: _Optional[_Iterable[_Union[DeploymentKeyMetadata, _Mapping]]] = ...) -> None: ...

class GetDeploymentKeyRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetDeploymentKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: DeploymentKey
    def __init__(self, key: _Optional[_Union[DeploymentKey, _Mapping]] = ...) -> None: ...

class LookupDeploymentKeyRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class LookupDeploymentKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: DeploymentKey
    def __init__(self, key: _Optional[_Union[DeploymentKey, _Mapping]] = ...) -> None: ...

class APIKey(_message.Message):
    __slots__ = ("id", "key", "created_at", "desc", "org_id", "user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    key: str
    created_at: _timestamp_pb2.Timestamp
    desc: str
    org_id: _uuid_pb2.UUID
    user_id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., key: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., desc: _Optional[str] = ..., org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., user_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class APIKeyMetadata(_message.Message):
    __slots__ = ("id", "created_at", "desc", "org_id", "user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    created_at: _timestamp_pb2.Timestamp
    desc: str
    org_id: _uuid_pb2.UUID
    user_id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., desc: _Optional[str] = ..., org_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., user_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class CreateAPIKeyRequest(_message.Message):
    __slots__ = ("desc",)
    DESC_FIELD_NUMBER: _ClassVar[int]
    desc: str
    def __init__(self, desc: _Optional[str] = ...) -> None: ...

class ListAPIKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAPIKeyResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[APIKeyMetadata]
    def __init__(self, keys: _Optional[_Iterable[_Union[APIKeyMetadata, _Mapping]]] = ...) -> None: ...

class GetAPIKeyRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetAPIKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: APIKey
    def __init__(self, key: _Optional[_Union[APIKey, _Mapping]] = ...) -> None: ...

class LookupAPIKeyRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class LookupAPIKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: APIKey
    def __init__(self, key: _Optional[_Union[APIKey, _Mapping]] = ...) -> None: ...

class GetLiveViewsReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LiveViewMetadata(_message.Message):
    __slots__ = ("id", "desc", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    desc: str
    name: str
    def __init__(self, id: _Optional[str] = ..., desc: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetLiveViewsResp(_message.Message):
    __slots__ = ("live_views",)
    LIVE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    live_views: _containers.RepeatedCompositeFieldContainer[LiveViewMetadata]
    def __init__(self, live_views: _Optional[_Iterable[_Union[LiveViewMetadata, _Mapping]]] = ...) -> None: ...

class GetLiveViewContentsReq(_message.Message):
    __slots__ = ("live_view_id",)
    LIVE_VIEW_ID_FIELD_NUMBER: _ClassVar[int]
    live_view_id: str
    def __init__(self, live_view_id: _Optional[str] = ...) -> None: ...

class GetLiveViewContentsResp(_message.Message):
    __slots__ = ("metadata", "pxl_contents", "vis")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PXL_CONTENTS_FIELD_NUMBER: _ClassVar[int]
    VIS_FIELD_NUMBER: _ClassVar[int]
    metadata: LiveViewMetadata
    pxl_contents: str
    vis: _vis_pb2.Vis
    def __init__(self, metadata: _Optional[_Union[LiveViewMetadata, _Mapping]] = ..., pxl_contents: _Optional[str] = ..., vis: _Optional[_Union[_vis_pb2.Vis, _Mapping]] = ...) -> None: ...

class GetScriptsReq(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScriptMetadata(_message.Message):
    __slots__ = ("id", "desc", "name", "has_live_view")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HAS_LIVE_VIEW_FIELD_NUMBER: _ClassVar[int]
    id: str
    desc: str
    name: str
    has_live_view: bool
    def __init__(self, id: _Optional[str] = ..., desc: _Optional[str] = ..., name: _Optional[str] = ..., has_live_view: _Optional[bool] = ...) -> None: ...

class GetScriptsResp(_message.Message):
    __slots__ = ("scripts",)
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.RepeatedCompositeFieldContainer[ScriptMetadata]
    def __init__(self, scripts: _Optional[_Iterable[_Union[ScriptMetadata, _Mapping]]] = ...) -> None: ...

class GetScriptContentsReq(_message.Message):
    __slots__ = ("script_id",)
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    script_id: str
    def __init__(self, script_id: _Optional[str] = ...) -> None: ...

class GetScriptContentsResp(_message.Message):
    __slots__ = ("metadata", "contents")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    metadata: ScriptMetadata
    contents: str
    def __init__(self, metadata: _Optional[_Union[ScriptMetadata, _Mapping]] = ..., contents: _Optional[str] = ...) -> None: ...

class AutocompleteRequest(_message.Message):
    __slots__ = ("input", "cursor_pos", "action", "cluster_uid")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_POS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    input: str
    cursor_pos: int
    action: AutocompleteActionType
    cluster_uid: str
    def __init__(self, input: _Optional[str] = ..., cursor_pos: _Optional[int] = ..., action: _Optional[_Union[AutocompleteActionType, str]] = ..., cluster_uid: _Optional[str] = ...) -> None: ...

class TabSuggestion(_message.Message):
    __slots__ = ("tab_index", "executable_after_select", "suggestions")
    TAB_INDEX_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_AFTER_SELECT_FIELD_NUMBER: _ClassVar[int]
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    tab_index: int
    executable_after_select: bool
    suggestions: _containers.RepeatedCompositeFieldContainer[AutocompleteSuggestion]
    def __init__(self, tab_index: _Optional[int] = ..., executable_after_select: _Optional[bool] = ..., suggestions: _Optional[_Iterable[_Union[AutocompleteSuggestion, _Mapping]]] = ...) -> None: ...

class AutocompleteSuggestion(_message.Message):
    __slots__ = ("kind", "name", "description", "matched_indexes", "state")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MATCHED_INDEXES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    kind: AutocompleteEntityKind
    name: str
    description: str
    matched_indexes: _containers.RepeatedScalarFieldContainer[int]
    state: AutocompleteEntityState
    def __init__(self, kind: _Optional[_Union[AutocompleteEntityKind, str]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., matched_indexes: _Optional[_Iterable[int]] = ..., state: _Optional[_Union[AutocompleteEntityState, str]] = ...) -> None: ...

class AutocompleteResponse(_message.Message):
    __slots__ = ("formatted_input", "is_executable", "tabSuggestions")
    FORMATTED_INPUT_FIELD_NUMBER: _ClassVar[int]
    IS_EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    TABSUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    formatted_input: str
    is_executable: bool
    tabSuggestions: _containers.RepeatedCompositeFieldContainer[TabSuggestion]
    def __init__(self, formatted_input: _Optional[str] = ..., is_executable: _Optional[bool] = ..., tabSuggestions: _Optional[_Iterable[_Union[TabSuggestion, _Mapping]]] = ...) -> None: ...

class AutocompleteFieldRequest(_message.Message):
    __slots__ = ("input", "field_type", "required_arg_types", "cluster_uid")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    FIELD_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ARG_TYPES_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_UID_FIELD_NUMBER: _ClassVar[int]
    input: str
    field_type: AutocompleteEntityKind
    required_arg_types: _containers.RepeatedScalarFieldContainer[AutocompleteEntityKind]
    cluster_uid: str
    def __init__(self, input: _Optional[str] = ..., field_type: _Optional[_Union[AutocompleteEntityKind, str]] = ..., required_arg_types: _Optional[_Iterable[_Union[AutocompleteEntityKind, str]]] = ..., cluster_uid: _Optional[str] = ...) -> None: ...

class AutocompleteFieldResponse(_message.Message):
    __slots__ = ("suggestions", "has_additional_matches")
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    HAS_ADDITIONAL_MATCHES_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[AutocompleteSuggestion]
    has_additional_matches: bool
    def __init__(self, suggestions: _Optional[_Iterable[_Union[AutocompleteSuggestion, _Mapping]]] = ..., has_additional_matches: _Optional[bool] = ...) -> None: ...

class ConfigForVizierRequest(_message.Message):
    __slots__ = ("namespace", "vz_spec", "k8s_version", "vizier_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    VZ_SPEC_FIELD_NUMBER: _ClassVar[int]
    K8S_VERSION_FIELD_NUMBER: _ClassVar[int]
    VIZIER_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    vz_spec: _vizier_types_pb2.VizierSpec
    k8s_version: str
    vizier_id: _uuid_pb2.UUID
    def __init__(self, namespace: _Optional[str] = ..., vz_spec: _Optional[_Union[_vizier_types_pb2.VizierSpec, _Mapping]] = ..., k8s_version: _Optional[str] = ..., vizier_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class ConfigForVizierResponse(_message.Message):
    __slots__ = ("nameToYamlContent", "sentry_dsn")
    class NameToYamlContentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMETOYAMLCONTENT_FIELD_NUMBER: _ClassVar[int]
    SENTRY_DSN_FIELD_NUMBER: _ClassVar[int]
    nameToYamlContent: _containers.ScalarMap[str, str]
    sentry_dsn: str
    def __init__(self, nameToYamlContent: _Optional[_Mapping[str, str]] = ..., sentry_dsn: _Optional[str] = ...) -> None: ...

class ConfigForOperatorRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConfigForOperatorResponse(_message.Message):
    __slots__ = ("sentry_operator_dsn",)
    SENTRY_OPERATOR_DSN_FIELD_NUMBER: _ClassVar[int]
    sentry_operator_dsn: str
    def __init__(self, sentry_operator_dsn: _Optional[str] = ...) -> None: ...

class GetPluginsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: PluginKind
    def __init__(self, kind: _Optional[_Union[PluginKind, str]] = ...) -> None: ...

class GetPluginsResponse(_message.Message):
    __slots__ = ("plugins",)
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    plugins: _containers.RepeatedCompositeFieldContainer[Plugin]
    def __init__(self, plugins: _Optional[_Iterable[_Union[Plugin, _Mapping]]] = ...) -> None: ...

class Plugin(_message.Message):
    __slots__ = ("name", "id", "description", "logo", "latest_version", "retention_supported", "retention_enabled", "enabled_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    RETENTION_SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    RETENTION_ENABLED_FIELD_NUMBER: _ClassVar[int]
    ENABLED_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    description: str
    logo: str
    latest_version: str
    retention_supported: bool
    retention_enabled: bool
    enabled_version: str
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., description: _Optional[str] = ..., logo: _Optional[str] = ..., latest_version: _Optional[str] = ..., retention_supported: _Optional[bool] = ..., retention_enabled: _Optional[bool] = ..., enabled_version: _Optional[str] = ...) -> None: ...

class GetRetentionPluginInfoRequest(_message.Message):
    __slots__ = ("plugin_id", "version")
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    plugin_id: str
    version: str
    def __init__(self, plugin_id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class GetRetentionPluginInfoResponse(_message.Message):
    __slots__ = ("configs", "allow_custom_export_url", "allow_insecure_tls", "default_export_url")
    class ConfigsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CUSTOM_EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    ALLOW_INSECURE_TLS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.ScalarMap[str, str]
    allow_custom_export_url: bool
    allow_insecure_tls: bool
    default_export_url: str
    def __init__(self, configs: _Optional[_Mapping[str, str]] = ..., allow_custom_export_url: _Optional[bool] = ..., allow_insecure_tls: _Optional[bool] = ..., default_export_url: _Optional[str] = ...) -> None: ...

class GetOrgRetentionPluginConfigRequest(_message.Message):
    __slots__ = ("plugin_id",)
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    plugin_id: str
    def __init__(self, plugin_id: _Optional[str] = ...) -> None: ...

class GetOrgRetentionPluginConfigResponse(_message.Message):
    __slots__ = ("configs", "custom_export_url", "insecure_tls")
    class ConfigsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    INSECURE_TLS_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.ScalarMap[str, str]
    custom_export_url: str
    insecure_tls: bool
    def __init__(self, configs: _Optional[_Mapping[str, str]] = ..., custom_export_url: _Optional[str] = ..., insecure_tls: _Optional[bool] = ...) -> None: ...

class UpdateRetentionPluginConfigRequest(_message.Message):
    __slots__ = ("plugin_id", "configs", "enabled", "version", "custom_export_url", "insecure_tls", "disable_presets")
    class ConfigsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    INSECURE_TLS_FIELD_NUMBER: _ClassVar[int]
    DISABLE_PRESETS_FIELD_NUMBER: _ClassVar[int]
    plugin_id: str
    configs: _containers.ScalarMap[str, str]
    enabled: _wrappers_pb2.BoolValue
    version: _wrappers_pb2.StringValue
    custom_export_url: _wrappers_pb2.StringValue
    insecure_tls: _wrappers_pb2.BoolValue
    disable_presets: _wrappers_pb2.BoolValue
    def __init__(self, plugin_id: _Optional[str] = ..., configs: _Optional[_Mapping[str, str]] = ..., enabled: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., version: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., custom_export_url: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., insecure_tls: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., disable_presets: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ...) -> None: ...

class UpdateRetentionPluginConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RetentionScript(_message.Message):
    __slots__ = ("script_id", "script_name", "description", "frequency_s", "cluster_ids", "plugin_id", "enabled", "is_preset")
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_S_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    IS_PRESET_FIELD_NUMBER: _ClassVar[int]
    script_id: _uuid_pb2.UUID
    script_name: str
    description: str
    frequency_s: int
    cluster_ids: _containers.RepeatedCompositeFieldContainer[_uuid_pb2.UUID]
    plugin_id: str
    enabled: bool
    is_preset: bool
    def __init__(self, script_id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., script_name: _Optional[str] = ..., description: _Optional[str] = ..., frequency_s: _Optional[int] = ..., cluster_ids: _Optional[_Iterable[_Union[_uuid_pb2.UUID, _Mapping]]] = ..., plugin_id: _Optional[str] = ..., enabled: _Optional[bool] = ..., is_preset: _Optional[bool] = ...) -> None: ...

class GetRetentionScriptsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRetentionScriptsResponse(_message.Message):
    __slots__ = ("scripts",)
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.RepeatedCompositeFieldContainer[RetentionScript]
    def __init__(self, scripts: _Optional[_Iterable[_Union[RetentionScript, _Mapping]]] = ...) -> None: ...

class GetRetentionScriptRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class GetRetentionScriptResponse(_message.Message):
    __slots__ = ("script", "contents", "export_url")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    script: RetentionScript
    contents: str
    export_url: str
    def __init__(self, script: _Optional[_Union[RetentionScript, _Mapping]] = ..., contents: _Optional[str] = ..., export_url: _Optional[str] = ...) -> None: ...

class UpdateRetentionScriptRequest(_message.Message):
    __slots__ = ("id", "script_name", "description", "enabled", "frequency_s", "contents", "export_url", "cluster_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_S_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    script_name: _wrappers_pb2.StringValue
    description: _wrappers_pb2.StringValue
    enabled: _wrappers_pb2.BoolValue
    frequency_s: _wrappers_pb2.Int64Value
    contents: _wrappers_pb2.StringValue
    export_url: _wrappers_pb2.StringValue
    cluster_ids: _containers.RepeatedCompositeFieldContainer[_uuid_pb2.UUID]
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ..., script_name: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., description: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., enabled: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., frequency_s: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ..., contents: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., export_url: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., cluster_ids: _Optional[_Iterable[_Union[_uuid_pb2.UUID, _Mapping]]] = ...) -> None: ...

class UpdateRetentionScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateRetentionScriptRequest(_message.Message):
    __slots__ = ("script_name", "description", "frequency_s", "contents", "export_url", "cluster_ids", "plugin_id", "disabled")
    SCRIPT_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_S_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    EXPORT_URL_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_ID_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    script_name: str
    description: str
    frequency_s: int
    contents: str
    export_url: str
    cluster_ids: _containers.RepeatedCompositeFieldContainer[_uuid_pb2.UUID]
    plugin_id: str
    disabled: bool
    def __init__(self, script_name: _Optional[str] = ..., description: _Optional[str] = ..., frequency_s: _Optional[int] = ..., contents: _Optional[str] = ..., export_url: _Optional[str] = ..., cluster_ids: _Optional[_Iterable[_Union[_uuid_pb2.UUID, _Mapping]]] = ..., plugin_id: _Optional[str] = ..., disabled: _Optional[bool] = ...) -> None: ...

class CreateRetentionScriptResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeleteRetentionScriptRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: _uuid_pb2.UUID
    def __init__(self, id: _Optional[_Union[_uuid_pb2.UUID, _Mapping]] = ...) -> None: ...

class DeleteRetentionScriptResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
