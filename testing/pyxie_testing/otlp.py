"""An OTLP/gRPC receiver for tests, built on opentelemetry-proto's generated services.

``OTLPReceiver`` serves ``opentelemetry.proto.collector.{metrics,trace,logs}.v1`` Export on a
grpc (sync) server in background threads, so it works beside any event loop. It keeps every
request with the metadata it came with, can refuse calls with a chosen status (to exercise
retries), and offers flattened views (``data_points()``, ``spans()``) for assertions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2

__all__ = ["DataPoint", "OTLPReceiver", "ReceivedSpan", "attribute_value"]


def attribute_value(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _attrs(items: Any) -> dict[str, Any]:
    return {kv.key: attribute_value(kv.value) for kv in items}


@dataclass(frozen=True)
class DataPoint:
    metric: str
    kind: str  # gauge | sum | summary | histogram
    resource: dict[str, Any]
    attributes: dict[str, Any]
    time_unix_nano: int
    value: float
    quantiles: dict[float, float] = field(default_factory=dict)
    count: int = 0


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    resource: dict[str, Any]
    attributes: dict[str, Any]
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int


class OTLPReceiver(
    metrics_service_pb2_grpc.MetricsServiceServicer,
    trace_service_pb2_grpc.TraceServiceServicer,
):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.traces: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.logs: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self.calls = 0
        # (code, count): refuse the next `count` calls with `code`.
        self._refuse: tuple[grpc.StatusCode, int] | None = None
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self, self._server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(self), self._server)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        self.address = f"{host}:{self.port}"

    def start(self) -> OTLPReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse_next(self, code: grpc.StatusCode, count: int) -> None:
        with self._lock:
            self._refuse = (code, count)

    def _accept(self, context: grpc.ServicerContext, request: Any, into: list[Any]) -> bool:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with self._lock:
            self.calls += 1
            refuse = self._refuse
            if refuse is not None and refuse[1] > 0:
                self._refuse = (refuse[0], refuse[1] - 1)
                code = refuse[0]
            else:
                code = None
                into.append(request)
                self.metadata.append(metadata)
        if code is not None:
            context.abort(code, "refused by the test receiver")
        return True

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            self._accept(context, request, self.metrics)
            return metrics_service_pb2.ExportMetricsServiceResponse()
        self._accept(context, request, self.traces)
        return trace_service_pb2.ExportTraceServiceResponse()

    # -------------------------------------------------------------- views

    def data_points(self) -> list[DataPoint]:
        out: list[DataPoint] = []
        with self._lock:
            requests = list(self.metrics)
        for request in requests:
            for rm in request.resource_metrics:
                resource = _attrs(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data") or ""
                        if kind in ("gauge", "sum"):
                            for p in getattr(metric, kind).data_points:
                                value = p.as_double if p.HasField("as_double") else p.as_int
                                out.append(
                                    DataPoint(
                                        metric.name,
                                        kind,
                                        resource,
                                        _attrs(p.attributes),
                                        p.time_unix_nano,
                                        float(value),
                                    )
                                )
                        elif kind == "summary":
                            for sp in metric.summary.data_points:
                                out.append(
                                    DataPoint(
                                        metric.name,
                                        kind,
                                        resource,
                                        _attrs(sp.attributes),
                                        sp.time_unix_nano,
                                        sp.sum,
                                        {q.quantile: q.value for q in sp.quantile_values},
                                        sp.count,
                                    )
                                )
                        elif kind == "histogram":
                            for hp in metric.histogram.data_points:
                                out.append(
                                    DataPoint(
                                        metric.name,
                                        kind,
                                        resource,
                                        _attrs(hp.attributes),
                                        hp.time_unix_nano,
                                        hp.sum,
                                        count=hp.count,
                                    )
                                )
        return out

    def spans(self) -> list[ReceivedSpan]:
        out: list[ReceivedSpan] = []
        with self._lock:
            requests = list(self.traces)
        for request in requests:
            for rs in request.resource_spans:
                resource = _attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append(
                            ReceivedSpan(
                                span.name,
                                resource,
                                _attrs(span.attributes),
                                span.trace_id.hex(),
                                span.span_id.hex(),
                                span.parent_span_id.hex(),
                                span.kind,
                                span.start_time_unix_nano,
                                span.end_time_unix_nano,
                            )
                        )
        return out

    def received_bytes(self) -> int:
        with self._lock:
            return sum(r.ByteSize() for r in [*self.metrics, *self.traces])

    def wait_for(self, predicate: Callable[[OTLPReceiver], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.1)
        return predicate(self)


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(
        self, request: logs_service_pb2.ExportLogsServiceRequest, context: grpc.ServicerContext
    ) -> logs_service_pb2.ExportLogsServiceResponse:
        self._receiver._accept(context, request, self._receiver.logs)
        return logs_service_pb2.ExportLogsServiceResponse()
