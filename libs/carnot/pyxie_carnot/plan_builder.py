"""Build planpb plans by hand: for engine tests, benchmarks and tools that bypass the compiler.

b = PlanBuilder(registry, query_id="q1")
src = b.memory_source("http_events", HTTP_EVENTS.relation, ["time_", "resp_status"])
ok = b.filter(src, b.call("equal", b.col(src, "resp_status"), b.const(200, DataType.INT64),
                          return_type=DataType.BOOLEAN))
n = b.agg(ok, [], {"n": ("count", [b.col(ok, "resp_status")])})
b.memory_sink(n, "out")
plan = b.plan()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_proto.types.typespb import types_pb2
from pyxie_types import Column, DataType, Relation, SemanticType, uint128_from_bytes

from .registry import Registry

__all__ = ["Expr", "Node", "PlanBuilder"]

_JOIN_TYPES = {
    "inner": plan_pb2.JOIN_TYPE_INNER,
    "left": plan_pb2.JOIN_TYPE_LEFT_OUTER,
    "right": plan_pb2.JOIN_TYPE_RIGHT_OUTER,
    "outer": plan_pb2.JOIN_TYPE_FULL_OUTER,
    "cross": plan_pb2.JOIN_TYPE_CROSS,
}


@dataclass(frozen=True)
class Node:
    id: int
    relation: Relation


@dataclass(frozen=True)
class Expr:
    proto: plan_pb2.ScalarExpression
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE


def _dt(data_type: DataType) -> types_pb2.DataType:
    return int(data_type)  # type: ignore[return-value]


class PlanBuilder:
    """Appends nodes to one fragment in topological order; ``plan()`` returns the Plan."""

    def __init__(self, registry: Registry | None = None, query_id: str = "") -> None:
        self.registry = registry
        self.query_id = query_id
        self._nodes: list[plan_pb2.PlanNode] = []
        self._next_id = 1

    # ------------------------------------------------------------ expressions

    def col(self, node: Node, name: str) -> Expr:
        index = node.relation.index(name)
        column = node.relation.columns[index]
        proto = plan_pb2.ScalarExpression(column=plan_pb2.ColumnReference(index=index, name=name))
        return Expr(proto, column.data_type, column.semantic_type)

    def const(self, value: object, data_type: DataType) -> Expr:
        scalar = plan_pb2.ScalarValue(data_type=_dt(data_type))
        if data_type is DataType.BOOLEAN:
            scalar.bool_value = bool(value)
        elif data_type is DataType.INT64:
            scalar.int64_value = int(value)  # type: ignore[call-overload]
        elif data_type is DataType.FLOAT64:
            scalar.float64_value = float(value)  # type: ignore[arg-type]
        elif data_type is DataType.STRING:
            scalar.string_value = str(value)
        elif data_type is DataType.TIME64NS:
            scalar.time64_ns_value = int(value)  # type: ignore[call-overload]
        elif data_type is DataType.UINT128:
            number = uint128_from_bytes(value) if isinstance(value, bytes) else int(value)  # type: ignore[call-overload]
            scalar.uint128_value.high = number >> 64
            scalar.uint128_value.low = number & (2**64 - 1)
        return Expr(plan_pb2.ScalarExpression(constant=scalar), data_type)

    def call(self, name: str, *args: Expr, return_type: DataType) -> Expr:
        func = plan_pb2.ScalarFunction(
            name=name,
            args=[a.proto for a in args],
            arg_types=[_dt(a.data_type) for a in args],
            return_type=_dt(return_type),
        )
        return Expr(plan_pb2.ScalarExpression(func=func), return_type)

    # ------------------------------------------------------------ nodes

    def _add(self, parents: Sequence[Node], op: plan_pb2.Operator, relation: Relation) -> Node:
        node_id = self._next_id
        self._next_id += 1
        self._nodes.append(
            plan_pb2.PlanNode(
                id=node_id,
                parents=[p.id for p in parents],
                op=op,
                output_relation=relation.to_proto(),
            )
        )
        return Node(node_id, relation)

    def memory_source(
        self,
        table: str,
        relation: Relation,
        columns: Sequence[str] | None = None,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        streaming: bool = False,
    ) -> Node:
        names = list(columns) if columns is not None else list(relation.names)
        spec = plan_pb2.MemorySourceOperator(
            table_name=table, column_names=names, streaming=streaming
        )
        if start_ns is not None:
            spec.start_time_ns = start_ns
        if stop_ns is not None:
            spec.stop_time_ns = stop_ns
        return self._add([], plan_pb2.Operator(memory_source=spec), relation.select(names))

    def empty_source(self, relation: Relation) -> Node:
        return self._add(
            [], plan_pb2.Operator(empty_source=plan_pb2.EmptySourceOperator()), relation
        )

    def grpc_source(self, relation: Relation, expected_senders: int) -> Node:
        spec = plan_pb2.GRPCSourceOperator(expected_senders=expected_senders)
        return self._add([], plan_pb2.Operator(grpc_source=spec), relation)

    def udtf_source(
        self, name: str, relation: Relation, args: Mapping[str, tuple[object, DataType]] = {}
    ) -> Node:
        spec = plan_pb2.UDTFSourceOperator(name=name)
        for arg_name, (value, data_type) in args.items():
            spec.arg_names.append(arg_name)
            spec.arg_values.append(self.const(value, data_type).proto.constant)
        return self._add([], plan_pb2.Operator(udtf_source=spec), relation)

    def map(self, parent: Node, exprs: Mapping[str, Expr]) -> Node:
        spec = plan_pb2.MapOperator(
            expressions=[e.proto for e in exprs.values()], column_names=list(exprs)
        )
        relation = Relation(tuple(Column(n, e.data_type, e.semantic) for n, e in exprs.items()))
        return self._add([parent], plan_pb2.Operator(map=spec), relation)

    def filter(self, parent: Node, condition: Expr) -> Node:
        spec = plan_pb2.FilterOperator(condition=condition.proto)
        return self._add([parent], plan_pb2.Operator(filter=spec), parent.relation)

    def limit(self, parent: Node, n: int, abortable: Sequence[Node] = ()) -> Node:
        spec = plan_pb2.LimitOperator(limit=n, abortable_source_ids=[s.id for s in abortable])
        return self._add([parent], plan_pb2.Operator(limit=spec), parent.relation)

    def agg(
        self,
        parent: Node,
        groups: Sequence[str],
        values: Mapping[str, tuple[str, Sequence[Expr]]],
        *,
        stage: int = plan_pb2.AGG_STAGE_FULL,
        windowed: bool = False,
        arg_types: Mapping[str, Sequence[DataType]] | None = None,
    ) -> Node:
        """``values``: output name -> (UDA name, args). For FINALIZE, args is the state column
        and ``arg_types`` gives each value's ORIGINAL argument types."""
        if self.registry is None:
            raise ValueError("agg() needs the builder's registry to find return types")
        columns = [parent.relation.column(g) for g in groups]
        expressions = []
        for out_name, (uda_name, args) in values.items():
            types = (
                list(arg_types[out_name])
                if arg_types is not None and out_name in arg_types
                else [a.data_type for a in args]
            )
            definition = self.registry.lookup_uda(uda_name, types)
            expressions.append(
                plan_pb2.AggregateExpression(
                    name=uda_name,
                    args=[a.proto for a in args],
                    arg_types=[_dt(t) for t in types],
                    return_type=_dt(definition.return_type),
                )
            )
            if stage == plan_pb2.AGG_STAGE_PARTIAL:
                columns.append(Column(out_name, DataType.STRING))
            else:
                semantic = definition.output_semantic_type([a.semantic for a in args])
                columns.append(Column(out_name, definition.return_type, semantic))
        spec = plan_pb2.AggregateOperator(
            groups=[
                plan_pb2.ColumnReference(index=parent.relation.index(g), name=g) for g in groups
            ],
            group_names=list(groups),
            values=expressions,
            value_names=list(values),
            stage=stage,  # type: ignore[arg-type]
            windowed=windowed,
        )
        return self._add([parent], plan_pb2.Operator(agg=spec), Relation(tuple(columns)))

    def join(
        self,
        left: Node,
        right: Node,
        how: str,
        left_on: Sequence[str],
        right_on: Sequence[str],
        suffixes: tuple[str, str] = ("_x", "_y"),
    ) -> Node:
        """Every left column then every right column; names on both sides get the suffixes."""
        left_names, right_names = set(left.relation.names), set(right.relation.names)
        outputs, columns = [], []
        for parent_index, node, others, suffix in (
            (0, left, right_names, suffixes[0]),
            (1, right, left_names, suffixes[1]),
        ):
            for index, column in enumerate(node.relation.columns):
                name = column.name + suffix if column.name in others else column.name
                columns.append(Column(name, column.data_type, column.semantic_type))
                outputs.append(
                    plan_pb2.JoinOperator.OutputColumn(
                        parent_index=parent_index, column_index=index
                    )
                )
        spec = plan_pb2.JoinOperator(
            type=_JOIN_TYPES[how],
            equality_conditions=[
                plan_pb2.JoinOperator.EqualityCondition(
                    left_column_index=left.relation.index(a),
                    right_column_index=right.relation.index(b),
                )
                for a, b in zip(left_on, right_on, strict=True)
            ],
            output_columns=outputs,
            column_names=[c.name for c in columns],
        )
        return self._add([left, right], plan_pb2.Operator(join=spec), Relation(tuple(columns)))

    def union(self, parents: Sequence[Node], *, time_ordered: bool = False) -> Node:
        """Columns matched by name; the output follows the first parent's order."""
        relation = parents[0].relation
        spec = plan_pb2.UnionOperator(
            column_names=list(relation.names),
            column_mappings=[
                plan_pb2.UnionOperator.ColumnMapping(
                    column_indexes=[p.relation.index(n) for n in relation.names]
                )
                for p in parents
            ],
            time_ordered=time_ordered,
        )
        return self._add(parents, plan_pb2.Operator(union=spec), relation)

    def memory_sink(self, parent: Node, name: str) -> Node:
        spec = plan_pb2.MemorySinkOperator(name=name)
        return self._add([parent], plan_pb2.Operator(memory_sink=spec), parent.relation)

    def grpc_sink(
        self,
        parent: Node,
        address: str,
        *,
        source_id: int | None = None,
        table_name: str | None = None,
    ) -> Node:
        spec = plan_pb2.GRPCSinkOperator(address=address)
        if source_id is not None:
            spec.grpc_source_id = source_id
        else:
            spec.table_name = table_name or ""
        return self._add([parent], plan_pb2.Operator(grpc_sink=spec), parent.relation)

    def otel_sink(self, parent: Node, spec: plan_pb2.OTelExportSinkOperator) -> Node:
        return self._add([parent], plan_pb2.Operator(otel_sink=spec), parent.relation)

    def plan(
        self, *, memory_budget_bytes: int = 0, timeout_ns: int = 0, analyze: bool = False
    ) -> plan_pb2.Plan:
        return plan_pb2.Plan(
            query_id=self.query_id,
            fragments=[plan_pb2.PlanFragment(id=1, nodes=self._nodes)],
            options=plan_pb2.ExecutionOptions(
                analyze=analyze, memory_budget_bytes=memory_budget_bytes, timeout_ns=timeout_ns
            ),
        )
