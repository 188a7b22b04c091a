"""Prometheus metrics: per-RPC counters/histograms and the HTTP endpoint that exposes them.

Metric names follow go-grpc-prometheus (what Pixie's Go services export), so dashboards carry
over: `grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`.
"""

from __future__ import annotations

import asyncio

import grpc
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["MetricsServer", "RpcMetrics", "new_registry", "split_method"]

_LABELS = ("grpc_type", "grpc_service", "grpc_method")

# Buckets from 1 ms to ~30 s: unary control calls sit at the low end, query streams at the top.
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def new_registry() -> CollectorRegistry:
    """A registry per service (not the global one) so that several servers can share a process."""
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def split_method(full_method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` → (`pkg.Service`, `Method`)."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return (service or "unknown", method or "unknown")


class RpcMetrics:
    """The counters the request interceptor updates."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            _LABELS,
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            (*_LABELS, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its status, in seconds.",
            _LABELS,
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def record_started(self, rpc_type: str, full_method: str) -> None:
        service, method = split_method(full_method)
        self.started.labels(rpc_type, service, method).inc()

    def record_handled(
        self, rpc_type: str, full_method: str, code: grpc.StatusCode, seconds: float
    ) -> None:
        service, method = split_method(full_method)
        self.handled.labels(rpc_type, service, method, code.name).inc()
        self.handling_seconds.labels(rpc_type, service, method).observe(seconds)


class MetricsServer:
    """`GET /metrics` over plain HTTP, served on the service's event loop.

    A few lines of asyncio instead of prometheus_client's threaded server: it stops at once
    (no polling thread to wait for) and needs no locking around the registry.
    """

    def __init__(self, registry: CollectorRegistry, *, host: str, port: int) -> None:
        self._registry = registry
        self._host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._port: int | None = None

    async def start(self) -> int:
        """Start serving; returns the bound port (useful when asked for port 0)."""
        self._server = await asyncio.start_server(
            self._handle, self._host, self._requested_port, limit=_MAX_REQUEST_HEAD_BYTES
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self._port

    @property
    def port(self) -> int | None:
        return self._port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path = _request_target(head)
            if method not in ("GET", "HEAD"):
                status, content_type, body = "405 Method Not Allowed", "text/plain", b""
            elif path in ("/metrics", "/"):
                status, content_type = "200 OK", CONTENT_TYPE_LATEST
                body = generate_latest(self._registry)
            else:
                status, content_type, body = "404 Not Found", "text/plain", b"not found\n"
            headers = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(headers.encode("ascii") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a scraper that hangs up or sends junk gets nothing
        finally:
            writer.close()


# A scrape request is a request line plus a few headers.
_MAX_REQUEST_HEAD_BYTES = 16 * 1024
# Prometheus' default scrape timeout is 10 s; a client slower than that is gone anyway.
_REQUEST_TIMEOUT_SECONDS = 10.0


def _request_target(head: bytes) -> tuple[str, str]:
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return ("", "")
    return parts[0], parts[1].split("?", 1)[0]
