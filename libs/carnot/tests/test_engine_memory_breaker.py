"""The memory breaker: one query over the process's limit fails alone; the others succeed.

Pixie issue #471. Each query has its own budget (1 GiB by default); without a breaker over
all of them, a few queries within their budgets could together take the agent down.
"""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pytest
from pyxie_carnot import Carnot, QueryMemoryExceeded
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry, UDTFDef
from pyxie_carnot.udas import register_all as register_udas
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType, Relation

_REL = Relation.of(("id", DataType.INT64), ("text", DataType.STRING))
_LIMIT = 32 << 20


def _registry() -> Registry:
    registry = Registry()
    register_udas(registry)
    wide = pa.table({"id": list(range(1000)), "text": ["w" * 1000] * 1000}, _REL.arrow_schema())
    small = pa.table({"id": [1, 2, 3], "text": ["a", "b", "c"]}, _REL.arrow_schema())
    registry.register_udtf(UDTFDef("Wide", (), _REL, lambda _c: wide, "Wide. Example: Wide()"))
    registry.register_udtf(UDTFDef("Small", (), _REL, lambda _c: small, "S. Example: Small()"))
    return registry


def _plan(registry: Registry, query_id: str, source: str, copies: int) -> plan_pb2.Plan:
    """``copies`` unions of ``source`` into one memory sink, which holds all of it."""
    b = PlanBuilder(registry, query_id=query_id)
    inputs = [b.udtf_source(source, _REL) for _ in range(copies)]
    node = inputs[0] if copies == 1 else b.union(inputs)
    b.memory_sink(node, "out")
    return b.plan()  # per-query budget: the default 1 GiB


async def _both(carnot: Carnot, registry: Registry) -> tuple[BaseException | None, int]:
    greedy = asyncio.ensure_future(carnot.execute(_plan(registry, "greedy", "Wide", 64)))
    small = asyncio.ensure_future(carnot.execute(_plan(registry, "small", "Small", 1)))
    outcomes = await asyncio.gather(greedy, small, return_exceptions=True)
    failure = outcomes[0] if isinstance(outcomes[0], BaseException) else None
    assert not isinstance(outcomes[1], BaseException), outcomes[1]
    return failure, outcomes[1].tables["out"].num_rows


def test_the_query_over_the_breaker_fails_alone_and_the_others_succeed() -> None:
    registry = _registry()
    carnot = Carnot(registry, memory_breaker_bytes=_LIMIT)
    failure, small_rows = asyncio.run(_both(carnot, registry))
    assert isinstance(failure, QueryMemoryExceeded)
    assert "query greedy stopped by the agent's memory breaker" in str(failure)
    assert small_rows == 3
    # What the failed query held went back: the next queries run, the total is zero again.
    assert carnot.memory_breaker.held_bytes == 0
    again = asyncio.run(carnot.execute(_plan(registry, "after", "Wide", 4)))
    assert again.tables["out"].num_rows == 4000
    assert carnot.memory_breaker.held_bytes == 0


def test_a_breaker_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Carnot(Registry(), memory_breaker_bytes=0)
