"""The real socket tracer on this kernel: PostgreSQL, Redis and DNS traffic -> pgsql/redis/dns rows.

PostgreSQL is seen from both ends (the client, and the backend the postmaster forks for the
connection); DNS on connected and unconnected UDP sockets.

Needs root and bcc (`make setup-bpf`, which also installs redis-server); skipped with the reason
otherwise. Clients run as subprocesses because the tracer filters out its own process in the
kernel; each test makes a set of distinct requests and checks that exactly those come back as
rows of the client process, with the fields Pixie renders.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyxie_types import UPID
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]


_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

_CLIENT = 1
_SERVER = 2


def _pid_of(row: Row) -> int:
    return UPID.from_bytes(row["upid"]).pid  # type: ignore[arg-type]


def _latency(row: Row) -> int:
    return int(row["latency"])  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def tracer() -> Iterator[TracedTables]:
    t = TracedTables()
    try:
        yield t
    finally:
        t.stirling.stop()


def _run_client(script: str, *args: str) -> tuple[int, str]:
    """Runs a client script in its own process; returns (its pid, its stdout)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return proc.pid, out


# ---- PostgreSQL -----------------------------------------------------------------------------

PG_CLIENT = r"""
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("CREATE TEMP TABLE pyxie_t (id int, name text)")
    conn.execute("INSERT INTO pyxie_t VALUES (1, 'one'), (2, 'two')")
    conn.execute("SELECT id, name FROM pyxie_t ORDER BY id").fetchall()
    conn.execute("SELECT name FROM pyxie_t WHERE id = %s", (2,)).fetchall()
    try:
        conn.execute("SELECT * FROM pyxie_no_such_table")
    except psycopg.errors.UndefinedTable:
        pass
    conn.execute("SELECT 'after-error'").fetchall()
"""


def test_psycopg_simple_extended_and_failing_queries_become_pgsql_events(
    tracer: TracedTables, postgres_server: str
) -> None:
    port = int(postgres_server.rsplit(":", 1)[1].split("/")[0])
    pid, _ = _run_client(PG_CLIENT, postgres_server)

    def mine(row: Row) -> bool:
        return _pid_of(row) == pid and row["remote_port"] == port

    # Simple queries: one Query row each. The parameterised one goes through the extended
    # protocol: Parse, Bind, Describe and Execute rows (one Sync batch).
    rows = tracer.wait_for("pgsql_events", mine, 9)
    queries = [(r["req_cmd"], r["req"], r["resp"]) for r in rows if r["req_cmd"] == "Query"]
    assert queries[:3] == [
        ("Query", "CREATE TEMP TABLE pyxie_t (id int, name text)", "CREATE TABLE"),
        ("Query", "INSERT INTO pyxie_t VALUES (1, 'one'), (2, 'two')", "INSERT 0 2"),
        ("Query", "SELECT id, name FROM pyxie_t ORDER BY id", "id,name\n1,one\n2,two\nSELECT 2"),
    ]
    failed = queries[3]
    assert failed[1] == "SELECT * FROM pyxie_no_such_table"
    assert str(failed[2]).startswith("ERROR RESPONSE [") and "Code=42P01" in str(failed[2])
    assert queries[4] == ("Query", "SELECT 'after-error'", "?column?\nafter-error\nSELECT 1")
    assert len(queries) == 5

    extended = [r for r in rows if r["req_cmd"] != "Query"]
    by_cmd = {str(r["req_cmd"]): r for r in extended}
    assert sorted(by_cmd) == ["Bind", "Describe", "Execute", "Parse"]
    assert len(extended) == 4
    statement = "SELECT name FROM pyxie_t WHERE id = $1"
    assert (by_cmd["Parse"]["req"], by_cmd["Parse"]["resp"]) == (statement, "PARSE COMPLETE")
    assert by_cmd["Bind"]["req"] == (
        "portal= statement= parameters=[[format=kBinary value=2]] result_format_codes=[kText]"
    )
    assert by_cmd["Bind"]["resp"] == "BIND COMPLETE"
    assert by_cmd["Describe"]["req"] == "type=kPortal name="
    assert by_cmd["Execute"]["req"] == f"query=[{statement}] params=[2]"
    # The row description answers Describe; Execute's response is the rows and the tag.
    assert by_cmd["Describe"]["resp"].startswith("ROW DESCRIPTION [")  # type: ignore[union-attr]
    assert "name=name" in str(by_cmd["Describe"]["resp"])
    assert by_cmd["Execute"]["resp"] == "two\nSELECT 1"

    for row in rows:
        assert _latency(row) > 0
        assert row["trace_role"] == _CLIENT
        assert row["remote_addr"] == "127.0.0.1" and row["encrypted"] is False
        assert row["local_port"] != 0
    stats = tracer.wait_for(
        "conn_stats", lambda r: _pid_of(r) == pid and r["remote_port"] == port, 1
    )
    assert {r["protocol"] for r in stats} == {5}  # kProtocolPGSQL


