"""The real socket tracer on AMQP: pika against a private RabbitMQ (Debian rabbitmq-server).

Needs root, bcc and rabbitmq-server (`make setup-bpf` installs them); skipped otherwise. The
broker runs as its own node (own name, ports, epmd port and data directory), so it never meets
a system RabbitMQ or another test run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

RABBITMQ = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")

CLIENT = r"""
import sys, pika
params = pika.ConnectionParameters("127.0.0.1", int(sys.argv[1]), heartbeat=0)
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.queue_declare(queue="orders")
props = pika.BasicProperties(
    content_type="application/json", headers={"traceparent": "00-abc-def-01"}
)
ch.basic_publish(exchange="", routing_key="orders", body=b'{"order_id":7}', properties=props)
method, _, body = ch.basic_get(queue="orders")
assert body == b'{"order_id":7}', body
ch.basic_ack(method.delivery_tag)
ch.close()
conn.close()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not RABBITMQ.exists():
        pytest.skip("rabbitmq-server not installed (run `make setup-bpf`, which installs it)")
    base = tmp_path_factory.mktemp("rabbitmq")
    (base / "plugins").write_text("[].\n")
    port, dist, epmd = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "HOME": str(base),
        "RABBITMQ_NODENAME": f"pyxie{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "ERL_EPMD_PORT": str(epmd),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "plugins"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
    }
    log = (base / "server.log").open("w")
    # Our own epmd in the foreground (the broker would otherwise daemonize one that outlives it).
    epmd_proc = subprocess.Popen(
        ["epmd", "-port", str(epmd)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    proc = subprocess.Popen(
        [str(RABBITMQ)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((base / "server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield port
    finally:
        # The broker runs in its own session: end that whole process group, then our epmd.
        os.killpg(proc.pid, 9)
        proc.wait()
        epmd_proc.kill()
        epmd_proc.wait()
        log.close()


def test_pika_session_gives_exact_rows_on_client_and_server(rabbitmq: int) -> None:
    port = rabbitmq
    tables = TracedTables()
    try:
        subprocess.run([sys.executable, "-c", CLIENT, str(port)], check=True, timeout=60)

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        rows = tables.wait_for("amqp_events", ours, 28)
    finally:
        tables.stirling.stop()
    expected = [
        (1, 0, 10, 10, 10, 11),
        (1, 0, 10, 30, 10, 31),
        (1, 0, 10, 40, 10, 41),
        (1, 1, 20, 10, 20, 11),
        (1, 1, 50, 10, 50, 11),
        (1, 1, 60, 40, 0, 0),
        (2, 1, 60, 0, 0, 0),
        (3, 1, 0, 0, 0, 0),
        (1, 1, 60, 70, 60, 71),
        (2, 1, 0, 0, 60, 0),
        (3, 1, 0, 0, 0, 0),
        (1, 1, 60, 80, 0, 0),
        (1, 1, 20, 40, 20, 41),
        (1, 0, 10, 50, 10, 51),
    ]
    keys: tuple[str, ...] = ("frame_type", "channel", "req_class_id", "req_method_id")
    keys += ("resp_class_id", "resp_method_id")
    for role in (1, 2):
        mine = [r for r in rows if r["trace_role"] == role]
        assert [tuple(r[k] for k in keys) for r in mine] == expected, role
        declare = mine[4]
        assert json.loads(str(declare["req_msg"]))["queue"] == "orders"
        assert declare["resp_msg"] == '{"queue":"orders","message_count":0,"consumer_count":0}'
        assert int(str(declare["latency"])) > 0
        assert json.loads(str(mine[6]["req_msg"]))["headers"] == {"traceparent": "00-abc-def-01"}
        assert mine[7]["req_msg"] == mine[10]["resp_msg"] == '{"order_id":7}'
    stats = [r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port]
    assert 12 in {r["protocol"] for r in stats}
