"""The bundled script library: it loads, every script compiles, runs, and computes correctly."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from pyxie_carnot import FunctionContext, run_plan
from pyxie_carnot.metadata import (
    ContainerInfo,
    InMemoryMetadataState,
    PodInfo,
    ProcessInfo,
    ServiceInfo,
)
from pyxie_pxl.compiler import CompileOptions
from pyxie_scripts import exec_funcs_from_vis, list_scripts, load_script
from pyxie_synthetic import synthetic_store
from pyxie_table_store import TableStore
from pyxie_types import UPID
from pyxie_types import tables as T

from .conftest import NOW_NS

EXPECTED = [
    "agent_status",
    "agent_status_diagnostics",
    "amqp_data",
    "amqp_flow_graph",
    "amqp_stats",
    "cluster",
    "cql_data",
    "cql_flow_graph",
    "cql_stats",
    "dns_data",
    "dns_flow_graph",
    "dns_stats",
    "funcs",
    "http_data",
    "http_flow_graph",
    "http_request_stats",
    "inbound_conns",
    "mongodb_data",
    "mongodb_flow_graph",
    "mongodb_stats",
    "kafka_consumer_rebalancing",
    "kafka_data",
    "kafka_overview",
    "kafka_producer_consumer_latency",
    "mux_data",
    "mux_flow_graph",
    "mux_stats",
    "mysql_data",
    "mysql_flow_graph",
    "mysql_stats",
    "namespace",
    "namespaces",
    "nats_data",
    "net_flow_graph",
    "network_stats",
    "node",
    "nodes",
    "outbound_conns",
    "perf_flamegraph",
    "pgsql_data",
    "pgsql_flow_graph",
    "pgsql_stats",
    "pid_memory_usage",
    "pod",
    "pods",
    "redis_data",
    "redis_flow_graph",
    "redis_stats",
    "schemas",
    "service",
    "service_map",
    "service_stats",
    "services",
    "slow_http_requests",
    "sql_queries",
    "stirling_errors",
    "upids",
]


def options_for(name: str, **overrides: str) -> tuple[str, CompileOptions]:
    script = load_script(name)
    funcs = exec_funcs_from_vis(script.vis, overrides) if script.vis else []
    return script.pxl, CompileOptions(now_ns=NOW_NS, exec_funcs=funcs)


def test_every_bundled_script_is_compiled_here():
    assert list_scripts() == sorted(f"px/{n}" for n in EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_bundled_script_compiles(compiler, name):
    source, options = options_for(name)
    plan = compiler.compile(source, options)
    assert plan.output_names


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_store(now_ns=NOW_NS, events_per_table=400)


@pytest.mark.parametrize("name", EXPECTED)
def test_bundled_script_runs_over_synthetic_data(compiler, registry, synthetic, name):
    store, cluster = synthetic
    source, options = options_for(name)
    plan = compiler.compile(source, options)
    context = FunctionContext(
        registry=registry, metadata=cluster.metadata, hostname="node-1", table_schemas=store.schemas
    )
    result = run_plan(plan.to_plan(), registry, store, func_ctx=context)
    assert set(result.tables) == set(plan.output_names)
    if name not in NO_SYNTHETIC_ROWS:
        assert sum(t.num_rows for t in result.tables.values()) > 0


# Scripts over tables the synthetic generator leaves empty (or over the agent registry).
NO_SYNTHETIC_ROWS = {
    "agent_status",  # no agent registry in this process
    "amqp_data",  # amqp_events
    "amqp_flow_graph",
    "amqp_stats",
    "cql_data",  # cql_events
    "cql_flow_graph",
    "cql_stats",
    "mongodb_data",  # mongodb_events
    "mongodb_flow_graph",
    "mongodb_stats",
    "kafka_consumer_rebalancing",  # kafka_events.beta
    "kafka_data",
    "kafka_overview",
    "kafka_producer_consumer_latency",
    "mux_data",  # mux_events
    "mux_flow_graph",
    "mux_stats",
    "nats_data",  # nats_events.beta
    "perf_flamegraph",  # stack_traces.beta
    "stirling_errors",  # stirling_error, probe_status
}


# ------------------------------------------------------------------------------ hand-built data

SEC = 1_000_000_000
MS = 1_000_000


def _cluster() -> tuple[InMemoryMetadataState, dict[str, tuple[UPID, str]]]:
    metadata = InMemoryMetadataState(host="node-1")
    procs: dict[str, tuple[UPID, str]] = {}
    for index, service in enumerate(["cart", "shop", "client"]):
        upid = UPID(1, 100 + index, 7)
        ip = f"10.1.0.{index + 1}"
        metadata.add_all(
            pods=[
                PodInfo(
                    uid=f"p{index}",
                    name=f"{service}-0",
                    namespace="ns",
                    pod_ip=ip,
                    container_ids=(f"c{index}",),
                )
            ],
            containers=[ContainerInfo(cid=f"c{index}", name=service, pod_id=f"p{index}")],
            processes=[ProcessInfo(upid=upid.value, container_id=f"c{index}")],
            services=[
                ServiceInfo(uid=f"s{index}", name=service, namespace="ns", pod_ids=(f"p{index}",))
            ],
        )
        procs[service] = (upid, ip)
    return metadata, procs


def _http_batch(
    rows: list[tuple[str, int, int, int]],
    procs: dict[str, tuple[UPID, str]],
) -> pa.RecordBatch:
    """rows: (server service, seconds before now, status, latency ms)."""
    columns: dict[str, list[object]] = {c.name: [] for c in T.HTTP_EVENTS.columns}
    client_ip = procs["client"][1]
    for service, ago, status, latency_ms in sorted(rows, key=lambda r: -r[1]):
        upid, ip = procs[service]
        values = {
            "time_": NOW_NS - ago * SEC,
            "upid": upid.to_bytes(),
            "remote_addr": client_ip,
            "remote_port": 40000,
            "local_addr": ip,
            "local_port": 80,
            "trace_role": 2,
            "encrypted": False,
            "major_version": 1,
            "minor_version": 1,
            "content_type": 0,
            "req_headers": "{}",
            "req_method": "GET",
            "req_path": "/",
            "req_body": "",
            "req_body_size": 0,
            "resp_headers": "{}",
            "resp_status": status,
            "resp_message": "",
            "resp_body": "",
            "resp_body_size": 0,
            "latency": latency_ms * MS,
        }
        for name, column in columns.items():
            column.append(values[name])
    schema = T.HTTP_EVENTS.relation.arrow_schema()
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
    )


def test_http_request_stats_counts_errors_and_latency_per_service(compiler, registry):
    metadata, procs = _cluster()
    rows = [("cart", 10 + i, 500 if i % 4 == 0 else 200, 10 + i) for i in range(40)]
    rows += [("shop", 20 + i, 200, 100) for i in range(10)]
    rows += [("cart", 3600, 500, 1)]  # outside the 5 minute window
    store = TableStore()
    store.add_table(T.HTTP_EVENTS)
    store.append("http_events", _http_batch(rows, procs))

    source, options = options_for("http_request_stats")
    plan = compiler.compile(source, options)
    context = FunctionContext(registry=registry, metadata=metadata, table_schemas=store.schemas)
    result = run_plan(plan.to_plan(), registry, store, func_ctx=context)

    stats = {
        json.loads(r["service"])["label"]: r for r in result.tables["Service Stats"].to_pylist()
    }
    assert set(stats) == {"ns/cart", "ns/shop"}
    assert stats["ns/cart"]["request_count"] == 40
    assert stats["ns/cart"]["error_rate"] == pytest.approx(10 / 40)
    assert stats["ns/shop"]["request_count"] == 10
    assert stats["ns/shop"]["error_rate"] == 0.0
    # cart latencies are 10..49 ms: p50 about 29.5 ms; shop is always 100 ms.
    assert stats["ns/cart"]["latency_p50"] == pytest.approx(29.5 * MS, rel=0.05)
    assert stats["ns/cart"]["latency_p99"] == pytest.approx(49 * MS, rel=0.05)
    assert stats["ns/shop"]["latency_p90"] == pytest.approx(100 * MS, rel=0.01)

    series = result.tables["timeseries"].to_pylist()
    assert sum(r["requests_per_s"] * 10 for r in series) == pytest.approx(50)


def test_cql_scripts_name_opcodes_and_count_errors(compiler, registry):
    metadata, procs = _cluster()
    upid, ip = procs["cart"]
    client_ip = procs["client"][1]
    exchanges = [  # (seconds ago, req_op, req_body, resp_op, resp_body, latency ms)
        (30, 7, "SELECT * FROM shop.orders", 8, "Response type = ROWS", 2),
        (25, 7, "SELEC 1", 0, "[8192] syntax error", 1),
        (20, 10, '{"query_id":"ab","values":[]}', 8, "Response type = VOID", 4),
        (15, 7, "SELECT * FROM shop.orders", 8, "Response type = ROWS", 6),
    ]
    columns: dict[str, list[object]] = {c.name: [] for c in T.CQL_EVENTS.columns}
    for ago, req_op, req_body, resp_op, resp_body, latency_ms in exchanges:
        values = {
            "time_": NOW_NS - ago * SEC, "upid": upid.to_bytes(), "remote_addr": client_ip,
            "remote_port": 40000, "local_addr": ip, "local_port": 9042, "trace_role": 2,
            "encrypted": False, "req_op": req_op, "req_body": req_body, "resp_op": resp_op,
            "resp_body": resp_body, "latency": latency_ms * MS,
        }  # fmt: skip
        for name, column in columns.items():
            column.append(values[name])
    schema = T.CQL_EVENTS.relation.arrow_schema()
    store = TableStore()
    store.add_table(T.CQL_EVENTS)
    store.append(
        "cql_events",
        pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name], f.type) for f in schema], schema=schema
        ),
    )
    context = FunctionContext(registry=registry, metadata=metadata, table_schemas=store.schemas)

    def run(name: str) -> dict[str, list[dict[str, object]]]:
        source, options = options_for(name)
        result = run_plan(
            compiler.compile(source, options).to_plan(), registry, store, func_ctx=context
        )
        return {k: v.to_pylist() for k, v in result.tables.items()}

    (data,) = run("cql_data").values()
    assert [(r["req_op"], r["resp_op"], r["destination"]) for r in data] == [
        ("Query", "Result", "ns/cart-0"), ("Query", "Error", "ns/cart-0"),
        ("Execute", "Result", "ns/cart-0"), ("Query", "Result", "ns/cart-0"),
    ]  # fmt: skip
    stats = run("cql_stats")["Requests"]
    by_op: dict[object, list[int]] = {}
    for row in stats:
        counts = by_op.setdefault(row["op"], [0, 0])
        counts[0] += int(str(row["requests"]))
        counts[1] += int(str(row["errors"]))
    assert by_op == {"Query": [3, 1], "Execute": [1, 0]}
    (edge,) = run("cql_flow_graph")["Edges"]
    assert (edge["server"], edge["requests"], edge["errors"]) == ("ns/cart-0", 4, 1)


def test_inbound_conns_takes_the_growth_of_cumulative_counters(compiler, registry):
    metadata, procs = _cluster()
    upid, _ = procs["cart"]
    columns: dict[str, list[object]] = {c.name: [] for c in T.CONN_STATS.columns}
    for step, (opened, sent) in enumerate([(10, 1000), (15, 4000), (22, 9000)]):
        values = {
            "time_": NOW_NS - (30 - 10 * step) * SEC,
            "upid": upid.to_bytes(),
            "remote_addr": procs["client"][1],
            "remote_port": 0,
            "trace_role": 2,
            "addr_family": 2,
            "protocol": 1,
            "ssl": False,
            "conn_open": opened,
            "conn_close": 0,
            "conn_active": opened,
            "bytes_sent": sent,
            "bytes_recv": 2 * sent,
        }
        for name, column in columns.items():
            column.append(values[name])
    schema = T.CONN_STATS.relation.arrow_schema()
    store = TableStore()
    store.add_table(T.CONN_STATS)
    store.append(
        "conn_stats",
        pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
        ),
    )

    source, options = options_for("inbound_conns")
    plan = compiler.compile(source, options)
    context = FunctionContext(registry=registry, metadata=metadata, table_schemas=store.schemas)
    table = run_plan(plan.to_plan(), registry, store, func_ctx=context).tables
    (row,) = table["Inbound Connections"].to_pylist()
    assert row["pod"] == "ns/cart-0"
    assert row["remote_pod"] == "ns/client-0"
    assert (row["connections"], row["bytes_sent"], row["bytes_recv"]) == (12, 8000, 16000)


def test_mongodb_stats_counts_commands_failures_and_latency(compiler, registry):
    metadata, procs = _cluster()
    upid, ip = procs["shop"]
    # (seconds before now, command, status, latency ms); w: 0 writes have no reply.
    events = [(10 + i, "insert", "ok", 2) for i in range(6)]
    events += [(20 + i, "find", "ok" if i % 2 else "no such command: 'find'", 4) for i in range(4)]
    events += [(30, "insert", "", 0)]
    columns: dict[str, list[object]] = {c.name: [] for c in T.MONGODB_EVENTS.columns}
    for ago, cmd, status, latency_ms in sorted(events, key=lambda e: -e[0]):
        values = {
            "time_": NOW_NS - ago * SEC,
            "upid": upid.to_bytes(),
            "remote_addr": procs["cart"][1],
            "remote_port": 27017,
            "local_addr": ip,
            "local_port": 40000,
            "trace_role": 1,
            "encrypted": False,
            "req_cmd": cmd,
            "req_body": "{}",
            "resp_status": status,
            "resp_body": "{}",
            "latency": latency_ms * MS,
        }
        for name, column in columns.items():
            column.append(values[name])
    schema = T.MONGODB_EVENTS.relation.arrow_schema()
    store = TableStore()
    store.add_table(T.MONGODB_EVENTS)
    store.append(
        "mongodb_events",
        pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
        ),
    )
    context = FunctionContext(registry=registry, metadata=metadata, table_schemas=store.schemas)

    source, options = options_for("mongodb_stats")
    result = run_plan(
        compiler.compile(source, options).to_plan(), registry, store, func_ctx=context
    )
    commands = {r["req_cmd"]: r for r in result.tables["Commands"].to_pylist()}
    assert {k: (v["requests"], v["failures"]) for k, v in commands.items()} == {
        "insert": (7, 0),
        "find": (4, 2),
    }
    assert commands["find"]["latency_p50"] == pytest.approx(4 * MS, rel=0.01)
    assert {r["role"] for r in result.tables["Commands"].to_pylist()} == {"client"}
    series = result.tables["Requests"].to_pylist()
    assert sum(r["requests"] for r in series) == 11
    assert sum(r["failures"] for r in series) == 2

    source, options = options_for("mongodb_flow_graph")
    result = run_plan(
        compiler.compile(source, options).to_plan(), registry, store, func_ctx=context
    )
    (edge,) = result.tables["Edges"].to_pylist()
    assert (edge["client"], edge["server"], edge["requests"], edge["failures"]) == (
        "ns/shop-0",
        "ns/cart-0",
        11,
        2,
    )


def _kafka_store(
    rows: list[tuple[str, int, int, int, str, str, str]], procs, *, broker_side: bool = False
) -> TableStore:
    """rows: (client service, ms before now (response), latency ms, api key, client id,
    req_body, resp), traced on the client, the broker at 10.9.0.1:9092. ``broker_side`` adds
    the broker's view of each exchange (process "client", 1 ms later start and earlier end)."""
    columns: dict[str, list[object]] = {c.name: [] for c in T.KAFKA_EVENTS.columns}
    for service, ago_ms, latency_ms, key, client_id, body, resp in rows:
        upid, ip = procs[service]
        views = [(upid, 1, "10.9.0.1", 9092, ip, 40000, ago_ms, latency_ms)]
        if broker_side:
            broker = procs["client"][0]
            views.append((broker, 2, ip, 40000, "10.9.0.1", 9092, ago_ms + 1, latency_ms - 2))
        for upid_, role, raddr, rport, laddr, lport, ago, latency in views:
            values = {
                "time_": NOW_NS - ago * MS,
                "upid": upid_.to_bytes(),
                "remote_addr": raddr,
                "remote_port": rport,
                "local_addr": laddr,
                "local_port": lport,
                "trace_role": role,
                "encrypted": False,
                "req_cmd": key,
                "client_id": client_id,
                "req_body": body,
                "resp": resp,
                "latency": latency * MS,
            }
            for name, column in columns.items():
                column.append(values[name])
    schema = T.KAFKA_EVENTS.relation.arrow_schema()
    store = TableStore()
    store.add_table(T.KAFKA_EVENTS)
    store.append(
        "kafka_events.beta",
        pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
        ),
    )
    return store


