"""px.export / px.otel / px.plugin: plans and the compiler's precise errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_pxl.compiler import LogicalPlan, OTelDefaults
from pyxie_pxl.errors import CompilerError

from .conftest import NOW_NS

_GOOD = """import px
df = px.DataFrame('http_events', start_time='-5m')
df.service = 'shop'
df = df.groupby(['service', 'req_path']).agg(
    time_=('time_', px.max),
    lat=('latency', px.mean),
    n=('latency', px.count),
)
px.export(df, px.otel.Data(
    resource={'service.name': df.service, 'k8s.cluster.name': 'dev'},
    data=[
        px.otel.metric.Gauge(name='http.latency', value=df.lat, unit='ns',
                             attributes={'req.path': df.req_path}),
        px.otel.metric.Summary(name='http.summary', count=df.n, sum=df.lat,
                               quantile_values={0.5: df.lat, 0.99: df.lat}),
    ],
    endpoint=px.otel.Endpoint(url='collector:4317', headers={'api-key': 's3cret'},
                              insecure=True),
))
"""


def _sink(plan: plan_pb2.Plan) -> plan_pb2.OTelExportSinkOperator:
    sinks = [n.op.otel_sink for f in plan.fragments for n in f.nodes if n.op.HasField("otel_sink")]
    assert len(sinks) == 1
    return sinks[0]


def test_export_lowers_to_an_otel_sink(plan_of: Callable[..., plan_pb2.Plan]) -> None:
    sink = _sink(plan_of(_GOOD))
    assert sink.endpoint.url == "collector:4317"
    assert dict(sink.endpoint.headers) == {"api-key": "s3cret"}
    assert sink.endpoint.insecure
    assert [(a.name, a.WhichOneof("value")) for a in sink.resource] == [
        ("service.name", "column_index"),
        ("k8s.cluster.name", "string_value"),
    ]
    gauge, summary = sink.metrics
    assert gauge.name == "http.latency" and gauge.unit == "ns"
    assert gauge.WhichOneof("data") == "gauge"
    assert [q.quantile for q in summary.summary.quantiles] == [0.5, 0.99]
    assert gauge.time_column_index >= 0


def test_export_only_script_has_no_result_tables(
    compile_pxl: Callable[..., LogicalPlan],
) -> None:
    assert compile_pxl(_GOOD).output_names == ()


def test_plugin_window_and_endpoint_come_from_the_caller(
    compile_pxl: Callable[..., LogicalPlan],
) -> None:
    source = """import px
df = px.DataFrame('http_events', start_time=px.plugin.start_time, end_time=px.plugin.end_time)
px.export(df, px.otel.Data(resource={'service.name': 'x'},
    data=[px.otel.metric.Gauge(name='lat', value=df.latency)]))
"""
    defaults = OTelDefaults(
        url="plugin:4317",
        headers=(("key", "v"),),
        plugin_start_ns=NOW_NS - 10,
        plugin_end_ns=NOW_NS - 5,
        max_export_bytes=1234,
        org_id="org1",
    )
    plan = compile_pxl(source, otel=defaults).to_plan()
    sink = _sink(plan)
    assert sink.endpoint.url == "plugin:4317" and dict(sink.endpoint.headers) == {"key": "v"}
    assert sink.max_export_bytes == 1234 and sink.org_id == "org1"
    source_op = plan.fragments[0].nodes[0].op.memory_source
    assert (source_op.start_time_ns, source_op.stop_time_ns) == (NOW_NS - 10, NOW_NS - 5)


def test_span_with_ids(plan_of: Callable[..., plan_pb2.Plan]) -> None:
    source = """import px
