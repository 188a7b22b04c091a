"""The ``px`` module: compile-time helpers, type objects, and catalog functions by name."""

from __future__ import annotations

from typing import Any

from pyxie_types import DataType, SemanticType
from pyxie_types.catalog import FunctionKind
from pyxie_types.tables import UNFILLABLE_TABLES

from ._context import EvalContext
from ._time import NS_PER_UNIT, format_duration, parse_duration, parse_time_string
from ._values import (
    BuiltinFunction,
    DataFrameValue,
    Loc,
    ModuleValue,
    PCall,
    PCast,
    PExpr,
    PLit,
    PxType,
    UDAValue,
    UDFValue,
    UDTFValue,
)
from .ir import LiteralExpr, MemorySourceOp, UDTFSourceOp

__all__ = [
    "PX_TYPES",
    "cast",
    "make_px_module",
    "parse_duration_or_none",
    "time_value",
    "udtf_source",
]

_D, _S = DataType, SemanticType
PX_TYPES: dict[str, PxType] = {
    t.name: t
    for t in (
        PxType("DurationNanos", _D.INT64, _S.ST_DURATION_NS),
        PxType("Bytes", _D.INT64, _S.ST_BYTES),
        PxType("Percent", _D.FLOAT64, _S.ST_PERCENT),
        PxType("Service", _D.STRING, _S.ST_SERVICE_NAME),
        PxType("Pod", _D.STRING, _S.ST_POD_NAME),
        PxType("Node", _D.STRING, _S.ST_NODE_NAME),
        PxType("Namespace", _D.STRING, _S.ST_NAMESPACE_NAME),
        PxType("Container", _D.STRING, _S.ST_CONTAINER_NAME),
        PxType("UPID", _D.UINT128, _S.ST_UPID),
        PxType("Time", _D.TIME64NS, _S.ST_TIME_NS),
    )
}
# px.<name>(n) helpers returning n of that unit in nanoseconds.
_DURATION_HELPERS = {
    "microseconds": NS_PER_UNIT["us"],
    "milliseconds": NS_PER_UNIT["ms"],
    "seconds": NS_PER_UNIT["s"],
    "minutes": NS_PER_UNIT["m"],
    "hours": NS_PER_UNIT["h"],
    "days": NS_PER_UNIT["d"],
}


def parse_duration_or_none(text: str) -> int | None:
    return parse_duration(text)


def time_value(value: Any, now_ns: int, loc: Loc) -> int:
    """A time argument (string, int ns or Time) as absolute ns."""
    if isinstance(value, PLit):
        if value.data_type is DataType.STRING:
            parsed = parse_time_string(value.value, now_ns)
            if parsed is None:
                raise (value.loc if value.loc.line > 0 else loc).error(
                    f"cannot parse time {value.value!r}: use a relative time such as '-5m' "
                    "or an absolute time such as '2024-01-02 15:04:05 +0000'"
                )
            return parsed
        if value.data_type in (DataType.INT64, DataType.TIME64NS):
            return int(value.value)
    if isinstance(value, str):
        return time_value(PLit(value, DataType.STRING), now_ns, loc)
    raise loc.error("a time must be a constant string, integer nanoseconds or px.Time")


def _bind(
    name: str, params: list[str], args: list[Any], kwargs: dict[str, Any], loc: Loc, required: int
) -> dict[str, Any]:
    if len(args) > len(params):
        raise loc.error(f"px.{name}() takes at most {len(params)} arguments")
    bound = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            raise loc.error(f"px.{name}() got an unexpected keyword argument '{key}'")
        if key in bound:
            raise loc.error(f"px.{name}() got multiple values for argument '{key}'")
        bound[key] = value
    for param in params[:required]:
        if param not in bound:
            raise loc.error(f"px.{name}() missing required argument '{param}'")
    return bound


def _int_constant(value: Any, what: str, loc: Loc) -> int:
    if isinstance(value, PLit) and value.data_type in (DataType.INT64, DataType.TIME64NS):
        return int(value.value)
    raise loc.error(f"{what} must be an integer constant")


