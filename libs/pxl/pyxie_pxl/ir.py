"""The typed, immutable intermediate representation: expressions and operator nodes.

Every node derives its output relation from its parents when it is built and raises
``IRValidationError`` if it does not fit them, so a rewrite rule cannot produce an ill-formed
plan silently. Nodes compare by identity; rules build new nodes with ``with_parents``.
Expressions reference input columns by name; lowering turns names into positions.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema

__all__ = [
    "MAX_EXPRESSION_DEPTH",
    "AggExpr",
    "AggOp",
    "AggStage",
    "CallExpr",
    "ColumnExpr",
    "EmptySourceOp",
    "Expr",
    "FilterOp",
    "GRPCSinkOp",
    "GRPCSourceOp",
    "IRValidationError",
    "JoinHow",
    "JoinOp",
    "LimitOp",
    "LiteralExpr",
    "MapOp",
    "MemorySourceOp",
    "OTelAttr",
    "OTelExportSinkOp",
    "OTelExportSpec",
    "OTelMetricSpec",
    "OTelSpanSpec",
    "Operator",
    "ResultSinkOp",
    "UDTFSourceOp",
    "UnionOp",
    "expression_depth",
    "rebuild",
    "referenced_columns",
    "rewrite",
    "walk",
]


class IRValidationError(ValueError):
    """An IR node that does not fit its inputs (a compiler bug or a bad rewrite)."""


# ------------------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class ColumnExpr:
    name: str
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE


@dataclass(frozen=True, slots=True)
class LiteralExpr:
    value: Any
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE


@dataclass(frozen=True, slots=True)
class CallExpr:
    """A resolved scalar function call (the overload with exactly these argument types)."""

    name: str
    args: tuple[Expr, ...]
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE

    @property
    def arg_types(self) -> tuple[DataType, ...]:
        return tuple(a.data_type for a in self.args)


Expr: TypeAlias = ColumnExpr | LiteralExpr | CallExpr


@dataclass(frozen=True, slots=True)
class AggExpr:
    """A resolved UDA call. ``arg_types`` stay those of the original call in every stage."""

    name: str
    args: tuple[ColumnExpr | LiteralExpr, ...]
    arg_types: tuple[DataType, ...]
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE
    # Whether the UDA can run as PARTIAL on PEMs and FINALIZE on Kelvin.
    splittable: bool = True


# Each call level is two protobuf message levels (ScalarExpression > ScalarFunction) and protobuf
# refuses messages nested deeper than 100 (upb's default); 32 calls leaves room for the plan's own
# nesting (DistributedPlan > Plan > PlanFragment > PlanNode > Operator > MapOperator > ...) and the
# NATS envelopes around it. The bundled scripts nest at most a handful of calls.
MAX_EXPRESSION_DEPTH = 32


def expression_depth(expr: Expr) -> int:
    """How many calls deep ``expr`` nests (a column or literal is 0)."""
    if isinstance(expr, CallExpr):
        return 1 + max((expression_depth(a) for a in expr.args), default=0)
    return 0


def referenced_columns(expr: Expr | AggExpr) -> set[str]:
    if isinstance(expr, ColumnExpr):
        return {expr.name}
    if isinstance(expr, LiteralExpr):
        return set()
    found: set[str] = set()
    for arg in expr.args:
        found |= referenced_columns(arg)
    return found


def _check_expr(expr: Expr | AggExpr, relation: Relation, where: str) -> None:
    if isinstance(expr, ColumnExpr):
        if expr.name not in relation:
            raise IRValidationError(
                f"{where}: column {expr.name!r} not in input ({', '.join(relation.names)})"
            )
        have = relation.column(expr.name).data_type
        if have is not expr.data_type:
            raise IRValidationError(
                f"{where}: column {expr.name!r} is {have.name}, expression says "
                f"{expr.data_type.name}"
            )
        return
    if isinstance(expr, LiteralExpr):
        return
    for arg in expr.args:
        _check_expr(arg, relation, where)


# ------------------------------------------------------------------------------ operators


class AggStage(enum.IntEnum):
    FULL = 0
    PARTIAL = 1
    FINALIZE = 2


class JoinHow(enum.Enum):
    INNER = "inner"
    LEFT = "left"
    RIGHT = "right"
    OUTER = "outer"
    CROSS = "cross"


@dataclass(frozen=True, eq=False)
class Operator:
    """Base of operator nodes; ``relation`` is derived from the parents when built."""

    parents: tuple[Operator, ...]
    relation: Relation = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "relation", self._derive())

    def _derive(self) -> Relation:
        raise NotImplementedError

    def with_parents(self, parents: Sequence[Operator]) -> Operator:
        return dataclasses.replace(self, parents=tuple(parents))

    def replace(self, **changes: Any) -> Operator:
        return dataclasses.replace(self, **changes)

    @property
    def parent(self) -> Operator:
        return self.parents[0]

    @property
    def kind(self) -> str:
        return type(self).__name__.removesuffix("Op")


@dataclass(frozen=True, eq=False)
class MemorySourceOp(Operator):
    table: TableSchema = field(kw_only=True)
    columns: tuple[str, ...] = field(kw_only=True)
    start_ns: int | None = field(default=None, kw_only=True)
    stop_ns: int | None = field(default=None, kw_only=True)
    streaming: bool = field(default=False, kw_only=True)

    def _derive(self) -> Relation:
        if self.parents:
            raise IRValidationError("a memory source has no parents")
        missing = [c for c in self.columns if c not in self.table.relation]
        if missing:
            raise IRValidationError(f"table {self.table.name!r} has no column(s) {missing}")
        return self.table.relation.select(self.columns)


@dataclass(frozen=True, eq=False)
class UDTFSourceOp(Operator):
    name: str = field(kw_only=True)
    args: tuple[tuple[str, LiteralExpr], ...] = field(kw_only=True)
    output: Relation = field(kw_only=True)
    # Where it runs: a pyxie_types.catalog.UDTFExecutor value string.
    executor: str = field(kw_only=True)

    def _derive(self) -> Relation:
        return self.output


@dataclass(frozen=True, eq=False)
class EmptySourceOp(Operator):
    output: Relation = field(kw_only=True)

    def _derive(self) -> Relation:
        return self.output


@dataclass(frozen=True, eq=False)
class GRPCSourceOp(Operator):
    """Planner-only: rows arriving from ``expected_senders`` remote GRPCSinks."""

    output: Relation = field(kw_only=True)
    expected_senders: int = field(kw_only=True)

    def _derive(self) -> Relation:
        return self.output


@dataclass(frozen=True, eq=False)
class MapOp(Operator):
    """Outputs exactly ``columns`` (name, expression) in order, row for row."""

    columns: tuple[tuple[str, Expr], ...] = field(kw_only=True)
    # Set on the redaction maps of restricted data access; rules never move filters above them.
    redaction: bool = field(default=False, kw_only=True)

    def _derive(self) -> Relation:
        parent = self.parent.relation
        out: list[Column] = []
        for name, expr in self.columns:
            _check_expr(expr, parent, "map")
            out.append(Column(name, expr.data_type, expr.semantic))
        try:
            return Relation(tuple(out))
        except ValueError as exc:
            raise IRValidationError(str(exc)) from None


@dataclass(frozen=True, eq=False)
class FilterOp(Operator):
    condition: Expr = field(kw_only=True)

    def _derive(self) -> Relation:
        _check_expr(self.condition, self.parent.relation, "filter")
        if self.condition.data_type is not DataType.BOOLEAN:
            raise IRValidationError("a filter condition must be BOOLEAN")
        return self.parent.relation


@dataclass(frozen=True, eq=False)
class LimitOp(Operator):
    limit: int = field(kw_only=True)

    def _derive(self) -> Relation:
        if self.limit < 0:
            raise IRValidationError("a limit must not be negative")
        return self.parent.relation


@dataclass(frozen=True, eq=False)
class AggOp(Operator):
    groups: tuple[str, ...] = field(kw_only=True)
    values: tuple[tuple[str, AggExpr], ...] = field(kw_only=True)
    stage: AggStage = field(default=AggStage.FULL, kw_only=True)

    def _derive(self) -> Relation:
        parent = self.parent.relation
        out = [parent.column(g) for g in self.groups if g in parent]
        if len(out) != len(self.groups):
            raise IRValidationError(f"agg: group columns {self.groups} not all in input")
        for name, value in self.values:
            # In FINALIZE the single argument is the STRING state column PARTIAL produced.
            for arg in value.args:
                _check_expr(arg, parent, "agg")
            if self.stage is AggStage.PARTIAL:
                out.append(Column(name, DataType.STRING))
            else:
                out.append(Column(name, value.data_type, value.semantic))
        try:
            return Relation(tuple(out))
        except ValueError as exc:
            raise IRValidationError(str(exc)) from None


@dataclass(frozen=True, eq=False)
class JoinOp(Operator):
    """Output columns are (parent index, input column name, output name)."""

    how: JoinHow = field(kw_only=True)
    left_on: tuple[str, ...] = field(kw_only=True)
    right_on: tuple[str, ...] = field(kw_only=True)
    output: tuple[tuple[int, str, str], ...] = field(kw_only=True)

    def _derive(self) -> Relation:
        if len(self.parents) != 2:
            raise IRValidationError("a join has two parents")
        left, right = self.parents[0].relation, self.parents[1].relation
        if len(self.left_on) != len(self.right_on):
            raise IRValidationError("join key lists differ in length")
        for lkey, rkey in zip(self.left_on, self.right_on, strict=True):
            if lkey not in left or rkey not in right:
                raise IRValidationError(f"join keys {lkey!r}/{rkey!r} missing from inputs")
        out = []
        for side, src, name in self.output:
            col = (left if side == 0 else right).column(src)
            out.append(Column(name, col.data_type, col.semantic_type))
        try:
            return Relation(tuple(out))
        except ValueError as exc:
            raise IRValidationError(str(exc)) from None


@dataclass(frozen=True, eq=False)
class UnionOp(Operator):
    """Columns matched by name; output order is the first parent's."""

    def _derive(self) -> Relation:
        first = self.parents[0].relation
        for other in self.parents[1:]:
            if set(other.relation.names) != set(first.names):
                raise IRValidationError("union inputs have different columns")
        return first


