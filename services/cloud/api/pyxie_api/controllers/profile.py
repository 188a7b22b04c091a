"""`px.cloudapi.UserService` and `OrganizationService`: forwarded to auth, which owns users and
orgs (Pixie's profile service) and scopes every call to the caller's token itself.

The api checks the key's scope first (a read-only key never reaches a mutating method), so a
refused call costs auth nothing, and auth checks again (defence in depth).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from google.protobuf.empty_pb2 import Empty
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.uuidpb import uuid_pb2

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import current_caller

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["MUTATING_PROFILE_METHODS", "OrganizationServicer", "UserServicer"]

# What a read-only API key may not call (method name → what the refusal says).
MUTATING_PROFILE_METHODS: Final = {
    "UpdateUserSettings": "change user settings",
    "SetUserAttributes": "change user attributes",
    "UpdateUser": "update users",
    "DeleteUser": "delete users",
    "InviteUser": "invite users",
    "CreateOrg": "create orgs",
    "UpdateOrg": "update the org",
    "RemoveUserFromOrg": "remove users from the org",
    "AddOrgIDEConfig": "change IDE configs",
    "DeleteOrgIDEConfig": "change IDE configs",
    "CreateInviteToken": "create invite tokens",
    "RevokeAllInviteTokens": "revoke invite tokens",
}


class _Forwarder:
    def __init__(self, backends: CloudBackends, stub: Any) -> None:
        self._backends = backends
        self._stub = stub

    async def _forward(self, method: str, request: Any) -> Any:
        caller = current_caller()
        action = MUTATING_PROFILE_METHODS.get(method)
        if action is not None:
            caller.require_admin(action)
        call = getattr(self._stub, method)(
            request,
            metadata=self._backends.metadata(caller.token),
            timeout=self._backends.timeout,
        )
        return await call_backend("auth", call)


class UserServicer(_Forwarder, cpb_grpc.UserServiceServicer):
    def __init__(self, backends: CloudBackends) -> None:
        super().__init__(backends, backends.users)

    async def GetUser(self, request: uuid_pb2.UUID, context: _Context) -> cpb.UserInfo:
        result: cpb.UserInfo = await self._forward("GetUser", request)
        return result

    async def GetUserSettings(
        self, request: cpb.GetUserSettingsRequest, context: _Context
    ) -> cpb.GetUserSettingsResponse:
        result: cpb.GetUserSettingsResponse = await self._forward("GetUserSettings", request)
        return result

    async def UpdateUserSettings(
        self, request: cpb.UpdateUserSettingsRequest, context: _Context
    ) -> cpb.UpdateUserSettingsResponse:
        result: cpb.UpdateUserSettingsResponse = await self._forward("UpdateUserSettings", request)
        return result

    async def GetUserAttributes(
        self, request: cpb.GetUserAttributesRequest, context: _Context
    ) -> cpb.GetUserAttributesResponse:
        result: cpb.GetUserAttributesResponse = await self._forward("GetUserAttributes", request)
        return result

    async def SetUserAttributes(
        self, request: cpb.SetUserAttributesRequest, context: _Context
    ) -> cpb.SetUserAttributesResponse:
        result: cpb.SetUserAttributesResponse = await self._forward("SetUserAttributes", request)
        return result

    async def UpdateUser(self, request: cpb.UpdateUserRequest, context: _Context) -> cpb.UserInfo:
        result: cpb.UserInfo = await self._forward("UpdateUser", request)
        return result

    async def DeleteUser(
        self, request: cpb.DeleteUserRequest, context: _Context
    ) -> cpb.DeleteUserResponse:
        result: cpb.DeleteUserResponse = await self._forward("DeleteUser", request)
        return result


class OrganizationServicer(_Forwarder, cpb_grpc.OrganizationServiceServicer):
    def __init__(self, backends: CloudBackends) -> None:
        super().__init__(backends, backends.orgs)

    async def InviteUser(
        self, request: cpb.InviteUserRequest, context: _Context
    ) -> cpb.InviteUserResponse:
        result: cpb.InviteUserResponse = await self._forward("InviteUser", request)
        return result

    async def GetOrg(self, request: uuid_pb2.UUID, context: _Context) -> cpb.OrgInfo:
        result: cpb.OrgInfo = await self._forward("GetOrg", request)
        return result

    async def CreateOrg(self, request: cpb.CreateOrgRequest, context: _Context) -> uuid_pb2.UUID:
        result: uuid_pb2.UUID = await self._forward("CreateOrg", request)
        return result

    async def UpdateOrg(self, request: cpb.UpdateOrgRequest, context: _Context) -> cpb.OrgInfo:
        result: cpb.OrgInfo = await self._forward("UpdateOrg", request)
        return result

    async def GetUsersInOrg(
        self, request: cpb.GetUsersInOrgRequest, context: _Context
    ) -> cpb.GetUsersInOrgResponse:
        result: cpb.GetUsersInOrgResponse = await self._forward("GetUsersInOrg", request)
        return result

    async def RemoveUserFromOrg(
        self, request: cpb.RemoveUserFromOrgRequest, context: _Context
    ) -> cpb.RemoveUserFromOrgResponse:
        result: cpb.RemoveUserFromOrgResponse = await self._forward("RemoveUserFromOrg", request)
        return result

    async def AddOrgIDEConfig(
        self, request: cpb.AddOrgIDEConfigRequest, context: _Context
    ) -> cpb.AddOrgIDEConfigResponse:
        result: cpb.AddOrgIDEConfigResponse = await self._forward("AddOrgIDEConfig", request)
        return result

    async def DeleteOrgIDEConfig(
        self, request: cpb.DeleteOrgIDEConfigRequest, context: _Context
    ) -> cpb.DeleteOrgIDEConfigResponse:
        result: cpb.DeleteOrgIDEConfigResponse = await self._forward("DeleteOrgIDEConfig", request)
        return result

    async def GetOrgIDEConfigs(
        self, request: cpb.GetOrgIDEConfigsRequest, context: _Context
    ) -> cpb.GetOrgIDEConfigsResponse:
        result: cpb.GetOrgIDEConfigsResponse = await self._forward("GetOrgIDEConfigs", request)
        return result

    async def CreateInviteToken(
        self, request: cpb.CreateInviteTokenRequest, context: _Context
    ) -> cpb.InviteToken:
        result: cpb.InviteToken = await self._forward("CreateInviteToken", request)
        return result

    async def RevokeAllInviteTokens(self, request: uuid_pb2.UUID, context: _Context) -> Empty:
        result: Empty = await self._forward("RevokeAllInviteTokens", request)
        return result

    async def VerifyInviteToken(
        self, request: cpb.InviteToken, context: _Context
    ) -> cpb.VerifyInviteTokenResponse:
        result: cpb.VerifyInviteTokenResponse = await self._forward("VerifyInviteToken", request)
        return result
