"""A small fake cluster and realistic synthetic telemetry for every declared table.

Namespace ``sock-shop`` runs a front end calling four HTTP services backed by PostgreSQL, MySQL
and Redis, with DNS lookups through ``kube-system/kube-dns``. Every pod has one container and
one process; the metadata state knows them all, so ``df.ctx['pod']``, ``ip_to_pod_id`` and
friends resolve. Generation is deterministic for a given seed and ``now``.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyxie_carnot.metadata import (
    ContainerInfo,
    InMemoryMetadataState,
    PodInfo,
    ProcessInfo,
    ServiceInfo,
)
from pyxie_table_store import TableStore
from pyxie_types import UPID, TableSchema
from pyxie_types import tables as T

__all__ = ["FakePod", "SyntheticCluster", "build_cluster", "fill_store", "synthetic_store"]

NS_PER_S = 1_000_000_000
# Counters (process, network, connection stats) are sampled this often, as Stirling does.
SAMPLE_PERIOD_NS = 10 * NS_PER_S


@dataclass(frozen=True)
class FakePod:
    name: str
    namespace: str
    service: str
    ip: str
    uid: str
    container_id: str
    upid: UPID
    cmdline: str

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class SyntheticCluster:
    pods: list[FakePod]
    metadata: InMemoryMetadataState
    node_name: str = "node-1"
    by_service: dict[str, FakePod] = field(default_factory=dict)

    def pod(self, service: str) -> FakePod:
        return self.by_service[service]


# (service, namespace, command line)
_WORKLOADS = (
    ("frontend", "sock-shop", "node server.js"),
    ("catalogue", "sock-shop", "/app/catalogue -port=80"),
    ("carts", "sock-shop", "java -jar carts.jar"),
    ("orders", "sock-shop", "java -jar orders.jar"),
    ("user", "sock-shop", "/app/user -port=80"),
    ("carts-db", "sock-shop", "postgres -D /var/lib/postgresql/data"),
    ("user-db", "sock-shop", "mysqld"),
    ("session-db", "sock-shop", "redis-server *:6379"),
    ("kube-dns", "kube-system", "/coredns -conf /etc/coredns/Corefile"),
)
# HTTP routes each service serves: (method, path, mean latency ms, error probability)
_ROUTES: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "catalogue": (("GET", "/catalogue", 12.0, 0.01), ("GET", "/catalogue/size", 4.0, 0.0)),
    "carts": (("GET", "/carts/items", 25.0, 0.02), ("POST", "/carts/items", 40.0, 0.05)),
    "orders": (("POST", "/orders", 120.0, 0.10), ("GET", "/orders", 30.0, 0.02)),
    "user": (("GET", "/customers", 8.0, 0.0), ("POST", "/login", 15.0, 0.2)),
}


def build_cluster(seed: int = 0, *, now_ns: int | None = None) -> SyntheticCluster:
    rng = random.Random(seed)
    now_ns = now_ns if now_ns is not None else time.time_ns()
    metadata = InMemoryMetadataState(host="node-1", agent_asid=1, cluster_name="synthetic")
    pods: list[FakePod] = []
    for index, (service, namespace, cmdline) in enumerate(_WORKLOADS):
        suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        name = f"{service}-{rng.randrange(16**8):08x}"[: len(service) + 9] + f"-{suffix}"
        pod = FakePod(
            name=name,
            namespace=namespace,
            service=service,
            ip=f"10.0.0.{10 + index}",
            uid=f"pod-uid-{index:04d}",
            container_id=f"cid{index:04d}" + "0" * 56,
            upid=UPID(asid=1, pid=1000 + index * 7, start_time_ticks=5000 + index),
            cmdline=cmdline,
        )
        pods.append(pod)
        metadata.add_namespace(namespace, f"ns-uid-{namespace}")
        metadata.add_pod(
            PodInfo(
                uid=pod.uid,
                name=pod.name,
                namespace=namespace,
                node_name="node-1",
                hostname="node-1",
                pod_ip=pod.ip,
                start_time_ns=now_ns - 3600 * NS_PER_S,
                container_ids=(pod.container_id,),
            )
        )
        metadata.add_container(
            ContainerInfo(
                cid=pod.container_id,
                name=service,
                pod_id=pod.uid,
                start_time_ns=now_ns - 3600 * NS_PER_S,
            )
        )
        metadata.add_process(
            ProcessInfo(upid=pod.upid.value, cmdline=cmdline, container_id=pod.container_id)
        )
        metadata.add_service(
            ServiceInfo(
                uid=f"svc-uid-{index:04d}",
                name=service,
                namespace=namespace,
                cluster_ip=f"10.96.0.{10 + index}",
                pod_ids=(pod.uid,),
                start_time_ns=now_ns - 3600 * NS_PER_S,
            )
        )
    cluster = SyntheticCluster(pods, metadata)
    cluster.by_service = {p.service: p for p in pods}
    return cluster


# ------------------------------------------------------------------------------ row generators


class _Rows:
    """Column lists for one table, turned into one record batch at the end."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.columns: dict[str, list[Any]] = {c.name: [] for c in schema.columns}

    def add(self, **values: Any) -> None:
        for name, column in self.columns.items():
            column.append(values[name])

    def batch(self) -> pa.RecordBatch:
        order = sorted(range(len(self.columns["time_"])), key=self.columns["time_"].__getitem__)
        arrow_schema = self.schema.relation.arrow_schema()
        arrays = [
            pa.array([self.columns[f.name][i] for i in order], type=f.type) for f in arrow_schema
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema)