@dataclass(frozen=True, eq=False)
class ResultSinkOp(Operator):
    """A named query output (memory sink locally, GRPC sink to the broker when distributed)."""

    name: str = field(kw_only=True)

    def _derive(self) -> Relation:
        return self.parent.relation


@dataclass(frozen=True, eq=False)
class GRPCSinkOp(Operator):
    """Planner-only: ships the parent's rows to ``destination`` (a GRPCSourceOp) on ``address``."""

    address: str = field(kw_only=True)
    destination: GRPCSourceOp = field(kw_only=True)

    def _derive(self) -> Relation:
        return self.parent.relation


@dataclass(frozen=True, slots=True)
class OTelAttr:
    """An OTel attribute: a constant string, or the value of ``column`` in each row."""

    name: str
    value: str
    is_column: bool


@dataclass(frozen=True, slots=True)
class OTelMetricSpec:
    name: str
    kind: str  # "gauge" | "summary"
    time_column: str
    attributes: tuple[OTelAttr, ...] = ()
    description: str = ""
    unit: str = ""
    # gauge: the value column; summary: the count column.
    value_column: str = ""
    sum_column: str = ""
    quantiles: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OTelSpanSpec:
    name: OTelAttr  # attribute name unused; a constant span name or a name column
    start_time_column: str
    end_time_column: str
    attributes: tuple[OTelAttr, ...] = ()
    trace_id_column: str = ""
    span_id_column: str = ""
    parent_span_id_column: str = ""
    kind: int = 2


