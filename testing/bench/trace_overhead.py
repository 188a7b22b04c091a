"""Socket tracer overhead: an HTTP server under open-loop fixed-rate load, tracing OFF vs ON.

Run as root with bcc installed (`make setup-bpf`):
    uv run --all-packages python testing/bench/trace_overhead.py [--quick]

One run, one machine state: a server process (asyncio, keep-alive; `/d0` answers at once, `/d1`
after a 1 ms sleep) is loaded by a client process, first with no probe attached (OFF), then with
the real socket tracer running as the PEM runs it (ON: `Stirling` thread + `SocketTraceSource`
with its drain thread, rows pushed into a `TableStore`). Cases:
  - fixed rate (open loop): request i is due at start + i/rate on a pool of keep-alive
    connections, and its latency counts from that due time, so a stall is never hidden
    (no coordinated omission); 500, 1000 and 2000 req/s;
  - max throughput: closed loop, every connection sends its next request at once.
Each request carries `X-Pyxie-Seq: <case>-<n>`; the capture rate is the number of distinct
sequence ids found in server-side http_events rows divided by the requests sent.

Prints, per case: throughput, p50/p99 OFF and ON, their ratios, the capture rate and the tracer's
CPU seconds per 1k requests (CPU of this process, which runs nothing but the tracer while the
client and server are separate processes, minus the thread CPU of the benchmark's own capture
counting; both ends are traced, as on a node that hosts both).
The last line is `p99_ratio_1k=<x> capture_1k=<pct> p99_ratio_5k=<x> max_rps_on=<r>
max_rps_ratio=<on/off> capture_max=<pct> cpu_per_1k=<s>`: p99 ratio and capture at 1000 req/s
and the p99 ratio at 5000 req/s (1 ms handler), the traced server's closed-loop throughput with
no handler delay, its ratio to the untraced one and its capture rate, and the tracer's CPU
seconds per 1k requests at 1000 req/s.

`--busy` keeps the spare core(s) busy (one pure-Python spinning process per core beyond the
first) for the whole run, OFF and ON alike, so both sides see the same contended machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

SERVER = r"""
import asyncio, sys
BODY = b"ok" * 32

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            if path.startswith(b"/d1"):
                await asyncio.sleep(0.001)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""

# argv: port, path, case label, rate (0 = closed loop), seconds, connections. Prints JSON.
CLIENT = r"""
import asyncio, json, sys, time
port, path, label = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rate, seconds, conns = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

async def open_conn():
    return await asyncio.open_connection("127.0.0.1", port)

async def call(conn, n):
    reader, writer = conn
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-Pyxie-Seq: {label}-{n}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)

async def fixed_rate(latencies):
    idle = asyncio.Queue()
    for _ in range(conns):
        idle.put_nowait(await open_conn())
    loop = asyncio.get_running_loop()
    tasks = []
    async def one(n, due):
        conn = await idle.get()
        await call(conn, n)
        idle.put_nowait(conn)
        latencies.append(loop.time() - due)
    start = loop.time()
    n = 0
    while True:
        due = start + n / rate
        if due - start >= seconds:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(n, due)))
        n += 1
    await asyncio.gather(*tasks)
    return loop.time() - start

async def closed_loop(latencies):
    loop = asyncio.get_running_loop()
    start = loop.time()
    counter = iter(range(10**9))
    async def worker():
        conn = await open_conn()
        while loop.time() - start < seconds:
            sent = loop.time()
            await call(conn, next(counter))
            latencies.append(loop.time() - sent)
    await asyncio.gather(*(worker() for _ in range(conns)))
    return loop.time() - start

async def main():
    latencies = []
    elapsed = await (fixed_rate(latencies) if rate > 0 else closed_loop(latencies))
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    print(json.dumps({"requests": len(latencies), "rps": len(latencies) / elapsed,
                      "p50_ms": q(0.50) * 1e3, "p99_ms": q(0.99) * 1e3}))

asyncio.run(main())
"""

# Keep-alive connections per client: several times the requests in flight at 2000 req/s with
# a 1 ms handler (~3), so the pool never makes a due request wait for a connection.
_POOL = 16
# Closed-loop concurrency for the max-throughput case.
_MAX_CONNS = 8
# Rows reach the table store within one push period (1 s) of the sampling that parsed them.
_PUSH_WAIT_S = 1.6


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    handler_ms: int
    rate: float  # 0 = max throughput (closed loop)
    seconds: float

    @property
    def title(self) -> str:
        load = f"{self.rate:.0f} req/s" if self.rate else "max throughput"
        return f"{self.handler_ms} ms handler, {load}"


def cases(quick: bool) -> list[Case]:
    base = 2.0 if quick else 10.0
    key = 6.0 if quick else 20.0  # the 1k/1 ms case decides the headline: more samples
    out = [
        Case("d1r500", 1, 500, base),
        Case("d1r1000", 1, 1000, key),
        Case("d1r2000", 1, 2000, base),
        Case("d1r5000", 1, 5000, base),
        Case("d0r1000", 0, 1000, base),
        Case("d0max", 0, 0, base),
    ]
    if not quick:
        out += [
            Case("d0r500", 0, 500, base),
            Case("d0r2000", 0, 2000, base),
            Case("d1max", 1, 0, base),
        ]
    return out


def run_client(port: int, case: Case, label: str) -> dict[str, float]:
    conns = _POOL if case.rate else _MAX_CONNS
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(port), f"/d{case.handler_ms}", label,
         str(case.rate), str(case.seconds), str(conns)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    stats: dict[str, float] = json.loads(out)
    return stats


