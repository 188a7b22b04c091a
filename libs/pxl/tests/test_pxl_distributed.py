"""The distributed planner: splits, partial aggregation, pruning, and golden plans.

Golden files live in tests/golden/. After an intended planner change, regenerate them with
``PYXIE_UPDATE_GOLDEN=1 uv run --all-packages pytest libs/pxl/tests/test_pxl_distributed.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_pxl.compiler import CompileOptions
from pyxie_pxl.explain import explain_distributed
from pyxie_pxl.planner import AgentInfo, PlanningError
from pyxie_scripts import exec_funcs_from_vis, load_script

from .conftest import NOW_NS

GOLDEN = Path(__file__).parent / "golden"
BROKER = "broker:50300"
KELVIN = AgentInfo("kelvin", True, frozenset(), "kelvin:59300")
ALL = frozenset(
    {
        "http_events",
        "process_stats",
        "network_stats",
        "conn_stats",
        "dns_events",
        "mysql_events",
        "pgsql_events",
        "redis_events",
    }
)
CLUSTER = (
    KELVIN,
    AgentInfo("pem-1", False, ALL),
    AgentInfo("pem-2", False, ALL),
    AgentInfo("pem-3", False, frozenset({"process_stats"})),
)


def plan_for(agent: str, plan: plan_pb2.DistributedPlan) -> plan_pb2.Plan:
    return next(a.plan for a in plan.agent_plans if a.agent_id == agent)


def ops(plan: plan_pb2.Plan) -> list[str]:
    return [n.op.WhichOneof("op") for n in plan.fragments[0].nodes]


AGG = (
    "import px\n"
    "df = px.DataFrame('http_events', start_time='-5m')\n"
    "df = df[df.resp_status >= 400]\n"
    "px.display(df.groupby('req_path').agg(n=('latency', px.count), m=('latency', px.mean)))\n"
)


def test_aggregates_split_into_partial_on_pems_and_finalize_on_kelvin(compile_pxl):
    plan = compile_pxl(AGG).distribute(CLUSTER, BROKER)
    assert [a.agent_id for a in plan.agent_plans] == ["kelvin", "pem-1", "pem-2"]
    kelvin = plan_for("kelvin", plan)
    assert ops(kelvin) == ["grpc_source", "agg", "limit", "grpc_sink"]
    source, agg = kelvin.fragments[0].nodes[0], kelvin.fragments[0].nodes[1]
    assert source.op.grpc_source.expected_senders == 2
    assert agg.op.agg.stage == plan_pb2.AGG_STAGE_FINALIZE
    assert [list(v.arg_types) for v in agg.op.agg.values] == [[2], [2]]  # original INT64 args
    assert [v.args[0].column.index for v in agg.op.agg.values] == [1, 2]
    sink = kelvin.fragments[0].nodes[-1].op.grpc_sink
    assert (sink.address, sink.table_name) == (BROKER, "output")

    pem = plan_for("pem-1", plan)
    assert ops(pem) == ["memory_source", "filter", "agg", "grpc_sink"]
    partial = pem.fragments[0].nodes[2]
    assert partial.op.agg.stage == plan_pb2.AGG_STAGE_PARTIAL
    assert [c.data_type for c in partial.output_relation.columns] == [5, 5, 5]
    pem_sink = pem.fragments[0].nodes[-1].op.grpc_sink
    assert (pem_sink.address, pem_sink.grpc_source_id) == ("kelvin:59300", source.id)


def test_pems_without_the_table_get_no_plan(compile_pxl):
    plan = compile_pxl(AGG).distribute(CLUSTER, BROKER)
    assert "pem-3" not in [a.agent_id for a in plan.agent_plans]


def test_no_pem_with_the_table_gives_kelvin_an_empty_source(compile_pxl):
    agents = (KELVIN, AgentInfo("pem-1", False, frozenset({"process_stats"})))
    plan = compile_pxl(AGG).distribute(agents, BROKER)
    assert [a.agent_id for a in plan.agent_plans] == ["kelvin"]
    assert ops(plan_for("kelvin", plan))[0] == "empty_source"


def test_limits_run_on_both_sides(compile_pxl):
    plan = compile_pxl("import px\npx.display(px.DataFrame('network_stats').head(10))\n")
    distributed = plan.distribute(CLUSTER, BROKER)
    assert ops(plan_for("kelvin", distributed)) == ["grpc_source", "limit", "grpc_sink"]
    assert "pem-3" not in [a.agent_id for a in distributed.agent_plans]
    pem = plan_for("pem-1", distributed)
    assert ops(pem) == ["memory_source", "limit", "grpc_sink"]
    assert pem.fragments[0].nodes[1].op.limit.limit == 10


def test_joins_and_unions_run_on_kelvin_with_one_source_per_input(compile_pxl):
    source = (
        "import px\n"
        "a = px.DataFrame('mysql_events', select=['time_', 'latency'])\n"
        "b = px.DataFrame('pgsql_events', select=['time_', 'latency'])\n"
        "px.display(a.append(b))\n"
    )
    plan = compile_pxl(source).distribute(CLUSTER, BROKER)
    kelvin = plan_for("kelvin", plan)
    assert sorted(ops(kelvin)) == sorted(
        ["grpc_source", "grpc_source", "union", "limit", "grpc_sink"]
    )
    assert ops(plan_for("pem-1", plan)).count("grpc_sink") == 2


def test_kelvin_udtfs_run_on_kelvin_only(compile_pxl):
    plan = compile_pxl("import px\npx.display(px.GetSchemas())\n").distribute(CLUSTER, BROKER)
    assert [a.agent_id for a in plan.agent_plans] == ["kelvin"]
    assert ops(plan_for("kelvin", plan)) == ["udtf_source", "limit", "grpc_sink"]


def test_all_pem_udtfs_run_on_every_pem_and_merge_on_kelvin(compile_pxl):
    plan = compile_pxl("import px\npx.display(px.GetUPIDs())\n").distribute(CLUSTER, BROKER)
    assert sorted(a.agent_id for a in plan.agent_plans) == ["kelvin", "pem-1", "pem-2", "pem-3"]
    assert ops(plan_for("kelvin", plan)) == ["grpc_source", "limit", "grpc_sink"]
    assert ops(plan_for("pem-3", plan)) == ["udtf_source", "limit", "grpc_sink"]
    source = plan_for("kelvin", plan).fragments[0].nodes[0].op.grpc_source
    assert source.expected_senders == 3


def test_all_agents_udtfs_also_run_on_kelvin_in_a_union(compile_pxl):
    source = "import px\ndf = px._HeapStats()\ndf.n = 1\npx.display(df)\n"
    plan = compile_pxl(source).distribute(CLUSTER, BROKER)
    kelvin = ops(plan_for("kelvin", plan))
    assert kelvin.count("union") == 1 and kelvin.count("udtf_source") == 1
    assert kelvin.count("grpc_source") == 1
    pem = ops(plan_for("pem-1", plan))
    assert pem[0] == "udtf_source" and pem[-1] == "grpc_sink"


def test_single_agent_runs_everything_and_sends_results_to_the_broker(compile_pxl):
    agent = AgentInfo("pem-1", False, frozenset({"http_events"}))
    plan = compile_pxl(AGG).distribute([agent], BROKER)
    assert len(plan.agent_plans) == 1
    only_plan = plan.agent_plans[0].plan
    assert ops(only_plan) == ["memory_source", "filter", "agg", "limit", "grpc_sink"]
    assert only_plan.fragments[0].nodes[2].op.agg.stage == plan_pb2.AGG_STAGE_FULL


def test_several_pems_need_a_kelvin(compile_pxl):
    with pytest.raises(PlanningError, match="needs a Kelvin"):
        compile_pxl(AGG).distribute(CLUSTER[1:], BROKER)


def test_node_ids_are_unique_within_each_plan(compile_pxl):
    script = load_script("px/namespaces")
    assert script.vis is not None
    plan = compile_pxl(script.pxl, exec_funcs=exec_funcs_from_vis(script.vis)).distribute(
        CLUSTER, BROKER
    )
    for agent in plan.agent_plans:
        ids = [n.id for n in agent.plan.fragments[0].nodes]
        assert len(ids) == len(set(ids))
        seen: set[int] = set()
        for node in agent.plan.fragments[0].nodes:  # topological order
            assert set(node.parents) <= seen
            seen.add(node.id)


GOLDEN_SCRIPTS = ["http_request_stats", "slow_http_requests", "inbound_conns", "namespaces"]


@pytest.mark.parametrize("name", GOLDEN_SCRIPTS)
def test_distributed_plan_matches_golden(compiler, name):
    script = load_script(name)
    assert script.vis is not None
    options = CompileOptions(
        now_ns=NOW_NS, exec_funcs=exec_funcs_from_vis(script.vis), query_id="golden"
    )
    plan = compiler.compile(script.pxl, options).distribute(CLUSTER, BROKER)
    text = explain_distributed(plan)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("PYXIE_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}; run with PYXIE_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


def test_redaction_runs_on_the_pem_before_data_leaves_it(compiler):
    from pyxie_pxl.compiler import DataAccess

    source = (
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "px.display(df.groupby('req_body').agg(n=('latency', px.count)))\n"
    )
    options = CompileOptions(now_ns=NOW_NS, data_access=DataAccess.RESTRICTED)
    plan = compiler.compile(source, options).distribute(CLUSTER, BROKER)
    pem = plan_for("pem-1", plan)
    assert ops(pem) == ["memory_source", "map", "agg", "grpc_sink"]
    redaction = pem.fragments[0].nodes[1].op.map
    exprs = dict(zip(redaction.column_names, redaction.expressions, strict=True))
    assert exprs["req_body"].constant.string_value == "REDACTED"


def test_aggregates_that_cannot_merge_partial_states_run_whole_on_kelvin(compiler):
    from pyxie_carnot.builtins import new_registry
    from pyxie_pxl.compiler import Compiler
    from pyxie_types import DataType
    from pyxie_types.tables import ALL_TABLES

    registry = new_registry()
    registry.register_uda(
        "first_seen",
        [DataType.INT64],
        DataType.INT64,
        object(),
        "first_seen(x): the first value seen. Example: ('latency', px.first_seen)",
        supports_partial=False,
    )
    local = Compiler(registry, {t.name: t for t in ALL_TABLES})
    source = (
        "import px\n"
        "df = px.DataFrame('http_events')\n"
        "px.display(df.groupby('req_path').agg(f=('latency', px.first_seen)))\n"
    )
    plan = local.compile(source, CompileOptions(now_ns=NOW_NS)).distribute(CLUSTER, BROKER)
    kelvin = plan_for("kelvin", plan)
    assert ops(kelvin) == ["grpc_source", "agg", "limit", "grpc_sink"]
    assert kelvin.fragments[0].nodes[1].op.agg.stage == plan_pb2.AGG_STAGE_FULL
    assert ops(plan_for("pem-1", plan)) == ["memory_source", "grpc_sink"]