def _common(
    pod: FakePod, t: int, remote_addr: str, remote_port: int, local_port: int, role: int
) -> dict[str, Any]:
    return {
        "time_": t,
        "upid": pod.upid.to_bytes(),
        "remote_addr": remote_addr,
        "remote_port": remote_port,
        "local_addr": pod.ip,
        "local_port": local_port,
        "trace_role": role,
        "encrypted": False,
    }


def _latency_ns(rng: random.Random, mean_ms: float) -> int:
    return max(1, int(rng.lognormvariate(0.0, 0.5) * mean_ms * 1_000_000))


def _times(rng: random.Random, count: int, start: int, end: int) -> Iterator[int]:
    for _ in range(count):
        yield rng.randrange(start, end)


def _http_events(
    cluster: SyntheticCluster, rng: random.Random, count: int, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.HTTP_EVENTS)
    frontend = cluster.pod("frontend")
    services = sorted(_ROUTES)
    for t in _times(rng, count, start, end):
        service = rng.choice(services)
        method, path, mean_ms, error_p = rng.choice(_ROUTES[service])
        server = cluster.pod(service)
        status = 500 if rng.random() < error_p else (201 if method == "POST" else 200)
        latency = _latency_ns(rng, mean_ms)
        client_port = rng.randrange(32768, 60999)
        body = json.dumps({"id": rng.randrange(1000), "email": "someone@example.com"})
        payload = {
            "major_version": 1,
            "minor_version": 1,
            "content_type": 1,
            "req_headers": json.dumps({"Host": service, "User-Agent": "frontend"}),
            "req_method": method,
            "req_path": f"{path}?id={rng.randrange(100)}",
            "req_body": body if method == "POST" else "",
            "req_body_size": len(body) if method == "POST" else 0,
            "resp_headers": json.dumps({"Content-Type": "application/json"}),
            "resp_status": status,
            "resp_message": "OK" if status < 400 else "Internal Server Error",
            "resp_body": '{"status":"ok"}' if status < 400 else '{"error":"boom"}',
            "resp_body_size": 15 if status < 400 else 16,
            "latency": latency,
        }
        # The server records the request...
        rows.add(**_common(server, t, frontend.ip, client_port, 80, T.TRACE_ROLE_SERVER), **payload)
        # ...and the client traced it too (slightly longer, network included).
        client = dict(payload, latency=latency + rng.randrange(100_000, 400_000))
        rows.add(**_common(frontend, t, server.ip, 80, client_port, T.TRACE_ROLE_CLIENT), **client)
    return rows.batch()


def _pgsql_events(
    cluster: SyntheticCluster, rng: random.Random, count: int, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.PGSQL_EVENTS)
    db, client = cluster.pod("carts-db"), cluster.pod("carts")
    for t in _times(rng, count, start, end):
        item = rng.randrange(500)
        query = rng.choice(
            [
                (f"SELECT * FROM cart_items WHERE cart_id = {item}", "SELECT 3"),
                (f"INSERT INTO cart_items (cart_id, sku) VALUES ({item}, 'sku-1')", "INSERT 0 1"),
                (f"DELETE FROM cart_items WHERE cart_id = {item}", "DELETE 1"),
            ]
        )
        rows.add(
            **_common(db, t, client.ip, rng.randrange(32768, 60999), 5432, 2),
            req_cmd="Query",
            req=query[0],
            resp=query[1],
            latency=_latency_ns(rng, 2.0),
        )
    return rows.batch()


