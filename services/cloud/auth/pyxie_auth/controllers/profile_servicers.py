"""`px.cloudapi.UserService` and `OrganizationService`, served by auth to the api gateway.

The messages are the public ones (the api forwards them unchanged); the transport token must
be a cloud service's and the user comes from `x-pyxie-user-token`, as for every auth call.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.empty_pb2 import Empty
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service import InvalidArgument, ServiceRegistration
from pyxie_service.audit import audit

from pyxie_auth.controllers._accounts import Accounts
from pyxie_auth.controllers._caller import Caller, caller_of
from pyxie_auth.controllers._invites import InviteTokenError, unverified_invite_org
from pyxie_auth.controllers._profiles import IDEConfig, Profiles, UserView
from pyxie_auth.controllers._tokens import TokenMinter
from pyxie_auth.schema.tables import OrgRow

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "ORG_SERVICE_NAME",
    "USER_SERVICE_NAME",
    "OrganizationServicer",
    "UserServicer",
    "org_registration",
    "user_registration",
]

USER_SERVICE_NAME: Final = "px.cloudapi.UserService"
ORG_SERVICE_NAME: Final = "px.cloudapi.OrganizationService"


def _id(message: uuid_pb2.UUID, what: str) -> uuid.UUID:
    value = (message.high_bits << 64) | message.low_bits
    if value == 0:
        raise InvalidArgument(f"missing {what}")
    return uuid.UUID(int=value)


def _pb(value: uuid.UUID) -> uuid_pb2.UUID:
    return uuid_pb2.UUID(high_bits=value.int >> 64, low_bits=value.int & ((1 << 64) - 1))


def user_info(view: UserView) -> cpb.UserInfo:
    user = view.user
    first, _, last = user.name.partition(" ")
    info = cpb.UserInfo(
        id=_pb(user.id),
        first_name=first,
        last_name=last,
        email=user.email,
        profile_picture=view.profile_picture,
        is_approved=user.is_approved,
    )
    if user.org_id is not None:
        info.org_id.CopyFrom(_pb(user.org_id))
    return info


def org_info(org: OrgRow) -> cpb.OrgInfo:
    return cpb.OrgInfo(
        id=_pb(org.id),
        org_name=org.name,
        domain_name=org.domain_name or "",
        enable_approvals=org.enable_approvals,
    )


class _CallerSource:
    def __init__(self, accounts: Accounts, tokens: TokenMinter) -> None:
        self._accounts = accounts
        self._tokens = tokens

    async def caller(self, context: _Context) -> Caller:
        return await caller_of(context, tokens=self._tokens, accounts=self._accounts)


class UserServicer(cpb_grpc.UserServiceServicer):
    def __init__(self, callers: _CallerSource, profiles: Profiles) -> None:
        self._callers = callers
        self._profiles = profiles

    async def GetUser(self, request: uuid_pb2.UUID, context: _Context) -> cpb.UserInfo:
        caller = await self._callers.caller(context)
        return user_info(await self._profiles.user(caller, _id(request, "user id")))

    async def GetUserSettings(
        self, request: cpb.GetUserSettingsRequest, context: _Context
    ) -> cpb.GetUserSettingsResponse:
        caller = await self._callers.caller(context)
        profile = await self._profiles.settings(caller, _id(request.id, "user id"))
        return cpb.GetUserSettingsResponse(analytics_optout=profile.analytics_optout)

    async def UpdateUserSettings(
        self, request: cpb.UpdateUserSettingsRequest, context: _Context
    ) -> cpb.UpdateUserSettingsResponse:
        caller = await self._callers.caller(context)
        optout = request.analytics_optout.value if request.HasField("analytics_optout") else None
        await self._profiles.update_profile(
            caller, _id(request.id, "user id"), analytics_optout=optout
        )
        return cpb.UpdateUserSettingsResponse()

    async def GetUserAttributes(
        self, request: cpb.GetUserAttributesRequest, context: _Context
    ) -> cpb.GetUserAttributesResponse:
        caller = await self._callers.caller(context)
        profile = await self._profiles.settings(caller, _id(request.id, "user id"))
        return cpb.GetUserAttributesResponse(tour_seen=profile.tour_seen)

    async def SetUserAttributes(
        self, request: cpb.SetUserAttributesRequest, context: _Context
    ) -> cpb.SetUserAttributesResponse:
        caller = await self._callers.caller(context)
        tour_seen = request.tour_seen.value if request.HasField("tour_seen") else None
        await self._profiles.update_profile(caller, _id(request.id, "user id"), tour_seen=tour_seen)
        return cpb.SetUserAttributesResponse()

    async def UpdateUser(self, request: cpb.UpdateUserRequest, context: _Context) -> cpb.UserInfo:
        caller = await self._callers.caller(context)
        view = await self._profiles.update_user(
            caller,
            _id(request.id, "user id"),
            picture=(
                request.display_picture.value if request.HasField("display_picture") else None
            ),
            is_approved=request.is_approved.value if request.HasField("is_approved") else None,
        )
        return user_info(view)

    async def DeleteUser(
        self, request: cpb.DeleteUserRequest, context: _Context
    ) -> cpb.DeleteUserResponse:
        caller = await self._callers.caller(context)
        await self._profiles.delete_user(caller, _id(request.id, "user id"))
        return cpb.DeleteUserResponse()


class OrganizationServicer(cpb_grpc.OrganizationServiceServicer):
    def __init__(
        self, callers: _CallerSource, profiles: Profiles, accounts: Accounts, *, invite_url: str
    ) -> None:
        self._callers = callers
        self._profiles = profiles
        self._accounts = accounts
        self._invite_url = invite_url

    async def _org_admin(self, context: _Context, org: uuid_pb2.UUID | None, action: str) -> Any:
        caller = await self._callers.caller(context)
        caller.require_admin(action)
        caller.require_unlimited(action)
        if org is not None:
            org_id = _id(org, "org id")
            await self._profiles.org(caller, org_id)  # NotFound for another org's id
        return caller

    async def InviteUser(
        self, request: cpb.InviteUserRequest, context: _Context
    ) -> cpb.InviteUserResponse:
        caller = await self._org_admin(context, None, "invite users")
        org_id = caller.org("")
        token, _expires = await self._accounts.create_invite(
            org_id=org_id, email=request.email, created_by=caller.user_id
        )
        return cpb.InviteUserResponse(
            email=request.email.strip().lower(), invite_link=f"{self._invite_url}{token}"
        )

    async def GetOrg(self, request: uuid_pb2.UUID, context: _Context) -> cpb.OrgInfo:
        caller = await self._callers.caller(context)
        return org_info(await self._profiles.org(caller, _id(request, "org id")))

    async def CreateOrg(self, request: cpb.CreateOrgRequest, context: _Context) -> uuid_pb2.UUID:
        caller = await self._callers.caller(context)
        caller.require_admin("create an org")
        org = await self._accounts.create_org_for(caller.user_id, request.org_name)
        return _pb(org.id)

    async def UpdateOrg(self, request: cpb.UpdateOrgRequest, context: _Context) -> cpb.OrgInfo:
        caller = await self._org_admin(context, None, "update the org")
        approvals = request.enable_approvals.value if request.HasField("enable_approvals") else None
        org = await self._profiles.update_org(
            caller, _id(request.id, "org id"), enable_approvals=approvals
        )
        return org_info(org)

    async def GetUsersInOrg(
        self, request: cpb.GetUsersInOrgRequest, context: _Context
    ) -> cpb.GetUsersInOrgResponse:
        caller = await self._callers.caller(context)
        members = await self._profiles.members(caller, _id(request.org_id, "org id"))
        return cpb.GetUsersInOrgResponse(users=[user_info(view) for view in members])

    async def RemoveUserFromOrg(
        self, request: cpb.RemoveUserFromOrgRequest, context: _Context
    ) -> cpb.RemoveUserFromOrgResponse:
        caller = await self._org_admin(context, None, "remove users from the org")
        await self._profiles.remove_member(caller, _id(request.user_id, "user id"))
        return cpb.RemoveUserFromOrgResponse(success=True)

    async def AddOrgIDEConfig(
        self, request: cpb.AddOrgIDEConfigRequest, context: _Context
    ) -> cpb.AddOrgIDEConfigResponse:
        caller = await self._org_admin(context, None, "change IDE configs")
        config = IDEConfig(request.config.ide_name, request.config.path)
        await self._profiles.add_ide_config(caller, _id(request.org_id, "org id"), config)
        return cpb.AddOrgIDEConfigResponse(
            config=cpb.IDEConfig(ide_name=config.ide_name.strip(), path=config.path.strip())
        )

    async def DeleteOrgIDEConfig(
        self, request: cpb.DeleteOrgIDEConfigRequest, context: _Context
    ) -> cpb.DeleteOrgIDEConfigResponse:
        caller = await self._org_admin(context, None, "change IDE configs")
        await self._profiles.delete_ide_config(
            caller, _id(request.org_id, "org id"), request.ide_name
        )
        return cpb.DeleteOrgIDEConfigResponse()

    async def GetOrgIDEConfigs(
        self, request: cpb.GetOrgIDEConfigsRequest, context: _Context
    ) -> cpb.GetOrgIDEConfigsResponse:
        caller = await self._callers.caller(context)
        configs = await self._profiles.ide_configs(
            caller, _id(request.org_id, "org id"), request.ide_name
        )
        return cpb.GetOrgIDEConfigsResponse(
            configs=[cpb.IDEConfig(ide_name=c.ide_name, path=c.path) for c in configs]
        )

    async def CreateInviteToken(
        self, request: cpb.CreateInviteTokenRequest, context: _Context
    ) -> cpb.InviteToken:
        caller = await self._org_admin(context, request.org_id, "create invite tokens")
        token, _expires = await self._accounts.create_invite(
            org_id=_id(request.org_id, "org id"), email="", created_by=caller.user_id
        )
        # An open invite admits anyone who holds it: every one is on the record.
        audit("org.invite_token", "applied", actor=str(caller.user_id), org_id=str(caller.org_id))
        return cpb.InviteToken(signed_claims=token)

    async def RevokeAllInviteTokens(self, request: uuid_pb2.UUID, context: _Context) -> Empty:
        caller = await self._org_admin(context, request, "revoke invite tokens")
        await self._accounts.revoke_all_invites(_id(request, "org id"))
        audit("org.revoke_invites", "applied", actor=str(caller.user_id), org_id=str(caller.org_id))
        return Empty()

    async def VerifyInviteToken(
        self, request: cpb.InviteToken, context: _Context
    ) -> cpb.VerifyInviteTokenResponse:
        caller = await self._callers.caller(context)
        token = request.signed_claims.strip()
        if not token:
            raise InvalidArgument("missing signed_claims (the invite token)")
        try:
            org_id = unverified_invite_org(token)
        except InviteTokenError:
            return cpb.VerifyInviteTokenResponse(valid=False)
        # Only the caller's own org's invites are checked: another org's look invalid.
        if org_id != caller.org_id:
            return cpb.VerifyInviteTokenResponse(valid=False)
        return cpb.VerifyInviteTokenResponse(
            valid=await self._accounts.invite_is_valid(token, org_id)
        )


def user_registration(servicer: UserServicer) -> ServiceRegistration:
    return ServiceRegistration(
        USER_SERVICE_NAME,
        lambda server: cpb_grpc.add_UserServiceServicer_to_server(servicer, server),
    )


def org_registration(servicer: OrganizationServicer) -> ServiceRegistration:
    return ServiceRegistration(
        ORG_SERVICE_NAME,
        lambda server: cpb_grpc.add_OrganizationServiceServicer_to_server(servicer, server),
    )


def profile_registrations(
    accounts: Accounts, tokens: TokenMinter, profiles: Profiles, *, invite_url: str
) -> list[ServiceRegistration]:
    callers = _CallerSource(accounts, tokens)
    return [
        user_registration(UserServicer(callers, profiles)),
        org_registration(OrganizationServicer(callers, profiles, accounts, invite_url=invite_url)),
    ]
