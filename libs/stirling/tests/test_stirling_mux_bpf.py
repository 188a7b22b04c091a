"""The real socket tracer on Mux: a Mux client and server over TCP -> mux_events rows.

There is no Mux implementation on PyPI (Finagle is JVM-only), so both ends are small Python
speakers of the wire format (size, type, tag, body) written here; the bytes follow the Mux spec.
Needs root and bcc; skipped otherwise.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

COMMON = r"""
import socket, struct
def send(sock, mtype, tag, body=b""):
    sock.sendall(struct.pack(">Ib", 4 + len(body), mtype) + tag.to_bytes(3, "big") + body)
def recv(sock):
    head = b""
    while len(head) < 8:
        head += sock.recv(8 - len(head))
    size, mtype = struct.unpack(">Ib", head[:5])
    body = b""
    while len(body) < size - 4:
        body += sock.recv(size - 4 - len(body))
    return mtype, int.from_bytes(head[5:8], "big"), body
"""

SERVER = (
    COMMON
    + r"""
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
while True:
    try:
        mtype, tag, body = recv(conn)
    except (struct.error, ConnectionError):
        break
    if mtype == 68:
        send(conn, -68, tag, b"\x00\x01")
    elif mtype == 65:
        send(conn, -65, tag)
    elif mtype == 2 and body.endswith(b"missing"):
        send(conn, -128, tag, b"no such destination")
    elif mtype == 2:
        send(conn, -2, tag, b"\x00" + body)
"""
)

CLIENT = (
    COMMON
    + r"""
import sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
send(sock, 68, 1, b"\x00\x01")
assert recv(sock)[0] == -68
for tag, dest in ((2, b"/svc/orders"), (3, b"/svc/missing"), (4, b"/svc/cart")):
    send(sock, 2, tag, b"\x00\x00" + dest)
    assert recv(sock)[1] == tag
send(sock, 65, 5)
assert recv(sock)[0] == -65
sock.close()
"""
)


def test_mux_session_gives_one_row_per_exchange_on_both_sides() -> None:
    tables = TracedTables()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        subprocess.run([sys.executable, "-c", CLIENT, str(port)], check=True, timeout=30)

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        rows = tables.wait_for("mux_events", ours, 10)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
        tables.stirling.stop()
    for role in (1, 2):
        mine = [r for r in rows if r["trace_role"] == role]
        assert [r["req_type"] for r in mine] == [68, 2, 2, 2, 65], role
        assert all(int(str(r["latency"])) > 0 for r in mine)
    stats = [r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port]
    assert 11 in {r["protocol"] for r in stats}