def _produce(offset: int) -> tuple[str, str]:
    body = json.dumps(
        {
            "acks": -1,
            "topic_data": [
                {
                    "name": "orders",
                    "partition_data": [{"index": 0, "records": {"size": 82, "record_count": 1}}],
                }
            ],
        }
    )
    resp = json.dumps(
        {
            "responses": [
                {
                    "name": "orders",
                    "partition_responses": [{"index": 0, "error_code": 0, "base_offset": offset}],
                }
            ]
        }
    )
    return body, resp


def _fetch(offset: int, records: int) -> tuple[str, str]:
    body = json.dumps(
        {"topics": [{"topic": "orders", "partitions": [{"partition": 0, "fetch_offset": offset}]}]}
    )
    part = {"partition_index": 0, "error_code": 0, "high_watermark": offset + records}
    part["records"] = {"size": 80 * records, "record_count": records}
    return body, json.dumps({"responses": [{"topic": "orders", "partitions": [part]}]})


def _run_kafka(compiler, registry, name: str, store: TableStore, metadata) -> dict[str, list]:
    source, options = options_for(name)
    plan = compiler.compile(source, options)
    context = FunctionContext(registry=registry, metadata=metadata, table_schemas=store.schemas)
    tables = run_plan(plan.to_plan(), registry, store, func_ctx=context).tables
    return {k: v.to_pylist() for k, v in tables.items()}


