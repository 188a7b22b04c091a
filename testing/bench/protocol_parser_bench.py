"""Micro-benchmark: HTTP/1.1 keep-alive stream parsing, pyxie's HttpParser vs http.client.

Run: uv run --all-packages python testing/bench/protocol_parser_bench.py [exchanges]

The same byte stream (requests and JSON responses with Content-Length, delivered in 4 KiB chunks
the way a socket tracer sees them) is parsed by our parser and, as the baseline, by the standard
library's response parser (`http.client.HTTPResponse.begin()` + `read()`) over the responses.
The baseline parses only responses; ours frames both directions and pairs them, so the ratio is
conservative. The last line is the ratio of our records/s to the baseline's responses/s.
"""

from __future__ import annotations

import bisect
import http.client
import io
import json
import sys
import time

from pyxie_stirling.protocols import Direction, Protocol, Role, make_parser

CHUNK = 4096


def build_stream(exchanges: int) -> tuple[bytes, bytes, list[int], list[int]]:
    """Both byte streams and, per exchange, the end offsets of its request and response."""
    requests = bytearray()
    responses = bytearray()
    req_ends: list[int] = []
    resp_ends: list[int] = []
    for i in range(exchanges):
        requests += (
            f"GET /api/items/{i}?verbose=1 HTTP/1.1\r\nHost: svc.local\r\nUser-Agent: bench/1.0\r\n"
            f"Accept: application/json\r\nX-Request-Id: {i:08x}\r\n\r\n"
        ).encode()
        body = json.dumps({"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "ok": True})
        responses += (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: bench\r\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        req_ends.append(len(requests))
        resp_ends.append(len(responses))
    return bytes(requests), bytes(responses), req_ends, resp_ends


def interleave(
    requests: bytes, responses: bytes, req_ends: list[int], resp_ends: list[int]
) -> list[tuple[Direction, bytes]]:
    """Causal order, as a tracer sees it: a response chunk only after the requests it answers."""
    out: list[tuple[Direction, bytes]] = []
    sent = 0
    for start in range(0, len(responses), CHUNK):
        end = min(len(responses), start + CHUNK)
        last_exchange = min(bisect.bisect_left(resp_ends, end), len(req_ends) - 1)
        need = req_ends[last_exchange]
        while sent < need:
            out.append((Direction.EGRESS, requests[sent : min(need, sent + CHUNK)]))
            sent = min(need, sent + CHUNK)
        out.append((Direction.INGRESS, responses[start:end]))
    return out


def run_ours(stream: list[tuple[Direction, bytes]], *, rows: bool) -> int:
    parser = make_parser(Protocol.HTTP, Role.CLIENT)
    count = 0
    for ts, (direction, data) in enumerate(stream):
        parser.feed(direction, data, ts)
        records = parser.records()
        if rows:
            for record in records:
                record.to_row()
        count += len(records)
    return count


class _KeepAliveFile(io.BytesIO):
    def close(self) -> None:  # HTTPResponse closes its file after each body; keep the stream
        pass


class _Sock:
    def __init__(self, data: bytes) -> None:
        self._fp = _KeepAliveFile(data)

    def makefile(self, mode: str) -> io.BytesIO:
        return self._fp


def run_baseline(responses: bytes, exchanges: int) -> int:
    sock = _Sock(responses)
    count = 0
    for _ in range(exchanges):
        response = http.client.HTTPResponse(sock)  # type: ignore[arg-type]
        response.begin()
        response.read()
        count += 1
    return count


def timed(fn: object, *args: object, **kwargs: object) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(3):
        start = time.perf_counter()
        count = fn(*args, **kwargs)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return count, best


def main() -> None:
    exchanges = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    requests, responses, req_ends, resp_ends = build_stream(exchanges)
    stream = interleave(requests, responses, req_ends, resp_ends)
    n_parse, t_parse = timed(run_ours, stream, rows=False)
    n_rows, t_rows = timed(run_ours, stream, rows=True)
    n_base, t_base = timed(run_baseline, responses, exchanges)
    assert n_parse == n_rows == n_base == exchanges, (n_parse, n_rows, n_base)
    mb = (len(requests) + len(responses)) / 1e6
    print(f"exchanges: {exchanges}, stream: {mb:.1f} MB in {CHUNK}-byte chunks (best of 3)")
    print(f"pyxie HttpParser, frame+pair:        {n_parse / t_parse:>10,.0f} records/s")
    print(f"pyxie HttpParser, frame+pair+to_row: {n_rows / t_rows:>10,.0f} records/s")
    print(f"http.client responses (baseline):    {n_base / t_base:>10,.0f} responses/s")
    print(f"ratio pyxie(frame+pair)/http.client: {(n_parse / t_parse) / (n_base / t_base):.2f}")


if __name__ == "__main__":
    main()
