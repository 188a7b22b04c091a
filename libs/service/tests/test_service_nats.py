"""NatsBus against a real nats-server: typed pub/sub, request/reply, reconnect, drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from nats.aio.msg import Msg
from pyxie_service import NatsBus
from service_kit_support import NatsServer

# Short backoff so a restarted server is found again quickly; the default suits production.
FAST_RECONNECT = {"reconnect_initial_wait": 0.05, "reconnect_max_wait": 0.2}


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[NatsBus]:
    connected = await NatsBus.connect(nats_server.url, name="service-kit-test", **FAST_RECONNECT)
    yield connected
    await connected.drain()


async def _collect(bus: NatsBus, subject: str) -> asyncio.Queue[StringValue]:
    received: asyncio.Queue[StringValue] = asyncio.Queue()

    async def handler(message: StringValue) -> None:
        await received.put(message)

    await bus.subscribe(subject, StringValue, handler)
    await bus.flush()
    return received


async def test_published_protobuf_arrives_typed(bus: NatsBus) -> None:
    received = await _collect(bus, "UpdateAgent")
    await bus.publish("UpdateAgent", StringValue(value="hello"))
    message = await asyncio.wait_for(received.get(), 10)
    assert isinstance(message, StringValue)
    assert message.value == "hello"


async def test_undecodable_message_is_skipped_and_the_subscription_continues(
    bus: NatsBus,
) -> None:
    received = await _collect(bus, "Agent.a-1")
    await bus.client.publish("Agent.a-1", b"\xff\xff\xff not protobuf")
    await bus.publish("Agent.a-1", StringValue(value="after junk"))
    assert (await asyncio.wait_for(received.get(), 10)).value == "after junk"


async def test_a_failing_handler_does_not_end_the_subscription(bus: NatsBus) -> None:
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def handler(message: StringValue) -> None:
        await seen.put(message.value)
        if message.value == "explode":
            raise RuntimeError("handler bug")

    await bus.subscribe("Metrics", StringValue, handler)
    await bus.flush()
    await bus.publish("Metrics", StringValue(value="explode"))
    await bus.publish("Metrics", StringValue(value="still here"))
    assert await asyncio.wait_for(seen.get(), 10) == "explode"
    assert await asyncio.wait_for(seen.get(), 10) == "still here"


async def test_queue_group_delivers_each_message_to_one_member(bus: NatsBus) -> None:
    deliveries: asyncio.Queue[str] = asyncio.Queue()

    def member(name: str) -> Callable[[StringValue], Awaitable[None]]:
        async def handler(message: StringValue) -> None:
            await deliveries.put(name)

        return handler

    await bus.subscribe("work", StringValue, member("a"), queue="workers")
    await bus.subscribe("work", StringValue, member("b"), queue="workers")
    await bus.flush()
    await bus.publish("work", StringValue(value="job"))
    await bus.flush()
    assert await asyncio.wait_for(deliveries.get(), 10) in {"a", "b"}
    # A sentinel on another subject proves no second delivery was still on its way.
    sentinel = await _collect(bus, "sentinel")
    await bus.publish("sentinel", StringValue(value="s"))
    await asyncio.wait_for(sentinel.get(), 10)
    assert deliveries.empty()


async def test_request_reply_decodes_the_reply_type(bus: NatsBus) -> None:
    async def respond(raw: Msg) -> None:
        request = StringValue.FromString(raw.data)
        await raw.respond(Int64Value(value=len(request.value)).SerializeToString())

    await bus.client.subscribe("count", cb=respond)
    reply = await bus.request("count", StringValue(value="four"), Int64Value, reply_within=10)
    assert reply.value == 4


async def test_subscription_survives_a_nats_restart_on_the_same_port(
    nats_server: NatsServer, bus: NatsBus
) -> None:
    received = await _collect(bus, "K8sUpdates.all")
    await bus.publish("K8sUpdates.all", StringValue(value="before"))
    assert (await asyncio.wait_for(received.get(), 10)).value == "before"

    disconnected, reconnected = bus.next_disconnect(), bus.next_reconnect()
    nats_server.stop()
    await asyncio.wait_for(disconnected, 20)
    nats_server.start()
    await asyncio.wait_for(reconnected, 20)
    assert bus.is_connected
    assert bus.reconnects == 1

    await bus.publish("K8sUpdates.all", StringValue(value="after"))
    assert (await asyncio.wait_for(received.get(), 10)).value == "after"


async def test_drain_delivers_pending_messages_and_closes(nats_server: NatsServer) -> None:
    bus = await NatsBus.connect(nats_server.url, name="drain-test", **FAST_RECONNECT)
    received = await _collect(bus, "v2c.heartbeat")
    await bus.publish("v2c.heartbeat", StringValue(value="last words"))
    await bus.drain()
    assert bus.client.is_closed
    assert (await asyncio.wait_for(received.get(), 10)).value == "last words"
    await bus.drain()  # a second drain (e.g. a repeated closer) is harmless
