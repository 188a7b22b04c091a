"""Probes shared by both backends."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from pyxie_operator.controllers.backend import EtcdHealth

__all__ = ["etcd_health_at", "tcp_reachable"]

# A probe that takes longer than this counts as a failure; the next tick tries again.
_PROBE_TIMEOUT_SECONDS = 3.0


def tcp_reachable(addr: str) -> str:
    """ "" when ``host:port`` accepts a TCP connection, else why not."""
    host, _, port = addr.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), _PROBE_TIMEOUT_SECONDS):
            return ""
    except (OSError, ValueError) as exc:
        return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def etcd_health_at(url: str) -> EtcdHealth:
    """etcd's ``/health``: false with "RAFT NO LEADER" when the member has lost quorum."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=_PROBE_TIMEOUT_SECONDS) as reply:
            body = json.loads(reply.read())
    except urllib.error.HTTPError as exc:  # 503 with the same JSON body
        try:
            body = json.loads(exc.read())
        except ValueError:
            return EtcdHealth(False, f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        return EtcdHealth(False, f"not answering ({exc})")
    healthy = str(body.get("health")) == "true"
    return EtcdHealth(healthy, "" if healthy else str(body.get("reason") or "unhealthy"))
