"""`python -m pyxie_metadata` as a process: settings from PL_* variables, serving, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import grpc
from pyxie_metadata.testing import REPLY_WITHIN, SIGNING_SECRET, bearer, service_token
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_service import NatsBus

# Interpreter start, imports (grpc, kubernetes client) and the first scan on a loaded machine.
_START_WITHIN = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def metadata_env(tmp_path: Path, nats_url: str, port: int, config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PL_JWT_SIGNING_KEY=SIGNING_SECRET,
        PL_GRPC_HOST="127.0.0.1",
        PL_GRPC_PORT=str(port),
        PL_METRICS_ENABLED="false",
        PL_NATS_URL=nats_url,
        PL_KV_PATH=str(tmp_path / "kv.sqlite"),
        PL_METADATA_PROVIDER="local",
        PL_LOCAL_SERVICES_CONFIG=str(config),
        PL_LOCAL_SCAN_INTERVAL_SECONDS="0.5",
        PL_LOCAL_NODE_NAME="main-test-node",
        PL_SHUTDOWN_GRACE_SECONDS="1",
    )
    return env


async def test_the_service_runs_publishes_local_metadata_and_stops_on_sigterm(
    tmp_path: Path, nats_server: Any
) -> None:
    token = f"pyxie-main-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "services.yaml"
    config.write_text(f"services:\n  - name: web/shop\n    cmdline: '{token}$'\n")
    sleeper = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", "import time; time.sleep(300)", token]
    )
    bus = await NatsBus.connect(nats_server.url, name="main-test")
    pods: asyncio.Queue[msgs.PodUpdate] = asyncio.Queue()

    async def deliver(message: msgs.VizierMessage) -> None:
        update = message.metadata_update
        if update.WhichOneof("update") == "pod" and update.pod.namespace == "web":
            pods.put_nowait(update.pod)

    await bus.subscribe("K8sUpdates/main-test-node", msgs.VizierMessage, deliver)
    await bus.flush()
    port = free_port()
    process = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "pyxie_metadata"],
        env=metadata_env(tmp_path, nats_server.url, port, config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pod = await asyncio.wait_for(pods.get(), _START_WITHIN)
        assert (pod.name, pod.node_name) == ("shop-main-test-node", "main-test-node")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = mdpb_grpc.MetadataServiceStub(channel)
            info = await stub.GetAgentInfo(
                mdpb.AgentInfoRequest(), metadata=bearer(service_token()), timeout=REPLY_WITHIN
            )
            assert list(info.info) == []
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, _START_WITHIN) == 0
    finally:
        for child in (process, sleeper):
            if child.poll() is None:
                child.kill()
            child.wait()
        await bus.drain()
    assert (tmp_path / "kv.sqlite").exists()


def test_missing_settings_exit_with_code_2_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PL_")}
    env["PL_KV_BACKEND"] = "postgres"
    result = subprocess.run(
        [sys.executable, "-m", "pyxie_metadata"],
        env=env,
        capture_output=True,
        text=True,
        timeout=_START_WITHIN,
    )
    assert result.returncode == 2
    assert "PL_JWT_SIGNING_KEY" in result.stderr
    assert "PL_KV_BACKEND" in result.stderr
