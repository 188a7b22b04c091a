"""A tiny HTTP probe for readiness checks (stdlib only, no proxies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["get_json", "post_json"]

# Readiness probes are polled; a short timeout keeps a hung server from stalling the loop.
_PROBE_TIMEOUT_S = 2.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str, timeout: float = _PROBE_TIMEOUT_S) -> Any:
    with _NO_PROXY.open(url, timeout=timeout) as response:
        return json.loads(response.read())


def post_json(url: str, body: Any, timeout: float = _PROBE_TIMEOUT_S) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _NO_PROXY.open(request, timeout=timeout) as response:
        return json.loads(response.read())


PROBE_ERRORS = (OSError, urllib.error.URLError, ValueError)
