"""`python -m pyxie_service.example` as a real process: start, serve, stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pyxie_service import EXIT_BAD_SETTINGS
from pyxie_service.example import EchoClient
from service_kit_support import SIGNING_SECRET, NatsServer, bearer, free_port, service_token

# Interpreter start plus imports of grpc/pydantic/nats on a loaded 2-core machine.
_PROCESS_DEADLINE_SECONDS = 60


def _environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("PL_")}
    environment.update(
        PL_JWT_SIGNING_KEY=SIGNING_SECRET,
        PL_GRPC_HOST="127.0.0.1",
        PL_GRPC_PORT="0",
        PL_METRICS_HOST="127.0.0.1",
        PL_METRICS_PORT="0",
        PL_LOG_FORMAT="json",
        PL_SHUTDOWN_GRACE_SECONDS="5",
    )
    environment.update(extra)
    return environment


class _ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.records: list[dict[str, Any]] = []

    async def wait_for(self, event: str) -> dict[str, Any]:
        assert self.process.stderr is not None
        while True:
            line = await self.process.stderr.readline()
            if not line:
                raise AssertionError(f"process ended before logging {event!r}: {self.records}")
            record: dict[str, Any] = json.loads(line)
            self.records.append(record)
            if record.get("event") == event:
                return record

    async def terminate(self) -> int:
        """SIGTERM, then the exit code once the process ended (its last records read)."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.finish(), _PROCESS_DEADLINE_SECONDS)

    async def finish(self) -> int:
        assert self.process.stderr is not None
        for line in (await self.process.stderr.read()).splitlines():
            self.records.append(json.loads(line))
        return await self.process.wait()


