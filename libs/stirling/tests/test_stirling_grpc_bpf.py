"""The real socket tracer on gRPC traffic: grpcio client and server over h2c -> http_events.

grpcio links its own BoringSSL, so TLS gRPC from grpcio is not visible to the libssl uprobes
(only h2c is traced here). Needs root and bcc; skipped with the reason otherwise.
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

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

SERVER = r"""
import grpc
from concurrent import futures

def hello(request, context):
    name = request[2 : 2 + request[1]].decode()
    if name == "nobody":
        context.abort(grpc.StatusCode.NOT_FOUND, "no such user")
    out = ("hello " + name).encode()
    return b"\x0a" + bytes([len(out)]) + out

handler = grpc.method_handlers_generic_handler(
    "pyxie.test.Greeter", {"Hello": grpc.unary_unary_rpc_method_handler(hello)}
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
"""

# Arguments: port, then names; "-" waits for a line on stdin first.
CLIENT = r"""
import sys, grpc
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
with grpc.insecure_channel("127.0.0.1:" + sys.argv[1]) as channel:
    hello = channel.unary_unary("/pyxie.test.Greeter/Hello")
    for name in sys.argv[2:]:
        if name == "-":
            print("waiting", flush=True)
            sys.stdin.readline()
            continue
        request = b"\x0a" + bytes([len(name)]) + name.encode()
        try:
            hello(request, metadata=[("traceparent", TRACEPARENT)])
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND
    print("done", flush=True)
"""


def _server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def _stop(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _grpc_rows(tables: TracedTables, port: int, count: int) -> list[Row]:
    def ours(row: Row) -> bool:
        return row["major_version"] == 2 and port in (row["remote_port"], row["local_port"])

    return tables.wait_for("http_events", ours, count)


def _expected(name: str, reply: str, status: str, message: str) -> dict[str, object]:
    return {
        "major_version": 2,
        "minor_version": 0,
        "content_type": 2,
        "req_method": "POST",
        "req_path": "/pyxie.test.Greeter/Hello",
        "req_body": f'1: "{name}"',
        "req_body_size": 5 + 2 + len(name),
        "resp_status": 200,
        "resp_message": "OK",
        "resp_body": f'1: "{reply}"' if reply else "",
        "resp_body_size": 5 + 2 + len(reply) if reply else 0,
        "grpc-status": status,
        "grpc-message": message,
        "traceparent": TRACEPARENT,
    }


def _view(row: Row) -> dict[str, object]:
    import json

    req_headers = json.loads(str(row["req_headers"]))
    resp_headers = json.loads(str(row["resp_headers"]))
    view = {k: row[k] for k in _expected("x", "", "", "") if k in row}
    view["grpc-status"] = resp_headers.get("grpc-status")
    view["grpc-message"] = resp_headers.get("grpc-message")
    view["traceparent"] = req_headers.get("traceparent")
    return view


def test_grpc_unary_calls_give_exact_rows_on_both_sides() -> None:
    tables = TracedTables()
    server, port = _server()
    try:
        client = subprocess.run(
            [sys.executable, "-c", CLIENT, str(port), "alice", "bob", "nobody"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert client.stdout.strip() == "done"
        rows = _grpc_rows(tables, port, 6)
    finally:
        _stop(server)
        tables.stirling.stop()
    expected = [
        _expected("alice", "hello alice", "0", ""),
        _expected("bob", "hello bob", "0", ""),
        _expected("nobody", "", "5", "no such user"),
    ]
    for role in (1, 2):
        mine = [r for r in rows if r["trace_role"] == role]
        assert [_view(r) for r in mine] == expected, role
        for row in mine:
            assert row["remote_addr"] == "127.0.0.1"
            assert row["encrypted"] is False
            assert int(str(row["latency"])) > 0
        assert {r["local_port" if role == 2 else "remote_port"] for r in mine} == {port}
    stats = [
        r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port and r["protocol"]
    ]
    assert stats and {r["protocol"] for r in stats} == {2}


def test_a_grpc_connection_opened_before_tracing_gives_no_rows() -> None:
    """Its HPACK table is unknown, so nothing may be guessed from it.

    The probes only follow sockets whose connect/accept they saw, so such a connection is not
    traced at all; one whose opening bytes were lost (ring buffer full) is parsed, fails on the
    missing preface and is reported in stirling_error (ConnTracker and Http2Parser unit tests).
    """
    server, port = _server()
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), "before", "-", "after1", "after2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert client.stdin is not None and client.stdout is not None
    tables: TracedTables | None = None
    try:
        assert client.stdout.readline().strip() == "waiting"  # first call done, untraced
        tables = TracedTables()
        client.stdin.write("go\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "done"
        client.wait(30)
        # A fresh connection after the old one, as a control: it must be traced.
        subprocess.run([sys.executable, "-c", CLIENT, str(port), "fresh"], check=True, timeout=60)
        rows = _grpc_rows(tables, port, 2)
    finally:
        _stop(client, server)
        if tables is not None:
            tables.stirling.stop()
    assert sorted((r["trace_role"], r["req_body"]) for r in rows) == [
        (1, '1: "fresh"'),
        (2, '1: "fresh"'),
    ]
