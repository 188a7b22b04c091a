"""Kernel-side cost of the socket tracer's probes per syscall, with and without them loaded.

Run as root with bcc installed (`make setup-bpf`):
    uv run --all-packages python testing/bench/syscall_overhead.py [--calls 200000]

A worker process (the tracer never traces its own process) times write()+read() pairs of 100
bytes, best of three rounds, on:
  - a pipe: an fd the tracer does not track (every read/write still enters the probes, which
    look the fd up and leave);
  - a loopback TCP connection carrying HTTP requests: a tracked connection whose data is copied
    to the ring buffer (twice per pair: the writer's end and the reader's end);
  - a loopback TCP connection of no known protocol: tracked, muted once inference gave up, so
    only counted.
Three phases: no probe loaded (OFF); the probes alone, their ring drained and discarded by a
thread of this process (PROBES: the kernel-side cost); the socket tracer as the PEM runs it (ON:
the kernel side plus the parsing it causes, which competes for the same cores).
Prints ns per pair in each phase and the added ns per syscall; the last line is
`pipe_ns_per_call=<x> tracked_ns_per_call=<y> muted_ns_per_call=<z> tracked_on_ns_per_call=<w>`
(the first two PROBES minus OFF; muted and tracked_on: ON minus OFF; per syscall).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

WORKER = r"""
import json, os, socket, sys, time
calls = int(sys.argv[1])

def pairs(write, read, payload):
    best = None
    for _ in range(3):
        start = time.perf_counter_ns()
        for _ in range(calls):
            write(payload)
            read(4096)
        took = (time.perf_counter_ns() - start) / calls
        best = took if best is None else min(best, took)
    return best

def tcp_pair():
    srv = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(srv.getsockname())
    b, _ = srv.accept()
    for s in (a, b):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    srv.close()
    return a, b

r, w = os.pipe()
out = {"pipe": pairs(lambda p: os.write(w, p), lambda n: os.read(r, n), b"x" * 100)}
a, b = tcp_pair()
http = b"GET /bench HTTP/1.1\r\nHost: b\r\nX-Pad: " + b"p" * 60 + b"\r\n\r\n"
out["tracked"] = pairs(lambda p: os.write(a.fileno(), p), lambda n: os.read(b.fileno(), n), http)
a.close(); b.close()
a, b = tcp_pair()
unknown = b"\x00\x01unknown" * 10
for _ in range(8):  # inference gives up after four chunks; the tracker then mutes
    a.sendall(unknown); b.recv(4096)
time.sleep(float(sys.argv[2]))
out["muted"] = pairs(lambda p: os.write(a.fileno(), p), lambda n: os.read(b.fileno(), n), unknown)
print(json.dumps(out))
"""


def run_worker(calls: int, settle_s: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(calls), str(settle_s)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="write+read pairs per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("syscall_overhead: needs root to load eBPF probes")
    from pyxie_stirling import ProcessFilter, Stirling
    from pyxie_stirling.socket_tracer import SocketTraceSource
    from pyxie_stirling.socket_tracer._bpf import ProgramOptions, SocketTraceProgram

    off = run_worker(args.calls, 0.0)

    program = SocketTraceProgram(ProgramOptions(self_tgid=os.getpid()))
    program.load()
    reader = program.open_reader()
    stop = threading.Event()

    def discard() -> None:
        while not stop.is_set():
            reader.wait(0.05)
            reader.drain()

    drain = threading.Thread(target=discard, daemon=True)
    drain.start()
    try:
        probes = run_worker(args.calls, 0.0)
    finally:
        stop.set()
        drain.join()
        program.close()

    source = SocketTraceSource()
    stirling = Stirling(
        [source], lambda _t, _b: None, process_filter=ProcessFilter(exclude_pids=(os.getpid(),))
    )
    stirling.start()
    try:
        time.sleep(1.0)
        # The mute is set by the tracker's next sampling period (200 ms): settle past it.
        on = run_worker(args.calls, 0.6)
        muted = source.tracker.muted_conns
    finally:
        stirling.stop()
    print(
        f"{'fd':<10}{'ns/pair off':>13}{'probes':>9}{'on':>9}"
        f"{'added ns/syscall probes':>25}{'on':>7}"
    )
    added: dict[str, float] = {}
    added_on: dict[str, float] = {}
    for name in ("pipe", "tracked", "muted"):
        added[name] = (probes[name] - off[name]) / 2
        added_on[name] = (on[name] - off[name]) / 2
        print(
            f"{name:<10}{off[name]:>13.0f}{probes[name]:>9.0f}{on[name]:>9.0f}"
            f"{added[name]:>25.0f}{added_on[name]:>7.0f}"
        )
    print(f"(connections muted while ON: {muted}; in PROBES nothing is muted: no tracker runs)")
    print(
        f"pipe_ns_per_call={added['pipe']:.0f} tracked_ns_per_call={added['tracked']:.0f} "
        f"muted_ns_per_call={added_on['muted']:.0f} "
        f"tracked_on_ns_per_call={added_on['tracked']:.0f}"
    )


if __name__ == "__main__":
    main()