@contextlib.asynccontextmanager
async def _running(**extra: str) -> AsyncIterator[_ServiceProcess]:
    """The example service as a process; killed on the way out if it is still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyxie_service.example",
        env=_environment(**extra),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield _ServiceProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_service_process_serves_and_stops_cleanly_on_sigterm(
    nats_server: NatsServer,
) -> None:
    async with _running(PL_NATS_ENABLED="true", PL_NATS_URL=nats_server.url) as service:
        started = await asyncio.wait_for(
            service.wait_for("service started"), _PROCESS_DEADLINE_SECONDS
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{started['grpc_port']}") as channel:
            client = EchoClient(channel)
            assert (await client.public(StringValue(value="x"))).value == "public:anonymous:x"
            reply = await client.echo(StringValue(value="x"), metadata=bearer(service_token()))
            assert reply.value == "query_broker:x"
        code = await service.terminate()
    events = [record["event"] for record in service.records]
    assert code == 0
    assert events.index("stop signal received") < events.index("nats connection closed")
    assert events.index("nats connection closed") < events.index("service stopped")


async def test_a_started_service_freezes_its_startup_objects_out_of_the_collector() -> None:
    async with _running() as service:
        started = await asyncio.wait_for(
            service.wait_for("service started"), _PROCESS_DEADLINE_SECONDS
        )
        frozen = await asyncio.wait_for(
            service.wait_for("startup objects frozen"), _PROCESS_DEADLINE_SECONDS
        )
        # Imports alone (grpc, pydantic, protobuf) make tens of thousands of tracked objects.
        assert frozen["objects"] > 10_000
        async with grpc.aio.insecure_channel(f"127.0.0.1:{started['grpc_port']}") as channel:
            reply = await EchoClient(channel).public(StringValue(value="x"))
            assert reply.value == "public:anonymous:x"
        code = await service.terminate()
    assert code == 0


async def test_sigterm_while_waiting_for_nats_at_startup_exits_cleanly() -> None:
    unreachable = f"nats://127.0.0.1:{free_port()}"
    async with _running(PL_NATS_ENABLED="true", PL_NATS_URL=unreachable) as service:
        await asyncio.wait_for(service.wait_for("nats error"), _PROCESS_DEADLINE_SECONDS)
        code = await service.terminate()
    assert code == 0
    assert "stop signal received while starting" in [r["event"] for r in service.records]


async def test_service_process_with_bad_settings_exits_with_a_message() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyxie_service.example",
        env=_environment(PL_JWT_SIGNING_KEY="short", PL_GRPC_PORT="not-a-port"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), _PROCESS_DEADLINE_SECONDS)
    message = stderr.decode()
    assert process.returncode == EXIT_BAD_SETTINGS
    assert "PL_JWT_SIGNING_KEY" in message
    assert "PL_GRPC_PORT" in message
    assert "Traceback" not in message


@pytest.fixture(autouse=True)
def _no_pl_variables_leak_into_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.upper().startswith("PL_"):
            monkeypatch.delenv(variable)


async def _collect_lines(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    """Keep reading stderr so that the access log never fills the pipe and blocks the server."""
    assert process.stderr is not None
    async for line in process.stderr:
        lines.append(line.decode(errors="replace"))


async def _hang_up_right_after_errors(client: EchoClient, token: str) -> None:
    metadata = bearer(token)
    # A unary error, the client cancelling as the status arrives (before or after it).
    call = client.fail(StringValue(value="invalid_argument"), metadata=metadata)
    await asyncio.sleep(0)
    call.cancel()
    # A crash (INTERNAL) with the same hang-up.
    crash = client.fail(StringValue(value="boom"), metadata=metadata)
    crash.cancel()
    # A stream that fails after its first message; the client leaves after reading it.
    stream = client.fail_stream(StringValue(value="not_found"), metadata=metadata)
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
        await stream.read()
    stream.cancel()
    # An unauthenticated call (rejected by the auth interceptor), cancelled at once.
    rejected = client.echo(StringValue(value="x"))
    rejected.cancel()
    for pending in (call, crash, rejected):
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            await pending


# Enough hang-ups that a use of a released call (the SIGSEGV of issue 20) shows up.
_HANG_UP_ROUNDS = 300


async def test_clients_hanging_up_right_after_errors_do_not_crash_the_service() -> None:
    lines: list[str] = []
    reader: asyncio.Task[None] | None = None
    async with _running(PL_LOG_LEVEL="debug") as service:
        try:
            started = await asyncio.wait_for(
                service.wait_for("service started"), _PROCESS_DEADLINE_SECONDS
            )
            reader = asyncio.create_task(_collect_lines(service.process, lines))
            token = service_token()
            address = f"127.0.0.1:{started['grpc_port']}"
            try:
                for _ in range(_HANG_UP_ROUNDS // 50):
                    # A fresh channel now and then: hang-ups also arrive as closed connections.
                    async with grpc.aio.insecure_channel(address) as channel:
                        client = EchoClient(channel)
                        await asyncio.gather(
                            *(_hang_up_right_after_errors(client, token) for _ in range(50))
                        )
                async with grpc.aio.insecure_channel(address) as channel:
                    # Calls held in their handler, then abandoned: hang-ups that certainly reach a
                    # running handler (each error call above may finish before its cancel arrives).
                    for wait in (0.5, 1.0, 2.0):
                        held = EchoClient(channel).hold(
                            StringValue(value="held"), metadata=bearer(token)
                        )
                        await asyncio.sleep(wait)
                        held.cancel()
                        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
                            await held
                    reply = await EchoClient(channel).echo(
                        StringValue(value="still here"), metadata=bearer(token)
                    )
            except grpc.aio.AioRpcError as err:
                died = await asyncio.wait_for(service.process.wait(), _PROCESS_DEADLINE_SECONDS)
                await asyncio.wait_for(reader, _PROCESS_DEADLINE_SECONDS)
                crash = [line for line in lines if not line.startswith("{")]
                pytest.fail(f"service died (exit {died}) after {err.code().name}: {crash[-20:]}")
            assert reply.value == "query_broker:still here"
            assert service.process.returncode is None
            service.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(service.process.wait(), _PROCESS_DEADLINE_SECONDS)
            await asyncio.wait_for(reader, _PROCESS_DEADLINE_SECONDS)
        finally:
            if reader is not None:
                reader.cancel()
    output = "".join(lines)
    assert code == 0, output[-4000:]
    assert "Fatal Python error" not in output
    # The access log still names the peer of calls whose client had gone: it was read up front.
    cancelled = [
        json.loads(line)
        for line in lines
        if line.startswith("{") and '"code": "CANCELLED"' in line and '"event": "rpc"' in line
    ]
    assert cancelled, "no hang-up reached a handler: the test exercised nothing"
    assert all(record["peer"].startswith("ipv4:127.0.0.1:") for record in cancelled)


async def test_a_service_that_crashes_in_native_code_leaves_a_python_traceback() -> None:
    """Issue 20, item 1: every service runs with faulthandler, so a SIGSEGV names its frame."""
    async with _running() as service:
        await asyncio.wait_for(service.wait_for("service started"), _PROCESS_DEADLINE_SECONDS)
        service.process.send_signal(signal.SIGSEGV)
        assert service.process.stderr is not None
        rest = await asyncio.wait_for(service.process.stderr.read(), _PROCESS_DEADLINE_SECONDS)
        code = await asyncio.wait_for(service.process.wait(), _PROCESS_DEADLINE_SECONDS)
    assert code == -signal.SIGSEGV
    text = rest.decode(errors="replace")
    assert "Fatal Python error: Segmentation fault" in text
    assert "File " in text  # the Python frames of every thread
