"""The collector framework: schemas, scheduling, pushing, and failure reporting."""

from __future__ import annotations

import os
from typing import ClassVar

import pyarrow as pa
import pytest
from pyxie_stirling import (
    NetworkStatsSource,
    ProcessFilter,
    ProcessStatsSource,
    RowBuffer,
    Source,
    SourceInitError,
    StatusCode,
    Stirling,
    netns_pod_id,
    procfs,
)
from pyxie_types import UPID, TableSchema
from pyxie_types.tables import (
    HTTP_EVENTS,
    NETWORK_STATS,
    PROBE_STATUS,
    PROCESS_STATS,
    STIRLING_ERROR,
)


class _Collected:
    def __init__(self) -> None:
        self.batches: list[tuple[str, pa.RecordBatch]] = []

    def __call__(self, name: str, batch: pa.RecordBatch) -> None:
        self.batches.append((name, batch))

    def rows(self, name: str) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for table, batch in self.batches:
            if table == name:
                out.extend(batch_rows(batch))
        return out


def batch_rows(batch: pa.RecordBatch) -> list[dict[str, object]]:
    """Rows as dicts, with time_ as int ns (datetime cannot hold ns)."""
    index = batch.schema.get_field_index("time_")
    if index >= 0:
        batch = batch.set_column(index, "time_", batch.column(index).cast(pa.int64()))
    rows: list[dict[str, object]] = batch.to_pylist()
    return rows


class _HttpSource(Source):
    name: ClassVar[str] = "fake_http"
    tables: ClassVar[tuple[TableSchema, ...]] = (HTTP_EVENTS,)
    sampling_period_ns: ClassVar[int] = 0
    push_period_ns: ClassVar[int] = 0

    def sample(self) -> None:
        self.buffer("http_events").append_dict({"time_": 5, "req_path": "/a", "resp_status": 200})


class _BrokenInit(_HttpSource):
    name: ClassVar[str] = "broken_init"

    def init(self, ctx: object) -> None:  # type: ignore[override]
        raise SourceInitError("no probes here")


class _BrokenSample(_HttpSource):
    name: ClassVar[str] = "broken_sample"

    def sample(self) -> None:
        raise RuntimeError("boom")


def test_row_buffer_batches_have_exactly_the_declared_schema_and_zero_defaults() -> None:
    buffer = RowBuffer(HTTP_EVENTS)
    buffer.append_dict({"time_": 7, "req_method": "GET"})
    batch = buffer.take_batch()
    assert batch is not None
    assert batch.schema.equals(HTTP_EVENTS.arrow_schema(), check_metadata=True)
    assert batch.column("req_method").to_pylist() == ["GET"]
    assert batch.column("resp_status").to_pylist() == [0]
    assert batch.column("upid").to_pylist() == [bytes(16)]
    assert batch.column("encrypted").to_pylist() == [False]
    assert buffer.take_batch() is None


def test_row_buffer_rejects_unknown_columns_and_wrong_arity() -> None:
    buffer = RowBuffer(HTTP_EVENTS)
    with pytest.raises(KeyError, match="nope"):
        buffer.append_dict({"nope": 1})
    with pytest.raises(ValueError, match="http_events"):
        buffer.append((1, 2))
    assert len(buffer) == 0


def test_stirling_pushes_source_rows_and_reports_sources_ok() -> None:
    collected = _Collected()
    stirling = Stirling([_HttpSource()], collected)
    stirling.run_once()
    stirling.run_once()
    rows = collected.rows("http_events")
    assert [r["req_path"] for r in rows] == ["/a", "/a"]
    errors = collected.rows("stirling_error")
    assert [(e["source_connector"], e["status"]) for e in errors] == [("fake_http", 0)]
    assert UPID.from_bytes(errors[0]["upid"]).pid == os.getpid()  # type: ignore[arg-type]


def test_a_source_that_cannot_start_is_reported_and_the_others_keep_running() -> None:
    collected = _Collected()
    stirling = Stirling([_BrokenInit(), _HttpSource()], collected)
    stirling.run_once()
    errors = {e["source_connector"]: e for e in collected.rows("stirling_error")}
    assert errors["broken_init"]["status"] != 0
    assert "no probes here" in str(errors["broken_init"]["error"])
    assert errors["fake_http"]["status"] == 0
    assert len(collected.rows("http_events")) == 1


