"""The provider interface: anything that turns a source of truth into `MetadataUpdate`s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pyxie_proto.vizier.messagespb import messages_pb2 as msgs

__all__ = ["MetadataProvider", "ScopedUpdate", "UpdateSink", "update_key"]


@dataclass(frozen=True, slots=True)
class ScopedUpdate:
    """One update and where it belongs.

    `update.version`/`prev_version` are left at 0: the publisher numbers updates. `selectors`
    names the node a node-scoped update (pod, container) belongs to, by every name agents may
    listen under (its host IP and its node name); empty = cluster-scoped (service, namespace,
    node), which every agent gets.
    """

    update: msgs.MetadataUpdate
    selectors: tuple[str, ...] = ()


UpdateSink = Callable[[Sequence[ScopedUpdate]], Awaitable[None]]


class MetadataProvider(Protocol):
    """Produces updates into `sink` until cancelled (the publisher numbers and fans them out).

    A provider sends the full current state first, then changes. Sending an object again
    unchanged is allowed (receivers tolerate duplicates). An object that went away is sent once
    more with its `stop_timestamp_ns` set.
    """

    @property
    def name(self) -> str: ...

    async def run(self, sink: UpdateSink) -> None: ...


def update_key(update: msgs.MetadataUpdate) -> tuple[str, str]:
    """(kind, uid): the object an update is about."""
    kind = update.WhichOneof("update") or ""
    if kind == "container":
        return kind, update.container.cid
    if not kind:
        return kind, ""
    uid: str = getattr(update, kind).uid
    return kind, uid