df = px.DataFrame('http_events')
df.tp = px.pluck(df.req_headers, 'traceparent')
df.trace_id = px.substring(df.tp, 3, 32)
df.parent_id = px.substring(df.tp, 36, 16)
df.end = df.time_
df.start = px.Time(df.time_ - df.latency)
px.export(df, px.otel.Data(resource={'service.name': 'shop'}, data=[
    px.otel.trace.Span(name=df.req_path, start_time=df.start, end_time=df.end,
                       trace_id=df.trace_id, parent_span_id=df.parent_id,
                       kind=px.otel.trace.SPAN_KIND_SERVER,
                       attributes={'http.status_code': df.resp_status}),
], endpoint=px.otel.Endpoint(url='c:4317')))
"""
    span = _sink(plan_of(source)).spans[0]
    assert span.WhichOneof("name") == "name_column_index"
    assert span.trace_id_column_index >= 0 and span.parent_span_id_column_index >= 0
    assert span.span_id_column_index == -1
    assert span.kind == 2


@pytest.mark.parametrize(
    ("body", "line", "at", "message"),
    [
        (
            "px.export(df, px.otel.Data(resource={'service.name': 'x'},\n"
            "    data=[px.otel.metric.Gauge(name='m', value=df.no_such_col)],\n"
            "    endpoint=px.otel.Endpoint(url='c:4317')))",
            4,
            "df.no_such_col",
            "column 'no_such_col' not found in the exported DataFrame",
        ),
        (
            "px.export(df, px.otel.Data(resource={'service.name': 'x'},\n"
            "    data=[px.otel.metric.Gauge(name='m', value=df.req_path)],\n"
            "    endpoint=px.otel.Endpoint(url='c:4317')))",
            4,
            "df.req_path",
            "value must be a INT64 or FLOAT64 column, column 'req_path' is STRING",
        ),
        (
            "px.export(df, px.otel.Data(resource={'k8s.pod': 'x'},\n"
            "    data=[px.otel.metric.Gauge(name='m', value=df.latency)],\n"
            "    endpoint=px.otel.Endpoint(url='c:4317')))",
            3,
            "px.otel.Data",
            "resource must set 'service.name'",
        ),
        (
            "px.export(df, px.otel.Data(resource={'service.name': 'x'},\n"
            "    data=[px.otel.metric.Gauge(name='m', value=df.latency)]))",
            3,
            "px.otel.Data",
            "no endpoint",
        ),
        (
            "px.export(df, px.otel.Data(resource={'service.name': df.latency_x},\n"
            "    data=[px.otel.metric.Gauge(name='m', value=df.latency)],\n"
            "    endpoint=px.otel.Endpoint(url='c:4317')))",
            3,
            "df.latency_x",
            "column 'latency_x' not found",
        ),
    ],
)
def test_compile_errors_point_at_the_argument(
    compile_pxl: Callable[..., LogicalPlan], body: str, line: int, at: str, message: str
) -> None:
    source = "import px\ndf = px.DataFrame('http_events')\n" + body + "\n"
    column = source.splitlines()[line - 1].index(at) + 1
    with pytest.raises(CompilerError) as caught:
        compile_pxl(source)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_metric_needs_a_time_column(compile_pxl: Callable[..., LogicalPlan]) -> None:
    source = """import px
df = px.DataFrame('http_events')
df = df.groupby('req_path').agg(lat=('latency', px.mean))
px.export(df, px.otel.Data(resource={'service.name': 'x'},
    data=[px.otel.metric.Gauge(name='m', value=df.lat)], endpoint=px.otel.Endpoint(url='c')))
"""
    with pytest.raises(CompilerError, match="needs a TIME64NS column 'time_'") as caught:
        compile_pxl(source)
    assert caught.value.line == 5


def test_unknown_plugin_attribute(compile_pxl: Callable[..., LogicalPlan]) -> None:
    with pytest.raises(CompilerError, match=r"'px\.plugin' has no attribute 'start'"):
        compile_pxl("import px\nx = px.plugin.start\n")


def test_export_is_planned_on_kelvin(compile_pxl: Callable[..., LogicalPlan]) -> None:
    from pyxie_pxl.planner import AgentInfo

    agents = [
        AgentInfo("pem1", False, frozenset({"http_events"})),
        AgentInfo("pem2", False, frozenset({"http_events"})),
        AgentInfo("kelvin", True, frozenset(), address="kelvin:59300"),
    ]
    plan = compile_pxl(_GOOD).distribute(agents, "broker:50300")
    by_agent = {p.agent_id: p.plan for p in plan.agent_plans}
    assert _sink(by_agent["kelvin"]).report_address == "broker:50300"
    for pem in ("pem1", "pem2"):
        ops = [n.op.WhichOneof("op") for f in by_agent[pem].fragments for n in f.nodes]
        assert "otel_sink" not in ops


def test_explain_names_the_export_but_not_header_values(
    compile_pxl: Callable[..., LogicalPlan],
) -> None:
    from pyxie_pxl.explain import explain_distributed
    from pyxie_pxl.planner import AgentInfo

    agents = [AgentInfo("pem1", False, frozenset({"http_events"}))]
    text = explain_distributed(compile_pxl(_GOOD).distribute(agents, "broker:50300"))
    assert "OTelExportSink collector:4317" in text and "headers=[api-key]" in text
    assert "s3cret" not in text