PG_BACKEND_CLIENT = r"""
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    port = conn.execute("SELECT inet_client_port()").fetchone()[0]
    print(conn.info.backend_pid, port, flush=True)
    conn.execute("SELECT 'served by a backend'").fetchall()
    conn.execute("SELECT 40 + %s", (2,)).fetchall()
"""


def test_the_postgres_backend_forked_for_a_connection_gives_the_server_side_rows(
    tracer: TracedTables, postgres_server: str
) -> None:
    # The postmaster accepts the connection and forks a backend, which serves it on the
    # inherited fd: the rows of the server side belong to that backend, not to the postmaster.
    port = int(postgres_server.rsplit(":", 1)[1].split("/")[0])
    client_pid, out = _run_client(PG_BACKEND_CLIENT, postgres_server)
    backend_pid, client_port = (int(v) for v in out.split())
    assert backend_pid != client_pid

    def served(row: Row) -> bool:
        return _pid_of(row) == backend_pid and row["trace_role"] == _SERVER

    def asked(row: Row) -> bool:
        return _pid_of(row) == client_pid and row["trace_role"] == _CLIENT

    # Query x2 (the backend pid is known from the startup, not a query), then the extended
    # protocol's Parse, Bind, Describe, Execute.
    server_rows = tracer.wait_for("pgsql_events", served, 7)
    client_rows = tracer.wait_for("pgsql_events", asked, 7)
    seen_by_server = [(r["req_cmd"], r["req"], r["resp"]) for r in server_rows]
    assert seen_by_server == [(r["req_cmd"], r["req"], r["resp"]) for r in client_rows]
    assert seen_by_server[:2] == [
        ("Query", "SELECT inet_client_port()", f"inet_client_port\n{client_port}\nSELECT 1"),
        ("Query", "SELECT 'served by a backend'", "?column?\nserved by a backend\nSELECT 1"),
    ]
    assert sorted(str(c) for c, _, _ in seen_by_server[2:]) == [
        "Bind", "Describe", "Execute", "Parse"]  # fmt: skip
    for row in server_rows:
        assert row["local_port"] == port and row["local_addr"] == "127.0.0.1"
        assert row["remote_port"] == client_port and row["remote_addr"] == "127.0.0.1"
        assert _latency(row) > 0
    stats = tracer.wait_for(
        "conn_stats", lambda r: _pid_of(r) == backend_pid and r["trace_role"] == _SERVER, 1
    )
    assert {(r["remote_port"], r["protocol"]) for r in stats} == {(client_port, 5)}


# ---- Redis ------------------------------------------------------------------------------------


