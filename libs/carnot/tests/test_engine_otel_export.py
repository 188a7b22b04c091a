"""The OTel export sink against a real OTLP/gRPC receiver (opentelemetry-proto's services)."""

from __future__ import annotations

import asyncio

import grpc
import pyarrow as pa
import pytest
from pyxie_carnot import Carnot, OTelExportBudget, OTelExportError, RetryPolicy
from pyxie_carnot.plan_builder import PlanBuilder
from pyxie_carnot.registry import Registry
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_table_store import TableStore
from pyxie_testing.otlp import OTLPReceiver
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

HTTP = TableSchema(
    "http",
    Relation(
        (
            Column("time_", DataType.TIME64NS, SemanticType.ST_TIME_NS),
            Column("service", DataType.STRING),
            Column("path", DataType.STRING),
            Column("latency", DataType.INT64),
            Column("p99", DataType.FLOAT64),
            Column("trace_id", DataType.STRING),
            Column("parent_id", DataType.STRING),
        )
    ),
)
TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
SECRET = "px-api-secret-value-123"


def _store(rows: int) -> TableStore:
    store = TableStore()
    store.add_table(HTTP)
    store.append(
        "http",
        pa.RecordBatch.from_arrays(
            [
                pa.array([1_000 + i for i in range(rows)], pa.int64()).cast(pa.timestamp("ns")),
                pa.array(["front" if i % 2 else "orders" for i in range(rows)]),
                pa.array([f"/p{i}" for i in range(rows)]),
                pa.array([100 + i for i in range(rows)], pa.int64()),
                pa.array([0.5 * i for i in range(rows)], pa.float64()),
                pa.array([TRACE] * rows),
                pa.array([PARENT] * rows),
            ],
            schema=HTTP.relation.arrow_schema(),
        ),
    )
    return store


def _spec(url: str, **extra: object) -> plan_pb2.OTelExportSinkOperator:
    attr = plan_pb2.OTelAttribute
    return plan_pb2.OTelExportSinkOperator(
        endpoint=plan_pb2.OTelEndpoint(url=url, headers={"API-Key": SECRET}, insecure=True),
        resource=[attr(name="service.name", column_index=1), attr(name="env", string_value="t")],
        metrics=[
            plan_pb2.OTelMetric(
                name="http.latency",
                unit="ns",
                time_column_index=0,
                attributes=[attr(name="path", column_index=2)],
                gauge=plan_pb2.OTelGauge(value_column_index=3),
            ),
            plan_pb2.OTelMetric(
                name="http.p99",
                time_column_index=0,
                summary=plan_pb2.OTelSummary(
                    count_column_index=3,
                    sum_column_index=4,
                    quantiles=[plan_pb2.OTelSummary.Quantile(quantile=0.99, value_column_index=4)],
                ),
            ),
        ],
        spans=[
            plan_pb2.OTelSpan(
                name_column_index=2,
                start_time_column_index=0,
                end_time_column_index=0,
                trace_id_column_index=5,
                span_id_column_index=-1,
                parent_span_id_column_index=6,
                kind=2,
            )
        ],
        **extra,  # type: ignore[arg-type]
    )


def _plan(spec: plan_pb2.OTelExportSinkOperator) -> plan_pb2.Plan:
    builder = PlanBuilder(Registry(), query_id="q1")
    builder.otel_sink(builder.memory_source("http", HTTP.relation), spec)
    return builder.plan()


def _carnot(store: TableStore, **kwargs: object) -> Carnot:
    kwargs.setdefault("otel_retry", RetryPolicy(attempts=3, initial_backoff_s=0.01))
    return Carnot(Registry(), store, **kwargs)  # type: ignore[arg-type]


def test_metrics_and_spans_arrive_with_resource_and_headers() -> None:
    with OTLPReceiver() as receiver:
        result = asyncio.run(_carnot(_store(10)).execute(_plan(_spec(receiver.address))))
        points = receiver.data_points()
        spans = receiver.spans()
        metadata = receiver.metadata
    gauges = [p for p in points if p.metric == "http.latency"]
    assert sorted(p.value for p in gauges) == [float(100 + i) for i in range(10)]
    assert {p.resource["service.name"] for p in gauges} == {"front", "orders"}
    assert all(p.resource["env"] == "t" for p in gauges)
    assert {p.attributes["path"] for p in gauges} == {f"/p{i}" for i in range(10)}
    assert min(p.time_unix_nano for p in gauges) == 1_000
    summaries = [p for p in points if p.metric == "http.p99"]
    assert len(summaries) == 10 and summaries[0].kind == "summary"
    assert all(s.quantiles[0.99] == s.value for s in summaries)
    assert len(spans) == 10
    assert {s.trace_id for s in spans} == {TRACE}
    assert {s.parent_span_id for s in spans} == {PARENT}
    assert len({s.span_id for s in spans}) == 10
    assert all(m.get("api-key") == SECRET for m in metadata)
    assert result.tables == {}


