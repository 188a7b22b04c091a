from __future__ import annotations

import asyncio

import pytest
from pyxie_service.lanes import LanesClosed, PriorityLanes


async def test_priority_items_overtake_any_bulk_backlog() -> None:
    lanes: PriorityLanes[str] = PriorityLanes(capacity=4096)
    for index in range(4096):
        assert lanes.offer(f"bulk-{index}", priority=False)
    assert lanes.offer("reply", priority=True)
    assert await lanes.get() == "reply"
    assert await lanes.get() == "bulk-0"


async def test_a_full_bulk_lane_drops_bulk_but_still_takes_priority_items() -> None:
    lanes: PriorityLanes[str] = PriorityLanes(capacity=2)
    assert lanes.offer("a", priority=False) and lanes.offer("b", priority=False)
    assert not lanes.offer("c", priority=False)
    assert lanes.offer("reply", priority=True)
    assert lanes.dropped == 1
    assert [await lanes.get() for _ in range(3)] == ["reply", "a", "b"]


async def test_put_waits_for_space_and_close_wakes_everyone() -> None:
    lanes: PriorityLanes[str] = PriorityLanes(capacity=1)
    await lanes.put("first", priority=False)
    blocked = asyncio.create_task(lanes.put("second", priority=False))
    await asyncio.sleep(0)
    assert not blocked.done()
    assert await lanes.get() == "first"
    await blocked
    assert await lanes.get() == "second"
    waiting = asyncio.create_task(lanes.get())
    await asyncio.sleep(0)
    lanes.close()
    with pytest.raises(LanesClosed):
        await waiting
