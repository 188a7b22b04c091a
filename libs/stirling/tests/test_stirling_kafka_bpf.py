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


def test_demo_order_records_feed_the_kafka_scripts() -> None:
    """The demo's producer and consumer group, traced, then the Kafka scripts over the rows.

    The clients run in this process, which the tracer leaves out (it never traces its own
    host process), so the rows are the broker's view: the scripts must work from it alone.
    """
    import time

    import pyarrow as pa
    from pyxie_carnot import FunctionContext, run_plan
    from pyxie_carnot.builtins import new_registry
    from pyxie_carnot.metadata import InMemoryMetadataState
    from pyxie_pxl.compiler import CompileOptions, Compiler
    from pyxie_scripts import exec_funcs_from_vis, load_script
    from pyxie_table_store import TableStore
    from pyxie_testing.demo._kafka import OrderRecords
    from pyxie_types import tables as T

    tables = TracedTables()
    records = OrderRecords()
    try:
        deadline = time.monotonic() + 30
        sent = 0
        while (records.consumed < 5 or sent < 5) and time.monotonic() < deadline:
            if sent < 5 and records.consumed == sent:  # one at a time: each fetch finds one
                records.publish(sent, "buyer@example.com", None)
                sent += 1
            time.sleep(0.05)
        assert records.consumed == 5

        def ours(row: Row) -> bool:
            return records.port in (row["remote_port"], row["local_port"])

        rows = tables.wait_for("kafka_events.beta", ours, 60)
    finally:
        records.close()
        tables.stirling.stop()

    store = TableStore()
    store.add_table(T.KAFKA_EVENTS)
    schema = T.KAFKA_EVENTS.relation.arrow_schema()
    rows.sort(key=lambda r: int(str(r["time_"])))
    store.append(
        "kafka_events.beta",
        pa.RecordBatch.from_arrays(
            [pa.array([r[f.name] for r in rows], type=f.type) for f in schema], schema=schema
        ),
    )
    registry = new_registry()
    compiler = Compiler(registry, {t.name: t for t in T.ALL_TABLES})

    def run(name: str) -> dict[str, list[dict[str, object]]]:
        script = load_script(name)
        assert script.vis is not None
        options = CompileOptions(
            now_ns=time.time_ns(), exec_funcs=exec_funcs_from_vis(script.vis, {})
        )
        plan = compiler.compile(script.pxl, options)
        context = FunctionContext(
            registry=registry, metadata=InMemoryMetadataState(host="h"), table_schemas=store.schemas
        )
        result = run_plan(plan.to_plan(), registry, store, func_ctx=context)
        out = {}
        for output, table in result.tables.items():
            for i, column in enumerate(table.schema):
                if pa.types.is_timestamp(column.type):  # as ns integers, not datetimes
                    table = table.set_column(i, column.name, table.column(i).cast(pa.int64()))
            out[output] = table.to_pylist()
        return out

    latency = run("kafka_producer_consumer_latency")
    (per_topic,) = latency["Per topic"]
    assert per_topic["topic"] == "order-created"
    assert 1 <= int(str(per_topic["batches"])) <= 5
    assert int(str(per_topic["latency_p50"])) > 0

    rebalances = run("kafka_consumer_rebalancing")["Rebalances"]
    assert rebalances and {r["group_id"] for r in rebalances} == {"mailers"}
    assert all(int(str(r["rebalance_time"])) > 0 for r in rebalances)
    assert any(r["is_leader"] for r in rebalances)

    overview = run("kafka_overview")
    targets = {r["to_entity"] for r in overview["Producers -> topics -> consumers"]}
    assert "topic order-created" in targets
    (topic,) = overview["Topics"]
    assert int(str(topic["produce_requests"])) == 5
    apis = {r["api"] for r in overview["Requests per client and API"]}
    assert {"Produce", "Fetch", "JoinGroup", "SyncGroup"} <= apis
