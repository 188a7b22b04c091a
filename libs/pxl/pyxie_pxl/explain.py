"""Readable text of emitted plans (``#px:set explain=true``, ``check``, golden tests).

Each agent's plan is drawn from its sinks down to its sources; a node's inputs are indented
under it, and each line ends with the node's output relation.
"""

from __future__ import annotations

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.types.typespb import types_pb2
from pyxie_types import DataType

__all__ = ["explain_distributed", "explain_plan", "render_expression"]

_JOIN_NAMES = {
    plan_pb2.JOIN_TYPE_INNER: "inner",
    plan_pb2.JOIN_TYPE_LEFT_OUTER: "left",
    plan_pb2.JOIN_TYPE_RIGHT_OUTER: "right",
    plan_pb2.JOIN_TYPE_FULL_OUTER: "outer",
    plan_pb2.JOIN_TYPE_CROSS: "cross",
}
_STAGES = {0: "FULL", 1: "PARTIAL", 2: "FINALIZE"}


def _value(value: plan_pb2.ScalarValue) -> str:
    which = value.WhichOneof("value")
    if which == "string_value":
        return repr(value.string_value)
    if which == "uint128_value":
        return f"0x{(value.uint128_value.high << 64) | value.uint128_value.low:x}"
    if which == "time64_ns_value":
        return f"time({value.time64_ns_value})"
    if which is None:
        return "null"
    return str(getattr(value, which))


def render_expression(expr: plan_pb2.ScalarExpression) -> str:
    which = expr.WhichOneof("value")
    if which == "column":
        return expr.column.name or f"${expr.column.index}"
    if which == "constant":
        return _value(expr.constant)
    if which == "func":
        args = ", ".join(render_expression(a) for a in expr.func.args)
        return f"{expr.func.name}({args})"
    return "?"


def _relation(relation: types_pb2.Relation) -> str:
    return ", ".join(f"{c.name}:{DataType(c.data_type).name}" for c in relation.columns)


def _describe(node: plan_pb2.PlanNode) -> str:
    op = node.op
    which = op.WhichOneof("op")
    if which == "memory_source":
        src = op.memory_source
        bounds = ""
        if src.HasField("start_time_ns") or src.HasField("stop_time_ns"):
            start = src.start_time_ns if src.HasField("start_time_ns") else "-inf"
            stop = src.stop_time_ns if src.HasField("stop_time_ns") else "+inf"
            bounds = f" time=[{start}, {stop}]"
        return f"MemorySource {src.table_name}{bounds}"
    if which == "udtf_source":
        args = ", ".join(
            f"{n}={_value(v)}"
            for n, v in zip(op.udtf_source.arg_names, op.udtf_source.arg_values, strict=False)
        )
        return f"UDTFSource {op.udtf_source.name}({args})"
    if which == "empty_source":
        return "EmptySource"
    if which == "grpc_source":
        return f"GRPCSource expected_senders={op.grpc_source.expected_senders}"
    if which == "map":
        parts = [
            f"{name}={render_expression(e)}"
            for name, e in zip(op.map.column_names, op.map.expressions, strict=False)
            if not (e.WhichOneof("value") == "column" and e.column.name == name)
        ]
        passed = sum(
            1
            for name, e in zip(op.map.column_names, op.map.expressions, strict=False)
            if e.WhichOneof("value") == "column" and e.column.name == name
        )
        shown = ", ".join(parts) if parts else "-"
        return f"Map {shown} (+{passed} passed through)"
    if which == "filter":
        return f"Filter {render_expression(op.filter.condition)}"
    if which == "limit":
        abort = (
            f" abortable={list(op.limit.abortable_source_ids)}"
            if op.limit.abortable_source_ids
            else ""
        )
        return f"Limit {op.limit.limit}{abort}"
    if which == "agg":
        agg = op.agg
        values = ", ".join(
            f"{n}={v.name}({', '.join(render_expression(a) for a in v.args)})"
            for n, v in zip(agg.value_names, agg.values, strict=False)
        )
        return f"Agg[{_STAGES[agg.stage]}] by [{', '.join(agg.group_names)}] {values}".rstrip()
    if which == "join":
        join = op.join
        keys = ", ".join(
            f"${c.left_column_index}=${c.right_column_index}" for c in join.equality_conditions
        )
        return f"Join {_JOIN_NAMES[join.type]} on [{keys}]"
    if which == "union":
        return f"Union of {len(op.union.column_mappings)}"
    if which == "memory_sink":
        return f"MemorySink {op.memory_sink.name!r}"
    if which == "grpc_sink":
        sink = op.grpc_sink
        if sink.WhichOneof("destination") == "table_name":
            return f"GRPCSink {sink.address} table={sink.table_name!r}"
        return f"GRPCSink {sink.address} -> #{sink.grpc_source_id}"
    if which == "otel_sink":
        otel = op.otel_sink
        # Header names only: their values are the export target's secrets.
        headers = ", ".join(sorted(otel.endpoint.headers))
        return (
            f"OTelExportSink {otel.endpoint.url} metrics={[m.name for m in otel.metrics]} "
            f"spans={len(otel.spans)} headers=[{headers}]"
        )
    return f"{which}"


def _draw(
    node: plan_pb2.PlanNode,
    depth: int,
    by_id: dict[int, plan_pb2.PlanNode],
    shown: set[int],
    indent: str,
    lines: list[str],
) -> None:
    pad = indent + "  " * depth
    if node.id in shown:
        lines.append(f"{pad}#{node.id} (see above)")
        return
    shown.add(node.id)
    lines.append(f"{pad}#{node.id} {_describe(node)} -> [{_relation(node.output_relation)}]")
    for parent in node.parents:
        _draw(by_id[parent], depth + 1, by_id, shown, indent, lines)


def explain_plan(plan: plan_pb2.Plan, indent: str = "") -> str:
    lines: list[str] = []
    for fragment in plan.fragments:
        by_id = {n.id: n for n in fragment.nodes}
        has_child = {p for n in fragment.nodes for p in n.parents}
        shown: set[int] = set()
        for root in (n for n in fragment.nodes if n.id not in has_child):
            _draw(root, 0, by_id, shown, indent, lines)
    return "\n".join(lines)


def explain_distributed(plan: plan_pb2.DistributedPlan) -> str:
    parts: list[str] = []
    for agent in plan.agent_plans:
        role = "kelvin" if agent.is_kelvin else "pem"
        parts.append(f"agent {agent.agent_id} ({role})")
        parts.append(explain_plan(agent.plan, "  "))
    return "\n".join(parts) + "\n"
