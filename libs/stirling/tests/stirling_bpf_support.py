"""Shared by the root+bpf tests: why they would skip, and the real tracer run as the PEM runs it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pyarrow as pa
from pyxie_stirling import Stirling

Row = dict[str, object]


def bpf_skip_reason() -> str | None:
    """Why the real probes cannot load here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    try:
        import bcc  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return "bcc not importable (run `make setup-bpf`)"
    return None


def rows_of(batch: pa.RecordBatch) -> list[Row]:
    batch = batch.set_column(0, "time_", batch.column(0).cast(pa.int64()))
    rows: list[Row] = batch.to_pylist()
    return rows


class TracedTables:
    """The socket tracer run by Stirling as the PEM runs it, rows kept per table."""

    def __init__(self) -> None:
        # Imported here: the module is only importable once bpf_skip_reason() said yes.
        from pyxie_stirling.socket_tracer import SocketTraceSource

        self.rows: dict[str, list[Row]] = {}
        self.source = SocketTraceSource()
        self.stirling = Stirling([self.source], self._push)
        self.stirling.init_sources()
        self.stirling.flush()
        errors = [r["error"] for r in self.rows.get("stirling_error", []) if r["status"] != 0]
        assert not errors, errors

    def _push(self, table: str, batch: pa.RecordBatch) -> None:
        self.rows.setdefault(table, []).extend(rows_of(batch))

    def wait_for(self, table: str, match: Callable[[Row], bool], count: int) -> list[Row]:
        """Rows of ``table`` matching, once ``count`` arrived (or after 20 s, whatever is there)."""
        deadline = time.monotonic() + 20
        while True:
            self.stirling.run_once(force_push=True)
            found = [r for r in self.rows.get(table, []) if match(r)]
            if len(found) >= count or time.monotonic() > deadline:
                time.sleep(0.5)  # let stray duplicates show up, so "exactly" means something
                self.stirling.run_once(force_push=True)
                return [r for r in self.rows.get(table, []) if match(r)]
            time.sleep(0.2)
