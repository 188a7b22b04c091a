"""sendfile: an HTTP body sent straight from a file still gives a row with the right sizes.

The bytes never pass through user memory, so there is no body text to capture; the tracer
counts them and the HTTP parser sees a body gap of exactly that size. Needs root and bcc.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

SERVER = r"""
import socket, sys, tempfile
body = b"0123456789" * 3000  # 30000 bytes, several sendfile chunks' worth of MAX_DATA_SIZE
f = tempfile.TemporaryFile()
f.write(body)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n" % len(body))
    f.seek(0)
    conn.sendfile(f)  # os.sendfile underneath
    conn.close()
"""


def test_body_sent_with_sendfile_gives_a_row_with_its_size() -> None:
    tables = TracedTables()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/file.txt") as resp:
            assert len(resp.read()) == 30000

        def ours(row: Row) -> bool:
            return row["local_port"] == port and row["trace_role"] == 2

        rows = tables.wait_for("http_events", ours, 1)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
        tables.stirling.stop()
    assert len(rows) == 1
    row = rows[0]
    assert (row["req_method"], row["req_path"], row["resp_status"]) == ("GET", "/file.txt", 200)
    assert row["resp_body_size"] == 30000
    assert row["resp_body"] == "... [TRUNCATED]"  # no text captured, the size is known
    sent = [
        int(str(r["bytes_sent"]))
        for r in tables.rows.get("conn_stats", [])
        if r["upid"] == row["upid"] and r["trace_role"] == 2
    ]
    assert sent and max(sent) > 30000  # headers + the 30000 file bytes