# A minimal RESP client: each batch is written at once and the replies read back; the last
# batch is a pipeline of three commands in one write.
REDIS_CLIENT = r"""
import json, socket, sys
port, batches = int(sys.argv[1]), json.loads(sys.argv[2])
sock = socket.create_connection(("127.0.0.1", port))
def enc(parts):
    out = b"*%d\r\n" % len(parts)
    for p in parts:
        p = p.encode()
        out += b"$%d\r\n%s\r\n" % (len(p), p)
    return out
buf = b""
def reply():
    global buf
    # Reads one reply of the shapes this client provokes (status, error, int, bulk, array).
    def line():
        global buf
        while b"\r\n" not in buf:
            buf += sock.recv(65536)
        l, _, buf = buf.partition(b"\r\n")
        return l
    def value():
        global buf
        l = line()
        if l[:1] in (b"+", b"-", b":"):
            return l.decode()
        if l[:1] == b"$":
            n = int(l[1:])
            if n < 0:
                return None
            while len(buf) < n + 2:
                buf += sock.recv(65536)
            v, buf = buf[:n], buf[n + 2:]
            return v.decode()
        if l[:1] == b"*":
            return [value() for _ in range(int(l[1:]))]
        raise ValueError(l)
    return value()
for batch in batches:
    sock.sendall(b"".join(enc(c) for c in batch))
    for _ in batch:
        print(json.dumps(reply()))
sock.close()
"""


@contextlib.contextmanager
def _redis_server(workdir: Path) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (run `make setup-bpf`, which installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with _redis_server(tmp_path_factory.mktemp("redis")) as port:
        yield port


def test_redis_commands_and_a_pipeline_become_redis_events(
    tracer: TracedTables, redis_port: int
) -> None:
    batches = [
        [["SET", "pyxie:k1", "v1"]],
        [["GET", "pyxie:k1"]],
        [["GET", "pyxie:missing"]],
        [["HSET", "pyxie:h", "f1", "a", "f2", "b"]],
        [["RPUSH", "pyxie:l", "x", "y", "z"]],
        [["LRANGE", "pyxie:l", "0", "-1"]],
        [["INCR", "pyxie:k1"]],  # an error reply: the value is not an integer
        [["SET", "pyxie:p1", "1"], ["INCRBY", "pyxie:p1", "41"], ["DEL", "pyxie:p1"]],
    ]
    pid, out = _run_client(REDIS_CLIENT, str(redis_port), json.dumps(batches))
    replies = [json.loads(line) for line in out.splitlines()]
    assert replies[:3] == ["+OK", "v1", None]  # the client really talked to redis

    rows = tracer.wait_for(
        "redis_events", lambda r: _pid_of(r) == pid and r["remote_port"] == redis_port, 10
    )
    got = [(r["req_cmd"], json.loads(str(r["req_args"])), r["resp"]) for r in rows]
    # Pixie's rendering: arguments named after the command's documented syntax, errors without
    # their "-" marker, arrays as JSON.
    hset_pairs = [{"field": "f1"}, {"value": "a"}, {"field": "f2"}, {"value": "b"}]
    assert got == [
        ("SET", {"key": "pyxie:k1", "value": "v1", "options": []}, "OK"),
        ("GET", {"key": "pyxie:k1"}, "v1"),
        ("GET", {"key": "pyxie:missing"}, "<NULL>"),
        ("HSET", {"key": "pyxie:h", "field value": hset_pairs}, "2"),
        ("RPUSH", {"key": "pyxie:l", "element": ["x", "y", "z"]}, "3"),
        ("LRANGE", {"key": "pyxie:l", "start": "0", "stop": "-1"}, '["x","y","z"]'),
        ("INCR", {"key": "pyxie:k1"}, "ERR value is not an integer or out of range"),
        ("SET", {"key": "pyxie:p1", "value": "1", "options": []}, "OK"),
        ("INCRBY", {"key": "pyxie:p1", "increment": "41"}, "42"),
        ("DEL", {"key": ["pyxie:p1"]}, "1"),
    ]
    for row in rows:
        assert _latency(row) > 0
        assert row["trace_role"] == _CLIENT and row["remote_addr"] == "127.0.0.1"
        assert row["local_port"] != 0

    server_rows = tracer.wait_for(
        "redis_events", lambda r: r["trace_role"] == _SERVER and r["local_port"] == redis_port, 10
    )
    assert [r["req_cmd"] for r in server_rows] == [c for c, _, _ in got]
    assert all(_latency(r) > 0 for r in server_rows)


def test_a_server_listening_before_the_tracer_started_gets_its_local_port(
    tracer: TracedTables, tmp_path: Path
) -> None:
    # bind() and listen() happen before this second tracer loads, so only the handshake tells
    # it the local endpoint of the accepted connection.
    with _redis_server(tmp_path) as port:
        late = TracedTables()
        try:
            _run_client(REDIS_CLIENT, str(port), json.dumps([[["PING"]]]))
            rows = late.wait_for(
                "redis_events", lambda r: r["trace_role"] == _SERVER and r["req_cmd"] == "PING", 1
            )
        finally:
            late.stirling.stop()
    assert len(rows) == 1
    assert rows[0]["local_port"] == port and rows[0]["local_addr"] == "127.0.0.1"
    assert rows[0]["remote_addr"] == "127.0.0.1" and rows[0]["resp"] == "PONG"


# ---- DNS --------------------------------------------------------------------------------------

_ZONE: dict[str, list[tuple[int, bytes]]] = {
    # name -> answers (type, rdata); a CNAME's target is answered in the same response.
    "svc.pyxie.test": [(1, socket.inet_aton("10.1.2.3"))],
    "v6.pyxie.test": [(28, socket.inet_pton(socket.AF_INET6, "fd00::42"))],
    "alias.pyxie.test": [(5, b""), (1, socket.inet_aton("10.9.9.9"))],
}


def _encode_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def _dns_answer(query: bytes) -> bytes:
    txid, _flags = struct.unpack(">HH", query[:4])
    pos = 12
    labels = []
    while query[pos]:
        labels.append(query[pos + 1 : pos + 1 + query[pos]].decode())
        pos += 1 + query[pos]
    qtype = struct.unpack(">H", query[pos + 1 : pos + 3])[0]
    question = query[12 : pos + 5]
    name = ".".join(labels)
    answers = []
    for rtype, rdata in _ZONE.get(name, []):
        if rtype == 5:
            target = "svc.pyxie.test"
            rdata = _encode_name(target)
            answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, len(rdata)) + rdata)
        elif rtype == qtype:
            answers.append(b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata)
    rcode = 0 if name in _ZONE else 3
    header = struct.pack(">HHHHHH", txid, 0x8180 | rcode, 1, len(answers), 0, 0)
    return header + question + b"".join(answers)


