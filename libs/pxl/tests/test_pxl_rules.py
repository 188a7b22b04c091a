"""Analyzer and optimizer rules: data access redaction, row limits, pruning, push-down."""

from __future__ import annotations

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_pxl.compiler import DataAccess

from .test_pxl_lowering import columns, nodes, only

HTTP_BODIES = (
    "import px\n"
    "df = px.DataFrame('http_events')\n"
    "df = df[px.contains(df.req_body, 'secret')]\n"
    "px.display(df[['req_path', 'req_body', 'resp_headers']])\n"
)


def map_right_after_source(plan: plan_pb2.Plan) -> plan_pb2.PlanNode:
    source = only(plan, "memory_source")
    return next(n for n in plan.fragments[0].nodes if list(n.parents) == [source.id])


def test_restricted_mode_replaces_sensitive_columns_right_after_the_source(plan_of):
    plan = plan_of(HTTP_BODIES, data_access=DataAccess.RESTRICTED)
    redaction = map_right_after_source(plan)
    exprs = dict(zip(redaction.op.map.column_names, redaction.op.map.expressions, strict=True))
    assert exprs["req_body"].constant.string_value == "REDACTED"
    assert exprs["resp_headers"].constant.string_value == "REDACTED"
    assert exprs["req_path"].column.name == "req_path"
    # The user's filter sees the redacted value: it is not pushed above the redaction map.
    assert only(plan, "filter").parents[0] == redaction.id


def test_pii_restricted_mode_wraps_sensitive_columns_in_the_pii_redactor(plan_of):
    plan = plan_of(HTTP_BODIES, data_access=DataAccess.PII_RESTRICTED)
    exprs = dict(
        zip(
            map_right_after_source(plan).op.map.column_names,
            map_right_after_source(plan).op.map.expressions,
            strict=True,
        )
    )
    assert exprs["req_body"].func.name == "redact_pii_best_effort"
    assert exprs["req_body"].func.args[0].column.name == "req_body"


def test_full_mode_adds_no_redaction(plan_of):
    plan = plan_of(HTTP_BODIES)
    assert map_right_after_source(plan).op.WhichOneof("op") == "filter"


def test_tables_without_sensitive_columns_are_not_redacted(plan_of):
    plan = plan_of(
        "import px\npx.display(px.DataFrame('process_stats'))\n",
        data_access=DataAccess.RESTRICTED,
    )
    assert nodes(plan, "map") == []


def test_every_sink_gets_the_default_row_limit(plan_of):
    plan = plan_of(
        "import px\ndf = px.DataFrame('network_stats')\npx.display(df)\npx.display(df)\n"
    )
    assert [n.op.limit.limit for n in nodes(plan, "limit")] == [10_000, 10_000]


def test_px_set_overrides_the_row_limit_and_clamps_a_larger_head(plan_of):
    plan = plan_of(
        "#px:set max_output_rows_per_table=50\nimport px\n"
        "px.display(px.DataFrame('network_stats').head(500), 'a')\n"
        "px.display(px.DataFrame('network_stats').head(5), 'b')\n"
    )
    assert sorted(n.op.limit.limit for n in nodes(plan, "limit")) == [5, 50]


def test_sources_read_only_the_columns_the_outputs_need(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "df.slow = df.latency > 1000\n"
        "df.unused = px.upid_to_pod_name(df.upid)\n"
        "df = df[df.slow]\n"
        "px.display(df.groupby('req_path').agg(n=('latency', px.count)))\n"
    )
    assert sorted(only(plan, "memory_source").op.memory_source.column_names) == [
        "latency",
        "req_path",
    ]
    called = [
        e.func.name
        for n in nodes(plan, "map")
        for e in n.op.map.expressions
        if e.WhichOneof("value") == "func"
    ]
    assert "upid_to_pod_name" not in called


def test_filters_move_below_maps_that_do_not_define_their_columns(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "df.pod = px.upid_to_pod_name(df.upid)\n"
        "df = df[df.resp_status == 500]\n"
        "px.display(df[['pod', 'resp_status']])\n"
    )
    source = only(plan, "memory_source")
    assert only(plan, "filter").parents == [source.id]


def test_limits_move_below_maps(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', select=['upid'])\n"
        "df.pod = px.upid_to_pod_name(df.upid)\n"
        "px.display(df.head(3))\n"
    )
    limit = only(plan, "limit")
    assert limit.parents == [only(plan, "memory_source").id]
    assert columns(only(plan, "memory_sink")) == ["upid", "pod"]


def test_consecutive_maps_fuse(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', select=['latency'])\n"
        "df.a = df.latency + 1\n"
        "df.b = df.latency * 2\n"
        "px.display(df)\n"
    )
    assert len(nodes(plan, "map")) == 1
    assert columns(only(plan, "map")) == ["latency", "a", "b"]


def test_maps_do_not_fuse_when_that_would_compute_a_column_twice(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', select=['latency'])\n"
        "df.a = df.latency + 1\n"
        "df.b = df.a * 2\n"
        "px.display(df)\n"
    )
    assert len(nodes(plan, "map")) == 2