_SPIN = "while True:\n    pass\n"


def start_spinners() -> list[subprocess.Popen[bytes]]:
    """One busy process per core beyond the first (the spare core of a 2-core machine)."""
    return [
        subprocess.Popen([sys.executable, "-c", _SPIN])
        for _ in range(max(1, (os.cpu_count() or 2) - 1))
    ]


class Capture:
    """Counts distinct sequence ids per case in server-side http_events rows."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}
        self.cpu_s = 0.0  # thread CPU spent in add(), subtracted from the tracer's CPU

    def add(self, batch: pa.RecordBatch) -> None:
        server_side = pc.equal(batch.column("trace_role"), 2)
        headers = batch.column("req_headers").filter(server_side)
        ids = pc.extract_regex(headers, r'"X-Pyxie-Seq":\s*"(?P<label>[^"-]+)-(?P<n>\d+)"')
        for item in ids.to_pylist():
            if item is not None:
                self.seen.setdefault(item["label"], set()).add(item["n"])

    def count(self, label: str) -> int:
        return len(self.seen.get(label, ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases (< 60 s in total)")
    parser.add_argument(
        "--busy", action="store_true", help="load the spare core(s) with spinning processes"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("trace_overhead: needs root to load eBPF probes (and bcc: make setup-bpf)")
    try:
        import bcc  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        sys.exit("trace_overhead: bcc is not importable; run `make setup-bpf` as root")

    from pyxie_service import freeze_startup_objects
    from pyxie_stirling import ProcessFilter, Stirling
    from pyxie_stirling.socket_tracer import SocketTraceSource
    from pyxie_table_store import TableStore

    todo = cases(args.quick)
    spinners = start_spinners() if args.busy else []
    if spinners:
        print(f"busy: {len(spinners)} spinning process(es) load the spare core(s)", flush=True)
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    off: dict[str, dict[str, float]] = {}
    on: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    capture = Capture()
    try:
        run_client(port, Case("warm", 1, 1000, 1.0), "warm")
        for case in todo:
            off[case.label] = run_client(port, case, f"off{case.label}")

        def push(table: str, batch: pa.RecordBatch) -> None:
            store.append(table, batch)
            if table == "http_events":
                # The benchmark's own bookkeeping: its CPU is not the tracer's.
                started = time.thread_time()
                capture.add(batch)
                capture.cpu_s += time.thread_time() - started

        # As the PEM wires it: its own process excluded, rows into a table store.
        source = SocketTraceSource()
        stirling = Stirling(
            [source], push, process_filter=ProcessFilter(exclude_pids=(os.getpid(),))
        )
        store = TableStore.from_schemas(stirling.schemas())
        t0 = time.monotonic()
        stirling.start()
        try:
            time.sleep(1.0)
            freeze_startup_objects()  # as run_service does once the PEM started
            print(f"tracer loaded in {time.monotonic() - t0:.1f} s", flush=True)
            for case in todo:
                cpu0, counted0 = time.process_time(), capture.cpu_s
                on[case.label] = run_client(port, case, case.label)
                time.sleep(_PUSH_WAIT_S)
                cpu[case.label] = time.process_time() - cpu0 - (capture.cpu_s - counted0)
            program = source._program
            lost = program.counters()[0] if program is not None else -1
        finally:
            stirling.stop()
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()

    print(f"pool of {_POOL} keep-alive connections (open loop), {_MAX_CONNS} for max throughput")
    print(
        f"{'case':<32}{'req/s off':>10}{'req/s on':>10}{'p50 off':>9}{'p50 on':>9}"
        f"{'p99 off':>9}{'p99 on':>9}{'p99 x':>7}{'capture':>10}{'cpu s/1k':>10}"
    )
    for case in todo:
        a, b = off[case.label], on[case.label]
        captured = capture.count(case.label) / b["requests"] * 100
        print(
            f"{case.title:<32}{a['rps']:>10.0f}{b['rps']:>10.0f}{a['p50_ms']:>9.3f}"
            f"{b['p50_ms']:>9.3f}{a['p99_ms']:>9.3f}{b['p99_ms']:>9.3f}"
            f"{b['p99_ms'] / a['p99_ms']:>7.3f}{captured:>9.2f}%"
            f"{cpu[case.label] / b['requests'] * 1000:>10.3f}"
        )
    print(f"(latencies in ms; ring-buffer events lost while ON: {lost})")
    key = on["d1r1000"]
    ratio = key["p99_ms"] / off["d1r1000"]["p99_ms"]
    pct = capture.count("d1r1000") / key["requests"] * 100
    ratio_5k = on["d1r5000"]["p99_ms"] / off["d1r5000"]["p99_ms"]
    top_on, top_off = on["d0max"], off["d0max"]
    capture_max = capture.count("d0max") / top_on["requests"] * 100
    cpu_per_1k = cpu["d1r1000"] / key["requests"] * 1000
    print(
        f"p99_ratio_1k={ratio:.3f} capture_1k={pct:.2f} p99_ratio_5k={ratio_5k:.3f} "
        f"max_rps_on={top_on['rps']:.0f} max_rps_ratio={top_on['rps'] / top_off['rps']:.3f} "
        f"capture_max={capture_max:.2f} cpu_per_1k={cpu_per_1k:.3f}"
    )


if __name__ == "__main__":
    main()
