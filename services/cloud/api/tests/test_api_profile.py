"""Users and orgs through the api, served by the real auth service on PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.wrappers_pb2 import BoolValue, StringValue
from pyxie_api.controllers.ids import uuid_from_pb, uuid_to_pb
from pyxie_api.testing import CloudHarness
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc


async def test_user_profile_settings_and_attributes_round_trip(cloud: CloudHarness) -> None:
    me = uuid_to_pb(cloud.org_a.user_id)
    async with cloud.channel() as channel:
        users = cpb_grpc.UserServiceStub(channel)
        info = await users.GetUser(me, metadata=cloud.org_a.user())
        assert info.email == "admin@alpha.example" and info.first_name == "admin"
        assert uuid_from_pb(info.org_id, "org") == cloud.org_a.org_id and info.is_approved
        settings = await users.GetUserSettings(
            cpb.GetUserSettingsRequest(id=me), metadata=cloud.org_a.admin()
        )
        assert not settings.analytics_optout
        await users.UpdateUserSettings(
            cpb.UpdateUserSettingsRequest(id=me, analytics_optout=BoolValue(value=True)),
            metadata=cloud.org_a.user(),
        )
        await users.SetUserAttributes(
            cpb.SetUserAttributesRequest(id=me, tour_seen=BoolValue(value=True)),
            metadata=cloud.org_a.user(),
        )
        settings = await users.GetUserSettings(
            cpb.GetUserSettingsRequest(id=me), metadata=cloud.org_a.user()
        )
        attributes = await users.GetUserAttributes(
            cpb.GetUserAttributesRequest(id=me), metadata=cloud.org_a.read_only()
        )
        assert settings.analytics_optout and attributes.tour_seen
        updated = await users.UpdateUser(
            cpb.UpdateUserRequest(id=me, display_picture=StringValue(value="https://p/x.png")),
            metadata=cloud.org_a.user(),
        )
        assert updated.profile_picture == "https://p/x.png"
        with pytest.raises(grpc.aio.AioRpcError) as own_approval:
            await users.UpdateUser(
                cpb.UpdateUserRequest(id=me, is_approved=BoolValue(value=False)),
                metadata=cloud.org_a.user(),
            )
    assert own_approval.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_org_members_ide_configs_and_invite_tokens(cloud: CloudHarness) -> None:
    org = uuid_to_pb(cloud.org_a.org_id)
    async with cloud.channel() as channel:
        orgs = cpb_grpc.OrganizationServiceStub(channel)
        info = await orgs.GetOrg(org, metadata=cloud.org_a.admin())
        assert info.org_name == "alpha" and not info.enable_approvals
        info = await orgs.UpdateOrg(
            cpb.UpdateOrgRequest(id=org, enable_approvals=BoolValue(value=True)),
            metadata=cloud.org_a.user(),
        )
        assert info.enable_approvals
        members = await orgs.GetUsersInOrg(
            cpb.GetUsersInOrgRequest(org_id=org), metadata=cloud.org_a.read_only()
        )
        assert [u.email for u in members.users] == ["admin@alpha.example"]
        config = cpb.IDEConfig(ide_name="vscode", path="vscode://file/{{path}}")
        await orgs.AddOrgIDEConfig(
            cpb.AddOrgIDEConfigRequest(org_id=org, config=config), metadata=cloud.org_a.admin()
        )
        listed = await orgs.GetOrgIDEConfigs(
            cpb.GetOrgIDEConfigsRequest(org_id=org), metadata=cloud.org_a.read_only()
        )
        assert list(listed.configs) == [config]
        await orgs.DeleteOrgIDEConfig(
            cpb.DeleteOrgIDEConfigRequest(org_id=org, ide_name="vscode"),
            metadata=cloud.org_a.admin(),
        )
        assert not (
            await orgs.GetOrgIDEConfigs(
                cpb.GetOrgIDEConfigsRequest(org_id=org), metadata=cloud.org_a.admin()
            )
        ).configs
        token = await orgs.CreateInviteToken(
            cpb.CreateInviteTokenRequest(org_id=org), metadata=cloud.org_a.admin()
        )
        assert (await orgs.VerifyInviteToken(token, metadata=cloud.org_a.admin())).valid
        # Another org cannot use or even confirm org A's invite.
        assert not (await orgs.VerifyInviteToken(token, metadata=cloud.org_b.admin())).valid
        await orgs.RevokeAllInviteTokens(org, metadata=cloud.org_a.admin())
        assert not (await orgs.VerifyInviteToken(token, metadata=cloud.org_a.admin())).valid
        invited = await orgs.InviteUser(
            cpb.InviteUserRequest(email="New@Alpha.example", first_name="N"),
            metadata=cloud.org_a.admin(),
        )
        assert invited.email == "new@alpha.example"
        assert invited.invite_link.startswith("https://pyxie.test/signup?invite_token=")


async def test_create_org_for_a_user_without_one_and_remove_member(cloud: CloudHarness) -> None:
    invite = await cloud.auth.signup("loner@example.com")
    token = await cloud.auth.augmented(invite.token)
    bearer = [("authorization", f"bearer {token}")]
    async with cloud.channel() as channel:
        orgs = cpb_grpc.OrganizationServiceStub(channel)
        created = await orgs.CreateOrg(cpb.CreateOrgRequest(org_name="gamma"), metadata=bearer)
        info = await orgs.GetOrg(created, metadata=bearer)
        assert info.org_name == "gamma"
        with pytest.raises(grpc.aio.AioRpcError) as again:
            await orgs.CreateOrg(cpb.CreateOrgRequest(org_name="delta"), metadata=bearer)
        assert again.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            await orgs.CreateOrg(
                cpb.CreateOrgRequest(org_name="ALPHA"), metadata=cloud.org_a.user()
            )
        assert taken.value.code() is grpc.StatusCode.FAILED_PRECONDITION


async def test_bad_input_is_a_client_error(cloud: CloudHarness) -> None:
    async with cloud.channel() as channel:
        users = cpb_grpc.UserServiceStub(channel)
        orgs = cpb_grpc.OrganizationServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await users.GetUserSettings(cpb.GetUserSettingsRequest(), metadata=cloud.org_a.user())
        assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as empty_name:
            await orgs.AddOrgIDEConfig(
                cpb.AddOrgIDEConfigRequest(
                    org_id=uuid_to_pb(cloud.org_a.org_id), config=cpb.IDEConfig(path="x")
                ),
                metadata=cloud.org_a.admin(),
            )
        assert empty_name.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as bad_token:
            await orgs.VerifyInviteToken(cpb.InviteToken(), metadata=cloud.org_a.admin())
        assert bad_token.value.code() is grpc.StatusCode.INVALID_ARGUMENT
