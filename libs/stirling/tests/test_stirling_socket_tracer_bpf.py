"""The real socket tracer on this kernel: HTTP and HTTPS traffic of other processes -> tables.

Needs root and bcc (`make setup-bpf`); skipped with the reason otherwise. Servers and clients run
as subprocesses because the tracer filters out its own process in the kernel.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyxie_types import UPID
from stirling_bpf_support import TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]


_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

SERVER = r"""
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[-1] == "big":
            status, body = 200, b"y" * 2000
        else:
            status, body = int(parts[-2]), f"body-{parts[-1]}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
if len(sys.argv) > 2:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

CLIENT = r"""
import ssl, sys, urllib.request, urllib.error
ctx = ssl._create_unverified_context()
for url in sys.argv[1:]:
    try:
        urllib.request.urlopen(url, context=ctx).read()
    except urllib.error.HTTPError as e:
        e.read()
"""

# A peer speaking no known protocol: argv = port, then it waits for a line on stdin between its
# phases (the test mutes in between), sends 500 small chunks (TCP_NODELAY: one syscall each).
UNKNOWN_PEER = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print(s.fileno(), flush=True)
chunk = b"\x00\x01garbage" * 3
for _ in range(6):
    s.sendall(chunk)
    s.recv(100)
sys.stdin.readline()
for _ in range(500):
    s.sendall(chunk)
    s.recv(100)
s.close()
print("done", flush=True)
"""

UNKNOWN_SERVER = r"""
import socket
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    data = conn.recv(100)
    if not data:
        break
    conn.sendall(data)
"""

FILE_IO = r"""
import os, sys
path = sys.argv[1]
for _ in range(50):
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    os.write(fd, b"GET /not-a-socket HTTP/1.1\r\n\r\n")
    os.lseek(fd, 0, 0)
    os.read(fd, 100)
    os.close(fd)
r, w = os.pipe()
os.write(w, b"HTTP/1.1 200 OK\r\n\r\n")
os.read(r, 100)
"""


class _SpyTracker:
    """The source's tracker, seen through: records every raw event on its way in (the tracker
    itself may be compiled with mypyc, whose methods cannot be replaced)."""

    def __init__(self, tracker: Any, raw_tgids: list[int], data_events: list[tuple[int, int]]):
        self._tracker = tracker
        self._raw_tgids = raw_tgids
        self._data_events = data_events

    def handle_batch(self, batch: list[bytes]) -> None:
        for raw in batch:
            tgid = int.from_bytes(raw[4:8], "little")
            self._raw_tgids.append(tgid)
            if raw[0] == 1:
                self._data_events.append((tgid, int.from_bytes(raw[12:16], "little")))
        self._tracker.handle_batch(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)


class _Tracer(TracedTables):
    """The shared tracer, also recording the tgid of every raw event that reaches user space."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_tgids: list[int] = []
        self.data_events: list[tuple[int, int]] = []  # (tgid, fd) of every data event
        spy = _SpyTracker(self.source.tracker, self.raw_tgids, self.data_events)
        self.source._tracker = spy  # type: ignore[assignment]


@pytest.fixture(scope="module")
def tracer() -> Iterator[_Tracer]:
    t = _Tracer()
    try:
        yield t
    finally:
        t.stirling.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("cert")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(crt), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(crt), str(key)


