"""A client loop that browses and buys at a steady rate."""

from __future__ import annotations

import random
import time

from ._http import KeepAliveClient

__all__ = ["run_loadgen"]


def run_loadgen(frontend_url: str, rps: float, duration_s: float | None = None) -> int:
    """Send about ``rps`` requests per second; return how many were sent."""
    client = KeepAliveClient(frontend_url)
    deadline = None if duration_s is None else time.monotonic() + duration_s
    sent = 0
    while deadline is None or time.monotonic() < deadline:
        started = time.monotonic()
        roll = random.random()
        try:
            if roll < 0.35:
                client.request("GET", "/api/products")
            elif roll < 0.65:
                client.request("GET", f"/api/products/{random.randint(1, 10)}")  # 9, 10: 404
            elif roll < 0.8:
                client.request("GET", "/api/recommendations")
            elif roll < 0.97:
                client.request(
                    "POST",
                    "/api/checkout",
                    {
                        "product_id": random.randint(1, 9),
                        "quantity": random.randint(1, 3),
                        "email": f"buyer{random.randint(1, 50)}@example.com",
                    },
                )
            else:
                client.request("GET", "/api/unknown-page")
        except OSError:
            time.sleep(0.5)  # a service is restarting; keep trying
        sent += 1
        time.sleep(max(0.0, 1.0 / rps - (time.monotonic() - started)))
    return sent
