"""The HTTP/1 parser alone: the Python HttpParser vs its C twin (protocols/_http_native.c), one run.

Run: uv run --all-packages python tools/native_build.py
     uv run --all-packages python testing/bench/http_native_bench.py [exchanges] [rounds]

Feeds the same ``exchanges`` keep-alive exchanges through each parser, alternating a GET with six
headers answered by a 30-byte JSON body and a POST with a 300-byte body, then takes ``records()``
and each record's ``to_row()`` as the socket tracer does. Prints the best CPU time (of this thread:
numpy, imported by pyxie_stirling, starts BLAS threads that would count too) of ``rounds`` rounds
per exchange for each parser; the last line reads
``native_us=<x> python_us=<y> speedup=<y/x>``. The Python parser is whatever ``_http`` imports
as (mypyc-compiled after ``make mypyc``, interpreted otherwise); the line before says which.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable

from pyxie_stirling.protocols import Direction, HttpParser, Role
from pyxie_stirling.protocols import _http as http_module

# Keep-alive exchanges share a parser, as on a real connection; a fresh one every this many.
EXCHANGES_PER_CONNECTION = 64


def build_exchanges() -> list[tuple[bytes, bytes]]:
    body = json.dumps({"id": 17, "name": "product-177"}, separators=(",", ":")).encode()
    assert len(body) == 30, len(body)
    get = (
        b"GET /api/products/7?currency=EUR HTTP/1.1\r\nHost: catalog:8080\r\n"
        b"User-Agent: python-requests/2.32\r\nAccept: application/json\r\n"
        b"Accept-Encoding: gzip, deflate\r\nX-Request-Id: 00000000000004d2\r\n"
        b"Connection: keep-alive\r\n\r\n"
    )
    get_response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: uvicorn\r\n"
        b"Date: Fri, 04 Dec 2026 21:00:00 GMT\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    payload = b'{"data":"' + b"x" * 289 + b'"}'
    assert len(payload) == 300, len(payload)
    post = (
        b"POST /api/orders HTTP/1.1\r\nHost: orders:8080\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    post_response = (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"id":1234}'
    )
    return [(get, get_response), (post, post_response)]


def run(new_parser: Callable[[Role], object], exchanges: int) -> float:
    """CPU seconds to feed ``exchanges`` exchanges and render every row."""
    pairs = build_exchanges()
    egress, ingress = Direction.EGRESS, Direction.INGRESS
    rows = 0
    start = time.thread_time()
    parser: object = None
    for i in range(exchanges):
        if i % EXCHANGES_PER_CONNECTION == 0:
            parser = new_parser(Role.CLIENT)
        request, response = pairs[i % 2]
        parser.feed(egress, request, i)  # type: ignore[attr-defined]
        parser.feed(ingress, response, i + 1)  # type: ignore[attr-defined]
        for record in parser.records():  # type: ignore[attr-defined]
            record.to_row()
            rows += 1
    elapsed = time.thread_time() - start
    assert rows == exchanges, (rows, exchanges)
    return elapsed


def main() -> None:
    native_module = importlib.import_module("pyxie_stirling.protocols._http_native")
    exchanges = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    py = min(run(HttpParser, exchanges) for _ in range(rounds)) / exchanges * 1e6
    native = min(run(native_module.HttpParser, exchanges) for _ in range(rounds)) / exchanges * 1e6
    compiled = str(getattr(http_module, "__file__", "")).endswith(".so")
    print(f"{exchanges} exchanges (GET + 30-byte JSON / POST 300 bytes), best of {rounds}")
    print(f"python HttpParser ({'mypyc-compiled' if compiled else 'interpreted'}): {py:.2f} us")
    print(f"native HttpParser: {native:.2f} us")
    print(f"native_us={native:.2f} python_us={py:.2f} speedup={py / native:.1f}")


if __name__ == "__main__":
    main()
