"""The audit log: key events stored, other services' events from NATS, admins of one org only."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from typing import Any

import grpc
import nats
import pytest
from pyxie_auth.testing import DOMAIN, Auth, running_auth
from pyxie_jwt import SigningKey
from pyxie_proto.cloud.auditpb import audit_pb2
from pyxie_proto.cloud.authpb import auth_pb2 as apb
from pyxie_proto.cloud.subjects import AUDIT_EVENTS_SUBJECT
from pyxie_service.audit import AuditEvent, event_to_json


@pytest.fixture
async def cloud_with_nats(fresh_database: str, nats_server: Any) -> AsyncIterator[Auth]:
    key = SigningKey.generate()
    async with running_auth(
        fresh_database, cloud_key=key, domain=DOMAIN, nats_url=nats_server.url
    ) as service:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        try:
            yield Auth(service, key, channel, fresh_database)
        finally:
            await channel.close()


async def _events(cloud: Auth, token: str, **request: Any) -> list[audit_pb2.AuditEvent]:
    reply = await cloud.audit.ListAuditEvents(
        audit_pb2.ListAuditEventsRequest(**request), metadata=cloud.service_metadata(token)
    )
    return list(reply.events)


async def _eventually(cloud: Auth, token: str, action: str) -> list[audit_pb2.AuditEvent]:
    for _ in range(100):
        found = await _events(cloud, token, action=action)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {action} event")


async def test_key_create_use_and_delete_are_in_the_org_log_and_only_there(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    mallory = await cloud.user_token("mallory@example.com", "Evil")
    created = await cloud.keys.Create(
        apb.CreateAPIKeyRequest(description="ci"), metadata=cloud.service_metadata(alice)
    )
    await cloud.auth.GetAugmentedTokenForAPIKey(
        apb.GetAugmentedTokenForAPIKeyRequest(api_key=created.key),
        metadata=cloud.service_metadata(),
    )
    await cloud.keys.Delete(
        apb.DeleteAPIKeyRequest(id=created.id), metadata=cloud.service_metadata(alice)
    )
    (create,) = await _eventually(cloud, alice, "apikey.create")
    assert (create.outcome, create.target) == ("allowed", created.id)
    assert await _eventually(cloud, alice, "apikey.use")
    assert await _eventually(cloud, alice, "apikey.delete")
    # The key itself is never in the log.
    everything = await _events(cloud, alice)
    assert all(created.key not in str(event) for event in everything)
    # Another org's admin sees none of it, and cannot ask for it.
    assert await _events(cloud, mallory) == []
    with pytest.raises(grpc.aio.AioRpcError) as other_org:
        await _events(cloud, mallory, org_id=create.org_id)
    assert other_org.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_a_read_only_key_cannot_read_the_audit_log(cloud: Auth) -> None:
    alice = await cloud.user_token("alice@example.com", "Acme")
    viewer = await cloud.keys.Create(
        apb.CreateAPIKeyRequest(description="dash", scope="read-only"),
        metadata=cloud.service_metadata(alice),
    )
    token = await cloud.auth.GetAugmentedTokenForAPIKey(
        apb.GetAugmentedTokenForAPIKeyRequest(api_key=viewer.key),
        metadata=cloud.service_metadata(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _events(cloud, token.token)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_events_other_services_publish_are_filed_under_the_named_accounts_org(
    cloud_with_nats: Auth, nats_server: Any
) -> None:
    cloud = cloud_with_nats
    alice = await cloud.user_token("alice@example.com", "Acme")
    client = await nats.connect(nats_server.url)
    try:
        await client.publish(AUDIT_EVENTS_SUBJECT, b"not json")  # dropped, nothing breaks
        hostile = AuditEvent(
            action="login",
            outcome="refused",
            actor="203.0.113.9",
            target="Alice@example.com",
            reason="wrong password\x1b[2J",
            at=datetime.datetime.now(datetime.UTC),
        )
        await client.publish(AUDIT_EVENTS_SUBJECT, event_to_json(hostile))
        await client.flush()
    finally:
        await client.close()
    (login,) = await _eventually(cloud, alice, "login")
    assert (login.outcome, login.actor) == ("refused", "203.0.113.9")
    assert "\x1b" not in login.reason and "\\x1b[2J" in login.reason
