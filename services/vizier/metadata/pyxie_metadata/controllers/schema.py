"""The computed schema: the union of the tables every agent reports, with table -> agents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyxie_proto.types.typespb import types_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb

from pyxie_metadata.keys import COMPUTED_SCHEMA_KEY
from pyxie_metadata.kvstore import KVStore

__all__ = ["SchemaRegistry"]


class SchemaRegistry:
    """Each table keeps its latest schema and the set of agents that hold it.

    An agent losing a table removes its id; a table with no agents left is removed. Every
    change is written to `/computedSchema` before it is visible.
    """

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        self._tables: dict[str, types_pb2.TableSchema] = {}
        self._agents: dict[str, set[str]] = {}

    @classmethod
    async def load(cls, kv: KVStore) -> SchemaRegistry:
        registry = cls(kv)
        raw = await kv.get(COMPUTED_SCHEMA_KEY)
        if raw is not None:
            stored = mdpb.ComputedSchema.FromString(raw)
            for table in stored.tables:
                registry._tables[table.name] = table
            for name, ids in stored.table_name_to_agent_ids.items():
                if name in registry._tables and ids.agent_ids:
                    registry._agents[name] = set(ids.agent_ids)
            # A table stored without agents would never be removed: drop it now.
            for name in set(registry._tables) - set(registry._agents):
                del registry._tables[name]
        return registry

    def computed_schema(self) -> mdpb.ComputedSchema:
        schema = mdpb.ComputedSchema()
        for name in sorted(self._tables):
            schema.tables.append(self._tables[name])
            schema.table_name_to_agent_ids[name].agent_ids.extend(sorted(self._agents[name]))
        return schema

    def tables_of(self, agent_id: str) -> list[str]:
        return sorted(name for name, agents in self._agents.items() if agent_id in agents)

    def agents_of(self, table_name: str) -> set[str]:
        return set(self._agents.get(table_name, ()))

    async def set_agent_tables(
        self, agent_id: str, tables: Sequence[types_pb2.TableSchema]
    ) -> bool:
        """The agent now holds exactly `tables`. Returns whether the computed schema changed."""
        draft = self._draft()
        reported = {table.name: table for table in tables}
        for name, table in reported.items():
            draft.tables[name] = table
            draft.agents.setdefault(name, set()).add(agent_id)
        draft.forget(agent_id, [name for name in draft.tables_of(agent_id) if name not in reported])
        return await self._commit(draft)

    async def remove_agents(self, agent_ids: Iterable[str]) -> bool:
        """Drop the agents from every table. Returns whether the computed schema changed."""
        draft = self._draft()
        for agent_id in agent_ids:
            draft.forget(agent_id, draft.tables_of(agent_id))
        return await self._commit(draft)

    async def prune(self, live_agent_ids: set[str]) -> bool:
        """Drop every agent not in `live_agent_ids` (Pixie's PruneComputedSchema)."""
        known = {agent for agents in self._agents.values() for agent in agents}
        return await self.remove_agents(known - live_agent_ids)

    def _draft(self) -> _Draft:
        return _Draft(
            dict(self._tables), {name: set(agents) for name, agents in self._agents.items()}
        )

    async def _commit(self, draft: _Draft) -> bool:
        """Store the draft, then make it the current state; False when nothing changed."""
        if draft.tables == self._tables and draft.agents == self._agents:
            return False
        snapshot = SchemaRegistry(self._kv)
        snapshot._tables, snapshot._agents = draft.tables, draft.agents
        await self._kv.set(COMPUTED_SCHEMA_KEY, snapshot.computed_schema().SerializeToString())
        self._tables, self._agents = draft.tables, draft.agents
        return True


@dataclass
class _Draft:
    tables: dict[str, types_pb2.TableSchema]
    agents: dict[str, set[str]]

    def tables_of(self, agent_id: str) -> list[str]:
        return [name for name, agents in self.agents.items() if agent_id in agents]

    def forget(self, agent_id: str, table_names: Iterable[str]) -> None:
        for name in table_names:
            holders = self.agents.get(name)
            if holders is None:
                continue
            holders.discard(agent_id)
            if not holders:
                del self.agents[name]
                del self.tables[name]
