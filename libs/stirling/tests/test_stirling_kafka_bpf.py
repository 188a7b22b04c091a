"""The real socket tracer on Kafka: kafka-python against the test broker -> kafka_events rows.

No Kafka broker installs here; the broker is pyxie_testing.wire.kafka_server (kafka-python's own
protocol structs, Kafka 2.8 API versions), run as a process of its own. A KafkaProducer sends
two records with acks=all, a KafkaConsumer with a manual assign() reads them back. Both
processes are traced, so every exchange shows up twice: once as client, once as server.
Needs root and bcc; skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pyxie_types import UPID
from stirling_bpf_support import Row, TracedTables, bpf_skip_reason

pytestmark = [pytest.mark.root, pytest.mark.bpf, pytest.mark.slow]

_reason = bpf_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

CLIENT = r"""
import sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
boot = "127.0.0.1:" + sys.argv[1]
producer = KafkaProducer(bootstrap_servers=boot, client_id="pyxie-producer")
for i in range(2):
    producer.send("order-created", b'{"order_id":%d}' % i).get(timeout=10)
producer.close()
consumer = KafkaConsumer(bootstrap_servers=boot, client_id="pyxie-consumer",
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         fetch_max_wait_ms=100)
consumer.assign([TopicPartition("order-created", 0)])
got = []
deadline = time.monotonic() + 15
while len(got) < 2 and time.monotonic() < deadline:
    for records in consumer.poll(timeout_ms=200).values():
        got += [r.value for r in records]
consumer.close()
assert got == [b'{"order_id":0}', b'{"order_id":1}'], got
"""

PRODUCE_RESPONSE = (
    '{{"responses":[{{"name":"order-created","partition_responses":[{{"index":0,"error_code":0,'
    '"base_offset":{},"log_append_time_ms":-1,"log_start_offset":0,"record_errors":[],'
    '"error_message":null}}]}}],"throttle_time_ms":0}}'
)


def _pid(row: Row) -> int:
    return UPID.from_bytes(row["upid"]).pid  # type: ignore[arg-type]


def test_kafka_produce_and_fetch_give_exact_rows_on_both_sides() -> None:
    tables = TracedTables()
    server = subprocess.Popen(
        [sys.executable, "-m", "pyxie_testing.wire.kafka_server"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = subprocess.run([sys.executable, "-c", CLIENT, str(port)], check=True, timeout=90)
        assert client.returncode == 0

        def ours(row: Row) -> bool:
            return port in (row["remote_port"], row["local_port"])

        # Two produce and at least one fetch with records, on each side.
        def enough(rows: list[Row]) -> bool:
            return len([r for r in rows if r["req_cmd"] in (0, 1)]) >= 6

        rows = tables.wait_for("kafka_events.beta", ours, 24)
        for _ in range(5):
            if enough(rows):
                break
            rows = tables.wait_for("kafka_events.beta", ours, len(rows) + 1)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
        tables.stirling.stop()

    for role, pid in ((1, None), (2, server.pid)):
        mine = [r for r in rows if r["trace_role"] == role]
        if pid is not None:
            assert {_pid(r) for r in mine} == {pid}
            assert {r["local_port"] for r in mine} == {port}
        else:
            assert server.pid not in {_pid(r) for r in mine}
            assert {r["remote_port"] for r in mine} == {port}
        assert all(int(str(r["latency"])) > 0 for r in mine if r["resp"])
        assert {r["encrypted"] for r in mine} == {False}

        producer = [r for r in mine if r["client_id"] == "pyxie-producer"]
        commands = {int(str(r["req_cmd"])) for r in producer}
        assert {18, 3, 0} <= commands <= {18, 3, 0, 22}, commands
        produce = [r for r in producer if r["req_cmd"] == 0]
        assert [r["req_body"] for r in produce] == [
            '{"transactional_id":null,"acks":-1,"timeout_ms":30000,"topic_data":[{"name":'
            '"order-created","partition_data":[{"index":0,"records":{"size":82,'
            '"record_count":1}}]}]}'
        ] * 2
        assert [r["resp"] for r in produce] == [PRODUCE_RESPONSE.format(i) for i in (0, 1)]

        consumer = [r for r in mine if r["client_id"] == "pyxie-consumer"]
        assert {18, 3, 2, 1} <= {int(str(r["req_cmd"])) for r in consumer}
        list_offsets = [json.loads(str(r["resp"])) for r in consumer if r["req_cmd"] == 2]
        assert list_offsets[0]["topics"][0]["partitions"][0]["offset"] == 0
        fetched = []
        for r in consumer:
            if r["req_cmd"] != 1:
                continue
            request = json.loads(str(r["req_body"]))
            response = json.loads(str(r["resp"]))
            (part,) = response["responses"][0]["partitions"]
            assert response["responses"][0]["topic"] == "order-created"
            assert (part["error_code"], part["high_watermark"]) == (0, 2)
            offset = request["topics"][0]["partitions"][0]["fetch_offset"]
            fetched.append((offset, part["records"]["record_count"]))
        assert fetched[0] == (0, 2), fetched
        assert all(count == 0 for _, count in fetched[1:]), fetched

    stats = [r for r in tables.rows.get("conn_stats", []) if port in (r["remote_port"],)]
    assert 10 in {r["protocol"] for r in stats}
