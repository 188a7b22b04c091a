"""Benchmark of pyxie_table_store on realistic http_events data.

    uv run python testing/bench/table_store_bench.py --rows 1000000

Measures append throughput with collector-sized batches (with and without eviction), compaction
time, scan throughput (full, column-selected, time-bounded), and the bytes the store holds per
row against the same data as raw Arrow (sum of input `nbytes`) and as an Arrow IPC stream, both
measured in this run. The last line is `stored_bytes_ratio_vs_raw_arrow=<x>`.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from pyxie_table_store import StoreBudget, Table, TableStore
from pyxie_types.tables import ALL_TABLES, HTTP_EVENTS, TRACE_ROLE_CLIENT, TRACE_ROLE_SERVER

MIB = 1024 * 1024
# Stirling's socket tracer pushes every second; 1k rows is a typical http_events push on a
# moderately busy node (Pixie's collectors push whatever accumulated since the last push).
DEFAULT_BATCH_ROWS = 1000
START_TIME_NS = 1_700_000_000_000_000_000
# Rows in one batch span one push period.
PUSH_PERIOD_NS = 1_000_000_000


def _pool(values: Sequence[object], arrow_type: pa.DataType) -> pa.Array:
    return pa.array(values, arrow_type)


def _headers(i: int, kind: str) -> str:
    base = {
        "Host": f"svc-{i % 17}.default.svc.cluster.local:8080",
        "User-Agent": ["curl/8.4.0", "Go-http-client/1.1", "python-requests/2.31.0"][i % 3],
        "Accept": "application/json",
        "X-Request-Id": f"{i * 2654435761 % (1 << 32):08x}-4b1e-9c2d-{i:012x}",
    }
    if kind == "resp":
        base = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(40 + i % 400),
            "Date": "Tue, 14 Nov 2023 22:13:20 GMT",
            "Server": ["envoy", "nginx/1.25.3", "gunicorn"][i % 3],
        }
    return json.dumps(base, separators=(",", ":"))


def _body(i: int) -> str:
    if i % 4 == 0:
        return ""
    items = [{"id": i * 10 + k, "name": f"item-{i}-{k}", "price": k * 3.5} for k in range(i % 8)]
    return json.dumps({"status": "ok", "items": items}, separators=(",", ":"))[:512]


class HttpEventsGenerator:
    """Builds http_events batches from value pools with Arrow kernels (no per-row Python)."""

    def __init__(self, seed: int = 7) -> None:
        self._schema = HTTP_EVENTS.arrow_schema()
        self._seed = seed
        self._upids = _pool(
            [(1 << 96 | pid << 32 | 12345).to_bytes(16, "big") for pid in range(1000, 1064)],
            pa.binary(16),
        )
        self._remote = _pool(
            [f"10.{i // 250}.{i % 250}.{i * 7 % 250}" for i in range(300)], pa.string()
        )
        self._local = _pool([f"10.244.{i}.{i * 3 % 250}" for i in range(20)], pa.string())
        self._ports = _pool([80, 443, 8080, 9090, 50051], pa.int64())
        self._roles = _pool([TRACE_ROLE_CLIENT, TRACE_ROLE_SERVER], pa.int64())
        self._methods = _pool(["GET"] * 6 + ["POST"] * 3 + ["PUT", "DELETE"], pa.string())
        self._paths = _pool(
            [f"/api/v1/{r}/{i}" for r in ("users", "orders", "carts", "items") for i in range(50)]
            + ["/healthz", "/metrics", "/readyz"],
            pa.string(),
        )
        self._req_headers = _pool([_headers(i, "req") for i in range(64)], pa.string())
        self._resp_headers = _pool([_headers(i, "resp") for i in range(64)], pa.string())
        self._bodies = _pool([_body(i) for i in range(128)], pa.string())
        self._statuses = _pool([200] * 17 + [201, 404, 500], pa.int64())
        self._messages = {200: "OK", 201: "Created", 404: "Not Found", 500: "Internal Server Error"}

    def _indices(self, n: int, pool: pa.Array, salt: int) -> pa.Array:
        uniform = pc.random(n, initializer=self._seed * 1_000_003 + salt)
        return pc.cast(pc.floor(pc.multiply(uniform, len(pool))), pa.int64())

    def _pick(self, pool: pa.Array, n: int, salt: int) -> pa.Array:
        return pc.take(pool, self._indices(n, pool, salt))

    def batch(self, index: int, rows: int) -> pa.RecordBatch:
        salt = index * 64
        start = START_TIME_NS + index * PUSH_PERIOD_NS
        offsets = pc.cast(
            pc.floor(pc.multiply(pc.random(rows, initializer=salt + 1), PUSH_PERIOD_NS)),
            pa.int64(),
        )
        # Sorted within the batch: collectors push rows roughly in time order.
        sorted_offsets = pc.take(offsets, pc.sort_indices(offsets))
        times = pc.add(sorted_offsets, start).cast(pa.timestamp("ns"))
        status = self._pick(self._statuses, rows, salt + 2)
        message_pool = pa.array([self._messages[s] for s in (200, 201, 404, 500)], pa.string())
        message = pc.take(
            message_pool,
            pc.index_in(status, value_set=pa.array([200, 201, 404, 500], pa.int64())),
        )
        req_body = self._pick(self._bodies, rows, salt + 3)
        resp_body = self._pick(self._bodies, rows, salt + 4)
        latency = pc.cast(
            pc.floor(pc.multiply(pc.random(rows, initializer=salt + 5), 50_000_000)), pa.int64()
        )
        columns = {
            "time_": times,
            "upid": self._pick(self._upids, rows, salt + 6),
            "remote_addr": self._pick(self._remote, rows, salt + 7),
            "remote_port": pc.add(self._indices(rows, self._remote, salt + 8), 30000),
            "local_addr": self._pick(self._local, rows, salt + 9),
            "local_port": self._pick(self._ports, rows, salt + 10),
            "trace_role": self._pick(self._roles, rows, salt + 11),
            "encrypted": pc.equal(self._pick(self._ports, rows, salt + 12), 443),
            "major_version": pa.array([1] * rows, pa.int64()),
            "minor_version": pa.array([1] * rows, pa.int64()),
            "content_type": self._indices(rows, self._roles, salt + 13),
            "req_headers": self._pick(self._req_headers, rows, salt + 14),
            "req_method": self._pick(self._methods, rows, salt + 15),
            "req_path": self._pick(self._paths, rows, salt + 16),
            "req_body": req_body,
            "req_body_size": pc.binary_length(req_body).cast(pa.int64()),
            "resp_headers": self._pick(self._resp_headers, rows, salt + 17),
            "resp_status": status,
            "resp_message": message,
            "resp_body": resp_body,
            "resp_body_size": pc.binary_length(resp_body).cast(pa.int64()),
            "latency": latency,
        }
        arrays = [
            columns[name].cast(field.type)
            for name, field in zip(self._schema.names, self._schema, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)


def _append_all(table: Table, batches: Sequence[pa.RecordBatch]) -> float:
    began = time.perf_counter()
    for batch in batches:
        table.append(batch)
    return time.perf_counter() - began


def _ipc_size(batches: Sequence[pa.RecordBatch]) -> int:
    sink = pa.MockOutputStream()
    with pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return int(sink.size())


def _scan(table: Table, **kwargs: object) -> tuple[float, int, int]:
    cursor = table.cursor(**kwargs)  # type: ignore[arg-type]
    rows = batches = 0
    began = time.perf_counter()
    while (batch := cursor.next_batch()) is not None:
        rows += batch.num_rows
        batches += 1
    return time.perf_counter() - began, rows, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    args = parser.parse_args()
    rows, batch_rows = args.rows, args.batch_rows

    generator = HttpEventsGenerator()
    began = time.perf_counter()
    batches = [
        generator.batch(i, min(batch_rows, rows - start))
        for i, start in enumerate(range(0, rows, batch_rows))
    ]
    gen_s = time.perf_counter() - began
    raw_bytes = sum(b.nbytes for b in batches)
    ipc_bytes = _ipc_size(batches)
    print(f"rows={rows} batches={len(batches)} batch_rows={batch_rows} generate_s={gen_s:.2f}")
    print(
        f"raw_arrow_bytes={raw_bytes} raw_bytes_per_row={raw_bytes / rows:.1f} "
        f"ipc_bytes={ipc_bytes} ipc_bytes_per_row={ipc_bytes / rows:.1f}"
    )

    # 1. Append with room for everything (http_events gets 40 % of the budget).
    budget_mb = max(64, int(raw_bytes * 3 / MIB))
    store = TableStore.from_schemas(ALL_TABLES, StoreBudget(data_limit_mb=budget_mb))
    table = store.table("http_events")

    append_s = _append_all(table, batches)
    print(
        f"append_rows_per_s={rows / append_s:,.0f} append_us_per_batch="
        f"{append_s / len(batches) * 1e6:.1f} (no eviction)"
    )
    hot = table.stats()

    # 2. Scans over the hot partition (collector-sized batches).
    scan_s, scanned, scan_batches = _scan(table)
    print(f"scan_hot_rows_per_s={scanned / scan_s:,.0f} batches={scan_batches}")

    # 3. Compaction, called until the hot partition is empty (256 cold batches per call).
    calls = made_cold = 0
    began = time.perf_counter()
    while table.stats().hot_batches:
        made_cold += table.compact()
        calls += 1
    compact_s = time.perf_counter() - began
    cold = table.stats()
    print(
        f"compact_s={compact_s:.3f} compact_calls={calls} cold_batches={made_cold} "
        f"compact_mb_per_s={hot.bytes / MIB / compact_s:,.0f}"
    )

    scan_s, scanned, scan_batches = _scan(table)
    print(f"scan_cold_rows_per_s={scanned / scan_s:,.0f} batches={scan_batches}")
    scan_s, scanned, _ = _scan(table, columns=["time_", "req_path", "resp_status", "latency"])
    print(f"scan_4_columns_rows_per_s={scanned / scan_s:,.0f}")
    span = len(batches) * PUSH_PERIOD_NS
    lo, hi = START_TIME_NS + span // 4, START_TIME_NS + 3 * span // 4
    scan_s, scanned, _ = _scan(table, start_time_ns=lo, stop_time_ns=hi)
    print(
        f"scan_time_range_rows_per_s={scanned / scan_s:,.0f} rows_in_range={scanned} "
        f"(range scans {scanned / rows:.0%} of the table)"
    )

    # 4. Append under memory pressure: the table holds a quarter of the data, evicting oldest.
    small = Table(HTTP_EVENTS, max_bytes=raw_bytes // 4, compacted_batch_bytes=256 * 1024)
    evict_s = _append_all(small, batches)
    print(
        f"append_with_eviction_rows_per_s={rows / evict_s:,.0f} "
        f"rows_evicted={small.stats().rows_evicted}"
    )
    del small

    # 5. Real memory: once inputs are dropped, Arrow's pool holds only the cold batches.
    assert cold.rows == rows
    stored_bytes = cold.bytes
    del batches
    gc.collect()
    pool_bytes = pa.total_allocated_bytes()
    print(
        f"stored_bytes={stored_bytes} stored_bytes_per_row={stored_bytes / rows:.1f} "
        f"hot_bytes_before_compaction={hot.bytes}"
    )
    print(
        f"arrow_pool_bytes_after_compaction={pool_bytes} "
        f"pool_vs_stored={pool_bytes / stored_bytes:.3f}"
    )
    print(f"stored_bytes_ratio_vs_ipc={stored_bytes / ipc_bytes:.3f}")
    print(f"stored_bytes_ratio_vs_raw_arrow={stored_bytes / raw_bytes:.3f}")


if __name__ == "__main__":
    main()
