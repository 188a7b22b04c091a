"""Authorisation over every px.cloudapi method, on the real auth and vzmgr:

* a read-only API key is refused every mutating method (and the admin-only reads), and may
  call every other method;
* org A's admin key never reads or changes org B's users, org, clusters, keys or invites
  (every method that names one is tried with B's ids, then B's state is checked intact).

Both tables must classify every unary method, so a new method cannot slip past them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from google.protobuf.wrappers_pb2 import BoolValue, StringValue
from pyxie_api.controllers.ids import uuid_from_pb, uuid_to_pb
from pyxie_api.testing import PROVIDED_ELSEWHERE, CloudHarness, OrgFixture, unary_methods
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vizierconfigpb import vizier_types_pb2 as vzpb
from pyxie_proto.uuidpb import uuid_pb2

_C: Final = "px.cloudapi."


@dataclass
class Ids:
    """An org's objects: what a request can name."""

    org: OrgFixture
    api_key_id: str
    deploy_key_id: str
    invite_token: str


def _u(text: str) -> uuid_pb2.UUID:
    return uuid_to_pb(text)


def requests_naming(x: Ids) -> dict[str, Any]:
    """A valid request for each method that names one of `x`'s objects."""
    o = x.org
    return {
        "UserService/GetUser": _u(o.user_id),
        "UserService/GetUserSettings": cpb.GetUserSettingsRequest(id=_u(o.user_id)),
        "UserService/UpdateUserSettings": cpb.UpdateUserSettingsRequest(
            id=_u(o.user_id), analytics_optout=BoolValue(value=True)
        ),
        "UserService/GetUserAttributes": cpb.GetUserAttributesRequest(id=_u(o.user_id)),
        "UserService/SetUserAttributes": cpb.SetUserAttributesRequest(
            id=_u(o.user_id), tour_seen=BoolValue(value=True)
        ),
        "UserService/UpdateUser": cpb.UpdateUserRequest(
            id=_u(o.user_id),
            display_picture=StringValue(value="https://evil.example/p.png"),
            is_approved=BoolValue(value=False),
        ),
        "UserService/DeleteUser": cpb.DeleteUserRequest(id=_u(o.user_id)),
        "OrganizationService/GetOrg": _u(o.org_id),
        "OrganizationService/UpdateOrg": cpb.UpdateOrgRequest(
            id=_u(o.org_id), enable_approvals=BoolValue(value=True)
        ),
        "OrganizationService/GetUsersInOrg": cpb.GetUsersInOrgRequest(org_id=_u(o.org_id)),
        "OrganizationService/RemoveUserFromOrg": cpb.RemoveUserFromOrgRequest(
            user_id=_u(o.user_id)
        ),
        "OrganizationService/AddOrgIDEConfig": cpb.AddOrgIDEConfigRequest(
            org_id=_u(o.org_id), config=cpb.IDEConfig(ide_name="vscode", path="evil://{{path}}")
        ),
        "OrganizationService/DeleteOrgIDEConfig": cpb.DeleteOrgIDEConfigRequest(
            org_id=_u(o.org_id), ide_name="vscode"
        ),
        "OrganizationService/GetOrgIDEConfigs": cpb.GetOrgIDEConfigsRequest(org_id=_u(o.org_id)),
        "OrganizationService/CreateInviteToken": cpb.CreateInviteTokenRequest(org_id=_u(o.org_id)),
        "OrganizationService/RevokeAllInviteTokens": _u(o.org_id),
        "OrganizationService/VerifyInviteToken": cpb.InviteToken(signed_claims=x.invite_token),
        "VizierClusterInfo/GetClusterInfo": cpb.GetClusterInfoRequest(id=_u(o.vizier_id)),
        "VizierClusterInfo/GetClusterConnectionInfo": cpb.GetClusterConnectionInfoRequest(
            id=_u(o.vizier_id)
        ),
        "VizierClusterInfo/UpdateClusterVizierConfig": cpb.UpdateClusterVizierConfigRequest(
            id=_u(o.vizier_id)
        ),
        "VizierClusterInfo/UpdateOrInstallCluster": cpb.UpdateOrInstallClusterRequest(
            cluster_id=_u(o.vizier_id)
        ),
        "VizierDeploymentKeyManager/Get": cpb.GetDeploymentKeyRequest(id=_u(x.deploy_key_id)),
        "VizierDeploymentKeyManager/Delete": _u(x.deploy_key_id),
        "VizierDeploymentKeyManager/LookupDeploymentKey": cpb.LookupDeploymentKeyRequest(
            key=o.deploy_key
        ),
        "APIKeyManager/Get": cpb.GetAPIKeyRequest(id=_u(x.api_key_id)),
        "APIKeyManager/Delete": _u(x.api_key_id),
        "APIKeyManager/LookupAPIKey": cpb.LookupAPIKeyRequest(key=o.read_only_key),
        "ConfigService/GetConfigForVizier": cpb.ConfigForVizierRequest(
            vizier_id=_u(o.vizier_id),
            vz_spec=vzpb.VizierSpec(deploy_key=o.deploy_key, cloud_addr="vzconn.example:51600"),
        ),
        "AutocompleteService/Autocomplete": cpb.AutocompleteRequest(
            input="px/pods pod:", cursor_pos=12, cluster_uid=o.vizier_id
        ),
        "AutocompleteService/AutocompleteField": cpb.AutocompleteFieldRequest(
            field_type=cpb.AEK_POD, cluster_uid=o.vizier_id
        ),
    }


