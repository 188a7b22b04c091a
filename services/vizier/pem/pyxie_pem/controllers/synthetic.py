"""Benchmarks only: fill ``http_events`` with ``PL_PEM_SYNTHETIC_ROWS`` synthetic rows, so query
latency is measured over a known volume. Off (0) in every real deployment. The rows come from
``pyxie_synthetic`` (a fake sock-shop cluster's requests, tiled over the last 10 minutes).
"""

from __future__ import annotations

from pyxie_synthetic.http_events import synthetic_http_events
from pyxie_table_store import TableStore
from pyxie_types.tables import HTTP_EVENTS

__all__ = ["fill_synthetic_http_events"]


def fill_synthetic_http_events(store: TableStore, rows: int, *, seed: int = 0) -> None:
    for batch in synthetic_http_events(rows, seed=seed):
        store.append(HTTP_EVENTS.name, batch)
