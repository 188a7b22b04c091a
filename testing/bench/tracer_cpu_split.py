"""Where the socket tracer's CPU goes per traced request end, live vs replayed, in one run.

Run as root with bcc installed (`make setup-bpf`):
    uv run --all-packages python testing/bench/tracer_cpu_split.py [--rate 1000] [--seconds 15]

The server and client of `trace_overhead.py` run at a fixed rate (1 ms handler, keep-alive) while
the real socket tracer runs as the PEM runs it (`Stirling` thread + `SocketTraceSource` with its
drain thread, rows into a `TableStore`). Measured live, per http_events row (one traced request
end; both ends are traced):
  - CPU of each of the tracer's threads (their CPU-time clocks: user + system);
  - thread CPU inside `SocketTraceSource.sample` (parsing, row building), `take_batches` (Arrow
    conversion) and the table store's `append`, and in the cyclic garbage collector (counted
    inside whichever of those triggered it as well).
Every ring-buffer batch `sample()` handled is kept, and after the live phase the same batches are
replayed through a fresh `ConnTracker` in this process with nothing else running (the baseline):
same records, same parser, same row building. The ratio live/replay is what running beside the
traced workload costs on top of the parsing itself (shared cores and caches, thread hand-offs).
Also measured: the tracer's CPU with no traffic (ms per second).

The last line is `live_us_per_row=<x> replay_us_per_row=<y> live_vs_replay=<x/y>
drain_us_per_row=<d> sample_us_per_row=<s> idle_ms_per_s=<i>`.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import trace_overhead


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of every live Python thread of this process, by name."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            out[thread.name] = time.clock_gettime(clock)
        except OSError:
            continue  # the thread ended
    return out


class Timed:
    """Thread CPU spent inside wrapped callables, by name, and in the cyclic garbage collector
    (whichever thread's allocation triggered it)."""

    def __init__(self) -> None:
        self.cpu_s: dict[str, float] = {}
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            spent = time.thread_time() - self._gc_started
            self.cpu_s["gc"] = self.cpu_s.get("gc", 0.0) + spent

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s[name] = self.cpu_s.get(name, 0.0) + time.thread_time() - started

        return timed


def replay_us_per_row(batches: list[tuple[bytes, ...]]) -> float:
    """Thread CPU per row to handle ``batches`` again through a fresh tracker, best of three."""
    from pyxie_stirling import RowBuffer
    from pyxie_stirling.socket_tracer import ConnTracker, load_protocol_layer
    from pyxie_types.tables import HTTP_EVENTS

    best = float("inf")
    for _ in range(3):
        tracker = ConnTracker(
            load_protocol_layer(),
            upid_of=lambda tgid: bytes(16),
            to_wall_ns=lambda ns: ns,
            row_columns={HTTP_EVENTS.name: HTTP_EVENTS.relation.names},  # as the source does
        )
        buffer = RowBuffer(HTTP_EVENTS)
        rows = 0
        started = time.thread_time()
        for batch in batches:
            tracker.handle_batch(list(batch))
            for table, row in tracker.collect_records(0):
                if table == HTTP_EVENTS.name:
                    if isinstance(row, tuple):
                        buffer.append(row)
                    else:
                        buffer.append_dict(row)
                    rows += 1
            if len(buffer) >= 4096:
                buffer.take_batch()
        buffer.take_batch()
        best = min(best, (time.thread_time() - started) / max(rows, 1))
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the live phase")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("tracer_cpu_split: needs root (eBPF)")
    try:
        import bcc  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        sys.exit("tracer_cpu_split: bcc is not importable; run `make setup-bpf` as root")
    import pyarrow as pa
    from pyxie_service import freeze_startup_objects
    from pyxie_stirling import ProcessFilter, Stirling
    from pyxie_stirling.socket_tracer import SocketTraceSource
    from pyxie_table_store import TableStore

    server = subprocess.Popen(
        [sys.executable, "-c", trace_overhead.SERVER], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    timed = Timed()
    rows = [0]
    kept: list[tuple[bytes, ...]] = []
    keeping = [False]

    source = SocketTraceSource()
    sample, take_batches = source.sample, source.take_batches

    def sample_keeping() -> None:
        if keeping[0]:
            # The batches this sample() is about to handle, as tuples: the collector stops
            # tracking a tuple of bytes, so keeping them does not make its passes longer.
            kept.extend(tuple(batch) for batch in source._pending)
        sample()

    source.sample = timed.wrap("sample", sample_keeping)  # type: ignore[method-assign]
    source.take_batches = timed.wrap("take_batches", take_batches)  # type: ignore[method-assign]

    def push(table: str, batch: pa.RecordBatch) -> None:
        append(table, batch)
        if table == "http_events":
            rows[0] += batch.num_rows

    stirling = Stirling([source], push, process_filter=ProcessFilter(exclude_pids=(os.getpid(),)))
    store = TableStore.from_schemas(stirling.schemas())
    append = timed.wrap("push", store.append)
    try:
        stirling.start()
        time.sleep(1.0)
        freeze_startup_objects()  # as run_service does once the PEM started
        idle0, idle_t0 = time.process_time(), time.monotonic()
        time.sleep(5.0)
        idle_ms_per_s = (time.process_time() - idle0) / (time.monotonic() - idle_t0) * 1e3

        timed.cpu_s.clear()
        keeping[0] = True
        before, rows0 = thread_cpu(), rows[0]
        case = trace_overhead.Case("split", 1, args.rate, args.seconds)
        sent = trace_overhead.run_client(port, case, "split")["requests"]
        time.sleep(1.5)  # the last sampling periods push their rows
        after, live_rows = thread_cpu(), rows[0] - rows0
        keeping[0] = False
    finally:
        stirling.stop()
        server.terminate()
        server.wait()
        server.stdout.close()
    if live_rows <= 0:
        sys.exit("tracer_cpu_split: no http_events rows were captured")

    per_row = {
        name: (cpu - before.get(name, 0.0)) / live_rows * 1e6
        for name, cpu in after.items()
        if name != "MainThread" and cpu > before.get(name, 0.0)
    }
    live = sum(per_row.values())
    replay = replay_us_per_row(kept)
    print(
        f"{sent:.0f} requests at {args.rate:.0f} req/s for {args.seconds:.0f} s, {live_rows} "
        f"http_events rows (both ends traced), load average {os.getloadavg()[0]:.2f}"
    )
    print("tracer CPU per row, live (us):")
    for name, us in sorted(per_row.items(), key=lambda item: -item[1]):
        print(f"  thread {name:28s} {us:7.2f}")
    for name, cpu_s in sorted(timed.cpu_s.items()):
        print(f"  inside {name:28s} {cpu_s / live_rows * 1e6:7.2f}")
    print(f"replayed through a fresh tracker (same batches, nothing else running): {replay:.2f}")
    print(f"idle tracer: {idle_ms_per_s:.2f} ms CPU per second")
    drain = per_row.get("socket-tracer-drain", 0.0)
    sample_us = timed.cpu_s.get("sample", 0.0) / live_rows * 1e6
    print(
        f"live_us_per_row={live:.2f} replay_us_per_row={replay:.2f} "
        f"live_vs_replay={live / replay:.2f} drain_us_per_row={drain:.2f} "
        f"sample_us_per_row={sample_us:.2f} idle_ms_per_s={idle_ms_per_s:.2f}"
    )


if __name__ == "__main__":
    main()
