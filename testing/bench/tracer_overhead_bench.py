"""Socket tracer overhead: a local HTTP server at a fixed request rate, untraced vs traced.

Run as root with bcc installed:  uv run --all-packages python testing/bench/tracer_overhead_bench.py
Options: --rate N (req/s, default 500), --seconds S (per phase, default 10), --flood S (default 5).

Phases, in one run so the baseline shares the machine's state:
  1. untraced: a keep-alive client sends requests at a fixed rate (open loop: each request's
     latency counts from its scheduled send time, so a stall is not hidden); p50/p99 and
     throughput are recorded;
  2. traced: the same with the socket tracer running in this process (HTTP parsing included);
  3. flood: clients send as fast as they can while traced, to measure how many ring-buffer
     events per second the drain + parse loop sustains.
Prints the traced/untraced ratios and the capture rate (http_events rows / requests sent).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import pyarrow as pa

SERVER = r"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    def log_message(self, *a): pass
    def do_GET(self):
        body = b"ok" * 64
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

# Open-loop fixed-rate client on one keep-alive connection; prints JSON stats.
CLIENT = r"""
import http.client, json, sys, time
port, rate, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
latencies = []
start = time.perf_counter()
n = 0
while True:
    scheduled = start + n / rate if rate > 0 else time.perf_counter()
    if scheduled - start >= seconds:
        break
    now = time.perf_counter()
    if scheduled > now:
        time.sleep(scheduled - now)
    conn.request("GET", f"/bench/{n}")
    conn.getresponse().read()
    latencies.append(time.perf_counter() - scheduled)
    n += 1
elapsed = time.perf_counter() - start
latencies.sort()
q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print(json.dumps({"requests": n, "rps": n / elapsed, "p50_ms": q(0.5) * 1e3,
                  "p99_ms": q(0.99) * 1e3}))
"""


def run_client(port: int, rate: float, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(port), str(rate), str(seconds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    stats: dict[str, float] = json.loads(out)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flood", type=float, default=5.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("tracer_overhead_bench: needs root (and bcc: make setup-bpf)")

    from pyxie_stirling import Stirling
    from pyxie_stirling.socket_tracer import SocketTraceSource

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    try:
        run_client(port, args.rate, 1.0)  # warm-up
        base = run_client(port, args.rate, args.seconds)

        captured = {"rows": 0}

        def push(table: str, batch: pa.RecordBatch) -> None:
            if table == "http_events":
                paths = batch.column("req_path").to_pylist()
                roles = batch.column("trace_role").to_pylist()
                captured["rows"] += sum(
                    1
                    for p, r in zip(paths, roles, strict=True)
                    if p.startswith("/bench/") and r == 2
                )

        source = SocketTraceSource()
        stirling = Stirling([source], push)
        stirling.start()
        try:
            time.sleep(1.0)
            cpu0 = time.process_time()
            traced = run_client(port, args.rate, args.seconds)
            time.sleep(1.5)  # let the last push happen
            cpu_traced = time.process_time() - cpu0
            events_before = source.tracker.events
            t0 = time.perf_counter()
            flood = run_client(port, 0, args.flood)
            time.sleep(1.5)
            flood_elapsed = time.perf_counter() - t0
            events = source.tracker.events - events_before
            lost = source._program.counters()[0] if source._program else -1
        finally:
            stirling.stop()
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()

    print(f"fixed rate {args.rate:.0f} req/s for {args.seconds:.0f} s, one keep-alive connection")
    print(
        f"  untraced: {base['rps']:.0f} req/s  p50 {base['p50_ms']:.3f} ms  "
        f"p99 {base['p99_ms']:.3f} ms"
    )
    print(
        f"  traced:   {traced['rps']:.0f} req/s  p50 {traced['p50_ms']:.3f} ms  "
        f"p99 {traced['p99_ms']:.3f} ms"
    )
    print(
        f"  ratios traced/untraced: throughput {traced['rps'] / base['rps']:.3f}  "
        f"p50 {traced['p50_ms'] / base['p50_ms']:.3f}  p99 {traced['p99_ms'] / base['p99_ms']:.3f}"
    )
    sent = traced["requests"] + flood["requests"]
    print(
        f"  capture: {captured['rows']} server-side http_events rows for {sent:.0f} requests "
        f"({captured['rows'] / sent:.4f})"
    )
    print(
        f"  tracer CPU (this process) during the traced phase: "
        f"{cpu_traced / (args.seconds + 1.5) * 1000:.0f} millicores "
        f"= {cpu_traced / traced['requests'] * 1e6:.0f} µs per request"
    )
    print(
        f"flood: {flood['rps']:.0f} req/s traced; drain loop handled {events / flood_elapsed:.0f} "
        f"events/s (4 data events per request: both sides, both directions); lost={lost}"
    )


if __name__ == "__main__":
    main()