# Methods whose requests name no org-owned object (they act on the caller's own org, or on
# the bundled script library every org shares).
NAMES_NO_OBJECT: Final = {
    "OrganizationService/InviteUser": cpb.InviteUserRequest(email="new@example.com"),
    "OrganizationService/CreateOrg": cpb.CreateOrgRequest(org_name="another"),
    "VizierClusterInfo/CreateCluster": cpb.CreateClusterRequest(),
    "VizierDeploymentKeyManager/Create": cpb.CreateDeploymentKeyRequest(desc="x"),
    "VizierDeploymentKeyManager/List": cpb.ListDeploymentKeyRequest(),
    "APIKeyManager/Create": cpb.CreateAPIKeyRequest(desc="x"),
    "APIKeyManager/List": cpb.ListAPIKeyRequest(),
    "AuthService/Login": cpb.LoginRequest(),
    "ScriptMgr/GetLiveViews": cpb.GetLiveViewsReq(),
    "ScriptMgr/GetLiveViewContents": cpb.GetLiveViewContentsReq(live_view_id="px/http_data"),
    "ScriptMgr/GetScripts": cpb.GetScriptsReq(),
    "ScriptMgr/GetScriptContents": cpb.GetScriptContentsReq(script_id="px/http_data"),
    "ConfigService/GetConfigForOperator": cpb.ConfigForOperatorRequest(),
    "VizierImageAuthorization/GetImageCredentials": cpb.GetImageCredentialsRequest(),
}

# Refused to a read-only key: every method that changes something, and the reads that hand
# out secrets (a direct vizier token, registry credentials).
ADMIN_ONLY: Final = frozenset(
    {
        "UserService/UpdateUserSettings",
        "UserService/SetUserAttributes",
        "UserService/UpdateUser",
        "UserService/DeleteUser",
        "OrganizationService/InviteUser",
        "OrganizationService/CreateOrg",
        "OrganizationService/UpdateOrg",
        "OrganizationService/RemoveUserFromOrg",
        "OrganizationService/AddOrgIDEConfig",
        "OrganizationService/DeleteOrgIDEConfig",
        "OrganizationService/CreateInviteToken",
        "OrganizationService/RevokeAllInviteTokens",
        "VizierClusterInfo/CreateCluster",
        "VizierClusterInfo/UpdateClusterVizierConfig",
        "VizierClusterInfo/UpdateOrInstallCluster",
        "VizierClusterInfo/GetClusterConnectionInfo",
        "VizierDeploymentKeyManager/Create",
        "VizierDeploymentKeyManager/Delete",
        "APIKeyManager/Create",
        "APIKeyManager/Delete",
        "VizierImageAuthorization/GetImageCredentials",
    }
)
# Login trades credentials for a token; it is public and has no scope to check.
_NOT_SCOPED: Final = frozenset({"AuthService/Login"})


def _all_methods() -> dict[str, tuple[Any, Any]]:
    return {
        f"{service.removeprefix(_C)}/{method}": (request, response)
        for service, method, request, response in unary_methods()
        if service not in PROVIDED_ELSEWHERE
    }


def _rpc(channel: grpc.aio.Channel, name: str) -> Callable[..., Any]:
    request, response = _all_methods()[name]
    return channel.unary_unary(
        f"/{_C}{name}",
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )


async def _ids(cloud: CloudHarness, org: OrgFixture) -> Ids:
    async with cloud.channel() as channel:
        keys = cpb_grpc.APIKeyManagerStub(channel)
        api_key = await keys.LookupAPIKey(
            cpb.LookupAPIKeyRequest(key=org.read_only_key), metadata=org.admin()
        )
        deploy = await cpb_grpc.VizierDeploymentKeyManagerStub(channel).LookupDeploymentKey(
            cpb.LookupDeploymentKeyRequest(key=org.deploy_key), metadata=org.admin()
        )
        orgs = cpb_grpc.OrganizationServiceStub(channel)
        invite = await orgs.CreateInviteToken(
            cpb.CreateInviteTokenRequest(org_id=_u(org.org_id)), metadata=org.admin()
        )
        await orgs.AddOrgIDEConfig(
            cpb.AddOrgIDEConfigRequest(
                org_id=_u(org.org_id), config=cpb.IDEConfig(ide_name="vscode", path="vscode://x")
            ),
            metadata=org.admin(),
        )
    return Ids(
        org,
        uuid_from_pb(api_key.key.id, "key"),
        uuid_from_pb(deploy.key.id, "key"),
        invite.signed_claims,
    )


