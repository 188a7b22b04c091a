"""BackgroundTask: start, stop by cancellation with a timeout, crash logging, restart, periodic."""

from __future__ import annotations

import asyncio
import json

import pytest
from pyxie_service import BackgroundTask
from service_kit_support import LogLines


async def test_stop_cancels_the_coroutine_and_waits_for_its_cleanup() -> None:
    entered, cleaned_up = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()

    task = BackgroundTask("waiter", run)
    task.start()
    task.start()  # idempotent while running
    await entered.wait()
    assert task.running
    await task.stop()
    assert cleaned_up.is_set()
    assert not task.running
    await task.stop()  # twice is fine


async def test_stop_before_start_is_a_no_op() -> None:
    await BackgroundTask("never", asyncio.Event().wait).stop()


async def test_stop_gives_up_on_a_coroutine_that_ignores_cancellation(
    log_lines: LogLines,
) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def stubborn() -> None:
        entered.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    task = BackgroundTask("stubborn", stubborn, stop_timeout_seconds=0.05)
    task.start()
    await entered.wait()
    await task.stop()
    events = [(r["event"], r.get("task")) for r in log_lines.records()]
    assert ("background task did not stop in time; abandoning it", "stubborn") in events
    release.set()
    await asyncio.sleep(0)


async def test_a_crash_is_logged_with_its_traceback_and_not_restarted(
    log_lines: LogLines,
) -> None:
    async def crash() -> None:
        raise RuntimeError("monitor broke")

    task = BackgroundTask("crasher", crash)
    task.start()
    await task.wait()
    assert task.crashes == 1
    assert isinstance(task.last_error, RuntimeError)
    assert task.restarts == 0
    assert not task.running
    [record] = [r for r in log_lines.records() if r["event"] == "background task crashed"]
    assert record["task"] == "crasher"
    assert "monitor broke" in json.dumps(record["exception"])
    await task.stop()


async def test_restart_runs_again_after_a_crash_and_after_a_normal_return() -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("stream broke")
        if len(runs) == 2:
            return  # the stream ended: reconnect
        third.set()
        await asyncio.Event().wait()

    task = BackgroundTask("follower", flaky, restart=True, backoff_initial_seconds=0.0)
    task.start()
    await third.wait()
    assert runs == [0, 1, 2]
    assert task.restarts == 2
    assert task.crashes == 1
    await task.stop()


async def test_restart_backoff_doubles_up_to_the_maximum() -> None:
    delays: list[float] = []
    original_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        delays.append(seconds)
        await original_sleep(0)

    attempts = 0
    done = asyncio.Event()

    async def always_fails() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 6:
            done.set()
            await asyncio.Event().wait()
        raise ConnectionError("down")

    # The clock never advances, so every run counts as a quick failure.
    task = BackgroundTask(
        "backoff",
        always_fails,
        restart=True,
        backoff_initial_seconds=1.0,
        backoff_max_seconds=4.0,
        clock=lambda: 0.0,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pyxie_service.background.asyncio.sleep", recording_sleep)
        task.start()
        await done.wait()
    await task.stop()
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_periodic_keeps_ticking_after_a_failing_tick(log_lines: LogLines) -> None:
    ticks = 0
    third = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 2:
            raise ConnectionError("database down")
        if ticks == 3:
            third.set()

    task = BackgroundTask.periodic("sweeper", tick, interval_seconds=0.001)
    task.start()
    await third.wait()
    await task.stop()
    assert task.crashes == 1
    failures = [r for r in log_lines.records() if r["event"] == "background tick failed"]
    assert [r["task"] for r in failures] == ["sweeper"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="backoff"):
        BackgroundTask("x", asyncio.Event().wait, backoff_initial_seconds=2, backoff_max_seconds=1)
    with pytest.raises(ValueError, match="stop_timeout"):
        BackgroundTask("x", asyncio.Event().wait, stop_timeout_seconds=0)
    with pytest.raises(ValueError, match="interval"):
        BackgroundTask.periodic("x", asyncio.Event().wait, interval_seconds=0)
