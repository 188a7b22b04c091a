"""NATS with typed protobuf publish/subscribe, endless reconnects and a drain on shutdown."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

import nats
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client, Server
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from pyxie_service.log import get_logger

__all__ = [
    "DEFAULT_RECONNECT_INITIAL_WAIT",
    "DEFAULT_RECONNECT_MAX_WAIT",
    "NatsBus",
]

_M = TypeVar("_M", bound=Message)

# Backoff between reconnect attempts: first retry quickly (a NATS pod restart takes ~1 s), then
# double up to a ceiling so that a long outage does not hammer the server.
DEFAULT_RECONNECT_INITIAL_WAIT: Final = 0.25
DEFAULT_RECONNECT_MAX_WAIT: Final = 5.0
# Pixie's services wait for NATS forever rather than crash-looping.
_RECONNECT_FOREVER: Final = -1
# A connect attempt to one server; NATS answers INFO immediately when it is up.
_CONNECT_TIMEOUT_SECONDS: Final = 2
# Bounded by the service's close deadline anyway; this only caps a drain on its own.
_DRAIN_TIMEOUT_SECONDS: Final = 5

_log = get_logger("pyxie.nats")


def _backoff(
    initial: float, maximum: float
) -> Callable[[list[Server], dict[str, Any]], tuple[Server | None, float]]:
    def choose(servers: list[Server], _info: dict[str, Any]) -> tuple[Server | None, float]:
        attempts = min((server.reconnects for server in servers), default=0)
        delay = min(maximum, initial * 2.0 ** min(attempts, 16))
        # Jitter spreads the reconnects of many clients after a NATS restart.
        return None, delay * random.uniform(0.5, 1.0)

    return choose


class _ConnectionEvents:
    """Futures resolved at the next disconnect / reconnect of one client."""

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[None]]] = {
            "disconnected": [],
            "reconnected": [],
        }

    def next(self, kind: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[kind].append(future)
        return future

    def fire(self, kind: str) -> None:
        waiters, self._waiters[kind] = self._waiters[kind], []
        for future in waiters:
            if not future.done():
                future.set_result(None)


class NatsBus:
    """A connected NATS client with protobuf-typed helpers. Build with `NatsBus.connect`."""

    def __init__(self, client: Client, events: _ConnectionEvents | None = None) -> None:
        self._client = client
        self._events = _ConnectionEvents() if events is None else events

    @classmethod
    async def connect(
        cls,
        servers: str | Sequence[str],
        *,
        name: str,
        reconnect_initial_wait: float = DEFAULT_RECONNECT_INITIAL_WAIT,
        reconnect_max_wait: float = DEFAULT_RECONNECT_MAX_WAIT,
    ) -> NatsBus:
        """Connect (waiting as long as it takes) and keep reconnecting forever afterwards."""
        urls = [servers] if isinstance(servers, str) else list(servers)
        events = _ConnectionEvents()

        async def on_error(error: Exception) -> None:
            _log.warning("nats error", connection=name, error=repr(error))

        async def on_disconnected() -> None:
            _log.warning("nats disconnected", connection=name)
            events.fire("disconnected")

        async def on_reconnected() -> None:
            _log.info("nats reconnected", connection=name, server=str(client.connected_url))
            events.fire("reconnected")

        async def on_closed() -> None:
            _log.info("nats connection closed", connection=name)

        client = await nats.connect(
            urls,
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=_RECONNECT_FOREVER,
            reconnect_time_wait=reconnect_initial_wait,
            reconnect_to_server_handler=_backoff(reconnect_initial_wait, reconnect_max_wait),
            connect_timeout=_CONNECT_TIMEOUT_SECONDS,
            drain_timeout=_DRAIN_TIMEOUT_SECONDS,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
            closed_cb=on_closed,
        )
        _log.info("nats connected", connection=name, server=str(client.connected_url))
        return cls(client, events)

    @property
    def client(self) -> Client:
        """The underlying nats-py client (JetStream, raw subjects)."""
        return self._client

    @property
    def is_connected(self) -> bool:
        return bool(self._client.is_connected)

    @property
    def reconnects(self) -> int:
        return int(self._client.stats["reconnects"])

    def next_disconnect(self) -> asyncio.Future[None]:
        """Resolves when the connection is next lost."""
        return self._events.next("disconnected")

    def next_reconnect(self) -> asyncio.Future[None]:
        """Resolves when the client is next reconnected (subscriptions restored)."""
        return self._events.next("reconnected")

    async def publish(self, subject: str, message: Message, *, reply: str = "") -> None:
        await self._client.publish(subject, message.SerializeToString(), reply=reply)

    async def flush(self) -> None:
        """Wait until the server has processed everything published so far."""
        await self._client.flush()

    async def subscribe(
        self,
        subject: str,
        message_type: type[_M],
        handler: Callable[[_M], Awaitable[None]],
        *,
        queue: str = "",
    ) -> Subscription:
        """Call `handler` with each message decoded as `message_type`.

        A message that does not decode, or a handler that raises, is logged and skipped: one
        bad message must not stop the subscription.
        """

        async def deliver(raw: Msg) -> None:
            try:
                message = message_type.FromString(raw.data)
            except DecodeError:
                _log.warning(
                    "dropping undecodable nats message",
                    subject=raw.subject,
                    expected=message_type.DESCRIPTOR.full_name,
                )
                return
            try:
                await handler(message)
            except Exception:
                _log.exception("nats handler failed", subject=raw.subject)

        return await self._client.subscribe(subject, queue=queue, cb=deliver)

    async def request(
        self, subject: str, message: Message, response_type: type[_M], *, reply_within: float
    ) -> _M:
        """Request/reply: publish `message` and decode the first reply as `response_type`."""
        payload = message.SerializeToString()
        reply = await self._client.request(subject, payload, timeout=reply_within)
        return response_type.FromString(reply.data)

    async def drain(self) -> None:
        """Deliver what is in flight, unsubscribe and close. Register it as a service closer."""
        if self._client.is_closed:
            return
        if self._client.is_connected:
            await self._client.drain()
        else:
            await self._client.close()
