"""`python -m pyxie_auth`: refuses bad settings, migrates and serves, stops on SIGTERM."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pyxie_auth.schema import MIGRATIONS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PL_")}
    return env | overrides


def test_missing_secrets_exit_with_the_settings_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyxie_auth"], env=_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PL_DATABASE_KEY" in result.stderr


@pytest.mark.slow
def test_service_migrates_serves_health_and_stops_on_sigterm(fresh_database: str) -> None:
    port = _free_port()
    env = _env(
        PL_GRPC_HOST="127.0.0.1",
        PL_GRPC_PORT=str(port),
        PL_METRICS_ENABLED="false",
        PL_POSTGRES_DSN=fresh_database,
        PL_JWT_SIGNING_KEY="s" * 40,
        PL_DATABASE_KEY=base64.b64encode(os.urandom(32)).decode(),
        PL_LOG_FORMAT="console",
    )
    process = subprocess.Popen([sys.executable, "-m", "pyxie_auth"], env=env)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="pyxie.cloud.authpb.AuthService"),
                timeout=10,
            )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        assert MIGRATIONS.current(fresh_database) == MIGRATIONS.head()
        with psycopg.connect(fresh_database) as conn:
            assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