def _mysql_events(
    cluster: SyntheticCluster, rng: random.Random, count: int, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.MYSQL_EVENTS)
    db, client = cluster.pod("user-db"), cluster.pod("user")
    for t in _times(rng, count, start, end):
        ok = rng.random() > 0.03
        rows.add(
            **_common(db, t, client.ip, rng.randrange(32768, 60999), 3306, 2),
            req_cmd=3,
            req_body=f"SELECT * FROM customers WHERE id = {rng.randrange(1000)}",
            resp_status=2 if ok else 3,
            resp_body="Resultset rows = 1" if ok else "Table 'users.customers' doesn't exist",
            latency=_latency_ns(rng, 1.5),
        )
    return rows.batch()


def _redis_events(
    cluster: SyntheticCluster, rng: random.Random, count: int, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.REDIS_EVENTS)
    db, client = cluster.pod("session-db"), cluster.pod("frontend")
    for t in _times(rng, count, start, end):
        key = f"session:{rng.randrange(200)}"
        cmd = rng.choice(["GET", "SET", "EXPIRE"])
        args = [key] if cmd == "GET" else [key, "1"] if cmd == "EXPIRE" else [key, "{...}"]
        resp = {"GET": '"{...}"', "SET": "OK", "EXPIRE": "1"}[cmd]
        rows.add(
            **_common(db, t, client.ip, rng.randrange(32768, 60999), 6379, 2),
            req_cmd=cmd,
            req_args=json.dumps(args),
            resp=resp,
            latency=_latency_ns(rng, 0.3),
        )
    return rows.batch()


def _dns_events(
    cluster: SyntheticCluster, rng: random.Random, count: int, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.DNS_EVENTS)
    dns = cluster.pod("kube-dns")
    clients = [p for p in cluster.pods if p.namespace == "sock-shop"]
    targets = [p for p in cluster.pods if p.service in _ROUTES]
    for t in _times(rng, count, start, end):
        client, target = rng.choice(clients), rng.choice(targets)
        name = f"{target.service}.{target.namespace}.svc.cluster.local"
        txid = rng.randrange(65536)
        rows.add(
            **_common(client, t, dns.ip, 53, rng.randrange(32768, 60999), 1),
            req_header=json.dumps({"txid": txid, "qr": 0, "opcode": 0, "rd": 1}),
            req_body=json.dumps({"queries": [{"name": name, "type": "A"}]}),
            resp_header=json.dumps({"txid": txid, "qr": 1, "opcode": 0, "rd": 1, "rcode": 0}),
            resp_body=json.dumps({"answers": [{"name": name, "type": "A", "addr": target.ip}]}),
            latency=_latency_ns(rng, 0.8),
        )
    return rows.batch()


def _sample_times(start: int, end: int) -> list[int]:
    return list(range(start - start % SAMPLE_PERIOD_NS + SAMPLE_PERIOD_NS, end, SAMPLE_PERIOD_NS))


def _process_stats(
    cluster: SyntheticCluster, rng: random.Random, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.PROCESS_STATS)
    for pod in cluster.pods:
        utime = ktime = read = write = rchar = wchar = faults = 0
        rss = rng.randrange(50, 500) * 1024 * 1024
        for t in _sample_times(start, end):
            utime += rng.randrange(10, 900) * 1_000_000
            ktime += rng.randrange(1, 200) * 1_000_000
            read += rng.randrange(0, 64) * 4096
            write += rng.randrange(0, 64) * 4096
            rchar += rng.randrange(0, 256) * 1024
            wchar += rng.randrange(0, 256) * 1024
            faults += rng.randrange(0, 50)
            rows.add(
                time_=t,
                upid=pod.upid.to_bytes(),
                major_faults=faults // 10,
                minor_faults=faults,
                cpu_utime_ns=utime,
                cpu_ktime_ns=ktime,
                num_threads=rng.randrange(4, 40),
                vsize_bytes=rss * 3,
                rss_bytes=rss + rng.randrange(0, 8) * 1024 * 1024,
                rchar_bytes=rchar,
                wchar_bytes=wchar,
                read_bytes=read,
                write_bytes=write,
            )
    return rows.batch()


def _network_stats(
    cluster: SyntheticCluster, rng: random.Random, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.NETWORK_STATS)
    for pod in cluster.pods:
        counters = dict.fromkeys(
            (
                "rx_bytes",
                "rx_packets",
                "rx_errors",
                "rx_drops",
                "tx_bytes",
                "tx_packets",
                "tx_errors",
                "tx_drops",
            ),
            0,
        )
        for t in _sample_times(start, end):
            packets_in, packets_out = rng.randrange(10, 2000), rng.randrange(10, 2000)
            counters["rx_packets"] += packets_in
            counters["tx_packets"] += packets_out
            counters["rx_bytes"] += packets_in * rng.randrange(60, 1500)
            counters["tx_bytes"] += packets_out * rng.randrange(60, 1500)
            counters["rx_errors"] += int(rng.random() < 0.05)
            counters["tx_drops"] += int(rng.random() < 0.02)
            rows.add(time_=t, pod_id=pod.uid, **counters)
    return rows.batch()


