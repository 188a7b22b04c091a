"""Tracer cost of traffic no parser reads: a TCP stream of an unknown protocol, muted or not.

Run as root with bcc installed (`make setup-bpf`):
    uv run --all-packages python testing/bench/uninteresting_traffic.py [--seconds 3]

A sender process streams 1 KiB writes of bytes no protocol claims to a sink process over
loopback for a fixed time, three times in one run: with no probe loaded (OFF), with the socket
tracer as the PEM runs it (ON, connections muted in the kernel once inference gives up), and
with muting switched off (ON, unmuted: every write is copied to the ring and dropped in user
space, as before muting existed). Prints each phase's throughput and the tracer's CPU seconds
per GiB moved; the last line is `mute_cpu_ratio=<muted/unmuted> tput_ratio_muted=<on/off>
tput_ratio_unmuted=<on/off>`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SINK = r"""
import socket
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    while conn.recv(65536):
        pass
    conn.close()
"""

# argv: port, seconds. Prints {"bytes": n, "seconds": s}.
SENDER = r"""
import json, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
chunk = b"\x00\x01unknown-protocol" * 57 + b"\x00" * 2
sent, start = 0, time.monotonic()
end = start + float(sys.argv[2])
while time.monotonic() < end:
    for _ in range(64):
        s.sendall(chunk)
    sent += 64 * len(chunk)
elapsed = time.monotonic() - start
s.close()
print(json.dumps({"bytes": sent, "seconds": elapsed}))
"""


def send(port: int, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", SENDER, str(port), str(seconds)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    stats: dict[str, float] = json.loads(out)
    return stats


def traced(port: int, seconds: float, mute: bool) -> tuple[dict[str, float], float, int]:
    from pyxie_stirling import ProcessFilter, Stirling
    from pyxie_stirling.socket_tracer import SocketTracerConfig, SocketTraceSource

    source = SocketTraceSource(SocketTracerConfig(mute_uninteresting=mute))
    stirling = Stirling(
        [source], lambda _t, _b: None, process_filter=ProcessFilter(exclude_pids=(os.getpid(),))
    )
    stirling.start()
    try:
        time.sleep(1.0)
        cpu0 = time.process_time()
        stats = send(port, seconds)
        time.sleep(0.5)  # the last sampling period's parse counts too
        cpu = time.process_time() - cpu0
        events = source.tracker.events
    finally:
        stirling.stop()
    return stats, cpu, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("uninteresting_traffic: needs root to load eBPF probes")
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    try:
        off = send(port, args.seconds)
        muted, cpu_muted, events_muted = traced(port, args.seconds, mute=True)
        unmuted, cpu_unmuted, events_unmuted = traced(port, args.seconds, mute=False)
    finally:
        sink.kill()
        sink.wait()
        sink.stdout.close()

    def mbps(stats: dict[str, float]) -> float:
        return stats["bytes"] / stats["seconds"] / 2**20

    gib = 2**30
    print(f"{'phase':<22}{'MiB/s':>10}{'events':>10}{'tracer cpu s':>14}{'cpu s/GiB':>11}")
    print(f"{'off':<22}{mbps(off):>10.1f}{'-':>10}{'-':>14}{'-':>11}")
    for name, stats, cpu, events in (
        ("on, muted", muted, cpu_muted, events_muted),
        ("on, unmuted", unmuted, cpu_unmuted, events_unmuted),
    ):
        per_gib = cpu / (stats["bytes"] / gib)
        print(f"{name:<22}{mbps(stats):>10.1f}{events:>10}{cpu:>14.3f}{per_gib:>11.3f}")
    ratio = (cpu_muted / muted["bytes"]) / (cpu_unmuted / unmuted["bytes"])
    print(
        f"mute_cpu_ratio={ratio:.3f} tput_ratio_muted={mbps(muted) / mbps(off):.3f} "
        f"tput_ratio_unmuted={mbps(unmuted) / mbps(off):.3f}"
    )


if __name__ == "__main__":
    main()