def test_the_tables_classify_every_method() -> None:
    methods = set(_all_methods())
    nil = "00000000-0000-0000-0000-000000000001"
    named = set(requests_naming(Ids(OrgFixture("x", *[nil] * 7), nil, nil, "")))
    assert named.isdisjoint(NAMES_NO_OBJECT)
    assert named | set(NAMES_NO_OBJECT) == methods, "classify the new method in these tables"
    assert methods >= ADMIN_ONLY


async def test_read_only_key_is_refused_every_mutation_and_may_read(cloud: CloudHarness) -> None:
    own = await _ids(cloud, cloud.org_a)
    requests = requests_naming(own) | NAMES_NO_OBJECT
    refused, read_failures = [], []
    async with cloud.channel() as channel:
        for name, request in sorted(requests.items()):
            if name in _NOT_SCOPED:
                continue
            try:
                await _rpc(channel, name)(request, metadata=cloud.org_a.read_only(), timeout=30)
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            if name in ADMIN_ONLY:
                if code is not grpc.StatusCode.PERMISSION_DENIED:
                    refused.append(f"{name}: {code.name}")
            elif code is not grpc.StatusCode.OK:
                read_failures.append(f"{name}: {code.name}")
    assert not refused, "read-only key not refused:\n" + "\n".join(refused)
    assert not read_failures, "read-only key could not read:\n" + "\n".join(read_failures)
    # Nothing changed: the mutations were refused before they reached a store.
    async with cloud.channel() as channel:
        settings = await cpb_grpc.UserServiceStub(channel).GetUserSettings(
            cpb.GetUserSettingsRequest(id=_u(cloud.org_a.user_id)), metadata=cloud.org_a.admin()
        )
        assert not settings.analytics_optout


async def test_org_a_never_reads_or_changes_org_b(cloud: CloudHarness) -> None:
    theirs = await _ids(cloud, cloud.org_b)
    leaked = []
    async with cloud.channel() as channel:
        for name, request in sorted(requests_naming(theirs).items()):
            try:
                response = await _rpc(channel, name)(
                    request, metadata=cloud.org_a.admin(), timeout=30
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                    leaked.append(f"{name}: {exc.code().name} {exc.details()}")
                continue
            # The few calls that answer OK must answer as if B's object did not exist.
            if name == "OrganizationService/VerifyInviteToken" and not response.valid:
                continue
            if name.startswith("AutocompleteService/"):
                suggestions = [
                    s for tab in getattr(response, "tabSuggestions", []) for s in tab.suggestions
                ] + list(getattr(response, "suggestions", []))
                if all(s.kind == cpb.AEK_SCRIPT for s in suggestions):
                    continue
            leaked.append(f"{name}: OK {response}")
    assert not leaked, "org A reached org B:\n" + "\n".join(leaked)
    await _assert_intact(cloud, theirs)


async def _assert_intact(cloud: CloudHarness, x: Ids) -> None:
    b = x.org
    async with cloud.channel() as channel:
        users = cpb_grpc.UserServiceStub(channel)
        orgs = cpb_grpc.OrganizationServiceStub(channel)
        user = await users.GetUser(_u(b.user_id), metadata=b.admin())
        assert user.profile_picture == "" and user.is_approved
        settings = await users.GetUserSettings(
            cpb.GetUserSettingsRequest(id=_u(b.user_id)), metadata=b.admin()
        )
        attributes = await users.GetUserAttributes(
            cpb.GetUserAttributesRequest(id=_u(b.user_id)), metadata=b.admin()
        )
        assert not settings.analytics_optout and not attributes.tour_seen
        org = await orgs.GetOrg(_u(b.org_id), metadata=b.admin())
        assert not org.enable_approvals
        members = await orgs.GetUsersInOrg(
            cpb.GetUsersInOrgRequest(org_id=_u(b.org_id)), metadata=b.admin()
        )
        assert [u.email for u in members.users] == [user.email]
        configs = await orgs.GetOrgIDEConfigs(
            cpb.GetOrgIDEConfigsRequest(org_id=_u(b.org_id)), metadata=b.admin()
        )
        assert [(c.ide_name, c.path) for c in configs.configs] == [("vscode", "vscode://x")]
        verified = await orgs.VerifyInviteToken(
            cpb.InviteToken(signed_claims=x.invite_token), metadata=b.admin()
        )
        assert verified.valid
        # B's keys still work (neither deleted) and B's cluster is still there.
        await cpb_grpc.APIKeyManagerStub(channel).Get(
            cpb.GetAPIKeyRequest(id=_u(x.api_key_id)), metadata=b.read_only()
        )
        await cpb_grpc.VizierDeploymentKeyManagerStub(channel).Get(
            cpb.GetDeploymentKeyRequest(id=_u(x.deploy_key_id)), metadata=b.admin()
        )
        clusters = await cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
            cpb.GetClusterInfoRequest(), metadata=b.admin()
        )
        assert [uuid_from_pb(c.id, "id") for c in clusters.clusters] == [b.vizier_id]
