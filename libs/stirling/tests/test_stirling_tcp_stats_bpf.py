"""The real tcp_stats probes: a controlled TCP exchange shows its exact byte counts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
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


RETRANSMIT_CHILD = """
import socket, struct, sys, threading
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
port = server.getsockname()[1]
conn_holder = []
accepted = threading.Thread(target=lambda: conn_holder.append(server.accept()[0]))
accepted.start()
client = socket.create_connection(("127.0.0.1", port))
accepted.join()
print(f"ready {port} {client.getsockname()[1]}", flush=True)
sys.stdin.readline()  # the test drops packets to the server on input now
client.sendall(b"x" * 1000)
data = b""
while len(data) < 1000:
    data += conn_holder[0].recv(4096)
info = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print(f"total_retrans {struct.unpack_from('<I', info, 100)[0]}", flush=True)
client.close()
conn_holder[0].close()
"""


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft to drop packets")
def test_retransmissions_match_the_kernels_count_for_the_socket() -> None:
    """Packets to the server are dropped on input for a while in a private namespace (on output
    the drop would be a local send error, not a loss): the client socket's retransmissions, as
    TCP_INFO's total_retrans counts them, are what tcp_stats reports."""
    from pyxie_stirling.tcp_stats import TcpStatsSource

    rows: list[dict[str, object]] = []

    def push(table: str, batch: pa.RecordBatch) -> None:
        if table == "tcp_stats_events":
            rows.extend(rows_of(batch))

    netns = f"pxtcp{os.getpid() % 100000}"
    stirling = Stirling([TcpStatsSource()], push)
    stirling.init_sources()
    _run("ip", "netns", "add", netns)
    try:
        _run("ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up")
        child = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", RETRANSMIT_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        _, port, client_port = child.stdout.readline().split()
        nft = ["ip", "netns", "exec", netns, "nft"]
        _run(*nft, "add", "table", "inet", "pxdrop")
        _run(*nft, "add chain inet pxdrop in { type filter hook input priority 0 ; }")
        _run(*nft, "add", "rule", "inet", "pxdrop", "in", "tcp", "dport", port, "drop")
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(1.0)  # RTO 200 ms, doubling: 2-3 retransmissions are dropped
        _run(*nft, "delete", "table", "inet", "pxdrop")
        line = child.stdout.readline().split()
        child.wait(timeout=30)
        child.stdin.close()
        child.stdout.close()
        assert line[0] == "total_retrans"
        kernel_count = int(line[1])
        assert kernel_count >= 1
        time.sleep(0.2)
        stirling.run_once(force_push=True)
        stirling.run_once(force_push=True)
    finally:
        stirling.stop()
        subprocess.run(["ip", "netns", "del", netns], check=False)
    client_rows = [
        r
        for r in rows
        if r["local_port"] == int(client_port)
        and r["remote_port"] == int(port)
        and int.from_bytes(bytes(r["upid"])[4:8], "big") == child.pid  # type: ignore[arg-type]
    ]
    assert sum(int(r["retransmits"]) for r in client_rows) == kernel_count  # type: ignore[call-overload]
    assert sum(int(r["tx"]) for r in client_rows) == 1000  # type: ignore[call-overload]
