"""The OpenTelemetry export sink (``px.export``): rows to OTLP metrics and spans over gRPC.

Each input batch becomes OTLP export requests (rows grouped by their resource attributes, at
most ``_ROWS_PER_REQUEST`` rows and about ``_MAX_REQUEST_BYTES`` per request), sent to the
collector's ``MetricsService/Export`` and ``TraceService/Export`` between batches (the
executor drains sinks after every source step) and at the end. Sending retries retryable
statuses with exponential backoff. Two budgets bound what one vizier can ship:

* per export: the OTLP bytes one run of the sink may send (``max_export_bytes``, else the
  engine's default); checked before a request is queued: what fits is sent, then it stops;
* per org and minute: an ``OTelExportBudget`` shared by every query of the engine.

Over a budget, or when the collector stays unreachable, the sink raises ``OTelExportError``;
the query fails with that message (RESOURCE_EXHAUSTED / UNAVAILABLE) and nothing else breaks.
Export headers (API keys) are sent as gRPC metadata and never appear in errors or logs.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import grpc
import pyarrow as pa
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from pyxie_proto.carnot.planpb import plan_pb2

from .._errors import CarnotError, PlanError
from ._base import ExecState, Operator

__all__ = [
    "DEFAULT_EXPORT_BYTES",
    "DEFAULT_ORG_BYTES_PER_MINUTE",
    "OTelExportBudget",
    "OTelExportError",
    "OTelExportSinkOperator",
    "RetryPolicy",
]

# Per export (one run of one px.export) and per org and minute, unless configured otherwise.
DEFAULT_EXPORT_BYTES: Final = 64 << 20
DEFAULT_ORG_BYTES_PER_MINUTE: Final = 256 << 20
_ROWS_PER_REQUEST: Final = 1000
# Collectors refuse large messages (4 MiB by default); small requests also let a budget stop an
# export part way instead of refusing its first request.
_MAX_REQUEST_BYTES: Final = 64 << 10
_DEFAULT_TIMEOUT_S: Final = 5
# Captured values are attacker-controlled (anyone who can send a traced request picks its path,
# headers, body): every string taken from a column is bounded and neutralised before it goes
# into a span name or an attribute, so a backend that shows it cannot be made to render escape
# sequences or fake lines, and no one value can bloat a request.
MAX_ATTRIBUTE_CHARS: Final = 4096
MAX_SPAN_NAME_CHARS: Final = 1024
_SCOPE: Final = common_pb2.InstrumentationScope(name="pyxie", version="0.1.0")
# OTLP/gRPC: these codes are worth retrying (the spec's list).
_RETRYABLE: Final = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
_RESOURCE_EXHAUSTED, _UNAVAILABLE, _INVALID_ARGUMENT = 8, 14, 3


class OTelExportError(CarnotError):
    """The export stopped: a budget was exceeded or the collector refused or stayed away."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.grpc_code = code


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0


