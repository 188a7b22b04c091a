"""Tiny JSON-over-HTTP helpers shared by the demo services (stdlib only, plain sockets)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

__all__ = ["JSONHandler", "KeepAliveClient"]


class JSONHandler(BaseHTTPRequestHandler):
    """Base handler speaking HTTP/1.1 with keep-alive and JSON bodies."""

    protocol_version = "HTTP/1.1"
    server_version = "pyxie-demo/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tracer is the access log

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class KeepAliveClient:
    """A persistent HTTP/1.1 connection per thread to a base URL, renewed now and then.

    Like real clients and servers (a keep-alive request cap, a connection max age), a connection
    is closed after `max_requests` requests or `max_age_s` seconds and a new one opened: traffic
    on a connection that predates a tracer is not seen (as with Pixie), so a demo whose
    connections lived forever would stay invisible to a vizier started after it.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        *,
        max_requests: int = 100,
        max_age_s: float = 20.0,
    ) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._max_requests = max_requests
        self._max_age_s = max_age_s
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and (
            self._local.used >= self._max_requests
            or time.monotonic() - self._local.opened > self._max_age_s
        ):
            conn.close()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
            self._local.used = 0
            self._local.opened = time.monotonic()
        self._local.used += 1
        return conn

    def request(
        self, method: str, path: str, payload: Any = None, traceparent: str | None = None
    ) -> tuple[int, Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if traceparent is not None:
            headers["traceparent"] = traceparent
        for attempt in range(2):  # a kept-alive connection may have been closed by the server
            conn = self._conn()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                data = json.loads(raw) if raw else None
                return resp.status, data
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")
