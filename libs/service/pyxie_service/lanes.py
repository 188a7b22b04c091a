"""Two bounded lanes, priority first: passthrough replies never wait behind bulk traffic.

The bridge carries interactive traffic (passthrough requests and replies, heartbeats) and bulk
traffic (metadata updates, metrics) over one stream. Everything waiting to be sent sits in one
of two bounded lanes, and the sender always empties the priority lane first, so a reply waits
for at most the one bulk message already being written, whatever the bulk backlog.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["LanesClosed", "PriorityLanes"]

_T = TypeVar("_T")


class LanesClosed(Exception):
    """`get` on closed, drained lanes."""


class PriorityLanes(Generic[_T]):
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("lane capacity must be positive")
        self._capacity = capacity
        self._priority: deque[_T] = deque()
        self._bulk: deque[_T] = deque()
        self._available = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._closed = False
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._priority) + len(self._bulk)

    def _lane(self, priority: bool) -> deque[_T]:
        return self._priority if priority else self._bulk

    def offer(self, item: _T, *, priority: bool) -> bool:
        """Queue without waiting; False (and counted as dropped) when that lane is full."""
        lane = self._lane(priority)
        if self._closed or len(lane) >= self._capacity:
            self.dropped += 1
            return False
        lane.append(item)
        self._available.set()
        return True

    async def put(self, item: _T, *, priority: bool) -> None:
        """Queue, waiting while that lane is full (back-pressure to the producer)."""
        lane = self._lane(priority)
        while len(lane) >= self._capacity and not self._closed:
            self._space.clear()
            await self._space.wait()
        if self._closed:
            raise LanesClosed("lanes are closed")
        lane.append(item)
        self._available.set()

    async def get(self) -> _T:
        """The oldest priority item, else the oldest bulk item; waits while both are empty."""
        while True:
            if self._priority:
                item = self._priority.popleft()
                break
            if self._bulk:
                item = self._bulk.popleft()
                break
            if self._closed:
                raise LanesClosed("lanes are closed")
            self._available.clear()
            await self._available.wait()
        self._space.set()
        return item

    def close(self) -> None:
        """Wake every waiter; queued items can still be taken, new ones are refused."""
        self._closed = True
        self._available.set()
        self._space.set()
