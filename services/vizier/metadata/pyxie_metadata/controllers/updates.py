"""Agent update cursors for `GetAgentUpdates`: each stream collects the deltas since its last read.

Writes go to the store first, then every cursor is told which agent (or the schema) changed;
duplicate deltas are possible and readers tolerate them (as in Pixie). Only the newest cursor
stays open: opening one closes the others, so an older stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

__all__ = ["AgentUpdateCursor", "AgentUpdateTracker", "PendingChanges"]


@dataclass(frozen=True, slots=True)
class PendingChanges:
    agent_ids: frozenset[str]
    schema_changed: bool

    def __bool__(self) -> bool:
        return bool(self.agent_ids) or self.schema_changed


class AgentUpdateCursor:
    """The changes one `GetAgentUpdates` stream has not sent yet."""

    def __init__(self) -> None:
        self._agent_ids: set[str] = set()
        self._schema_changed = False
        self._closed = False
        self._wakeup = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    def agent_changed(self, agent_id: str) -> None:
        self._agent_ids.add(agent_id)
        self._wakeup.set()

    def schema_changed(self) -> None:
        self._schema_changed = True
        self._wakeup.set()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    async def wait(self, max_wait: float) -> PendingChanges:
        """The changes since the last call, after waiting up to `max_wait` for the first one.

        Returns empty changes when none came or once the cursor is closed.
        """
        if not self._closed and not self._has_pending():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), max_wait)
        return self.take()

    def take(self) -> PendingChanges:
        changes = PendingChanges(frozenset(self._agent_ids), self._schema_changed)
        self._agent_ids.clear()
        self._schema_changed = False
        if not self._closed:
            self._wakeup.clear()
        return changes

    def _has_pending(self) -> bool:
        return bool(self._agent_ids) or self._schema_changed


class AgentUpdateTracker:
    """Fans agent and schema changes out to the open cursors."""

    def __init__(self) -> None:
        self._cursors: list[AgentUpdateCursor] = []

    @property
    def open_cursors(self) -> int:
        return len(self._cursors)

    def open_cursor(self) -> AgentUpdateCursor:
        """A new cursor; every older one is closed (only the newest stream stays alive)."""
        self.close_all()
        cursor = AgentUpdateCursor()
        self._cursors.append(cursor)
        return cursor

    def release(self, cursor: AgentUpdateCursor) -> None:
        cursor.close()
        if cursor in self._cursors:
            self._cursors.remove(cursor)

    def close_all(self) -> None:
        for cursor in self._cursors:
            cursor.close()
        self._cursors.clear()

    def agent_changed(self, agent_id: str) -> None:
        for cursor in self._cursors:
            cursor.agent_changed(agent_id)

    def schema_changed(self) -> None:
        for cursor in self._cursors:
            cursor.schema_changed()
