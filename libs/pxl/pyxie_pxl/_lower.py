"""Stage 7, emit: IR operator nodes to ``planpb.Plan`` (one lowering function per node type)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.types.typespb import types_pb2
from pyxie_types import DataType, Relation

from .errors import CompilerError
from .ir import (
    AggExpr,
    AggOp,
    CallExpr,
    ColumnExpr,
    EmptySourceOp,
    Expr,
    FilterOp,
    GRPCSinkOp,
    GRPCSourceOp,
    JoinHow,
    JoinOp,
    LimitOp,
    LiteralExpr,
    MapOp,
    MemorySourceOp,
    Operator,
    OTelAttr,
    OTelExportSinkOp,
    ResultSinkOp,
    UDTFSourceOp,
    UnionOp,
    walk,
)

__all__ = ["LoweringContext", "NodeIds", "lower_plan", "scalar_value"]


@dataclass
class NodeIds:
    """Plan node ids, shared by all agents' plans of one query so GRPC sinks can name sources."""

    _ids: dict[int, int] = field(default_factory=dict)
    _keep: list[Operator] = field(default_factory=list)

    def of(self, node: Operator) -> int:
        key = id(node)
        if key not in self._ids:
            self._ids[key] = len(self._ids) + 1
            self._keep.append(node)  # keep the node alive so its id() is not reused
        return self._ids[key]


@dataclass(frozen=True)
class LoweringContext:
    ids: NodeIds
    # Where result sinks send their tables (the query broker); None keeps them in memory.
    result_address: str | None = None


def scalar_value(value: Any, data_type: DataType) -> plan_pb2.ScalarValue:
    out = plan_pb2.ScalarValue(data_type=int(data_type))  # type: ignore[arg-type]
    if data_type is DataType.BOOLEAN:
        out.bool_value = bool(value)
    elif data_type is DataType.INT64:
        out.int64_value = int(value)
    elif data_type is DataType.FLOAT64:
        out.float64_value = float(value)
    elif data_type is DataType.STRING:
        out.string_value = str(value)
    elif data_type is DataType.TIME64NS:
        out.time64_ns_value = int(value)
    elif data_type is DataType.UINT128:
        number = int(value) if not isinstance(value, bytes) else int.from_bytes(value, "big")
        out.uint128_value.CopyFrom(types_pb2.UInt128(high=number >> 64, low=number & (2**64 - 1)))
    else:
        raise CompilerError(f"constants of type {data_type.name} are not supported")
    return out


def _expr(expr: Expr, relation: Relation) -> plan_pb2.ScalarExpression:
    if isinstance(expr, ColumnExpr):
        return plan_pb2.ScalarExpression(
            column=plan_pb2.ColumnReference(index=relation.index(expr.name), name=expr.name)
        )
    if isinstance(expr, LiteralExpr):
        return plan_pb2.ScalarExpression(constant=scalar_value(expr.value, expr.data_type))
    if isinstance(expr, CallExpr):
        return plan_pb2.ScalarExpression(
            func=plan_pb2.ScalarFunction(
                name=expr.name,
                args=[_expr(a, relation) for a in expr.args],
                arg_types=[int(t) for t in expr.arg_types],  # type: ignore[misc]
                return_type=int(expr.data_type),  # type: ignore[arg-type]
            )
        )
    raise CompilerError(f"expression {type(expr).__name__} is not supported by the planner")


