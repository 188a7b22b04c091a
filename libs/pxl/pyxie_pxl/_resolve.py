"""Stage 3, resolve types: unresolved column expressions to typed IR against a frame.

Function calls resolve against the injected function catalog with an exact argument-type match
(PxL has no implicit promotion); ``df.ctx[...]`` becomes a metadata function chosen by which key
columns the frame has; semantic casts check the data type and only retag the semantic type.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any

from pyxie_types import DataType, Relation, SemanticType
from pyxie_types.catalog import (
    FunctionCatalog,
    FunctionKind,
    FunctionNotFoundError,
    NoMatchingOverloadError,
)

from ._values import DataFrameValue, Loc, PCall, PCast, PCol, PExpr, PLit, PMeta
from .ir import CallExpr, ColumnExpr, Expr, LiteralExpr

__all__ = [
    "METADATA_ALIASES",
    "Resolver",
    "fold_binary",
    "fold_unary",
    "literal_type_of",
]

_D = DataType

# ------------------------------------------------------------------------------ metadata

METADATA_ALIASES: dict[str, str] = {
    "service": "service_name",
    "pod": "pod_name",
    "deployment": "deployment_name",
    "replica_set_id": "replicaset_id",
    "replica_set": "replicaset_name",
    "replicaset": "replicaset_name",
    "node": "node_name",
    "host": "hostname",
    "container": "container_name",
    "cmd": "cmdline",
}
_METADATA_PROPERTIES = [
    "container_id",
    "service_id",
    "pod_id",
    "deployment_id",
    "replicaset_id",
    "service_name",
    "pod_name",
    "deployment_name",
    "namespace",
    "replicaset_name",
    "node_name",
    "hostname",
    "container_name",
    "cmdline",
    "asid",
    "pid",
]

# Key columns per property, in order of preference (Pixie's planner table).
_METADATA_KEYS: dict[str, tuple[str, ...]] = {
    "pod_name": ("upid", "pod_id"),
    "service_name": ("upid", "service_id", "pod_id", "pod_name"),
    "namespace": ("upid", "pod_id", "pod_name", "service_name"),
    "node_name": ("upid", "pod_id"),
    "pod_id": ("upid", "pod_name"),
    "service_id": ("upid", "pod_id", "pod_name"),
    "deployment_name": ("upid", "pod_id", "pod_name"),
    "deployment_id": ("upid", "pod_id", "pod_name"),
    "replicaset_name": ("upid", "pod_id", "pod_name"),
    "replicaset_id": ("upid", "pod_id", "pod_name"),
}
_METADATA_SEMANTIC: dict[str, SemanticType] = {
    "pod_name": SemanticType.ST_POD_NAME,
    "service_name": SemanticType.ST_SERVICE_NAME,
    "namespace": SemanticType.ST_NAMESPACE_NAME,
    "node_name": SemanticType.ST_NODE_NAME,
    "container_name": SemanticType.ST_CONTAINER_NAME,
    "asid": SemanticType.ST_ASID,
}

# ------------------------------------------------------------------------------ folding

# (operator name, left type, right type) -> result type; mirrors the math UDF overloads (§5.3).
_I, _F, _S, _B, _T, _U = _D.INT64, _D.FLOAT64, _D.STRING, _D.BOOLEAN, _D.TIME64NS, _D.UINT128
_FOLD_TYPES: dict[tuple[str, DataType, DataType], DataType] = {}
for _l, _r, _o in ((_I, _I, _I), (_F, _F, _F), (_F, _I, _F), (_I, _F, _F)):
    for _name in ("add", "subtract", "multiply"):
        _FOLD_TYPES[(_name, _l, _r)] = _o
    _FOLD_TYPES[("divide", _l, _r)] = _F
_FOLD_TYPES.update(
    {
        ("add", _S, _S): _S,
        ("add", _T, _I): _T,
        ("add", _I, _T): _T,
        ("subtract", _T, _I): _T,
        ("subtract", _T, _T): _I,
        ("subtract", _I, _T): _I,
        ("modulo", _I, _I): _I,
        ("modulo", _T, _I): _I,
        ("modulo", _T, _T): _I,
    }
)
for _t in (_I, _S, _B, _T, _U, _F):
    _FOLD_TYPES[("equal", _t, _t)] = _B
    _FOLD_TYPES[("notEqual", _t, _t)] = _B
for _l, _r in ((_B, _I), (_I, _B), (_I, _F), (_F, _I)):
    _FOLD_TYPES[("equal", _l, _r)] = _B
    _FOLD_TYPES[("notEqual", _l, _r)] = _B
for _t in (_I, _F, _S, _T):
    for _name in ("greaterThan", "greaterThanEqual", "lessThan", "lessThanEqual"):
        _FOLD_TYPES[(_name, _t, _t)] = _B
for _l in (_B, _I):
    for _r in (_B, _I):
        _FOLD_TYPES[("logicalAnd", _l, _r)] = _B
        _FOLD_TYPES[("logicalOr", _l, _r)] = _B

_DBL_EPSILON = 2.220446049250313e-16


def _c_mod(a: int, b: int) -> int:
    # C++'s truncating remainder; Python's % floors.
    return int(a - b * int(a / b)) if b else 0


def _approx_equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < _DBL_EPSILON
    return bool(a == b)


def _divide(a: Any, b: Any) -> float:
    x, y = float(a), float(b)
    if y == 0.0:
        if x == 0.0 or x != x:
            return float("nan")
        return float("inf") if x > 0 else float("-inf")
    return x / y


_FOLD_FNS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": _divide,
    "modulo": _c_mod,
    "equal": _approx_equal,
    "notEqual": lambda a, b: not _approx_equal(a, b),
    "greaterThan": operator.gt,
    "greaterThanEqual": operator.ge,
    "lessThan": operator.lt,
    "lessThanEqual": operator.le,
    "logicalAnd": lambda a, b: bool(a) and bool(b),
    "logicalOr": lambda a, b: bool(a) or bool(b),
}

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# The largest string constant folding may build (a script's own literals are bounded by the
# script size limit; this bounds what they can be multiplied into).
MAX_FOLDED_STRING_BYTES = 1 << 20


def literal_type_of(value: object) -> DataType | None:
    if isinstance(value, bool):
        return _B
    if isinstance(value, int):
        return _I
    if isinstance(value, float):
        return _F
    if isinstance(value, str):
        return _S
    return None


def fold_binary(name: str, display: str, left: PLit, right: PLit, loc: Loc) -> PLit:
    """Evaluate an operator on two constants at compile time with the UDFs' type rules."""
    result_type = _FOLD_TYPES.get((name, left.data_type, right.data_type))
    if result_type is None:
        raise loc.error(
            f"'{display}' ({name}) does not accept argument types "
            f"({left.data_type.name}, {right.data_type.name})"
        )
    if name == "modulo" and right.value == 0:
        raise loc.error("integer modulo by zero in a constant expression")
    if result_type is _S:
        # Checked before building it: `s = s + s` thirty-two times would otherwise make the
        # compiler build a 4 GiB string.
        size = len(left.value.encode()) + len(right.value.encode())
        if size > MAX_FOLDED_STRING_BYTES:
            raise loc.error(
                f"constant string expression would be {size} bytes; the limit is "
                f"{MAX_FOLDED_STRING_BYTES} bytes"
            )
    value = _FOLD_FNS[name](left.value, right.value)
    if result_type in (_I, _T) and not _INT64_MIN <= int(value) <= _INT64_MAX:
        raise loc.error(f"constant expression overflows INT64: {value}")
    if result_type in (_I, _T):
        value = int(value)
    semantic = SemanticType.ST_NONE
    if result_type is _T:
        semantic = SemanticType.ST_TIME_NS
    return PLit(value, result_type, semantic, loc)