class OTelExportBudget:
    """OTLP bytes each org may export in any 60 s window, shared by the engine's queries."""

    def __init__(
        self,
        bytes_per_minute: int = DEFAULT_ORG_BYTES_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if bytes_per_minute <= 0:
            raise ValueError("the per-org export budget must be positive")
        self.bytes_per_minute = bytes_per_minute
        self._clock = clock
        self._spent: dict[str, collections.deque[tuple[float, int]]] = {}

    def used(self, org: str) -> int:
        window = self._window(org)
        return sum(n for _, n in window)

    def _window(self, org: str) -> collections.deque[tuple[float, int]]:
        window = self._spent.setdefault(org, collections.deque())
        horizon = self._clock() - 60.0
        while window and window[0][0] <= horizon:
            window.popleft()
        return window

    def try_spend(self, org: str, nbytes: int) -> bool:
        window = self._window(org)
        if sum(n for _, n in window) + nbytes > self.bytes_per_minute:
            return False
        window.append((self._clock(), nbytes))
        return True


def _hex_id(value: object, size: int) -> bytes:
    """A hex trace/span id of ``size`` bytes, or b'' when it is not one."""
    if not isinstance(value, str):
        return b""
    text = value.strip().lower()
    if len(text) != size * 2:
        return b""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return b""
    return b"" if raw == bytes(size) else raw


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


# C0 and C1 controls and DEL (ESC starts ANSI sequences; CR/LF fake lines), and the bidi
# controls that reorder what a viewer shows (Trojan Source).
_UNSAFE: Final = frozenset(
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)


def otel_text(value: object, max_chars: int) -> str:
    """A captured value as an OTLP string: valid UTF-8, controls escaped, at most max_chars
    characters (then cut and marked with …)."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "backslashreplace")
    else:
        text = str(value)
    # Lone surrogates (undecodable bytes smuggled through surrogateescape) are not UTF-8.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    # Each character becomes at least one: max_chars + 1 of them tell whether to cut.
    escaped = "".join(_escape(ch) if ch in _UNSAFE else ch for ch in text[: max_chars + 1])
    if len(escaped) > max_chars:
        return escaped[: max_chars - 1] + "…"
    return escaped


def _any_value(value: object) -> common_pb2.AnyValue:
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if value is None:
        return common_pb2.AnyValue(string_value="")
    return common_pb2.AnyValue(string_value=otel_text(value, MAX_ATTRIBUTE_CHARS))


def _time_ns(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    # Timestamp columns are cast to int64 before they are read.
    return int(str(value))


class _Columns:
    """The batch's columns as Python lists, read once per column index."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self._batch = batch
        self._cache: dict[int, list[Any]] = {}

    def get(self, index: int) -> list[Any]:
        if index not in self._cache:
            column = self._batch.column(index)
            if pa.types.is_timestamp(column.type):
                column = column.cast(pa.int64())
            try:
                self._cache[index] = column.to_pylist()
            except UnicodeDecodeError:
                # A string column holding bytes that are not UTF-8 (captured as sent).
                raw = column.cast(pa.binary(), safe=False).to_pylist()
                self._cache[index] = [
                    None if v is None else v.decode("utf-8", "backslashreplace") for v in raw
                ]
        return self._cache[index]


def _attributes(
    specs: Sequence[plan_pb2.OTelAttribute], columns: _Columns, row: int
) -> list[common_pb2.KeyValue]:
    out = []
    for spec in specs:
        if spec.WhichOneof("value") == "column_index":
            value: object = columns.get(spec.column_index)[row]
        else:
            value = spec.string_value
        out.append(common_pb2.KeyValue(key=spec.name, value=_any_value(value)))
    return out


class OTelExportSinkOperator(Operator):
    """Exports its input to an OTLP/gRPC collector (see the module docstring)."""

    kind = "otel_sink"

    def __init__(self, node: plan_pb2.PlanNode, state: ExecState) -> None:
        super().__init__(node, state)
        self.spec = node.op.otel_sink
        if not self.spec.endpoint.url:
            raise PlanError(f"{self.label}: an OTel export sink needs an endpoint url")
        if not self.spec.metrics and not self.spec.spans:
            raise PlanError(f"{self.label}: an OTel export sink needs metrics or spans")
        self.max_bytes = self.spec.max_export_bytes or state.otel_export_bytes
        self.org = self.spec.org_id or "default"
        self._pending: list[Message] = []
        self._pending_bytes = 0
        self.sent_bytes = 0
        self.sent_requests = 0
        self._channel: grpc.aio.Channel | None = None
        self._stopped = False
        self._budget_error: OTelExportError | None = None

    def _allows_empty_relation(self) -> bool:
        return True

    def validate(self) -> None:
        relation = self.parents[0].relation
        if not self.node.output_relation.columns:
            self.relation = relation
            self.schema = self.parents[0].schema
        width = len(relation.columns)

        def check(index: int, what: str) -> None:
            if not -1 <= index < width:
                raise PlanError(f"{self.label}: {what} column index {index} out of range")

        for attr in self.spec.resource:
            if attr.WhichOneof("value") == "column_index":
                check(attr.column_index, "resource attribute")
        for metric in self.spec.metrics:
            check(metric.time_column_index, "time")
            if metric.WhichOneof("data") == "gauge":
                check(metric.gauge.value_column_index, "gauge value")
            elif metric.WhichOneof("data") == "summary":
                check(metric.summary.count_column_index, "summary count")
                check(metric.summary.sum_column_index, "summary sum")
                for quantile in metric.summary.quantiles:
                    check(quantile.value_column_index, "summary quantile")
            else:
                raise PlanError(f"{self.label}: metric {metric.name!r} has no data kind")
        for span in self.spec.spans:
            check(span.start_time_column_index, "span start")
            check(span.end_time_column_index, "span end")

    # ------------------------------------------------------------ conversion

    def _resource_groups(self, columns: _Columns, rows: range) -> dict[tuple[Any, ...], list[int]]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            key = tuple(
                columns.get(a.column_index)[row]
                if a.WhichOneof("value") == "column_index"
                else a.string_value
                for a in self.spec.resource
            )
            groups.setdefault(key, []).append(row)
        return groups

    def _resource(self, key: tuple[Any, ...]) -> resource_pb2.Resource:
        return resource_pb2.Resource(
            attributes=[
                common_pb2.KeyValue(key=a.name, value=_any_value(v))
                for a, v in zip(self.spec.resource, key, strict=True)
            ]
        )

    def _metric(
        self, spec: plan_pb2.OTelMetric, columns: _Columns, rows: list[int]
    ) -> metrics_pb2.Metric:
        times = columns.get(spec.time_column_index)
        metric = metrics_pb2.Metric(name=spec.name, description=spec.description, unit=spec.unit)
        if spec.WhichOneof("data") == "gauge":
            values = columns.get(spec.gauge.value_column_index)
            points = []
            for row in rows:
                point = metrics_pb2.NumberDataPoint(
                    attributes=_attributes(spec.attributes, columns, row),
                    time_unix_nano=_time_ns(times[row]),
                )
                value = values[row]
                if isinstance(value, int):
                    point.as_int = value
                else:
                    point.as_double = float(value or 0.0)
                points.append(point)
            metric.gauge.data_points.extend(points)
            return metric
        summary = spec.summary
        counts = columns.get(summary.count_column_index)
        sums = columns.get(summary.sum_column_index) if summary.sum_column_index >= 0 else None
        quantile_values = [
            (q.quantile, columns.get(q.value_column_index)) for q in summary.quantiles
        ]
        metric.summary.data_points.extend(
            metrics_pb2.SummaryDataPoint(
                attributes=_attributes(spec.attributes, columns, row),
                time_unix_nano=_time_ns(times[row]),
                count=max(int(counts[row] or 0), 0),
                sum=float(sums[row] or 0.0) if sums is not None else 0.0,
                quantile_values=[
                    metrics_pb2.SummaryDataPoint.ValueAtQuantile(
                        quantile=q, value=float(values[row] or 0.0)
                    )
                    for q, values in quantile_values
                ],
            )
            for row in rows
        )
        return metric

    def _span(self, spec: plan_pb2.OTelSpan, columns: _Columns, row: int) -> trace_pb2.Span:
        def column_id(index: int, size: int) -> bytes:
            return _hex_id(columns.get(index)[row], size) if index >= 0 else b""

        if spec.WhichOneof("name") == "name_column_index":
            name = otel_text(columns.get(spec.name_column_index)[row] or "", MAX_SPAN_NAME_CHARS)
        else:
            name = spec.name_string
        return trace_pb2.Span(
            trace_id=column_id(spec.trace_id_column_index, 16) or os.urandom(16),
            span_id=column_id(spec.span_id_column_index, 8) or os.urandom(8),
            parent_span_id=column_id(spec.parent_span_id_column_index, 8),
            name=name,
            kind=spec.kind,  # type: ignore[arg-type]
            start_time_unix_nano=_time_ns(columns.get(spec.start_time_column_index)[row]),
            end_time_unix_nano=_time_ns(columns.get(spec.end_time_column_index)[row]),
            attributes=_attributes(spec.attributes, columns, row),
        )

    def _requests(self, batch: pa.RecordBatch) -> list[Message]:
        """Requests of at most _ROWS_PER_REQUEST rows, split further until each is at most
        _MAX_REQUEST_BYTES (a request of one row may be larger)."""
        columns = _Columns(batch)
        requests: list[Message] = []
        pending = [
            range(start, min(start + _ROWS_PER_REQUEST, batch.num_rows))
            for start in range(0, batch.num_rows, _ROWS_PER_REQUEST)
        ]
        while pending:
            rows = pending.pop(0)
            chunk = self._chunk_requests(columns, rows)
            if len(rows) > 1 and any(r.ByteSize() > _MAX_REQUEST_BYTES for r in chunk):
                middle = rows.start + len(rows) // 2
                pending[:0] = [range(rows.start, middle), range(middle, rows.stop)]
                continue
            requests.extend(chunk)
        return requests

    def _chunk_requests(self, columns: _Columns, rows: range) -> list[Message]:
        requests: list[Message] = []
        groups = self._resource_groups(columns, rows)
        if self.spec.metrics:
            requests.append(
                metrics_service_pb2.ExportMetricsServiceRequest(
                    resource_metrics=[
                        metrics_pb2.ResourceMetrics(
                            resource=self._resource(key),
                            scope_metrics=[
                                metrics_pb2.ScopeMetrics(
                                    scope=_SCOPE,
                                    metrics=[
                                        self._metric(m, columns, group) for m in self.spec.metrics
                                    ],
                                )
                            ],
                        )
                        for key, group in groups.items()
                    ]
                )
            )
        if self.spec.spans:
            requests.append(
                trace_service_pb2.ExportTraceServiceRequest(
                    resource_spans=[
                        trace_pb2.ResourceSpans(
                            resource=self._resource(key),
                            scope_spans=[
                                trace_pb2.ScopeSpans(
                                    scope=_SCOPE,
                                    spans=[
                                        self._span(s, columns, row)
                                        for s in self.spec.spans
                                        for row in group
                                    ],
                                )
                            ],
                        )
                        for key, group in groups.items()
                    ]
                )
            )
        return requests

    # ------------------------------------------------------------ lifecycle

    def process(
        self, batch: pa.RecordBatch, parent_index: int, eow: bool, eos: bool, all_done: bool
    ) -> None:
        if batch.num_rows and self._budget_error is None:
            for request in self._requests(batch):
                size = request.ByteSize()
                total = self.sent_bytes + self._pending_bytes + size
                if total > self.max_bytes:
                    # What is queued still goes out (drain), then the export stops.
                    self._budget_error = OTelExportError(
                        f"OTel export stopped: the export byte budget of {self.max_bytes} bytes "
                        f"was exceeded ({self.sent_bytes + self._pending_bytes} bytes sent or "
                        f"queued, the next request needs {size} more); export less data "
                        "(filter or aggregate) or raise the export limit",
                        _RESOURCE_EXHAUSTED,
                    )
                    break
                self._pending.append(request)
                self._pending_bytes += size
            self.state.hold(self, self._pending_bytes)
        if all_done:
            self.done = True

    def _open_channel(self) -> grpc.aio.Channel:
        url = self.spec.endpoint.url
        target = url.split("://", 1)[1] if "://" in url else url
        target = target.rstrip("/")
        secure = url.startswith("https://") or not self.spec.endpoint.insecure
        if secure:
            return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
        return grpc.aio.insecure_channel(target)

    async def drain(self) -> None:
        """Send what is queued (between source batches and at the end)."""
        while self._pending:
            request = self._pending.pop(0)
            size = request.ByteSize()
            self._pending_bytes -= size
            if not self.state.otel_budget.try_spend(self.org, size):
                self._stopped = True
                self._pending.clear()
                self._pending_bytes = 0
                raise OTelExportError(
                    f"OTel export stopped: the org's export budget of "
                    f"{self.state.otel_budget.bytes_per_minute} bytes per minute is used up "
                    f"({self.sent_bytes} bytes sent by this export); retry later or export less",
                    _RESOURCE_EXHAUSTED,
                )
            try:
                await self._send(request)
            except BaseException:
                self._stopped = True
                self._pending.clear()
                raise
            self.sent_bytes += size
            self.sent_requests += 1
            self.state.hold(self, max(self._pending_bytes, 0))
        if self._budget_error is not None:
            self._stopped = True
            raise self._budget_error

    async def _send(self, request: Message) -> None:
        if self._channel is None:
            self._channel = self._open_channel()
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            call: Any = metrics_service_pb2_grpc.MetricsServiceStub(self._channel).Export  # type: ignore[no-untyped-call]
            what = "metrics"
        else:
            call = trace_service_pb2_grpc.TraceServiceStub(self._channel).Export  # type: ignore[no-untyped-call]
            what = "spans"
        metadata = tuple((k.lower(), v) for k, v in self.spec.endpoint.headers.items())
        timeout = self.spec.endpoint.timeout_s or _DEFAULT_TIMEOUT_S
        policy = self.state.otel_retry
        backoff = policy.initial_backoff_s
        last: grpc.aio.AioRpcError | None = None
        for attempt in range(1, policy.attempts + 1):
            try:
                await call(request, metadata=metadata, timeout=timeout)
                return
            except grpc.aio.AioRpcError as err:
                last = err
                if err.code() not in _RETRYABLE or attempt == policy.attempts:
                    break
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, policy.max_backoff_s)
        assert last is not None
        retryable = last.code() in _RETRYABLE
        raise OTelExportError(
            f"OTel export of {what} to {self.spec.endpoint.url} failed"
            + (f" after {policy.attempts} attempts" if retryable else "")
            + f": {last.code().name} {last.details() or ''}".rstrip()
            + f" ({self.sent_bytes} bytes sent before)",
            _UNAVAILABLE if retryable else _INVALID_ARGUMENT,
        )

    async def close_async(self) -> None:
        try:
            if self.done and not self._stopped:
                await self.drain()
        finally:
            self._pending.clear()
            self.state.hold(self, 0)
            if self._channel is not None:
                await self._channel.close(None)
                self._channel = None

    def stats(self) -> Any:
        out = super().stats()
        out.bytes_out = self.sent_bytes
        out.records_out = self.sent_requests
        return out
