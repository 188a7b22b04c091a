"""Two-stage shutdown: NOT_SERVING, no new RPCs, in-flight RPCs get the grace, then closers."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pyxie_service import BackgroundTask, Closer, Service
from pyxie_service.example import EchoServicer, echo_registration
from service_kit_support import RunningEcho, bearer, make_settings, service_token, start_echo

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _stop_started(running: RunningEcho) -> asyncio.Task[None]:
    """Begin shutdown and return once the server has stopped taking new RPCs."""
    stopping = asyncio.create_task(running.service.stop())
    while True:
        try:
            await running.client.public(StringValue(value="probe"))
        except grpc.aio.AioRpcError as error:
            # Refused: UNAVAILABLE once the listener is closed; a probe that raced the start of
            # the shutdown is CANCELLED by the server instead.
            assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
            return stopping
        await asyncio.sleep(0.01)


async def test_health_watch_sees_not_serving_once_shutdown_starts() -> None:
    running = await start_echo()
    try:
        watch = health_pb2_grpc.HealthStub(running.channel).Watch(
            health_pb2.HealthCheckRequest(service="")
        )
        first = await watch.read()
        assert isinstance(first, health_pb2.HealthCheckResponse)
        assert first.status == SERVING
        stopping = asyncio.create_task(running.service.stop())
        second = await watch.read()
        assert isinstance(second, health_pb2.HealthCheckResponse)
        assert second.status == NOT_SERVING
        watch.cancel()
        await stopping
    finally:
        await running.channel.close(None)
        await running.service.stop()


async def test_shutdown_waits_for_an_in_flight_rpc_within_the_grace_period() -> None:
    running = await start_echo(shutdown_grace_seconds=60.0)
    try:
        in_flight = asyncio.ensure_future(
            running.client.hold(StringValue(value="finish me"), metadata=bearer(service_token()))
        )
        await running.servicer.hold_entered.wait()
        stopping = await _stop_started(running)
        assert not stopping.done()
        assert not in_flight.done()
        running.servicer.hold_release.set()
        assert (await in_flight).value == "finish me"
        await stopping
    finally:
        await running.channel.close(None)
        await running.service.stop()


async def test_rpc_still_running_after_the_grace_period_is_cancelled() -> None:
    running = await start_echo(shutdown_grace_seconds=0.2)
    try:
        in_flight = asyncio.ensure_future(
            running.client.hold(StringValue(value="never"), metadata=bearer(service_token()))
        )
        await running.servicer.hold_entered.wait()
        await running.service.stop()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await in_flight
        assert error.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    finally:
        await running.channel.close(None)


async def test_closers_run_after_the_server_stopped_last_registered_first() -> None:
    running = await start_echo()
    order: list[str] = []

    def closer(name: str) -> Closer:
        async def close() -> None:
            with pytest.raises(grpc.aio.AioRpcError):
                await running.client.public(StringValue(value="late"))
            order.append(name)

        return close

    running.service.add_closer("db", closer("db"))
    running.service.add_closer("nats", closer("nats"))
    await running.service.stop()
    await running.channel.close(None)
    assert order == ["nats", "db"]


async def test_background_tasks_run_while_serving_and_stop_before_the_closers() -> None:
    order: list[str] = []
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            order.append("task stopped")

    servicer_task = BackgroundTask("watch", loop)
    service = Service(make_settings(), [echo_registration(EchoServicer())], name="tasks-test")
    service.add_task(servicer_task)
    assert not servicer_task.running  # not before the server serves

    async def close() -> None:
        order.append("closer")

    service.add_closer("nats", close)
    await service.start()
    await started.wait()
    assert servicer_task.running
    await service.stop()
    assert order == ["task stopped", "closer"]
    assert not servicer_task.running


async def test_a_failing_closer_does_not_stop_the_others() -> None:
    running = await start_echo()
    closed: list[str] = []

    async def broken() -> None:
        raise RuntimeError("pool already gone")

    async def fine() -> None:
        closed.append("fine")

    running.service.add_closer("fine", fine)
    running.service.add_closer("broken", broken)
    await running.service.stop()
    await running.channel.close(None)
    assert closed == ["fine"]


async def test_a_hanging_closer_is_abandoned_at_the_hard_deadline() -> None:
    running = await start_echo(shutdown_close_timeout_seconds=0.2)
    never = asyncio.Event()
    cancelled = asyncio.Event()

    async def hangs() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    running.service.add_closer("hangs", hangs)
    await running.service.stop()
    await running.channel.close(None)
    assert cancelled.is_set()


async def test_stop_twice_waits_for_the_same_shutdown(echo: RunningEcho) -> None:
    closes: list[int] = []

    async def count() -> None:
        closes.append(1)

    echo.service.add_closer("count", count)
    await asyncio.gather(echo.service.stop(), echo.service.stop())
    assert closes == [1]