def fold_unary(name: str, operand: PLit, loc: Loc) -> PLit:
    if name == "logicalNot" and operand.data_type in (_B, _I):
        return PLit(not operand.value, _B, loc=loc)
    if name == "negate" and operand.data_type in (_I, _F):
        return PLit(-operand.value, operand.data_type, operand.semantic, loc)
    if name == "invert" and operand.data_type is _I:
        return PLit(~operand.value, _I, loc=loc)
    raise loc.error(f"{name} does not accept argument type ({operand.data_type.name})")


# ------------------------------------------------------------------------------ resolver


class Resolver:
    """Turns unresolved expressions into typed IR against one frame's relation."""

    def __init__(self, catalog: FunctionCatalog) -> None:
        self.catalog = catalog

    def resolve(
        self,
        expr: PExpr,
        frame: DataFrameValue,
        *,
        assign_target: DataFrameValue | None = None,
    ) -> Expr:
        relation = frame.op.relation
        if isinstance(expr, PLit):
            return LiteralExpr(expr.value, expr.data_type, expr.semantic)
        if isinstance(expr, PCol):
            if (
                assign_target is not None
                and expr.via_subscript
                and expr.frame is not None
                and expr.frame is not assign_target
            ):
                raise expr.loc.error(
                    f"cannot use another DataFrame's column {expr.name!r} (read with [...]) "
                    "in an assignment; assign it within its own DataFrame or merge first"
                )
            return self._column(expr.name, frame, expr.loc)
        if isinstance(expr, PCall):
            args = tuple(self.resolve(a, frame, assign_target=assign_target) for a in expr.args)
            return self.call(expr.name, expr.display, args, expr.loc)
        if isinstance(expr, PCast):
            inner = self.resolve(expr.arg, frame, assign_target=assign_target)
            if inner.data_type is not expr.to.data_type:
                raise expr.loc.error(
                    f"Only semantic type casts are allowed: px.{expr.to.name} needs a "
                    f"{expr.to.data_type.name} value, got {inner.data_type.name}"
                )
            return dataclasses.replace(inner, semantic=expr.to.semantic)
        if isinstance(expr, PMeta):
            return self.metadata(expr.key, relation, expr.loc)
        raise AssertionError(f"unknown expression {expr!r}")

    def _column(self, name: str, frame: DataFrameValue, loc: Loc) -> ColumnExpr:
        relation = frame.op.relation
        if name not in relation:
            where = f"table {frame.table_name!r}" if frame.table_name else "the DataFrame"
            raise loc.error(
                f"column {name!r} not found in {where}; available columns: "
                f"{', '.join(relation.names)}"
            )
        column = relation.column(name)
        return ColumnExpr(name, column.data_type, column.semantic_type)

    def call(self, name: str, display: str, args: tuple[Expr, ...], loc: Loc) -> CallExpr:
        arg_types = tuple(a.data_type for a in args)
        shown = f"'{display}' ({name})" if display != name else f"'{name}'"
        try:
            udf = self.catalog.lookup_scalar(name, arg_types)
        except FunctionNotFoundError:
            kind = self.catalog.kind_of(name)
            if kind is FunctionKind.UDA:
                raise loc.error(
                    f"px.{name} is an aggregate function; use it in .agg(out=('col', px.{name}))"
                ) from None
            raise loc.error(f"function {shown} is not defined") from None
        except NoMatchingOverloadError:
            overloads = list(self.catalog.scalar_overloads(name))
            arities = sorted({len(o.arg_types) for o in overloads})
            if len(args) not in arities:
                expected = " or ".join(str(n) for n in arities)
                raise loc.error(
                    f"function {shown} takes {expected} argument(s) but {len(args)} were given"
                ) from None
            types = ", ".join(t.name for t in arg_types)
            accepted = "; ".join(
                "(" + ", ".join(t.name for t in o.arg_types) + ")" for o in overloads
            )
            raise loc.error(
                f"function {shown} does not accept argument types ({types}); it accepts: {accepted}"
            ) from None
        semantic = udf.output_semantic_type(tuple(a.semantic for a in args))
        return CallExpr(name, args, udf.return_type, semantic)

    def metadata(self, key: str, relation: Relation, loc: Loc) -> Expr:
        prop = METADATA_ALIASES.get(key, key)
        if prop not in _METADATA_PROPERTIES:
            valid = sorted({*_METADATA_PROPERTIES, *METADATA_ALIASES})
            raise loc.error(f"{key!r} is not a metadata key; valid keys: {', '.join(valid)}")
        if prop in relation:
            column = relation.column(prop)
            return ColumnExpr(prop, column.data_type, column.semantic_type)
        keys = _METADATA_KEYS.get(prop, ("upid",))
        key_column = next((k for k in keys if k in relation), None)
        if key_column is None:
            raise loc.error(
                f"cannot resolve metadata {key!r}: the DataFrame needs one of the columns "
                f"{', '.join(keys)}; it has {', '.join(relation.names)}"
            )
        col = relation.column(key_column)
        key_expr: Expr = ColumnExpr(key_column, col.data_type, col.semantic_type)
        if (
            prop == "pod_name"
            and key_column == "upid"
            and "local_addr" in relation
            and "time_" in relation
        ):
            args: tuple[Expr, ...] = (
                key_expr,
                _column_expr(relation, "local_addr"),
                _column_expr(relation, "time_"),
            )
            call = self.call("_upid_to_podname_local_addr_fallback", f"ctx[{key!r}]", args, loc)
        else:
            call = self.call(f"{key_column}_to_{prop}", f"ctx[{key!r}]", (key_expr,), loc)
        if call.semantic is SemanticType.ST_NONE and prop in _METADATA_SEMANTIC:
            call = dataclasses.replace(call, semantic=_METADATA_SEMANTIC[prop])
        return call


def _column_expr(relation: Relation, name: str) -> ColumnExpr:
    column = relation.column(name)
    return ColumnExpr(name, column.data_type, column.semantic_type)