def cast(to: PxType, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> Any:
    if len(args) != 1 or kwargs:
        raise loc.error(f"px.{to.name}() takes exactly one argument")
    value = args[0]
    if isinstance(value, PLit):
        if value.data_type is not to.data_type:
            raise loc.error(
                f"Only semantic type casts are allowed: px.{to.name} needs a "
                f"{to.data_type.name} value, got {value.data_type.name}"
            )
        return PLit(value.value, value.data_type, to.semantic, loc)
    from ._values import PCol, PMeta

    if isinstance(value, PCol | PCall | PCast | PMeta):
        return PCast(to, value, loc)
    raise loc.error(f"px.{to.name}() needs a column expression or a constant")


def udtf_source(
    ev: EvalContext, name: str, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    udtf = ev.catalog.lookup_udtf(name)
    params = [a.name for a in udtf.args]
    bound = _bind(name, params, args, kwargs, loc, required=0)
    values: list[tuple[str, LiteralExpr]] = []
    for arg in udtf.args:
        if arg.name in bound:
            value = bound[arg.name]
            if not isinstance(value, PLit):
                raise loc.error(f"px.{name}(): argument '{arg.name}' must be a constant")
            if value.data_type is not arg.data_type:
                raise loc.error(
                    f"px.{name}(): argument '{arg.name}' must be {arg.data_type.name}, "
                    f"got {value.data_type.name}"
                )
            values.append((arg.name, LiteralExpr(value.value, value.data_type)))
        elif arg.required:
            raise loc.error(f"px.{name}() missing required argument '{arg.name}'")
        else:
            values.append((arg.name, LiteralExpr(arg.default, arg.data_type)))
    node = ev.build(
        lambda: UDTFSourceOp(
            (), name=name, args=tuple(values), output=udtf.relation, executor=udtf.executor.value
        ),
        loc,
    )
    return DataFrameValue(node)


def make_px_module(ev: EvalContext) -> ModuleValue:
    def dataframe(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> DataFrameValue:
        bound = _bind(
            "DataFrame",
            ["table", "select", "start_time", "end_time"],
            args,
            kwargs,
            loc,
            required=1,
        )
        table_value = bound["table"]
        if not (isinstance(table_value, PLit) and table_value.data_type is DataType.STRING):
            raise loc.error("px.DataFrame() needs a table name string")
        table_name = table_value.value
        schema = ev.schemas.get(table_name)
        if schema is None and ev.mutation_scan:
            ev.end_mutation_scan()
        if schema is None:
            where = table_value.loc if table_value.loc.line > 0 else loc
            if table_name in UNFILLABLE_TABLES:
                raise where.error(
                    f"table {table_name!r} is not collected by Pyxie: "
                    f"{UNFILLABLE_TABLES[table_name]}"
                )
            raise where.error(
                f"table {table_name!r} not found; available tables: {', '.join(sorted(ev.schemas))}"
            )
        columns = list(schema.relation.names)
        select = bound.get("select")
        if select is not None and select != []:
            if not isinstance(select, list | tuple):
                raise loc.error("px.DataFrame(select=...) takes a list of column names")
            columns = []
            for item in select:
                if not (isinstance(item, PLit) and item.data_type is DataType.STRING):
                    raise loc.error("px.DataFrame(select=...) takes a list of column names")
                if item.value not in schema.relation:
                    raise (item.loc if item.loc.line > 0 else loc).error(
                        f"column {item.value!r} not found in table {table_name!r}; available "
                        f"columns: {', '.join(schema.relation.names)}"
                    )
                columns.append(item.value)
        start = bound.get("start_time")
        end = bound.get("end_time")
        start_ns = None if start is None else time_value(start, ev.now_ns, loc)
        stop_ns = None if end is None else time_value(end, ev.now_ns, loc)
        node = ev.build(
            lambda: MemorySourceOp(
                (), table=schema, columns=tuple(columns), start_ns=start_ns, stop_ns=stop_ns
            ),
            loc,
        )
        return DataFrameValue(node, table_name)

    def _frame_arg(fn: str, value: Any, loc: Loc) -> DataFrameValue:
        if not isinstance(value, DataFrameValue):
            raise loc.error(f"px.{fn}() needs a DataFrame as its first argument")
        return value

    def display(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> None:
        bound = _bind("display", ["out", "name", "cols"], args, kwargs, loc, required=1)
        frame = _frame_arg("display", bound["out"], loc)
        name = _name_arg("display", bound.get("name"), loc)
        if ev.exec_mode:
            return None  # Pixie: display is a no-op while vis exec functions run.
        cols = bound.get("cols")
        if cols:
            frame = ev.project(frame, cols, loc)
        ev.add_sink(frame, name)
        return None

    def debug(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> None:
        bound = _bind("debug", ["out", "name", "cols"], args, kwargs, loc, required=1)
        frame = _frame_arg("debug", bound["out"], loc)
        name = _name_arg("debug", bound.get("name"), loc)
        ev.add_sink(frame, "_" + name)
        return None

    def now(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PLit:
        if args or kwargs:
            raise loc.error("px.now() takes no arguments")
        return PLit(ev.now_ns, DataType.INT64, loc=loc)

    def parse_time(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PLit:
        bound = _bind("parse_time", ["time"], args, kwargs, loc, required=1)
        ns = time_value(bound["time"], ev.now_ns, loc)
        return PLit(ns, DataType.TIME64NS, SemanticType.ST_TIME_NS, loc)

    def parse_duration_fn(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PLit:
        bound = _bind("parse_duration", ["duration"], args, kwargs, loc, required=1)
        value = bound["duration"]
        if not (isinstance(value, PLit) and value.data_type is DataType.STRING):
            raise loc.error("px.parse_duration() needs a string such as '-5m'")
        ns = parse_duration(value.value)
        if ns is None:
            raise loc.error(f"cannot parse duration {value.value!r}: use e.g. '-5m', '30s', '1h'")
        return PLit(ns, DataType.INT64, SemanticType.ST_DURATION_NS, loc)

    def format_duration_fn(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PLit:
        bound = _bind("format_duration", ["duration"], args, kwargs, loc, required=1)
        ns = _int_constant(bound["duration"], "px.format_duration() argument", loc)
        return PLit(format_duration(ns), DataType.STRING, loc=loc)

    def duration_helper(name: str, unit_ns: int) -> BuiltinFunction:
        def impl(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PLit:
            bound = _bind(name, ["n"], args, kwargs, loc, required=1)
            value = bound["n"]
            if not (
                isinstance(value, PLit) and value.data_type in (DataType.INT64, DataType.FLOAT64)
            ):
                raise loc.error(f"px.{name}() needs a number constant")
            return PLit(
                int(value.value * unit_ns), DataType.INT64, SemanticType.ST_DURATION_NS, loc
            )

        return BuiltinFunction(name, impl)

    def script_reference(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> PCall:
        bound = _bind(
            "script_reference", ["label", "script", "args"], args, kwargs, loc, required=2
        )
        script_args = bound.get("args") or {}
        if not isinstance(script_args, dict):
            raise loc.error("px.script_reference() args must be a dict of name: value")
        if len(script_args) > 8:
            raise loc.error("px.script_reference() takes at most 8 script arguments")
        call_args: list[PExpr] = [ev.as_expr(bound["label"], loc), ev.as_expr(bound["script"], loc)]
        for key, value in script_args.items():
            call_args.append(PLit(key, DataType.STRING, loc=loc))
            call_args.append(ev.as_expr(value, loc))
        return PCall("_script_reference", tuple(call_args), "px.script_reference", loc)

    def equals_any(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> Any:
        bound = _bind("equals_any", ["value", "candidates"], args, kwargs, loc, required=2)
        candidates = bound["candidates"]
        if not isinstance(candidates, list | tuple) or not candidates:
            raise loc.error("px.equals_any() needs a non-empty list of candidates")
        value = ev.as_expr(bound["value"], loc)
        result: PExpr | None = None
        for candidate in candidates:
            test = PCall("equal", (value, ev.as_expr(candidate, loc)), "==", loc)
            result = test if result is None else PCall("logicalOr", (result, test), "or", loc)
        return result

    def vega(args: list[Any], kwargs: dict[str, Any], loc: Loc) -> BuiltinFunction:
        return BuiltinFunction("vega_decorator", lambda a, k, lc: a[0] if a else None)

    attrs: dict[str, Any] = {
        "DataFrame": BuiltinFunction("DataFrame", dataframe),
        "display": BuiltinFunction("display", display),
        "debug": BuiltinFunction("debug", debug),
        "now": BuiltinFunction("now", now),
        "parse_time": BuiltinFunction("parse_time", parse_time),
        "parse_duration": BuiltinFunction("parse_duration", parse_duration_fn),
        "format_duration": BuiltinFunction("format_duration", format_duration_fn),
        "script_reference": BuiltinFunction("script_reference", script_reference),
        "equals_any": BuiltinFunction("equals_any", equals_any),
        "vis": ModuleValue("px.vis", {"vega": BuiltinFunction("vega", vega)}),
        **PX_TYPES,
    }
    for helper, unit in _DURATION_HELPERS.items():
        attrs[helper] = duration_helper(helper, unit)

    def catalog_lookup(name: str, loc: Loc) -> Any:
        kind = ev.catalog.kind_of(name)
        if kind is FunctionKind.SCALAR:
            return UDFValue(name)
        if kind is FunctionKind.UDA:
            return UDAValue(name)
        if kind is FunctionKind.UDTF:
            return UDTFValue(name)
        raise loc.error(f"module 'px' has no attribute '{name}'")

    return ModuleValue("px", attrs, catalog_lookup)


def _name_arg(fn: str, value: Any, loc: Loc) -> str:
    if value is None:
        return "output"
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        return str(value.value)
    raise loc.error(f"px.{fn}() name must be a string")
