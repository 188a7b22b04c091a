"""The real tcp_stats probes: a controlled TCP exchange shows its exact byte counts."""

from __future__ import annotations

import os
import socket
import threading
import time

import pyarrow as pa
import pytest
from pyxie_stirling import Stirling
from stirling_bpf_support import bpf_skip_reason, rows_of

pytestmark = [
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.skipif(bpf_skip_reason() is not None, reason=str(bpf_skip_reason())),
]


def test_connection_bytes_each_way_are_counted_exactly() -> None:
    from pyxie_stirling.tcp_stats import TcpStatsSource

    rows: list[dict[str, object]] = []

    def push(table: str, batch: pa.RecordBatch) -> None:
        if table == "tcp_stats_events":
            rows.extend(rows_of(batch))

    # The collector never counts its own process: the exchange runs in a child.
    stirling = Stirling([TcpStatsSource()], push)
    stirling.init_sources()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    pid = os.fork()
    if pid == 0:  # the child: a server thread and a client, 1000 bytes up, 250 down
        try:

            def serve() -> None:
                conn, _ = server.accept()
                data = b""
                while len(data) < 1000:
                    data += conn.recv(4096)
                conn.sendall(b"y" * 250)
                conn.close()

            thread = threading.Thread(target=serve)
            thread.start()
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"x" * 1000)
            got = b""
            while len(got) < 250:
                chunk = client.recv(4096)
                if not chunk:
                    break
                got += chunk
            client.close()
            thread.join()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    server.close()
    time.sleep(0.2)
    try:
        stirling.run_once(force_push=True)
        stirling.run_once(force_push=True)
    finally:
        stirling.stop()
    mine = [
        (r["local_port"], r["remote_port"], r["tx"], r["rx"], r["retransmits"])
        for r in rows
        if int.from_bytes(bytes(r["upid"])[4:8], "big") == pid  # type: ignore[arg-type]
    ]
    client_port = next(lp for lp, rp, *_ in mine if rp == port)
    assert sorted(mine) == sorted(
        [(client_port, port, 1000, 250, 0), (port, client_port, 250, 1000, 0)]
    )
    assert all(
        r["local_addr"] == r["remote_addr"] == "127.0.0.1" for r in rows if r["remote_port"] == port
    )