def _conn_stats(
    cluster: SyntheticCluster, rng: random.Random, start: int, end: int
) -> pa.RecordBatch:
    rows = _Rows(T.CONN_STATS)
    frontend = cluster.pod("frontend")
    # (traced pod, remote address, remote port, role, protocol)
    links: list[tuple[FakePod, str, int, int, int]] = []
    for service in _ROUTES:
        server = cluster.pod(service)
        links.append((frontend, server.ip, 80, 1, 1))
        links.append((server, frontend.ip, 0, 2, 1))
    links.append((cluster.pod("carts"), cluster.pod("carts-db").ip, 5432, 1, 5))
    links.append((cluster.pod("user"), cluster.pod("user-db").ip, 3306, 1, 3))
    links.append((frontend, cluster.pod("session-db").ip, 6379, 1, 7))
    links.append((frontend, "93.184.216.34", 443, 1, 13))  # an external API
    for pod, remote, port, role, protocol in links:
        opened = closed = sent = recv = 0
        for t in _sample_times(start, end):
            new = rng.randrange(0, 20)
            opened += new
            closed += rng.randrange(0, new + 1)
            sent += rng.randrange(1, 200) * 1024
            recv += rng.randrange(1, 400) * 1024
            rows.add(
                time_=t,
                upid=pod.upid.to_bytes(),
                remote_addr=remote,
                remote_port=port,
                trace_role=role,
                addr_family=2,
                protocol=protocol,
                ssl=protocol == 13,
                conn_open=opened,
                conn_close=closed,
                conn_active=opened - closed,
                bytes_sent=sent,
                bytes_recv=recv,
            )
    return rows.batch()


def _stack_traces(
    cluster: SyntheticCluster, rng: random.Random, start: int, end: int
) -> pa.RecordBatch:
    """Folded CPU stacks per pod every 10 s (the profiler's window), Python and kernel frames."""
    rows = _Rows(T.STACK_TRACES)
    leaves = ["json.dumps (/usr/lib/python3.11/json/__init__.py:231)", "[k] tcp_sendmsg"]
    for pod in cluster.pods:
        for t in range(start - start % (10 * NS_PER_S) + 10 * NS_PER_S, end, 10 * NS_PER_S):
            for i, leaf in enumerate(leaves):
                stack = f"main;handle ({pod.name}.py:{10 + i});{leaf}"
                rows.add(
                    time_=t,
                    upid=pod.upid.to_bytes(),
                    stack_trace_id=zlib.crc32(stack.encode()),
                    stack_trace=stack,
                    count=rng.randrange(1, 50),
                )
    return rows.batch()


def fill_store(
    store: TableStore,
    cluster: SyntheticCluster,
    *,
    now_ns: int,
    duration_ns: int = 5 * 60 * NS_PER_S,
    events_per_table: int = 2000,
    seed: int = 0,
) -> None:
    """Create every declared table in ``store`` and append synthetic rows for the window."""
    rng = random.Random(seed)
    start, end = now_ns - duration_ns, now_ns
    for schema in T.ALL_TABLES:
        if schema.name not in store.schemas():
            store.add_table(schema)
    n = events_per_table
    batches = {
        "http_events": _http_events(cluster, rng, n // 2, start, end),
        "pgsql_events": _pgsql_events(cluster, rng, n // 4, start, end),
        "mysql_events": _mysql_events(cluster, rng, n // 4, start, end),
        "redis_events": _redis_events(cluster, rng, n // 4, start, end),
        "dns_events": _dns_events(cluster, rng, n // 8, start, end),
        "process_stats": _process_stats(cluster, rng, start, end),
        "network_stats": _network_stats(cluster, rng, start, end),
        "conn_stats": _conn_stats(cluster, rng, start, end),
        "stack_traces.beta": _stack_traces(cluster, rng, start, end),
    }
    for name, batch in batches.items():
        store.append(name, batch)


def synthetic_store(
    *, now_ns: int | None = None, seed: int = 0, events_per_table: int = 2000
) -> tuple[TableStore, SyntheticCluster]:
    """A table store full of synthetic data for a fresh fake cluster."""
    now_ns = now_ns if now_ns is not None else time.time_ns()
    cluster = build_cluster(seed, now_ns=now_ns)
    store = TableStore()
    fill_store(store, cluster, now_ns=now_ns, events_per_table=events_per_table, seed=seed)
    return store, cluster
