from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserInfo(_message.Message):
    __slots__ = ("user_id", "org_id", "email", "name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    org_id: str
    email: str
    name: str
    def __init__(self, user_id: _Optional[str] = ..., org_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SignupRequest(_message.Message):
    __slots__ = ("email", "password", "name", "org_name", "invite_token")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORG_NAME_FIELD_NUMBER: _ClassVar[int]
    INVITE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    name: str
    org_name: str
    invite_token: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., name: _Optional[str] = ..., org_name: _Optional[str] = ..., invite_token: _Optional[str] = ...) -> None: ...

class PasswordLoginRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class OIDCLoginRequest(_message.Message):
    __slots__ = ("access_token", "create_user_if_not_exists", "invite_token", "org_name")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATE_USER_IF_NOT_EXISTS_FIELD_NUMBER: _ClassVar[int]
    INVITE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORG_NAME_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    create_user_if_not_exists: bool
    invite_token: str
    org_name: str
    def __init__(self, access_token: _Optional[str] = ..., create_user_if_not_exists: _Optional[bool] = ..., invite_token: _Optional[str] = ..., org_name: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("token", "expires_at_ns", "user", "user_created")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    USER_CREATED_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at_ns: int
    user: UserInfo
    user_created: bool
    def __init__(self, token: _Optional[str] = ..., expires_at_ns: _Optional[int] = ..., user: _Optional[_Union[UserInfo, _Mapping]] = ..., user_created: _Optional[bool] = ...) -> None: ...

class GetAugmentedTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class AugmentedToken(_message.Message):
    __slots__ = ("token", "expires_at_ns", "scope", "cluster_ids")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at_ns: int
    scope: str
    cluster_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token: _Optional[str] = ..., expires_at_ns: _Optional[int] = ..., scope: _Optional[str] = ..., cluster_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAugmentedTokenForAPIKeyRequest(_message.Message):
    __slots__ = ("api_key",)
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    def __init__(self, api_key: _Optional[str] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateInviteRequest(_message.Message):
    __slots__ = ("org_id", "email")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    email: str
    def __init__(self, org_id: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class Invite(_message.Message):
    __slots__ = ("email", "invite_token", "expires_at_ns")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    INVITE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    email: str
    invite_token: str
    expires_at_ns: int
    def __init__(self, email: _Optional[str] = ..., invite_token: _Optional[str] = ..., expires_at_ns: _Optional[int] = ...) -> None: ...

class APIKey(_message.Message):
    __slots__ = ("id", "org_id", "user_id", "created_at_ns", "description", "key", "scope", "cluster_ids", "expires_at_ns", "last_used_at_ns")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    user_id: str
    created_at_ns: int
    description: str
    key: str
    scope: str
    cluster_ids: _containers.RepeatedScalarFieldContainer[str]
    expires_at_ns: int
    last_used_at_ns: int
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ..., user_id: _Optional[str] = ..., created_at_ns: _Optional[int] = ..., description: _Optional[str] = ..., key: _Optional[str] = ..., scope: _Optional[str] = ..., cluster_ids: _Optional[_Iterable[str]] = ..., expires_at_ns: _Optional[int] = ..., last_used_at_ns: _Optional[int] = ...) -> None: ...

class CreateAPIKeyRequest(_message.Message):
    __slots__ = ("org_id", "user_id", "description", "scope", "cluster_ids", "expires_at_ns")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_NS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    user_id: str
    description: str
    scope: str
    cluster_ids: _containers.RepeatedScalarFieldContainer[str]
    expires_at_ns: int
    def __init__(self, org_id: _Optional[str] = ..., user_id: _Optional[str] = ..., description: _Optional[str] = ..., scope: _Optional[str] = ..., cluster_ids: _Optional[_Iterable[str]] = ..., expires_at_ns: _Optional[int] = ...) -> None: ...

class ListAPIKeysRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListAPIKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[APIKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[APIKey, _Mapping]]] = ...) -> None: ...

class LookupAPIKeyRequest(_message.Message):
    __slots__ = ("key", "org_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    org_id: str
    def __init__(self, key: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class DeleteAPIKeyRequest(_message.Message):
    __slots__ = ("id", "org_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class DeleteAPIKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
