"""Numbering, storing and fanning out metadata updates on `K8sUpdates/<selector>`.

Every update gets the next value of one monotonic version counter. It is stored (with a TTL)
once in full and once per topic it goes to, then published as `VizierMessage{metadata_update}`
with the `prev_version` of that topic, so a receiver can tell when it missed some and ask for
them on `MissingMetadataRequests`.

Routing (Pixie's): a node-scoped update (pod, container) goes to its node's selectors and to
`all`; a cluster-scoped one (service, namespace, node) goes to every known selector and to
`all`. A selector seen for the first time first gets the latest cluster-scoped objects, so a
new node starts with the services and namespaces that already exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.subjects import ALL_SELECTOR, MISSING_METADATA_REQUESTS, k8s_updates_subject
from pyxie_service import get_logger

from pyxie_metadata.controllers.lifecycle import MessageBus
from pyxie_metadata.keys import (
    METADATA_UPDATE_VERSION_KEY,
    TOPIC_VERSION_PREFIX,
    full_resource_update_key,
    resource_update_key,
    resource_update_prefix,
    topic_version_key,
)
from pyxie_metadata.kvstore import KVStore, prefix_end
from pyxie_metadata.providers import ScopedUpdate, update_key

__all__ = ["MISSING_METADATA_BATCH", "MetadataPublisher", "MissingMetadataResponder"]

# Updates per MissingMetadataResponse: Pixie answers in batches of 128; a few hundred small
# updates stay far below NATS's 1 MiB default payload limit.
MISSING_METADATA_BATCH: Final = 256

_CLUSTER_SCOPED: Final = frozenset({"service", "namespace", "node"})

_log = get_logger("pyxie.metadata.updates")


class MetadataPublisher:
    """The sink providers write into. Build with `await MetadataPublisher.load(...)`."""

    def __init__(self, kv: KVStore, bus: MessageBus, *, update_ttl_seconds: float) -> None:
        self._kv = kv
        self._bus = bus
        self._ttl = update_ttl_seconds
        self._version = 0
        self._topic_versions: dict[str, int] = {}
        # Latest state of each live cluster-scoped object, replayed to new selectors.
        self._cluster_objects: dict[tuple[str, str], msgs.MetadataUpdate] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def load(
        cls, kv: KVStore, bus: MessageBus, *, update_ttl_seconds: float
    ) -> MetadataPublisher:
        publisher = cls(kv, bus, update_ttl_seconds=update_ttl_seconds)
        raw = await kv.get(METADATA_UPDATE_VERSION_KEY)
        publisher._version = int(raw) if raw else 0
        for key, value in await kv.get_with_prefix(TOPIC_VERSION_PREFIX):
            publisher._topic_versions[key.removeprefix(TOPIC_VERSION_PREFIX)] = int(value)
        return publisher

    @property
    def version(self) -> int:
        """The newest version handed out."""
        return self._version

    @property
    def selectors(self) -> set[str]:
        """Every topic suffix updates went to so far (node selectors and `all`)."""
        return set(self._topic_versions)

    def topic_version(self, selector: str) -> int:
        return self._topic_versions.get(selector, 0)

    async def __call__(self, updates: Sequence[ScopedUpdate]) -> None:
        await self.publish(updates)

    async def publish(self, updates: Sequence[ScopedUpdate]) -> None:
        """Number, store, then publish `updates` (in order)."""
        async with self._lock:
            outgoing: list[tuple[str, msgs.MetadataUpdate]] = []
            for scoped in updates:
                update = scoped.update
                kind, _uid = update_key(update)
                new_selectors = [
                    selector
                    for selector in dict.fromkeys((*scoped.selectors, *_node_selectors(update)))
                    if selector and selector not in self._topic_versions
                ]
                for selector in new_selectors:
                    # Known from now on, even before anything was sent to it.
                    self._topic_versions[selector] = 0
                    for cached in self._cluster_objects.values():
                        outgoing += await self._number(cached, [selector])
                if kind in _CLUSTER_SCOPED:
                    self._remember(update)
                    topics = [s for s in self._topic_versions if s != ALL_SELECTOR]
                else:
                    topics = [s for s in dict.fromkeys(scoped.selectors) if s]
                outgoing += await self._number(update, [*topics, ALL_SELECTOR])
            await self._kv.set(METADATA_UPDATE_VERSION_KEY, str(self._version).encode())
            for selector in {selector for selector, _update in outgoing}:
                await self._kv.set(
                    topic_version_key(selector), str(self._topic_versions[selector]).encode()
                )
        for selector, update in outgoing:
            await self._bus.publish(
                k8s_updates_subject(selector), msgs.VizierMessage(metadata_update=update)
            )

    def _remember(self, update: msgs.MetadataUpdate) -> None:
        key = update_key(update)
        kind = key[0]
        if getattr(update, kind).stop_timestamp_ns:
            self._cluster_objects.pop(key, None)
        else:
            self._cluster_objects[key] = update

    async def _number(
        self, update: msgs.MetadataUpdate, selectors: Sequence[str]
    ) -> list[tuple[str, msgs.MetadataUpdate]]:
        """Give `update` the next version and store it for each selector."""
        self._version += 1
        version = self._version
        stored = msgs.MetadataUpdate()
        stored.CopyFrom(update)
        stored.version, stored.prev_version = version, 0
        await self._kv.set_with_ttl(
            full_resource_update_key(version), stored.SerializeToString(), self._ttl
        )
        numbered: list[tuple[str, msgs.MetadataUpdate]] = []
        for selector in dict.fromkeys(selectors):
            per_topic = msgs.MetadataUpdate()
            per_topic.CopyFrom(stored)
            per_topic.prev_version = self._topic_versions.get(selector, 0)
            self._topic_versions[selector] = version
            await self._kv.set_with_ttl(
                resource_update_key(selector, version), per_topic.SerializeToString(), self._ttl
            )
            numbered.append((selector, per_topic))
        return numbered

    async def missing(self, request: mdpb.MissingMetadataRequest) -> mdpb.MissingMetadataResponse:
        """The stored updates of one selector in [from_version, to_version), one batch."""
        selector = request.selector or ALL_SELECTOR
        prefix = resource_update_prefix(selector)
        end_of_topic = (prefix_end(prefix.encode()) or b"").decode()
        response = mdpb.MissingMetadataResponse(
            last_update_available=self._topic_versions.get(selector, 0)
        )
        first = await self._kv.get_range(prefix, end_of_topic, limit=1)
        if not first:
            response.last_update_available = 0
            return response
        response.first_update_available = int(first[0][0].removeprefix(prefix))
        start = resource_update_key(selector, max(request.from_version, 0))
        end = (
            resource_update_key(selector, request.to_version)
            if request.to_version > 0
            else end_of_topic
        )
        for _key, raw in await self._kv.get_range(start, end, limit=MISSING_METADATA_BATCH):
            response.updates.append(msgs.MetadataUpdate.FromString(raw))
        return response


def _node_selectors(update: msgs.MetadataUpdate) -> tuple[str, ...]:
    """A node is known by its name and its IP once its NodeUpdate arrives."""
    if update.WhichOneof("update") != "node" or update.node.stop_timestamp_ns:
        return ()
    return (update.node.name, update.node.internal_ip)


class MissingMetadataResponder:
    """NATS request/reply on `MissingMetadataRequests` -> `MetadataPublisher.missing`."""

    def __init__(self, client: NatsClient, publisher: MetadataPublisher) -> None:
        self._client = client
        self._publisher = publisher
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._client.subscribe(
            MISSING_METADATA_REQUESTS, cb=self._answer
        )

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _answer(self, message: Msg) -> None:
        if not message.reply:
            _log.warning("MissingMetadataRequest without a reply subject: dropped")
            return
        try:
            request = mdpb.MissingMetadataRequest.FromString(message.data)
            response = await self._publisher.missing(request)
        except Exception:
            _log.exception("answering a MissingMetadataRequest failed")
            return
        await message.respond(response.SerializeToString())