@dataclass(frozen=True, slots=True)
class OTelExportSpec:
    url: str
    headers: tuple[tuple[str, str], ...]
    insecure: bool
    timeout_s: int
    resource: tuple[OTelAttr, ...]
    metrics: tuple[OTelMetricSpec, ...] = ()
    spans: tuple[OTelSpanSpec, ...] = ()
    max_export_bytes: int = 0
    org_id: str = ""

    def columns(self) -> set[str]:
        """Every input column the export reads."""
        used: set[str] = {a.value for a in self.resource if a.is_column}
        for metric in self.metrics:
            used |= {a.value for a in metric.attributes if a.is_column}
            used |= {metric.time_column, metric.value_column, metric.sum_column}
            used |= {column for _, column in metric.quantiles}
        for span in self.spans:
            used |= {a.value for a in span.attributes if a.is_column}
            if span.name.is_column:
                used.add(span.name.value)
            used |= {
                span.start_time_column,
                span.end_time_column,
                span.trace_id_column,
                span.span_id_column,
                span.parent_span_id_column,
            }
        used.discard("")
        return used


@dataclass(frozen=True, eq=False)
class OTelExportSinkOp(Operator):
    """``px.export(df, px.otel.Data(...))``: the parent's rows leave as OTLP metrics/spans."""

    spec: OTelExportSpec = field(kw_only=True)

    def _derive(self) -> Relation:
        parent = self.parent.relation
        missing = sorted(c for c in self.spec.columns() if c not in parent)
        if missing:
            raise IRValidationError(f"otel export: column(s) {missing} not in input")
        return parent


# ------------------------------------------------------------------------------ traversal


def walk(sinks: Iterable[Operator]) -> Iterator[Operator]:
    """Every node reachable from ``sinks``, parents before children, each once."""
    seen: set[int] = set()
    out: list[Operator] = []

    def visit(node: Operator) -> None:
        stack: list[tuple[Operator, bool]] = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            if id(current) in seen:
                continue
            if expanded:
                seen.add(id(current))
                out.append(current)
                continue
            stack.append((current, True))
            for parent in reversed(current.parents):
                if id(parent) not in seen:
                    stack.append((parent, False))

    for sink in sinks:
        visit(sink)
    return iter(out)


def rebuild(original: Operator, parents: tuple[Operator, ...]) -> Operator:
    """``original`` over ``parents`` (itself when they are unchanged)."""
    if all(a is b for a, b in zip(parents, original.parents, strict=True)):
        return original
    return original.with_parents(parents)


def rewrite(
    sinks: Sequence[Operator],
    fn: Callable[[Operator, tuple[Operator, ...]], Operator],
) -> tuple[Operator, ...]:
    """Rebuild the DAG bottom-up: ``fn(original, new_parents)`` returns each node's replacement
    (``rebuild(original, new_parents)`` when it has nothing to change). Shared nodes stay shared.
    """
    done: dict[int, Operator] = {}
    for node in walk(sinks):
        new_parents = tuple(done[id(p)] for p in node.parents)
        done[id(node)] = fn(node, new_parents)
    return tuple(done[id(s)] for s in sinks)
