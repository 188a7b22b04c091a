"""auth's profile services (px.cloudapi.UserService / OrganizationService) called directly, as
the api gateway calls them: open invite tokens, revocation and who may call at all."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from pyxie_auth.testing import Auth
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink


def _pb(text: str) -> uuid_pb2.UUID:
    import uuid

    value = uuid.UUID(text).int
    return uuid_pb2.UUID(high_bits=value >> 64, low_bits=value & ((1 << 64) - 1))


async def test_an_open_invite_token_admits_one_user_and_dies_on_revoke(cloud: Auth) -> None:
    admin = await cloud.signup("owner@acme.example", org_name="acme")
    token = await cloud.augmented(admin.token)
    orgs: Any = cpb_grpc.OrganizationServiceStub(cloud.channel)
    org = _pb(admin.user.org_id)
    first = await orgs.CreateInviteToken(
        cpb.CreateInviteTokenRequest(org_id=org), metadata=cloud.service_metadata(token)
    )
    joined = await cloud.signup("anyone@else.example", invite_token=first.signed_claims)
    assert joined.user.org_id == admin.user.org_id
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await cloud.signup("second@else.example", invite_token=first.signed_claims)
    assert reused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    try:
        second = await orgs.CreateInviteToken(
            cpb.CreateInviteTokenRequest(org_id=org), metadata=cloud.service_metadata(token)
        )
        await orgs.RevokeAllInviteTokens(org, metadata=cloud.service_metadata(token))
    finally:
        remove_audit_sink(events.append)
    assert [(e.action, e.actor, e.org_id) for e in events] == [
        ("org.invite_token", admin.user.user_id, admin.user.org_id),
        ("org.revoke_invites", admin.user.user_id, admin.user.org_id),
    ]
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await cloud.signup("third@else.example", invite_token=second.signed_claims)
    assert revoked.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_profile_calls_need_a_service_transport_and_a_user(cloud: Auth) -> None:
    admin = await cloud.signup("owner@corp.example", org_name="corp")
    token = await cloud.augmented(admin.token)
    users: Any = cpb_grpc.UserServiceStub(cloud.channel)
    me = _pb(admin.user.user_id)
    assert (await users.GetUser(me, metadata=cloud.service_metadata(token))).email
    with pytest.raises(grpc.aio.AioRpcError) as no_user:
        await users.GetUser(me, metadata=cloud.service_metadata())
    assert no_user.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as user_transport:
        await users.GetUser(me, metadata=[("authorization", f"bearer {token}")])
    assert user_transport.value.code() in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    )
