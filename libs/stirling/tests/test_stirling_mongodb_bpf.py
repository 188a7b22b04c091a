"""The real socket tracer on MongoDB: pymongo against the bson-based test server.

Needs root and bcc (`make setup-bpf`); skipped otherwise. No MongoDB server can be installed
here, so the server is pyxie_testing.wire.mongo_server (pymongo's own bson codec and OP_MSG
framing) in a process of its own; the client is pymongo in another.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pyxie_types import UPID
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

CLIENT = r"""
import os, sys, pymongo
client = pymongo.MongoClient("127.0.0.1", int(sys.argv[1]), directConnection=True)
orders = client.shop.orders
orders.insert_one({"order_id": 7, "item": "socks", "qty": 2})
found = list(orders.find({"order_id": 7}, {"_id": 0}))
assert found == [{"order_id": 7, "item": "socks", "qty": 2}], found
# Larger than the 4 KiB the tracer captures per write: rows from the captured start.
orders.insert_many([{"order_id": 100 + i, "note": "n" * 100} for i in range(100)])
assert len(list(orders.find({}, batch_size=500))) == 101
try:
    client.shop.command("frobnicate")
except pymongo.errors.OperationFailure:
    pass
client.close()
print(os.getpid(), flush=True)
"""


@pytest.fixture(scope="module")
def mongo_server() -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyxie_testing.wire.mongo_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening "), line
        yield int(line.split()[1]), proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _pid_of(row: Row) -> int:
    return UPID.from_bytes(row["upid"]).pid  # type: ignore[arg-type]


def test_pymongo_session_gives_exact_rows_on_client_and_server(
    mongo_server: tuple[int, int],
) -> None:
    port, server_pid = mongo_server
    tables = TracedTables()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, str(port)],
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        client_pid = int(done.stdout.split()[-1])

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        # 6 commands on each side (handshakes are not rows).
        rows = tables.wait_for("mongodb_events", ours, 12)
    finally:
        tables.stirling.stop()
    for role, pid in ((1, client_pid), (2, server_pid)):
        mine = [r for r in rows if r["trace_role"] == role]
        assert [(r["req_cmd"], r["resp_status"]) for r in mine] == [
            ("insert", "ok"),
            ("find", "ok"),
            ("insert", "ok"),
            ("find", ""),  # the reply's "ok" is past the captured 4 KiB
            ("frobnicate", "no such command: 'frobnicate'"),
            ("endSessions", "ok"),
        ], role
        assert {_pid_of(r) for r in mine} == {pid}
        insert, find, big_insert, big_find, error, _ = mine
        assert str(big_insert["req_body"]).endswith("... [TRUNCATED]")
        assert str(big_find["resp_body"]).startswith('{"cursor":{"firstBatch":[{"_id":')
        body = json.loads(str(insert["req_body"]))
        assert body["insert"] == "orders" and body["$db"] == "shop"
        assert [{k: v for k, v in d.items() if k != "_id"} for d in body["documents"]] == [
            {"order_id": 7, "item": "socks", "qty": 2}
        ]
        assert json.loads(str(insert["resp_body"])) == {"n": 1, "ok": 1.0}
        assert json.loads(str(find["req_body"]))["filter"] == {"order_id": 7}
        batch = json.loads(str(find["resp_body"]))["cursor"]["firstBatch"]
        assert batch == [{"order_id": 7, "item": "socks", "qty": 2}]
        assert json.loads(str(error["resp_body"]))["code"] == 59
        for row in mine:
            assert int(str(row["latency"])) > 0
        if role == 1:
            assert {r["remote_port"] for r in mine} == {port}
        else:
            assert {r["local_port"] for r in mine} == {port}
    stats = [r for r in tables.rows.get("conn_stats", []) if r["remote_port"] == port]
    assert 9 in {r["protocol"] for r in stats}


ARCHIVE = r"""
import time
from pyxie_testing.demo._mongo import READ_BACK_EVERY, OrderArchive
archive = OrderArchive()
print(archive.port, flush=True)
for order_id in range(1, READ_BACK_EVERY + 1):
    archive.publish(order_id, f"buyer{order_id}@example.com", None)
deadline = time.monotonic() + 30
while archive.read_back == 0 and time.monotonic() < deadline:
    time.sleep(0.05)
archive.close()
assert archive.read_back == 5, archive.read_back
"""


def test_demo_order_archive_gives_insert_and_find_rows() -> None:
    from pyxie_testing.demo._mongo import READ_BACK_EVERY

    # The shop's orders process is another process (the tracer does not trace its own).
    tables = TracedTables()
    try:
        done = subprocess.run(
            [sys.executable, "-c", ARCHIVE], check=True, timeout=60, capture_output=True, text=True
        )
        port = int(done.stdout.split()[0])

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        # Five inserts, one read-back find and endSessions (the client closing), both sides.
        rows = tables.wait_for("mongodb_events", ours, 2 * (READ_BACK_EVERY + 2))
    finally:
        tables.stirling.stop()
    for role in (1, 2):
        mine = [r for r in rows if r["trace_role"] == role]
        commands = ["insert"] * READ_BACK_EVERY + ["find", "endSessions"]
        assert [r["req_cmd"] for r in mine] == commands, role
        assert {r["resp_status"] for r in mine} == {"ok"}
        emails = [json.loads(str(r["req_body"]))["documents"][0]["email"] for r in mine[:-2]]
        assert emails == [f"buyer{i}@example.com" for i in range(1, READ_BACK_EVERY + 1)]
        find = json.loads(str(mine[-2]["req_body"]))
        assert (find["sort"], find["limit"]) == ({"order_id": -1}, 5)
        batch = json.loads(str(mine[-2]["resp_body"]))["cursor"]["firstBatch"]
        assert [d["order_id"] for d in batch] == [5, 4, 3, 2, 1]