def test_byte_budget_stops_the_export_with_a_clear_error() -> None:
    with OTLPReceiver() as receiver:
        carnot = _carnot(_store(3000))
        with pytest.raises(OTelExportError, match="export byte budget of 200000 bytes") as caught:
            asyncio.run(carnot.execute(_plan(_spec(receiver.address, max_export_bytes=200_000))))
        # Requests are small: part of the export went out before the budget stopped it.
        assert 0 < receiver.received_bytes() <= 200_000
    assert caught.value.grpc_code == 8
    assert SECRET not in str(caught.value)
    # The engine goes on: the next (small) export works.
    with OTLPReceiver() as receiver:
        asyncio.run(carnot.execute(_plan(_spec(receiver.address))))
        assert receiver.data_points()


def test_org_budget_per_minute_is_shared_by_queries() -> None:
    clock = [0.0]
    budget = OTelExportBudget(bytes_per_minute=40_000, clock=lambda: clock[0])
    with OTLPReceiver() as receiver:
        carnot = _carnot(_store(50), otel_budget=budget)
        asyncio.run(carnot.execute(_plan(_spec(receiver.address, org_id="o1"))))
        used = budget.used("o1")
        assert 0 < used <= 40_000
        runs = 1
        with pytest.raises(OTelExportError, match="org's export budget"):
            for _ in range(40):
                asyncio.run(carnot.execute(_plan(_spec(receiver.address, org_id="o1"))))
                runs += 1
        assert runs * used > 40_000 - used
        # Another org is not affected; a minute later o1 may export again.
        asyncio.run(carnot.execute(_plan(_spec(receiver.address, org_id="o2"))))
        clock[0] += 61
        asyncio.run(carnot.execute(_plan(_spec(receiver.address, org_id="o1"))))


def test_transient_refusals_are_retried() -> None:
    with OTLPReceiver() as receiver:
        receiver.refuse_next(grpc.StatusCode.UNAVAILABLE, 2)
        asyncio.run(_carnot(_store(5)).execute(_plan(_spec(receiver.address))))
        assert len(receiver.data_points()) == 10
        assert receiver.calls == 4  # two refused, then metrics and spans


def test_unreachable_endpoint_fails_after_retries() -> None:
    with OTLPReceiver() as receiver:
        address = receiver.address  # closed right away: nothing listens there any more
    with pytest.raises(OTelExportError, match="failed after 3 attempts: UNAVAILABLE") as caught:
        asyncio.run(_carnot(_store(5)).execute(_plan(_spec(address))))
    assert caught.value.grpc_code == 14
    assert SECRET not in str(caught.value)


def test_permanent_refusal_is_not_retried() -> None:
    with OTLPReceiver() as receiver:
        receiver.refuse_next(grpc.StatusCode.UNAUTHENTICATED, 10)
        with pytest.raises(OTelExportError, match="UNAUTHENTICATED"):
            asyncio.run(_carnot(_store(5)).execute(_plan(_spec(receiver.address))))
        assert receiver.calls == 1


HOSTILE = (
    "/login\r\n2026-12-04 [info] admin logged in\x1b[2J\x1b[31mRED\x00\udcff\u202eevil\x7f\x9b"
)


def _hostile_store() -> TableStore:
    store = TableStore()
    store.add_table(HTTP)
    paths = [HOSTILE, "x" * 1_000_000, "ok"]
    store.append(
        "http",
        pa.RecordBatch.from_arrays(
            [
                pa.array([1, 2, 3], pa.int64()).cast(pa.timestamp("ns")),
                pa.array([HOSTILE.replace("\udcff", "?"), "svc\n", "svc"]),
                # Invalid UTF-8 inside a string column, as a tracer may capture it.
                pa.array([p.encode("utf-8", "surrogateescape") for p in paths], pa.binary()).cast(
                    pa.string(), safe=False
                ),
                pa.array([1, 2, 3], pa.int64()),
                pa.array([0.1, 0.2, 0.3], pa.float64()),
                pa.array([TRACE] * 3),
                pa.array([PARENT] * 3),
            ],
            schema=HTTP.relation.arrow_schema(),
        ),
    )
    return store


def test_hostile_captured_values_arrive_bounded_and_neutralised() -> None:
    from pyxie_carnot._exec._otel import MAX_ATTRIBUTE_CHARS, MAX_SPAN_NAME_CHARS

    with OTLPReceiver() as receiver:
        asyncio.run(_carnot(_hostile_store()).execute(_plan(_spec(receiver.address))))
        points = receiver.data_points()
        spans = receiver.spans()
    assert len(spans) == 3 and len([p for p in points if p.metric == "http.latency"]) == 3
    values = [p.attributes["path"] for p in points if p.metric == "http.latency"]
    values += [p.resource["service.name"] for p in points]
    names = [s.name for s in spans]
    for text in values + names:
        # Valid UTF-8 (the receiver decoded it), no control character, no bidi override.
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), text
        assert "\u202e" not in text and "\x1b" not in text
    assert max(len(v) for v in values) <= MAX_ATTRIBUTE_CHARS
    assert max(len(n) for n in names) <= MAX_SPAN_NAME_CHARS
    hostile_name = next(n for n in names if n.startswith("/login"))
    # Readable, not dropped: the escapes show what was sent.
    assert "\\x0d\\x0a2026-12-04" in hostile_name and "\\x1b[2J" in hostile_name
    assert "\\u202eevil" in hostile_name
    assert next(n for n in names if n.startswith("xxx")).endswith("…")
