"""The socket tracer's user-space path, interpreted vs mypyc-compiled, in one run.

Run: make mypyc && uv run --all-packages python testing/bench/mypyc_bench.py [requests] [rounds]

Builds the ring-buffer records of ``requests`` HTTP/1.1 exchanges, 4 events each (open, request
data, response data, close; JSON bodies, headers like a small web service's), and feeds them
through ``ConnTracker.handle_raw`` with ``collect_records`` every 64 events, as the tracer's drain
loop does. Each round runs two child processes, one that imports pyxie_stirling from the .py
sources only (extension modules ignored) and one that imports it normally (the extension modules
`make mypyc` built, if any); each reports its CPU time per event. The best round of each is
printed, then the ratio; the last line reads
``us_per_event_py=<x> us_per_event_compiled=<y> speedup=<x/y> compiled_modules=<n>
decode_us_py=<a> decode_us_compiled=<b>``; the decode figures time the record decoding alone
(``event_kind`` then ``decode_data``/``decode_control`` of socket_tracer/_events.py) over the
same events.

``--pure SCRIPT [ARGS...]`` runs another script (e.g. protocol_parser_bench.py) with the
extension modules ignored, to compare it with a normal run of the same script.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import time
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "libs" / "stirling" / "pyxie_stirling"
COLLECT_EVERY = 64


def ignore_extension_modules() -> None:
    """From now on, modules under pyxie_stirling/ load from their .py files only."""
    package = str(PACKAGE_DIR)

    def hook(path: str) -> FileFinder:
        if not os.path.abspath(path).startswith(package):
            raise ImportError("not pyxie_stirling")  # fall through to the next path hook
        return FileFinder(path, (SourceFileLoader, SOURCE_SUFFIXES))

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m.startswith("pyxie_stirling")]:
        del sys.modules[name]


def build_events(requests: int) -> list[bytes]:
    from pyxie_stirling.socket_tracer._events import ControlEvent, DataEventHeader

    def control(kind: int, fd: int, gen: int, ts: int) -> bytes:
        ev = ControlEvent(kind=kind, tgid=4242, pid=4242, fd=fd, timestamp_ns=ts, generation=gen,
                          family=2, remote_port=8080, local_port=40000 + fd, role=1)  # fmt: skip
        ev.remote_addr[:4] = [10, 1, 2, 3]
        ev.local_addr[:4] = [10, 1, 2, 4]
        return bytes(ev)

    def data(fd: int, gen: int, direction: int, payload: bytes, ts: int) -> bytes:
        size = len(payload)
        header = DataEventHeader(kind=1, tgid=4242, pid=4242, fd=fd, timestamp_ns=ts,
                                 generation=gen, position=0, msg_size=size, captured=size,
                                 direction=direction, source_call=1)  # fmt: skip
        return bytes(header) + payload

    events: list[bytes] = []
    ts = 1_000_000
    for i in range(requests):
        fd, gen = 10 + i % 50, 1000 + i
        body = json.dumps({"id": i, "name": f"product-{i}", "price": 12.5, "tags": ["a", "b"]})
        request = (
            f"GET /api/products/{i}?currency=EUR HTTP/1.1\r\nHost: catalog:8080\r\n"
            "User-Agent: python-requests/2.32\r\nAccept: application/json\r\n"
            f"X-Request-Id: {i:016x}\r\nConnection: close\r\n\r\n"
        ).encode()
        response = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: uvicorn\r\n"
            f"Date: Fri, 04 Dec 2026 21:00:00 GMT\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        events.append(control(2, fd, gen, ts))
        events.append(data(fd, gen, 0, request, ts + 1000))
        events.append(data(fd, gen, 1, response, ts + 900_000))
        events.append(control(3, fd, gen, ts + 950_000))
        ts += 1_000_000
    return events


def decode_only(events: list[bytes]) -> float:
    """Best CPU seconds of two passes decoding every event (kind, then its record)."""
    from pyxie_stirling.socket_tracer._events import decode_control, decode_data, event_kind

    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        for raw in events:
            if event_kind(raw) == 1:
                decode_data(raw)
            else:
                decode_control(raw)
        best = min(best, time.process_time() - start)
    return best


def child(requests: int) -> None:
    """Feed the events once (warm-up) then time a second pass; print one JSON line."""
    from pyxie_stirling.socket_tracer import ConnTracker, load_protocol_layer

    events = build_events(requests)
    decode = decode_only(events)
    best = float("inf")
    rows = 0
    for _ in range(2):
        tracker = ConnTracker(
            load_protocol_layer(), upid_of=lambda tgid: bytes(16), to_wall_ns=lambda ns: ns
        )
        handle, collect = tracker.handle_raw, tracker.collect_records
        rows = 0
        start = time.process_time()
        for n, raw in enumerate(events, 1):
            handle(raw)
            if n % COLLECT_EVERY == 0:
                rows += len(collect(0))
        rows += len(collect(0))
        best = min(best, time.process_time() - start)
    assert rows == requests, (rows, requests)
    compiled = sum(
        1
        for name, module in sys.modules.items()
        if name.startswith("pyxie_stirling")
        and str(getattr(module, "__file__", "")).endswith(".so")
    )
    per_event = {"us_per_event": best / len(events) * 1e6, "decode_us": decode / len(events) * 1e6}
    print(json.dumps(per_event | {"compiled": compiled}))


def run_child(pure: bool, requests: int) -> dict[str, object]:
    flag = ["--child-pure"] if pure else ["--child"]
    out = subprocess.run(
        [sys.executable, __file__, *flag, str(requests)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("--child", "--child-pure"):
        if args[0] == "--child-pure":
            ignore_extension_modules()
        child(int(args[1]))
        return
    if args and args[0] == "--pure":
        ignore_extension_modules()
        sys.argv = args[1:]
        runpy.run_path(args[1], run_name="__main__")
        return
    requests = int(args[0]) if args else 5000
    rounds = int(args[1]) if len(args) > 1 else 3
    py: list[float] = []
    compiled: list[float] = []
    decode_py: list[float] = []
    decode_compiled: list[float] = []
    modules = 0
    for _ in range(rounds):
        result = run_child(True, requests)
        py.append(float(str(result["us_per_event"])))
        decode_py.append(float(str(result["decode_us"])))
        result = run_child(False, requests)
        compiled.append(float(str(result["us_per_event"])))
        decode_compiled.append(float(str(result["decode_us"])))
        modules = int(str(result["compiled"]))
    load = os.getloadavg()[0]
    print(f"{requests} HTTP exchanges, {4 * requests} events, collect every {COLLECT_EVERY}, "
          f"best of {rounds} rounds, load average {load:.2f}")  # fmt: skip
    print(f"interpreted: {min(py):7.2f} us/event  {4 * min(py):7.2f} us/request")
    print(f"compiled:    {min(compiled):7.2f} us/event  {4 * min(compiled):7.2f} us/request"
          f"  ({modules} extension modules loaded)")  # fmt: skip
    print(
        f"decoding alone (event_kind + decode_data/decode_control): interpreted "
        f"{min(decode_py):.3f} us/event, compiled {min(decode_compiled):.3f} us/event"
    )
    print(
        f"us_per_event_py={min(py):.2f} us_per_event_compiled={min(compiled):.2f} "
        f"speedup={min(py) / min(compiled):.2f} compiled_modules={modules} "
        f"decode_us_py={min(decode_py):.3f} decode_us_compiled={min(decode_compiled):.3f}"
    )


if __name__ == "__main__":
    main()
