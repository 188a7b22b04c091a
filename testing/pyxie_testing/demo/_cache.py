"""The demo's Redis: a product cache and a checkout counter on a private redis-server.

Needs Debian's redis-server (tools/setup_bpf.sh installs it; the system service is never used).
The server runs as a child of orders on an ephemeral loopback port, without persistence, and
dies with it. Without the package, ``ProductCache.start`` logs why and returns None.

Product lookups read ``shop:product:<id>`` (GET) and fill it on a miss (SET with a 30 s
expiry); every order counts ``shop:checkouts:<email>`` (INCR + EXPIRE in one pipeline).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ProductCache"]

log = logging.getLogger(__name__)

_TTL_S = 30
# A tracer started after the shop only sees connections opened after it: renew the pool's
# connections on the HTTP clients' schedule.
_RENEW_AFTER_S = 20.0

Product = tuple[int, str, int]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProductCache:
    """Cache-aside for product lookups, plus a per-buyer checkout counter."""

    def __init__(self, binary: str, workdir: str) -> None:
        import redis

        self.port = _free_port()
        self._server = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--daemonize", "no",
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self._client: Any = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1
        )
        self._renewed = time.monotonic()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @classmethod
    def start(cls, workdir: str) -> ProductCache | None:
        binary = shutil.which("redis-server")
        if binary is None:
            log.warning("redis-server is not installed: the demo shop runs without Redis")
            return None
        os.makedirs(workdir, exist_ok=True)
        return cls(binary, workdir)

    def wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if self._client.ping():
                    return True
            time.sleep(0.05)
        return False

    def _renew(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._renewed > _RENEW_AFTER_S:
                self._renewed = now
                self._client.connection_pool.disconnect()

    def product(self, product_id: int, load: Callable[[int], Product | None]) -> Product | None:
        """The product from the cache, or from ``load`` (then cached); a cache error is a miss."""
        self._renew()
        key = f"shop:product:{product_id}"
        try:
            cached = self._client.get(key)
        except Exception:
            cached = None
        if cached is not None:
            self.hits += 1
            pid, name, price = json.loads(cached)
            return int(pid), str(name), int(price)
        self.misses += 1
        found = load(product_id)
        if found is not None:
            with contextlib.suppress(Exception):
                self._client.set(key, json.dumps(found), ex=_TTL_S)
        return found

    def count_checkout(self, email: str) -> int | None:
        """Checkouts of this buyer in the last minute (None when Redis is unavailable)."""
        key = f"shop:checkouts:{email}"
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 60)
            count, _ = pipe.execute()
        except Exception:
            return None
        return int(count)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._server.pid, 15)
        try:
            self._server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self._server.pid, 9)
            self._server.wait()
