"""The demo's Mux: the front end asks a recommender for product ids over Finagle Mux.

Mux is Twitter's RPC session protocol (Finagle, JVM only; nothing on PyPI), so both ends are a
few lines here that follow the wire format: every message is a 4-byte size, a signed type byte,
a 3-byte tag, then the body. The client opens its session with Tinit (version 1), then sends a
Tdispatch per request (destination ``/svc/recommendations``, the W3C traceparent as a
context, a JSON body) and reads the Rdispatch with the same tag. The recommender runs in a
thread of the front end on an ephemeral loopback port.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time

__all__ = ["RecommenderClient", "serve_recommender"]

TINIT, TDISPATCH = 68, 2
RINIT, RDISPATCH = -68, -2
_DESTINATION = b"/svc/recommendations"
# Renew the session now and then, so a tracer started after the shop sees one open.
_RENEW_AFTER_S = 20.0


def _send(sock: socket.socket, mtype: int, tag: int, body: bytes = b"") -> None:
    sock.sendall(struct.pack(">Ib", 4 + len(body), mtype) + tag.to_bytes(3, "big") + body)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("mux peer closed the session")
        data += chunk
    return data


def _recv(sock: socket.socket) -> tuple[int, int, bytes]:
    # The 8-byte header in one read, then the body (as Finagle reads it).
    header = _recv_exact(sock, 8)
    size, mtype = struct.unpack(">Ib", header[:5])
    return mtype, int.from_bytes(header[5:], "big"), _recv_exact(sock, size - 4)


def _string(value: bytes) -> bytes:
    return struct.pack(">H", len(value)) + value


def _init_body() -> bytes:
    return struct.pack(">H", 1)  # version 1, no headers


def _dispatch_body(traceparent: str, payload: bytes) -> bytes:
    contexts = struct.pack(">H", 1) + _string(b"traceparent") + _string(traceparent.encode())
    return contexts + _string(_DESTINATION) + struct.pack(">H", 0) + payload


def _dispatch_payload(body: bytes) -> bytes:
    """The application payload of a Tdispatch body (contexts, destination, dtab skipped)."""
    pos = 0
    (nctx,) = struct.unpack_from(">H", body, pos)
    pos += 2
    for _ in range(2 * nctx):
        (length,) = struct.unpack_from(">H", body, pos)
        pos += 2 + length
    (length,) = struct.unpack_from(">H", body, pos)
    pos += 2 + length
    (ndtab,) = struct.unpack_from(">H", body, pos)
    pos += 2
    for _ in range(2 * ndtab):
        (length,) = struct.unpack_from(">H", body, pos)
        pos += 2 + length
    return body[pos:]


def serve_recommender(host: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """Start the recommender; returns its listening socket (close it to stop) and port."""
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen()

    def session(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    mtype, tag, body = _recv(conn)
                except (ConnectionError, OSError, struct.error):
                    return
                if mtype == TINIT:
                    _send(conn, RINIT, tag, _init_body())
                elif mtype == TDISPATCH:
                    request = json.loads(_dispatch_payload(body) or b"{}")
                    picks = random.sample(range(1, 9), int(request.get("count", 3)))
                    reply = json.dumps({"recommended": picks}).encode()
                    _send(conn, RDISPATCH, tag, b"\x00" + struct.pack(">H", 0) + reply)

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=session, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, name="recommender", daemon=True).start()
    return listener, int(listener.getsockname()[1])


class RecommenderClient:
    """One Mux session, used under a lock (one request in flight), renewed periodically."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._opened = 0.0
        self._tag = 1

    def _session(self) -> socket.socket:
        now = time.monotonic()
        if self._sock is not None and now - self._opened > _RENEW_AFTER_S:
            self._sock.close()
            self._sock = None
        if self._sock is None:
            sock = socket.create_connection(self._address, timeout=5)
            _send(sock, TINIT, 1, _init_body())
            mtype, _, _ = _recv(sock)
            if mtype != RINIT:
                sock.close()
                raise ConnectionError(f"mux: expected Rinit, got type {mtype}")
            self._sock, self._opened, self._tag = sock, now, 1
        return self._sock

    def recommend(self, count: int, traceparent: str) -> list[int]:
        with self._lock:
            try:
                sock = self._session()
                self._tag = self._tag % 0x7FFFFF + 1  # tags 2.. (1 was the Tinit)
                request = json.dumps({"count": count}).encode()
                _send(sock, TDISPATCH, self._tag, _dispatch_body(traceparent, request))
                mtype, tag, body = _recv(sock)
            except (OSError, struct.error) as exc:
                if self._sock is not None:
                    with contextlib.suppress(OSError):
                        self._sock.close()
                self._sock = None
                raise ConnectionError(f"mux: {exc}") from exc
        if mtype != RDISPATCH or tag != self._tag or body[:1] != b"\x00":
            raise ConnectionError(f"mux: unexpected reply type {mtype} tag {tag}")
        (nctx,) = struct.unpack_from(">H", body, 1)
        pos = 3
        for _ in range(2 * nctx):
            (length,) = struct.unpack_from(">H", body, pos)
            pos += 2 + length
        picks: list[int] = json.loads(body[pos:])["recommended"]
        return picks

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
