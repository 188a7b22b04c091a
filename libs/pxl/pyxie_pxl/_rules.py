"""Stages 4 and 5, analyze and optimize: rewrite rules over the IR DAG.

Analyzer rules change meaning on purpose (redaction for restricted data access, result row caps);
optimizer rules must not (filter/limit push-down, column pruning). Each rule maps sinks to new
sinks; nodes not reachable from a sink are dropped, so frames never displayed never run.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence

from pyxie_types import DataType, TableSchema

from ._resolve import Resolver
from ._values import NOWHERE
from .ir import (
    MAX_EXPRESSION_DEPTH,
    AggOp,
    CallExpr,
    ColumnExpr,
    Expr,
    FilterOp,
    JoinOp,
    LimitOp,
    LiteralExpr,
    MapOp,
    MemorySourceOp,
    Operator,
    ResultSinkOp,
    UnionOp,
    expression_depth,
    rebuild,
    referenced_columns,
    rewrite,
    walk,
)

__all__ = [
    "DEFAULT_MAX_OUTPUT_ROWS",
    "SENSITIVE_COLUMNS",
    "DataAccess",
    "add_result_limits",
    "apply_data_access",
    "optimize",
    "prune_columns",
    "push_down",
    "simplify_maps",
]

DEFAULT_MAX_OUTPUT_ROWS = 10_000
REDACTED = "REDACTED"

# Pixie's planner hard-codes these (internals §2.9).
SENSITIVE_COLUMNS: dict[str, frozenset[str]] = {
    "http_events": frozenset({"req_headers", "req_body", "resp_headers", "resp_body"}),
    "mysql_events": frozenset({"req_body", "resp_body"}),
    "pgsql_events": frozenset({"req", "resp"}),
    "cql_events": frozenset({"req_body", "resp_body"}),
    "redis_events": frozenset({"req_args", "resp"}),
    "kafka_events.beta": frozenset({"req_body", "resp"}),
    "nats_events.beta": frozenset({"body", "resp"}),
}
# For a table marked sensitive that the list above does not know: payload-like string columns.
_PAYLOAD_MARKERS = ("body", "header", "req_args", "msg", "resp", "query")


class DataAccess(enum.Enum):
    FULL = "Full"
    RESTRICTED = "Restricted"
    PII_RESTRICTED = "PIIRestricted"

    @classmethod
    def parse(cls, text: str) -> DataAccess:
        for mode in cls:
            if mode.value.lower() == text.lower():
                return mode
        raise ValueError(
            f"unknown data access mode {text!r}; use Full, Restricted or PIIRestricted"
        )


def sensitive_columns(table: TableSchema) -> frozenset[str]:
    if table.name in SENSITIVE_COLUMNS:
        return SENSITIVE_COLUMNS[table.name]
    if not table.sensitive:
        return frozenset()
    return frozenset(
        c.name
        for c in table.columns
        if c.data_type is DataType.STRING and any(m in c.name for m in _PAYLOAD_MARKERS)
    )


def apply_data_access(
    sinks: Sequence[Operator], mode: DataAccess, resolver: Resolver
) -> tuple[Operator, ...]:
    """Put a redaction Map right after every source of a sensitive table (runs on the PEM)."""
    if mode is DataAccess.FULL:
        return tuple(sinks)

    def redact(original: Operator, parents: tuple[Operator, ...]) -> Operator:
        node = rebuild(original, parents)
        if not isinstance(node, MemorySourceOp):
            return node
        hidden = sensitive_columns(node.table) & set(node.columns)
        if not hidden:
            return node
        columns: list[tuple[str, Expr]] = []
        for column in node.relation:
            ref = ColumnExpr(column.name, column.data_type, column.semantic_type)
            if column.name not in hidden:
                columns.append((column.name, ref))
            elif mode is DataAccess.RESTRICTED:
                columns.append((column.name, LiteralExpr(REDACTED, DataType.STRING)))
            else:
                call = resolver.call("redact_pii_best_effort", "redaction", (ref,), NOWHERE)
                columns.append((column.name, call))
        return MapOp((node,), columns=tuple(columns), redaction=True)

    return rewrite(sinks, redact)


def add_result_limits(sinks: Sequence[Operator], max_rows: int) -> tuple[Operator, ...]:
    """A Limit of at most ``max_rows`` right before every result sink."""

    def limit(original: Operator, parents: tuple[Operator, ...]) -> Operator:
        node = rebuild(original, parents)
        if not isinstance(node, ResultSinkOp):
            return node
        parent = node.parent
        if isinstance(parent, LimitOp):
            if parent.limit <= max_rows:
                return node
            return node.with_parents((parent.replace(limit=max_rows),))
        return node.with_parents((LimitOp((parent,), limit=max_rows),))

    return rewrite(sinks, limit)


def _consumers(sinks: Sequence[Operator]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for node in walk(sinks):
        for parent in node.parents:
            counts[id(parent)] += 1
    return counts


def _passes_through(node: MapOp, names: set[str]) -> bool:
    """The map forwards each of ``names`` unchanged from its input."""
    exprs = dict(node.columns)
    for name in names:
        expr = exprs.get(name)
        if not (isinstance(expr, ColumnExpr) and expr.name == name):
            return False
    return True


def _push_down_once(sinks: Sequence[Operator]) -> tuple[tuple[Operator, ...], bool]:
    counts = _consumers(sinks)
    changed = False

    def step(original: Operator, parents: tuple[Operator, ...]) -> Operator:
        nonlocal changed
        node = rebuild(original, parents)
        parent = node.parent if node.parents else None
        if parent is None or counts[id(original.parents[0])] != 1:
            return node
        if (
            isinstance(node, FilterOp)
            and isinstance(parent, MapOp)
            and not parent.redaction
            and _passes_through(parent, referenced_columns(node.condition))
        ):
            changed = True
            moved = FilterOp(parent.parents, condition=node.condition)
            return parent.with_parents((moved,))
        if isinstance(node, LimitOp) and isinstance(parent, MapOp):
            changed = True
            return parent.with_parents((LimitOp(parent.parents, limit=node.limit),))
        if isinstance(node, LimitOp) and isinstance(parent, LimitOp):
            changed = True
            return parent.replace(limit=min(parent.limit, node.limit))
        return node

    return rewrite(sinks, step), changed


def push_down(sinks: Sequence[Operator]) -> tuple[Operator, ...]:
    """Move filters and limits below row-wise maps so less data flows (and leaves the PEM).

    A filter never moves above a redaction map: it would then see the unredacted value.
    Only nodes with a single consumer move, so shared subplans are not duplicated.
    """
    result = tuple(sinks)
    for _ in range(32):  # each pass moves each node at most one step; plans are shallow
        result, changed = _push_down_once(result)
        if not changed:
            break
    return result


def prune_columns(sinks: Sequence[Operator]) -> tuple[Operator, ...]:
    """Read and compute only the columns some sink needs."""
    order = list(walk(sinks))
    sink_ids = {id(s) for s in sinks}
    needed: dict[int, set[str]] = {id(n): set() for n in order}
    for node in reversed(order):
        want = needed[id(node)]
        if isinstance(node, ResultSinkOp | UnionOp) or id(node) in sink_ids:
            want |= set(node.relation.names)
        keep = _kept_names(node, want)
        for index, parent in enumerate(node.parents):
            needed[id(parent)] |= _needs_from_parent(node, keep, index)

    def prune(node: Operator, parents: tuple[Operator, ...]) -> Operator:
        keep = _kept_names(node, needed[id(node)])
        if isinstance(node, MemorySourceOp):
            columns = tuple(c for c in node.columns if c in keep) or node.columns[:1]
            return node if columns == node.columns else node.replace(columns=columns)
        if isinstance(node, MapOp):
            kept = tuple((n, e) for n, e in node.columns if n in keep) or node.columns[:1]
            return node.replace(parents=parents, columns=kept)
        if isinstance(node, JoinOp):
            output = tuple(o for o in node.output if o[2] in keep) or node.output[:1]
            return node.replace(parents=parents, output=output)
        if isinstance(node, AggOp):
            values = tuple(v for v in node.values if v[0] in keep)
            if not values and not node.groups:
                values = node.values[:1]
            return node.replace(parents=parents, values=values)
        return rebuild(node, parents)

    return rewrite(sinks, prune)


def _kept_names(node: Operator, want: set[str]) -> set[str]:
    """The output columns of ``node`` that survive pruning (never empty)."""
    names = list(node.relation.names)
    if isinstance(node, AggOp):
        return set(node.groups) | (
            {v[0] for v in node.values if v[0] in want}
            or ({node.values[0][0]} if node.values and not node.groups else set())
        )
    kept = {n for n in names if n in want}
    return kept or set(names[:1])


def _needs_from_parent(node: Operator, keep: set[str], index: int) -> set[str]:
    if isinstance(node, MapOp):
        refs: set[str] = set()
        for name, expr in node.columns:
            if name in keep:
                refs |= referenced_columns(expr)
        return refs
    if isinstance(node, FilterOp):
        return keep | referenced_columns(node.condition)
    if isinstance(node, AggOp):
        refs = set(node.groups)
        for name, value in node.values:
            if name in keep:
                refs |= referenced_columns(value)
        return refs
    if isinstance(node, JoinOp):
        refs = set(node.left_on if index == 0 else node.right_on)
        refs |= {src for side, src, out in node.output if side == index and out in keep}
        return refs
    if isinstance(node, UnionOp):
        return set(node.parents[index].relation.names)
    return set(keep)


def _is_identity(node: Operator) -> bool:
    if not isinstance(node, MapOp):
        return False
    names = node.parent.relation.names
    return len(node.columns) == len(names) and all(
        isinstance(expr, ColumnExpr) and expr.name == name == parent_name
        for (name, expr), parent_name in zip(node.columns, names, strict=True)
    )


def _substitute(expr: Expr, inner: dict[str, Expr]) -> Expr:
    if isinstance(expr, ColumnExpr):
        return inner[expr.name]
    if isinstance(expr, CallExpr):
        return CallExpr(
            expr.name,
            tuple(_substitute(a, inner) for a in expr.args),
            expr.data_type,
            expr.semantic,
        )
    return expr


def _column_uses(exprs: Sequence[Expr]) -> Counter[str]:
    uses: Counter[str] = Counter()

    def visit(expr: Expr) -> None:
        if isinstance(expr, ColumnExpr):
            uses[expr.name] += 1
        elif isinstance(expr, CallExpr):
            for arg in expr.args:
                visit(arg)

    for expr in exprs:
        visit(expr)
    return uses


def simplify_maps(sinks: Sequence[Operator]) -> tuple[Operator, ...]:
    """Drop maps that pass their input through unchanged and fuse chains of maps.

    Two maps fuse only when no computed column of the inner one is used twice by the outer one
    (fusing would compute it twice) and neither is a redaction map.
    """
    counts = _consumers(sinks)

    def simplify(original: Operator, parents: tuple[Operator, ...]) -> Operator:
        node = rebuild(original, parents)
        if _is_identity(node) and not (isinstance(node, MapOp) and _redacts(node)):
            return node.parent
        if (
            isinstance(node, MapOp)
            and isinstance(node.parent, MapOp)
            and not node.redaction
            and not node.parent.redaction
            and counts[id(original.parents[0])] == 1
        ):
            inner = dict(node.parent.columns)
            uses = _column_uses([e for _, e in node.columns])
            if all(
                uses[name] <= 1 or isinstance(inner[name], ColumnExpr | LiteralExpr)
                for name in uses
            ):
                fused = tuple((n, _substitute(e, inner)) for n, e in node.columns)
                # Keep the maps apart rather than build an expression too deep to serialize.
                if all(expression_depth(e) <= MAX_EXPRESSION_DEPTH for _, e in fused):
                    return MapOp(node.parent.parents, columns=fused)
        return node

    return rewrite(sinks, simplify)


def _redacts(node: MapOp) -> bool:
    return node.redaction and any(not isinstance(e, ColumnExpr) for _, e in node.columns)


def optimize(sinks: Sequence[Operator]) -> tuple[Operator, ...]:
    return simplify_maps(prune_columns(push_down(sinks)))