@pytest.mark.parametrize("broker_side", [False, True])
def test_kafka_producer_consumer_latency_pairs_produce_and_fetch_by_offset(
    compiler, registry, broker_side
):
    metadata, procs = _cluster()
    rows = []
    # shop produces offsets 0..2 (each 5 ms), cart fetches each 20 ms after the produce began;
    # an empty fetch and a fetch from the middle of a batch are not matched.
    for offset in range(3):
        start = 9000 - offset * 1000  # ms before now when the produce started
        rows.append(("shop", start - 5, 5, 0, "orders", *_produce(offset)))
        rows.append(("cart", start - 20, 10, 1, "mailer", *_fetch(offset, 1)))
    rows.append(("cart", 100, 500, 1, "mailer", *_fetch(3, 0)))
    rows.append(("cart", 50, 5, 1, "mailer", *_fetch(7, 2)))
    store = _kafka_store(rows, procs, broker_side=broker_side)
    out = _run_kafka(compiler, registry, "kafka_producer_consumer_latency", store, metadata)
    (per_topic,) = out["Per topic"]
    assert (per_topic["topic"], per_topic["producer"], per_topic["consumer"]) == (
        "orders",
        "ns/shop-0",
        "ns/cart-0",
    )
    assert per_topic["batches"] == 3
    # Each exchange counts once; with the broker's view, its earlier fetch end is kept.
    expected = 19 if broker_side else 20
    assert per_topic["latency_p50"] == pytest.approx(expected * MS, rel=0.01)
    assert sum(r["batches"] for r in out["Produce to consume latency (p99)"]) == 3

    overview = _run_kafka(compiler, registry, "kafka_overview", store, metadata)
    edges = {
        (r["from_entity"], r["to_entity"]): r["requests"]
        for r in overview["Producers -> topics -> consumers"]
    }
    assert edges == {("ns/shop-0", "topic orders"): 3, ("topic orders", "ns/cart-0"): 5}
    (topic,) = overview["Topics"]
    assert (topic["produce_requests"], topic["fetch_requests"]) == (3, 5)
    apis = {
        (r["client"], r["api"], r["seen_by"]): r["requests"]
        for r in overview["Requests per client and API"]
    }
    views = ["client", "broker"] if broker_side else ["client"]
    assert apis == {
        (pod, api, view): n
        for view in views
        for pod, api, n in (("ns/shop-0", "Produce", 3), ("ns/cart-0", "Fetch", 5))
    }

    data = _run_kafka(compiler, registry, "kafka_data", store, metadata)["Kafka requests"]
    assert len(data) == (16 if broker_side else 8)
    assert {r["api"] for r in data} == {"Produce", "Fetch"}


