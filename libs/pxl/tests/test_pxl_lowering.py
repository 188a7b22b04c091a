"""Each language feature lowers to the expected plan nodes."""

from __future__ import annotations

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_pxl.compiler import ExecFunc
from pyxie_types import DataType, SemanticType

from .conftest import NOW_NS

MINUTE_NS = 60 * 1_000_000_000


def nodes(plan: plan_pb2.Plan, kind: str) -> list[plan_pb2.PlanNode]:
    return [n for n in plan.fragments[0].nodes if n.op.WhichOneof("op") == kind]


def only(plan: plan_pb2.Plan, kind: str) -> plan_pb2.PlanNode:
    found = nodes(plan, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def columns(node: plan_pb2.PlanNode) -> list[str]:
    return [c.name for c in node.output_relation.columns]


def call_names(expr: plan_pb2.ScalarExpression) -> list[str]:
    if expr.WhichOneof("value") != "func":
        return []
    names = [expr.func.name]
    for arg in expr.func.args:
        names += call_names(arg)
    return names


def test_relative_start_time_is_now_minus_the_duration(plan_of):
    plan = plan_of("import px\npx.display(px.DataFrame('http_events', start_time='-5m'))\n")
    source = only(plan, "memory_source").op.memory_source
    assert source.start_time_ns == NOW_NS - 5 * MINUTE_NS
    assert not source.HasField("stop_time_ns")


def test_time_strings_are_searched_not_matched_and_ms_beats_m(plan_of):
    plan = plan_of(
        "import px\n"
        "px.display(px.DataFrame('http_events', start_time='last -100ms', end_time=px.now()))\n"
    )
    source = only(plan, "memory_source").op.memory_source
    assert source.start_time_ns == NOW_NS - 100 * 1_000_000
    assert source.stop_time_ns == NOW_NS


def test_absolute_and_integer_times(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', start_time='2023-11-14 22:13:20 +0000',"
        " end_time=1700000060000000000)\n"
        "px.display(df)\n"
    )
    source = only(plan, "memory_source").op.memory_source
    assert source.start_time_ns == 1_700_000_000_000_000_000
    assert source.stop_time_ns == 1_700_000_060_000_000_000


def test_select_reads_only_those_columns(plan_of):
    plan = plan_of(
        "import px\npx.display(px.DataFrame('http_events', select=['latency', 'time_']))\n"
    )
    assert list(only(plan, "memory_source").op.memory_source.column_names) == ["latency", "time_"]


def test_reassigning_a_column_moves_it_to_the_end(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('network_stats', select=['time_', 'pod_id', 'rx_bytes'])\n"
        "df.time_ = df.time_\n"
        "px.display(df)\n"
    )
    sink = only(plan, "memory_sink")
    assert columns(sink) == ["pod_id", "rx_bytes", "time_"]


def test_filter_and_projection_and_string_subscripts(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "df = df[df['resp_status'] >= 400 and not df.encrypted]\n"
        "px.display(df[['req_path', 'resp_status']])\n"
    )
    condition = only(plan, "filter").op.filter.condition
    assert call_names(condition) == ["logicalAnd", "greaterThanEqual", "logicalNot"]
    assert columns(only(plan, "memory_sink")) == ["req_path", "resp_status"]


def test_constant_expressions_are_folded(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', select=['latency'])\n"
        "df.x = df.latency * (1000 * 1000)\n"
        "df.y = 'a' + 'b'\n"
        "df.z = 7 / 2\n"
        "df.w = -7 % 2\n"
        "px.display(df)\n"
    )
    exprs = dict(
        zip(
            only(plan, "map").op.map.column_names,
            only(plan, "map").op.map.expressions,
            strict=False,
        )
    )
    assert exprs["x"].func.args[1].constant.int64_value == 1_000_000
    assert exprs["y"].constant.string_value == "ab"
    assert exprs["z"].constant.float64_value == 3.5
    assert exprs["w"].constant.int64_value == -1  # C++ truncating remainder


def test_explicit_px_calls_are_not_folded(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events', select=['latency'])\n"
        "df.c = px.contains('abc', 'b')\n"
        "px.display(df)\n"
    )
    exprs = dict(
        zip(
            only(plan, "map").op.map.column_names,
            only(plan, "map").op.map.expressions,
            strict=False,
        )
    )
    assert exprs["c"].func.name == "contains"


def test_groupby_agg_outputs_keys_then_values(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "df = df.groupby(['req_method', 'resp_status']).agg(\n"
        "    n=('latency', px.count), lat=('latency', px.mean))\n"
        "px.display(df)\n"
    )
    agg = only(plan, "agg")
    assert columns(agg) == ["req_method", "resp_status", "n", "lat"]
    assert agg.op.agg.stage == plan_pb2.AGG_STAGE_FULL
    assert [v.name for v in agg.op.agg.values] == ["count", "mean"]
    assert agg.output_relation.columns[3].data_type == DataType.FLOAT64
    assert agg.output_relation.columns[3].semantic_type == SemanticType.ST_DURATION_NS


def test_agg_without_values_gives_distinct_keys_and_without_groupby_one_row(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "px.display(df.groupby('req_path').agg(), 'keys')\n"
        "px.display(df.agg(total=('latency', px.sum)), 'total')\n"
    )
    aggs = nodes(plan, "agg")
    assert sorted(tuple(columns(a)) for a in aggs) == [("req_path",), ("total",)]


def test_merge_keeps_all_columns_and_suffixes_collisions(plan_of):
    plan = plan_of(
        "import px\n"
        "a = px.DataFrame('http_events', select=['upid', 'latency'])\n"
        "b = px.DataFrame('process_stats', select=['upid', 'rss_bytes'])\n"
        "c = a.merge(b, how='left', left_on='upid', right_on='upid', suffixes=['', '_p'])\n"
        "px.display(c)\n"
    )
    join = only(plan, "join")
    assert join.op.join.type == plan_pb2.JOIN_TYPE_LEFT_OUTER
    assert columns(join) == ["upid", "latency", "upid_p", "rss_bytes"]
    condition = join.op.join.equality_conditions[0]
    assert (condition.left_column_index, condition.right_column_index) == (0, 0)


def test_merge_with_empty_keys_is_a_cross_join(plan_of):
    plan = plan_of(
        "import px\n"
        "a = px.DataFrame('http_events', select=['latency'])\n"
        "b = a.agg(m=('latency', px.max))\n"
        "px.display(a.merge(b, how='inner', left_on=[], right_on=[]))\n"
    )
    join = only(plan, "join")
    assert join.op.join.type == plan_pb2.JOIN_TYPE_CROSS
    assert columns(join) == ["latency", "m"]


def test_append_unions_by_name_in_the_first_sides_order(plan_of):
    plan = plan_of(
        "import px\n"
        "a = px.DataFrame('mysql_events', select=['time_', 'latency'])\n"
        "b = px.DataFrame('pgsql_events', select=['latency', 'time_'])\n"
        "c = px.DataFrame('redis_events', select=['time_', 'latency'])\n"
        "px.display(a.append(b).append(c))\n"
    )
    union = only(plan, "union")
    assert len(union.parents) == 3
    assert columns(union) == ["time_", "latency"]
    assert list(union.op.union.column_mappings[1].column_indexes) == [1, 0]


def test_head_becomes_a_limit_that_can_stop_its_source(plan_of):
    plan = plan_of("import px\npx.display(px.DataFrame('http_events').head(7))\n")
    limit = only(plan, "limit")
    assert limit.op.limit.limit == 7
    assert list(limit.op.limit.abortable_source_ids) == [only(plan, "memory_source").id]


def test_drop_by_string_list_and_keyword(plan_of):
    plan = plan_of(
        "import px\n"
        "df = px.DataFrame('network_stats')\n"
        "df = df.drop('rx_drops').drop(['tx_drops']).drop(columns=['rx_errors'])\n"
        "px.display(df)\n"
    )
    names = columns(only(plan, "memory_sink"))
    assert "rx_drops" not in names and "tx_drops" not in names and "rx_errors" not in names
    assert "rx_bytes" in names


def test_ctx_pod_on_a_socket_table_uses_the_local_addr_fallback(plan_of):
    plan = plan_of(
        "import px\ndf = px.DataFrame('http_events')\ndf.pod = df.ctx['pod']\n"
        "px.display(df[['pod']])\n"
    )
    expr = only(plan, "map").op.map.expressions[-1]
    assert expr.func.name == "_upid_to_podname_local_addr_fallback"
    assert [a.column.name for a in expr.func.args] == ["upid", "local_addr", "time_"]


def test_ctx_keys_resolve_by_the_frames_columns(plan_of):
    plan = plan_of(
        "import px\n"
        "p = px.DataFrame('process_stats')\n"
        "p.pod = p.ctx['pod']\n"
        "p.service = p.ctx['service']\n"
        "p.node = p.ctx['node']\n"
        "px.display(p[['pod', 'service', 'node']], 'p')\n"
        "n = px.DataFrame('network_stats')\n"
        "n.pod = n.ctx['pod']\n"
        "n.ns = n.ctx['namespace']\n"
        "px.display(n[['pod', 'ns']], 'n')\n"
    )
    called = set()
    for node in nodes(plan, "map"):
        for expr in node.op.map.expressions:
            called.update(call_names(expr))
    assert {"upid_to_pod_name", "upid_to_service_name", "upid_to_node_name"} <= called
    assert {"pod_id_to_pod_name", "pod_id_to_namespace"} <= called


def test_ctx_result_has_the_metadata_semantic_type(plan_of):
    plan = plan_of(
        "import px\ndf = px.DataFrame('process_stats')\ndf.ns = df.ctx['namespace']\n"
        "px.display(df[['ns']])\n"
    )
    assert only(plan, "memory_sink").output_relation.columns[0].semantic_type == (
        SemanticType.ST_NAMESPACE_NAME
    )


def test_display_names_default_and_duplicates_are_numbered(plan_of):
    plan = plan_of(
        "import px\ndf = px.DataFrame('network_stats')\n"
        "px.display(df)\npx.display(df)\npx.display(df, 'x')\npx.debug(df, 'x')\n"
    )
    assert [n.op.memory_sink.name for n in nodes(plan, "memory_sink")] == [
        "output",
        "output_1",
        "x",
        "_x",
    ]


def test_exec_functions_parse_their_arguments_by_annotation(plan_of):
    source = (
        "import px\n"
        "def f(start: str, n: int, ratio: float, on: bool, ns: px.Namespace, t: px.Time):\n"
        "    df = px.DataFrame('process_stats', start_time=start, end_time=t)\n"
        "    df.r = df.rss_bytes * ratio\n"
        "    df.on = on\n"
        "    df.ns = ns\n"
        "    return df.head(n)\n"
    )
    args = {"start": "-1m", "n": "3", "ratio": "0.5", "on": "True", "ns": "default", "t": "-30s"}
    plan = plan_of(source, exec_funcs=[ExecFunc("f", args, "out")])
    source_op = only(plan, "memory_source").op.memory_source
    assert source_op.start_time_ns == NOW_NS - MINUTE_NS
    assert source_op.stop_time_ns == NOW_NS - 30 * 1_000_000_000
    assert only(plan, "limit").op.limit.limit == 3
    sink = only(plan, "memory_sink")
    assert sink.op.memory_sink.name == "out"
    relation = {c.name: c for c in sink.output_relation.columns}
    assert relation["on"].data_type == DataType.BOOLEAN
    assert relation["ns"].semantic_type == SemanticType.ST_NAMESPACE_NAME


def test_display_is_a_noop_while_exec_functions_run(plan_of):
    source = (
        "import px\n"
        "def f():\n"
        "    df = px.DataFrame('network_stats')\n"
        "    px.display(df, 'ignored')\n"
        "    return [df, df.head(2)]\n"
    )
    plan = plan_of(source, exec_funcs=[ExecFunc("f", {}, "tbl")])
    assert [n.op.memory_sink.name for n in nodes(plan, "memory_sink")] == ["tbl[0]", "tbl[1]"]


def test_functions_can_be_defined_below_their_callers_and_take_keywords(plan_of):
    source = (
        "import px\n"
        "def f(start_time: str):\n"
        "    return g(df=px.DataFrame('network_stats', start_time=start_time), n=2)\n"
        "def g(df: px.DataFrame, n: int):\n"
        "    return df.head(n)\n"
    )
    plan = plan_of(source, exec_funcs=[ExecFunc("f", {"start_time": "-5m"}, "o")])
    assert only(plan, "limit").op.limit.limit == 2


def test_helpers_do_not_change_the_callers_frame(plan_of):
    source = (
        "import px\n"
        "def add(df):\n"
        "    df.extra = 1\n"
        "    return df\n"
        "df = px.DataFrame('network_stats', select=['pod_id'])\n"
        "x = add(df)\n"
        "px.display(df, 'original')\n"
    )
    plan = plan_of(source)
    assert columns(only(plan, "memory_sink")) == ["pod_id"]


def test_px_type_rebinding_to_str(plan_of):
    source = (
        "import px\npx.Pod = str\n"
        "def f(pod: px.Pod):\n"
        "    df = px.DataFrame('network_stats')\n"
        "    df.p = pod\n"
        "    return df\n"
    )
    plan = plan_of(source, exec_funcs=[ExecFunc("f", {"pod": "a/b"}, "o")])
    sink = only(plan, "memory_sink")
    assert sink.output_relation.columns[-1].semantic_type == SemanticType.ST_NONE


def test_compile_time_helpers(plan_of):
    source = (
        "import px\n"
        "df = px.DataFrame('network_stats', select=['time_'])\n"
        "df.a = px.parse_duration('-30m')\n"
        "df.b = px.format_duration(2 * px.parse_duration('-30m'))\n"
        "df.c = px.minutes(2) + px.seconds(1) + px.milliseconds(1)\n"
        "df.d = px.parse_time('-1m')\n"
        "df.e = px.DurationNanos(5)\n"
        "df.f = px.script_reference('label', 'px/pod', {'pod': 'ns/p', 'start_time': '-5m'})\n"
        "px.display(df)\n"
    )
    plan = plan_of(source)
    map_op = only(plan, "map").op.map
    exprs = dict(zip(map_op.column_names, map_op.expressions, strict=False))
    assert exprs["a"].constant.int64_value == -30 * MINUTE_NS
    assert exprs["b"].constant.string_value == "-1h"
    assert exprs["c"].constant.int64_value == 121_001_000_000
    assert exprs["d"].constant.time64_ns_value == NOW_NS - MINUTE_NS
    assert exprs["f"].func.name == "_script_reference"
    assert len(exprs["f"].func.args) == 6
    sink = only(plan, "memory_sink")
    semantic = {c.name: c.semantic_type for c in sink.output_relation.columns}
    assert semantic["e"] == SemanticType.ST_DURATION_NS


def test_time_arithmetic_types(plan_of):
    source = (
        "import px\n"
        "df = px.DataFrame('http_events', select=['time_'])\n"
        "df.age = px.now() - df.time_\n"
        "df.later = df.time_ + 5\n"
        "df.bucket = px.bin(df.time_, px.seconds(10))\n"
        "px.display(df)\n"
    )
    plan = plan_of(source)
    types = {c.name: c.data_type for c in only(plan, "memory_sink").output_relation.columns}
    assert types["age"] == DataType.INT64
    assert types["later"] == DataType.TIME64NS
    assert types["bucket"] == DataType.TIME64NS


def test_pxviews_module_is_importable(plan_of):
    source = "import px\nimport pxviews\npx.display(pxviews.pod_resource_stats('-5m', px.now()))\n"
    plan = plan_of(source)
    assert "cpu_usage" in columns(only(plan, "memory_sink"))


def test_udtf_sources(plan_of):
    plan = plan_of("import px\npx.display(px.GetAgentStatus(include_kelvin=False))\n")
    udtf = only(plan, "udtf_source").op.udtf_source
    assert udtf.name == "GetAgentStatus"
    assert list(udtf.arg_names) == ["include_kelvin"]
    assert udtf.arg_values[0].bool_value is False


def test_px_set_flags(compile_pxl):
    plan = compile_pxl(
        "#px:set explain=true analyze=true\n#px:set max_output_rows_per_table=5\nimport px\n"
    )
    assert plan.flags.explain and plan.flags.analyze
    assert plan.flags.max_output_rows_per_table == 5
    assert plan.to_plan().options.analyze


def test_frames_never_displayed_are_not_planned(plan_of):
    plan = plan_of(
        "import px\n"
        "unused = px.DataFrame('process_stats')\n"
        "px.display(px.DataFrame('network_stats'))\n"
    )
    assert [n.op.memory_source.table_name for n in nodes(plan, "memory_source")] == [
        "network_stats"
    ]