def test_a_source_failing_repeatedly_is_reported_each_time_then_disabled() -> None:
    collected = _Collected()
    source = _BrokenSample()
    stirling = Stirling([source], collected)
    for _ in range(Stirling.MAX_CONSECUTIVE_FAILURES + 3):
        stirling.run_once()
    errors = [e for e in collected.rows("stirling_error") if e["status"] != 0]
    assert sum("boom" in str(e["error"]) for e in errors) == Stirling.MAX_CONSECUTIVE_FAILURES
    assert errors[-1]["status"] == StatusCode.UNAVAILABLE
    assert "disabled" in str(errors[-1]["error"])


def test_probe_reports_land_in_probe_status() -> None:
    collected = _Collected()
    stirling = Stirling([], collected)
    stirling.record_probe("src", "tracepoint:a:b", StatusCode.NOT_FOUND, "missing", {"k": 1})
    stirling.flush()
    (row,) = collected.rows("probe_status")
    assert (row["tracepoint"], row["status"], row["error"], row["info"]) == (
        "tracepoint:a:b",
        5,
        "missing",
        '{"k": 1}',
    )


def test_schemas_lists_every_table_once_including_status_tables() -> None:
    stirling = Stirling([ProcessStatsSource(), NetworkStatsSource()], _Collected())
    names = [s.name for s in stirling.schemas()]
    assert names == ["process_stats", "network_stats", STIRLING_ERROR.name, PROBE_STATUS.name]


def test_process_stats_reports_this_process_with_its_upid() -> None:
    collected = _Collected()
    stirling = Stirling([ProcessStatsSource()], collected, asid=7)
    stirling.run_once(force_push=True)
    rows = collected.rows("process_stats")
    mine = [r for r in rows if UPID.from_bytes(r["upid"]).pid == os.getpid()]  # type: ignore[arg-type]
    assert len(mine) == 1
    upid = UPID.from_bytes(mine[0]["upid"])  # type: ignore[arg-type]
    stat = procfs.read_pid_stat(os.getpid())
    assert stat is not None
    assert (upid.asid, upid.start_time_ticks) == (7, stat.start_time_ticks)
    assert int(mine[0]["rss_bytes"]) > 0  # type: ignore[call-overload]
    assert int(mine[0]["cpu_utime_ns"]) > 0  # type: ignore[call-overload]
    assert all(
        b.schema.equals(PROCESS_STATS.arrow_schema())
        for _, b in collected.batches
        if _ == "process_stats"
    )


def test_process_filter_on_another_pid_keeps_only_that_process() -> None:
    collected = _Collected()
    only_parent = ProcessFilter(pids=[os.getppid()])
    stirling = Stirling([ProcessStatsSource()], collected, process_filter=only_parent)
    stirling.run_once(force_push=True)
    pids = {UPID.from_bytes(r["upid"]).pid for r in collected.rows("process_stats")}  # type: ignore[arg-type]
    assert pids == {os.getppid()}


def test_network_stats_has_one_row_per_network_namespace_named_by_its_inode() -> None:
    collected = _Collected()
    stirling = Stirling([NetworkStatsSource()], collected)
    stirling.run_once(force_push=True)
    rows = collected.rows("network_stats")
    pod_ids = [r["pod_id"] for r in rows]
    assert len(pod_ids) == len(set(pod_ids))
    inode = procfs.netns_inode(os.getpid())
    assert inode is not None
    assert netns_pod_id(inode) in pod_ids
    assert all(
        b.schema.equals(NETWORK_STATS.arrow_schema())
        for t, b in collected.batches
        if t == "network_stats"
    )


def test_register_tables_adds_only_missing_tables() -> None:
    class _Store:
        def __init__(self) -> None:
            self.added: list[str] = [PROCESS_STATS.name]

        def schemas(self) -> dict[str, TableSchema]:
            return {name: PROCESS_STATS for name in self.added}

        def add_table(self, schema: TableSchema, max_bytes: int | None = None) -> object:
            self.added.append(schema.name)
            return None

    store = _Store()
    Stirling([ProcessStatsSource(), NetworkStatsSource()], _Collected()).register_tables(store)
    assert store.added == ["process_stats", "network_stats", "stirling_error", "probe_status"]


def test_start_and_stop_run_the_thread_and_flush() -> None:
    collected = _Collected()
    with Stirling([_HttpSource()], collected):
        pass
    assert collected.rows("http_events")