@contextlib.contextmanager
def _dns_responder() -> Iterator[int]:
    """A tiny authoritative UDP responder in this (untraced) process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            sock.sendto(_dns_answer(data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        sock.close()


@pytest.fixture
def dns_port() -> Iterator[int]:
    with _dns_responder() as port:
        yield port


DNS_CLIENT = r"""
import socket, struct, sys
port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(("127.0.0.1", port))
for txid, item in enumerate(sys.argv[2:], start=0x4200):
    name, qtype = item.split(",")
    q = struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", int(qtype), 1)
    sock.send(q)
    sock.recv(512)
sock.close()
"""


def test_dns_queries_on_a_connected_udp_socket_become_dns_events(
    tracer: TracedTables, dns_port: int
) -> None:
    asked = [("svc.pyxie.test", 1), ("v6.pyxie.test", 28), ("alias.pyxie.test", 1),
             ("nx.pyxie.test", 1)]  # fmt: skip
    pid, _ = _run_client(DNS_CLIENT, str(dns_port), *[f"{n},{t}" for n, t in asked])
    rows = tracer.wait_for(
        "dns_events", lambda r: _pid_of(r) == pid and r["remote_port"] == dns_port, len(asked)
    )
    assert len(rows) == len(asked)
    by_txid = {json.loads(str(r["req_header"]))["txid"]: r for r in rows}
    assert sorted(by_txid) == [0x4200 + i for i in range(len(asked))]
    expected_answers = [
        [{"name": "svc.pyxie.test", "type": "A", "addr": "10.1.2.3"}],
        [{"name": "v6.pyxie.test", "type": "AAAA", "addr": "fd00::42"}],
        [
            {"name": "alias.pyxie.test", "type": "CNAME", "cname": "svc.pyxie.test"},
            {"name": "alias.pyxie.test", "type": "A", "addr": "10.9.9.9"},
        ],
        [],
    ]
    for i, (name, qtype) in enumerate(asked):
        row = by_txid[0x4200 + i]
        req_header = json.loads(str(row["req_header"]))
        resp_header = json.loads(str(row["resp_header"]))
        assert req_header["qr"] == 0 and req_header["rd"] == 1 and req_header["num_queries"] == 1
        assert resp_header["qr"] == 1 and resp_header["txid"] == 0x4200 + i
        assert resp_header["rcode"] == (3 if name.startswith("nx.") else 0)
        assert resp_header["num_answers"] == len(expected_answers[i])
        assert json.loads(str(row["req_body"])) == {
            "queries": [{"name": name, "type": "A" if qtype == 1 else "AAAA"}]
        }
        assert json.loads(str(row["resp_body"])) == {"answers": expected_answers[i]}
        assert _latency(row) > 0
        assert row["trace_role"] == _CLIENT and row["remote_addr"] == "127.0.0.1"


@pytest.fixture
def second_dns_port() -> Iterator[int]:
    with _dns_responder() as port:
        yield port


# dnspython's dns.query.udp: a fresh unconnected socket per query, sendto + recvfrom. Then one
# unconnected socket that asks two resolvers in turn with sendmsg/recvmsg carrying msg_name.
DNS_UNCONNECTED_CLIENT = r"""
import socket, struct, sys
import dns.message, dns.query, dns.rdatatype
first, second = int(sys.argv[1]), int(sys.argv[2])
for name in ("svc.pyxie.test", "nx.pyxie.test"):
    q = dns.message.make_query(name, dns.rdatatype.A)
    q.id = 0x5100 if name.startswith("svc") else 0x5101
    dns.query.udp(q, "127.0.0.1", port=first, timeout=5)