def _start_server(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _pid_of(row: dict[str, object]) -> int:
    return UPID.from_bytes(row["upid"]).pid  # type: ignore[arg-type]


def test_http_requests_of_python_and_curl_become_http_events_and_conn_stats(
    tracer: _Tracer,
) -> None:
    server, port = _start_server()
    try:
        statuses = [200, 201, 404, 500, 202]
        py_paths = [f"/py/{s}/{i}" for i, s in enumerate(statuses)]
        curl_paths = [f"/curl/{s}/{i}" for i, s in enumerate((200, 203, 418))]
        client = subprocess.run(
            [sys.executable, "-c", CLIENT, *[f"http://127.0.0.1:{port}{p}" for p in py_paths]],
            check=True,
        )
        assert client.returncode == 0
        for path in [*curl_paths, "/big"]:
            subprocess.run(
                ["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}{path}"], check=True
            )

        expected = len(py_paths) + len(curl_paths) + 1
        server_rows = tracer.wait_for(
            "http_events", lambda r: _pid_of(r) == server.pid and r["trace_role"] == 2, expected
        )
        by_path = {r["req_path"]: r for r in server_rows}
        assert len(server_rows) == expected and set(by_path) == {*py_paths, *curl_paths, "/big"}
        for path in [*py_paths, *curl_paths]:
            row = by_path[path]
            status, n = path.split("/")[2:]
            assert row["req_method"] == "GET"
            assert row["resp_status"] == int(status)
            assert row["resp_body"] == f"body-{n}"
            assert int(row["latency"]) > 0  # type: ignore[call-overload]
            assert row["local_port"] == port and row["encrypted"] is False
            assert row["remote_addr"] == "127.0.0.1"
        big = by_path["/big"]
        assert big["resp_body_size"] == 2000
        assert str(big["resp_body"]).startswith("y" * 512)
        assert not str(big["resp_body"]).startswith("y" * 513)

        client_rows = tracer.wait_for(
            "http_events",
            lambda r: r["trace_role"] == 1 and r["remote_port"] == port,
            expected,
        )
        assert sorted(str(r["req_path"]) for r in client_rows) == sorted(
            [*py_paths, *curl_paths, "/big"]
        )
        assert all(r["local_port"] != 0 and int(r["latency"]) > 0 for r in client_rows)  # type: ignore[call-overload]

        stats = tracer.wait_for(
            "conn_stats",
            lambda r: _pid_of(r) == server.pid and r["trace_role"] == 2 and r["conn_close"] == 1,
            expected,
        )
        endpoints = {(r["remote_addr"], r["remote_port"]) for r in stats}
        assert len(endpoints) == expected  # one connection per request (urllib, curl)
        assert all(r["protocol"] == 1 and int(r["bytes_recv"]) > 0 for r in stats)  # type: ignore[call-overload]
    finally:
        _stop(server)


def test_https_from_python_ssl_and_curl_is_captured_as_plaintext_marked_encrypted(
    tracer: _Tracer, cert: tuple[str, str]
) -> None:
    server, port = _start_server(*cert)
    try:
        py_paths = [f"/tls-py/{s}/{i}" for i, s in enumerate((200, 404))]
        curl_paths = [f"/tls-curl/{s}/{i}" for i, s in enumerate((201, 503))]
        subprocess.run(
            [sys.executable, "-c", CLIENT, *[f"https://127.0.0.1:{port}{p}" for p in py_paths]],
            check=True,
        )
        for path in curl_paths:
            subprocess.run(
                ["curl", "-sk", "-o", "/dev/null", f"https://127.0.0.1:{port}{path}"], check=True
            )
        server_rows = tracer.wait_for(
            "http_events", lambda r: _pid_of(r) == server.pid and r["trace_role"] == 2, 4
        )
        assert sorted(str(r["req_path"]) for r in server_rows) == sorted([*py_paths, *curl_paths])
        assert all(r["encrypted"] is True for r in server_rows)
        for row in server_rows:
            status, n = str(row["req_path"]).split("/")[2:]
            assert row["resp_status"] == int(status) and row["resp_body"] == f"body-{n}"
        client_rows = tracer.wait_for(
            "http_events", lambda r: r["trace_role"] == 1 and r["remote_port"] == port, 4
        )
        assert sorted(str(r["req_path"]) for r in client_rows) == sorted([*py_paths, *curl_paths])
        assert all(r["encrypted"] is True for r in client_rows)
    finally:
        _stop(server)


def test_file_and_pipe_io_never_reaches_user_space(tracer: _Tracer, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", FILE_IO, str(tmp_path / "f")])
    proc.wait()
    tracer.stirling.run_once(force_push=True)
    time.sleep(0.5)
    tracer.stirling.run_once(force_push=True)
    assert proc.pid not in tracer.raw_tgids
    assert tracer.raw_tgids  # the spy works: other traffic (earlier tests, the host) was seen


def test_a_connection_of_no_known_protocol_is_muted_in_the_kernel_and_still_counted(
    tracer: _Tracer,
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", UNKNOWN_SERVER], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    peer = subprocess.Popen(
        [sys.executable, "-c", UNKNOWN_PEER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peer.stdin is not None and peer.stdout is not None
    try:
        fd = int(peer.stdout.readline())
        key = (peer.pid, fd)
        # Six chunks each way: inference gives up after four and the tracker mutes the socket.
        tracker = tracer.source.tracker
        deadline = time.monotonic() + 20
        while not any(c.muted for k, c in tracker.connections.items() if k == key):
            assert time.monotonic() < deadline, "the client's connection was never muted"
            tracer.stirling.run_once(force_push=True)
            time.sleep(0.1)
        before = tracer.data_events.count(key)
        peer.stdin.write("go\n")
        peer.stdin.flush()
        assert peer.stdout.readline() == "done\n"
        stats = tracer.wait_for(
            "conn_stats",
            lambda r: _pid_of(r) == peer.pid and r["conn_close"] == 1,
            1,
        )
        after = tracer.data_events.count(key)
        # 1000 syscalls moved data after muting; only those in flight as the mute landed
        # may still have been copied.
        assert after - before < 50, (before, after)
        assert stats[-1]["bytes_sent"] == 506 * 27 and stats[-1]["bytes_recv"] == 506 * 27
        assert stats[-1]["protocol"] == 0
    finally:
        for proc in (peer, server):
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        peer.stdin.close()
