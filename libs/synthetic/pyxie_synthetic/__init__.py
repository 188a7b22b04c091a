"""pyxie-synthetic: a fake sock-shop cluster and realistic synthetic telemetry.

    store, cluster = synthetic_store(now_ns=now, events_per_table=2000)  # every declared table
    synthetic_http_events(1_000_000)   # N http_events rows over the last 10 minutes, in order

Used by the PxL runner (``python -m pyxie_pxl_runner run``), the compiler's script tests and the
PEM's ``PL_PEM_SYNTHETIC_ROWS`` benchmark mode. Deterministic for a given seed and ``now``.
"""

from .cluster import FakePod, SyntheticCluster, build_cluster, fill_store, synthetic_store
from .http_events import SYNTHETIC_WINDOW_NS, synthetic_http_events

__all__ = [
    "SYNTHETIC_WINDOW_NS",
    "FakePod",
    "SyntheticCluster",
    "build_cluster",
    "fill_store",
    "synthetic_http_events",
    "synthetic_store",
]