def test_kafka_consumer_rebalancing_joins_join_and_sync_per_generation(compiler, registry):
    metadata, procs = _cluster()

    def join(member: str, generation: int, error: int) -> tuple[str, str]:
        body = json.dumps({"group_id": "mailers", "member_id": ""})
        resp = json.dumps(
            {"error_code": error, "generation_id": generation, "leader": "m1", "member_id": member}
        )
        return body, resp

    def sync(member: str, generation: int) -> tuple[str, str]:
        body = json.dumps({"group_id": "mailers", "generation_id": generation, "member_id": member})
        return body, json.dumps({"error_code": 0})

    rows = [
        ("cart", 5000, 2, 11, "c", *join("m1", -1, 79)),  # MEMBER_ID_REQUIRED: no generation
        ("cart", 4000, 300, 11, "c", *join("m1", 1, 0)),  # joined 4.3 s ago
        ("cart", 3900, 5, 14, "c", *sync("m1", 1)),  # synced 3.9 s ago: 400 ms
        ("cart", 1000, 100, 11, "c", *join("m1", 2, 0)),
        ("cart", 850, 5, 14, "c", *sync("m1", 2)),  # 250 ms
    ]
    store = _kafka_store(rows, procs, broker_side=True)
    out = _run_kafka(compiler, registry, "kafka_consumer_rebalancing", store, metadata)
    got = sorted((r["generation"], r["rebalance_time"], r["is_leader"]) for r in out["Rebalances"])
    # Seen by both ends, each rebalance counts once: client's join start, broker's sync end.
    assert got == [(1, 399 * MS, True), (2, 249 * MS, True)]
    assert {r["client"] for r in out["Rebalances"]} == {"ns/cart-0"}
    (group,) = out["Rebalance time per group"]
    assert (group["group_id"], group["rebalances"], group["generation"]) == ("mailers", 2, 2)
