"""The real socket tracer on CQL: cassandra-driver against the CQL test server -> cql_events rows.

The server (pyxie_testing.wire.cql_server, on the driver's own codec) and the client run as
processes of their own; both sides of each connection are traced. Needs root and bcc; skipped
with the reason otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from pyxie_types import UPID
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

CLIENT = r"""
import sys
from cassandra.cluster import Cluster
from cassandra.policies import RoundRobinPolicy

cluster = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4,
                  schema_metadata_enabled=False, token_metadata_enabled=False,
                  load_balancing_policy=RoundRobinPolicy())
session = cluster.connect("shop")
insert = session.prepare("INSERT INTO orders (id, product_id, quantity, email) VALUES (?, ?, ?, ?)")
session.execute(insert, (7, 3, 2, "ann@example.com"))
rows = list(session.execute("SELECT email FROM orders WHERE id = 7"))
assert rows[0].email == "ann@example.com", rows
try:
    session.execute("SELECT * FROM shop.missing")
except Exception:
    pass
cluster.shutdown()
"""

INSERT = "INSERT INTO orders (id, product_id, quantity, email) VALUES (?, ?, ?, ?)"
STARTUP = (
    '{"DRIVER_NAME":"Apache Cassandra Python Driver","DRIVER_VERSION":"3.30.1",'
    '"CQL_VERSION":"3.4.5"}'
)
SUPPORTED = '{"CQL_VERSION":["3.4.5"],"COMPRESSION":[],"PROTOCOL_VERSIONS":["3/v3","4/v4"]}'


def test_driver_session_gives_exact_rows_on_client_and_server() -> None:
    tables = TracedTables()
    server = subprocess.Popen(
        [sys.executable, "-m", "pyxie_testing.wire.cql_server"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = subprocess.run(
            [sys.executable, "-c", CLIENT, str(port)], check=True, timeout=60, capture_output=True
        )
        assert client.returncode == 0

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        # Control connection 7 rows, session connection 7 rows; on both sides.
        rows = tables.wait_for("cql_events", ours, 28)
    finally:
        server.communicate(timeout=10)  # closing stdin stops it
        tables.stirling.stop()
    by_conn: dict[tuple[int, int], list[Row]] = defaultdict(list)
    for row in rows:
        role = int(str(row["trace_role"]))
        client_port = row["local_port"] if role == 1 else row["remote_port"]
        by_conn[(role, int(str(client_port)))].append(row)
    assert len(by_conn) == 4, sorted(by_conn)
    session_rows: dict[int, list[Row]] = {}
    for (role, _), conn_rows in by_conn.items():
        got = [(r["req_op"], r["req_body"], r["resp_op"], r["resp_body"]) for r in conn_rows]
        assert got[0] == (5, "", 6, SUPPORTED)
        assert got[1] == (1, STARTUP, 2, "")
        if got[2][0] == 11:  # the control connection
            assert got[2] == (11, '["TOPOLOGY_CHANGE","STATUS_CHANGE","SCHEMA_CHANGE"]', 2, "")
            assert got[3][2:] == (0, "[8704] unconfigured table peers_v2")
            assert [g[1] for g in got[4:]] == [
                "SELECT host_id, cluster_name, data_center, rack, partitioner, release_version,"
                " schema_version FROM system.local WHERE key='local'",
                "SELECT * FROM system.peers",
                "SELECT rpc_address FROM system.local WHERE key='local'",
            ]
            continue
        session_rows[role] = conn_rows
        assert got[2] == (7, 'USE "shop"', 8, "Response type = SET_KEYSPACE\nKeyspace = shop")
        assert got[3][:3] == (9, INSERT, 8)
        query_id = str(got[3][3]).rsplit(" ", 1)[1]
        assert json.loads(str(got[4][1])) == {
            "query_id": query_id,
            "query": INSERT,
            "values": ["00000007", "00000003", "00000002", b"ann@example.com".hex()],
        }
        assert got[4][2:] == (8, "Response type = VOID")
        assert got[5] == (
            7,
            "SELECT email FROM orders WHERE id = 7",
            8,
            'Response type = ROWS\nNumber of columns = 1\n["email"]\nNumber of rows = 1',
        )
        assert got[6] == (7, "SELECT * FROM shop.missing", 0, "[8704] unconfigured table missing")
        assert len(got) == 7
    assert sorted(session_rows) == [1, 2]
    client_pids = {UPID.from_bytes(r["upid"]).pid for r in session_rows[1]}  # type: ignore[arg-type]
    server_pids = {UPID.from_bytes(r["upid"]).pid for r in session_rows[2]}  # type: ignore[arg-type]
    assert server_pids == {server.pid}
    assert len(client_pids) == 1 and client_pids != server_pids
    for row in session_rows[1] + session_rows[2]:
        assert int(str(row["latency"])) > 0
        assert row["remote_addr"] == "127.0.0.1" and row["encrypted"] is False
    assert {r["remote_port"] for r in session_rows[1]} == {port}
    stats = [r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port]
    assert 4 in {r["protocol"] for r in stats}