def query(txid, name):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for txid, port in ((0x5200, first), (0x5201, second), (0x5202, first)):
    s.sendmsg([query(txid, "alias.pyxie.test")], [], 0, ("127.0.0.1", port))
    data, _, _, peer = s.recvmsg(512)
    assert peer[1] == port and data[:2] == struct.pack(">H", txid)
s.close()
"""


def test_dns_on_unconnected_udp_sockets_names_the_peer_of_each_exchange(
    tracer: TracedTables, dns_port: int, second_dns_port: int
) -> None:
    pid, _ = _run_client(DNS_UNCONNECTED_CLIENT, str(dns_port), str(second_dns_port))
    rows = tracer.wait_for("dns_events", lambda r: _pid_of(r) == pid, 5)
    got = {
        json.loads(str(r["req_header"]))["txid"]: (
            r["remote_port"],
            json.loads(str(r["req_body"]))["queries"][0]["name"],
            json.loads(str(r["resp_header"]))["rcode"],
            r["trace_role"],
            r["remote_addr"],
        )
        for r in rows
    }
    assert len(rows) == 5
    assert got == {
        0x5100: (dns_port, "svc.pyxie.test", 0, _CLIENT, "127.0.0.1"),
        0x5101: (dns_port, "nx.pyxie.test", 3, _CLIENT, "127.0.0.1"),
        0x5200: (dns_port, "alias.pyxie.test", 0, _CLIENT, "127.0.0.1"),
        0x5201: (second_dns_port, "alias.pyxie.test", 0, _CLIENT, "127.0.0.1"),
        0x5202: (dns_port, "alias.pyxie.test", 0, _CLIENT, "127.0.0.1"),
    }
    answers = {
        json.loads(str(r["req_header"]))["txid"]: json.loads(str(r["resp_body"]))["answers"]
        for r in rows
    }
    assert answers[0x5100] == [{"name": "svc.pyxie.test", "type": "A", "addr": "10.1.2.3"}]
    assert answers[0x5201] == [
        {"name": "alias.pyxie.test", "type": "CNAME", "cname": "svc.pyxie.test"},
        {"name": "alias.pyxie.test", "type": "A", "addr": "10.9.9.9"},
    ]
    assert all(_latency(r) > 0 for r in rows)