def _agg_expr(expr: AggExpr, relation: Relation) -> plan_pb2.AggregateExpression:
    return plan_pb2.AggregateExpression(
        name=expr.name,
        args=[_expr(a, relation) for a in expr.args],
        arg_types=[int(t) for t in expr.arg_types],  # type: ignore[misc]
        return_type=int(expr.data_type),  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------ per node type


def _memory_source(node: MemorySourceOp, ctx: LoweringContext) -> plan_pb2.Operator:
    op = plan_pb2.MemorySourceOperator(
        table_name=node.table.name, column_names=list(node.columns), streaming=node.streaming
    )
    if node.start_ns is not None:
        op.start_time_ns = node.start_ns
    if node.stop_ns is not None:
        op.stop_time_ns = node.stop_ns
    return plan_pb2.Operator(memory_source=op)


def _udtf_source(node: UDTFSourceOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(
        udtf_source=plan_pb2.UDTFSourceOperator(
            name=node.name,
            arg_names=[name for name, _ in node.args],
            arg_values=[scalar_value(v.value, v.data_type) for _, v in node.args],
        )
    )


def _empty_source(node: EmptySourceOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(empty_source=plan_pb2.EmptySourceOperator())


def _grpc_source(node: GRPCSourceOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(
        grpc_source=plan_pb2.GRPCSourceOperator(expected_senders=node.expected_senders)
    )


def _map(node: MapOp, ctx: LoweringContext) -> plan_pb2.Operator:
    relation = node.parent.relation
    return plan_pb2.Operator(
        map=plan_pb2.MapOperator(
            expressions=[_expr(e, relation) for _, e in node.columns],
            column_names=[n for n, _ in node.columns],
        )
    )


def _filter(node: FilterOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(
        filter=plan_pb2.FilterOperator(condition=_expr(node.condition, node.parent.relation))
    )


def _abortable_sources(node: LimitOp, ctx: LoweringContext) -> list[int]:
    current: Operator = node.parent
    while isinstance(current, MapOp | FilterOp | LimitOp):
        current = current.parent
    if isinstance(current, MemorySourceOp):
        return [ctx.ids.of(current)]
    return []


def _limit(node: LimitOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(
        limit=plan_pb2.LimitOperator(
            limit=node.limit, abortable_source_ids=_abortable_sources(node, ctx)
        )
    )


def _agg(node: AggOp, ctx: LoweringContext) -> plan_pb2.Operator:
    relation = node.parent.relation
    return plan_pb2.Operator(
        agg=plan_pb2.AggregateOperator(
            groups=[plan_pb2.ColumnReference(index=relation.index(g), name=g) for g in node.groups],
            group_names=list(node.groups),
            values=[_agg_expr(v, relation) for _, v in node.values],
            value_names=[n for n, _ in node.values],
            stage=int(node.stage),  # type: ignore[arg-type]
        )
    )


_JOIN_TYPES = {
    JoinHow.INNER: plan_pb2.JOIN_TYPE_INNER,
    JoinHow.LEFT: plan_pb2.JOIN_TYPE_LEFT_OUTER,
    JoinHow.RIGHT: plan_pb2.JOIN_TYPE_RIGHT_OUTER,
    JoinHow.OUTER: plan_pb2.JOIN_TYPE_FULL_OUTER,
    JoinHow.CROSS: plan_pb2.JOIN_TYPE_CROSS,
}


def _join(node: JoinOp, ctx: LoweringContext) -> plan_pb2.Operator:
    left, right = node.parents[0].relation, node.parents[1].relation
    Join = plan_pb2.JoinOperator
    return plan_pb2.Operator(
        join=Join(
            type=_JOIN_TYPES[node.how],
            equality_conditions=[
                Join.EqualityCondition(
                    left_column_index=left.index(lkey), right_column_index=right.index(rkey)
                )
                for lkey, rkey in zip(node.left_on, node.right_on, strict=True)
            ],
            output_columns=[
                Join.OutputColumn(
                    parent_index=side, column_index=(left if side == 0 else right).index(src)
                )
                for side, src, _ in node.output
            ],
            column_names=[name for _, _, name in node.output],
        )
    )


def _union(node: UnionOp, ctx: LoweringContext) -> plan_pb2.Operator:
    names = list(node.relation.names)
    return plan_pb2.Operator(
        union=plan_pb2.UnionOperator(
            column_names=names,
            column_mappings=[
                plan_pb2.UnionOperator.ColumnMapping(
                    column_indexes=[p.relation.index(n) for n in names]
                )
                for p in node.parents
            ],
        )
    )


def _result_sink(node: ResultSinkOp, ctx: LoweringContext) -> plan_pb2.Operator:
    if ctx.result_address is None:
        return plan_pb2.Operator(memory_sink=plan_pb2.MemorySinkOperator(name=node.name))
    return plan_pb2.Operator(
        grpc_sink=plan_pb2.GRPCSinkOperator(address=ctx.result_address, table_name=node.name)
    )


def _grpc_sink(node: GRPCSinkOp, ctx: LoweringContext) -> plan_pb2.Operator:
    return plan_pb2.Operator(
        grpc_sink=plan_pb2.GRPCSinkOperator(
            address=node.address, grpc_source_id=ctx.ids.of(node.destination)
        )
    )


def _otel_attrs(attrs: Sequence[OTelAttr], relation: Relation) -> list[plan_pb2.OTelAttribute]:
    return [
        plan_pb2.OTelAttribute(name=a.name, column_index=relation.index(a.value))
        if a.is_column
        else plan_pb2.OTelAttribute(name=a.name, string_value=a.value)
        for a in attrs
    ]


def _otel_sink(node: OTelExportSinkOp, ctx: LoweringContext) -> plan_pb2.Operator:
    spec, relation = node.spec, node.parent.relation

    def index(column: str) -> int:
        return relation.index(column) if column else -1

    metrics = []
    for metric in spec.metrics:
        out = plan_pb2.OTelMetric(
            name=metric.name,
            description=metric.description,
            unit=metric.unit,
            attributes=_otel_attrs(metric.attributes, relation),
            time_column_index=index(metric.time_column),
        )
        if metric.kind == "gauge":
            out.gauge.value_column_index = index(metric.value_column)
        else:
            out.summary.count_column_index = index(metric.value_column)
            out.summary.sum_column_index = index(metric.sum_column)
            out.summary.quantiles.extend(
                plan_pb2.OTelSummary.Quantile(quantile=q, value_column_index=index(c))
                for q, c in metric.quantiles
            )
        metrics.append(out)
    spans = []
    for span in spec.spans:
        out_span = plan_pb2.OTelSpan(
            attributes=_otel_attrs(span.attributes, relation),
            start_time_column_index=index(span.start_time_column),
            end_time_column_index=index(span.end_time_column),
            trace_id_column_index=index(span.trace_id_column),
            span_id_column_index=index(span.span_id_column),
            parent_span_id_column_index=index(span.parent_span_id_column),
            kind=span.kind,
        )
        if span.name.is_column:
            out_span.name_column_index = index(span.name.value)
        else:
            out_span.name_string = span.name.value
        spans.append(out_span)
    return plan_pb2.Operator(
        otel_sink=plan_pb2.OTelExportSinkOperator(
            endpoint=plan_pb2.OTelEndpoint(
                url=spec.url,
                headers=dict(spec.headers),
                insecure=spec.insecure,
                timeout_s=spec.timeout_s,
            ),
            resource=_otel_attrs(spec.resource, relation),
            metrics=metrics,
            spans=spans,
            report_address=ctx.result_address or "",
            max_export_bytes=spec.max_export_bytes,
            org_id=spec.org_id,
        )
    )


_LOWERERS: dict[type[Operator], Callable[[Any, LoweringContext], plan_pb2.Operator]] = {
    MemorySourceOp: _memory_source,
    UDTFSourceOp: _udtf_source,
    EmptySourceOp: _empty_source,
    GRPCSourceOp: _grpc_source,
    MapOp: _map,
    FilterOp: _filter,
    LimitOp: _limit,
    AggOp: _agg,
    JoinOp: _join,
    UnionOp: _union,
    ResultSinkOp: _result_sink,
    GRPCSinkOp: _grpc_sink,
    OTelExportSinkOp: _otel_sink,
}


def lower_operator(node: Operator, ctx: LoweringContext) -> plan_pb2.Operator:
    lowerer = _LOWERERS.get(type(node))
    if lowerer is None:
        raise CompilerError(f"the {node.kind} operator is not supported by the planner")
    return lowerer(node, ctx)


def lower_plan(
    sinks: Sequence[Operator],
    ctx: LoweringContext,
    *,
    query_id: str = "",
    options: plan_pb2.ExecutionOptions | None = None,
) -> plan_pb2.Plan:
    """One plan with one fragment holding every node reachable from ``sinks``."""
    fragment = plan_pb2.PlanFragment(id=1)
    for node in walk(sinks):
        fragment.nodes.append(
            plan_pb2.PlanNode(
                id=ctx.ids.of(node),
                parents=[ctx.ids.of(p) for p in node.parents],
                op=lower_operator(node, ctx),
                output_relation=node.relation.to_proto(),
            )
        )
    plan = plan_pb2.Plan(query_id=query_id, fragments=[fragment])
    if options is not None:
        plan.options.CopyFrom(options)
    return plan
