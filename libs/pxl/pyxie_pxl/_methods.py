"""DataFrame methods: merge, groupby/agg, drop, head, filter, append, rolling, stream (and the
unsupported ones)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyxie_types import DataType
from pyxie_types.catalog import FunctionNotFoundError, NoMatchingOverloadError

from ._context import EvalContext
from ._time import parse_duration
from ._values import (
    DataFrameValue,
    GroupByValue,
    Loc,
    MethodValue,
    PCall,
    PCol,
    PLit,
    UDAValue,
    UDFValue,
)
from .ir import (
    AggExpr,
    AggOp,
    ColumnExpr,
    JoinHow,
    JoinOp,
    LimitOp,
    LiteralExpr,
    MapOp,
    MemorySourceOp,
    UnionOp,
    rebuild,
    rewrite,
    walk,
)

__all__ = ["call"]

_Method = Callable[[EvalContext, Any, list[Any], dict[str, Any], Loc], Any]


def _bind(
    method: str,
    params: Sequence[str],
    args: list[Any],
    kwargs: dict[str, Any],
    loc: Loc,
    required: Sequence[str] = (),
) -> dict[str, Any]:
    if len(args) > len(params):
        raise loc.error(f"{method}() takes at most {len(params)} positional arguments")
    bound = dict(zip(params, args, strict=False))
    for name, value in kwargs.items():
        if name not in params:
            raise loc.error(f"{method}() got an unexpected keyword argument '{name}'")
        if name in bound:
            raise loc.error(f"{method}() got multiple values for argument '{name}'")
        bound[name] = value
    for name in required:
        if name not in bound:
            raise loc.error(f"{method}() missing required argument '{name}'")
    return bound


def _string(value: Any, what: str, loc: Loc) -> str:
    if isinstance(value, PLit) and value.data_type is DataType.STRING:
        return str(value.value)
    raise loc.error(f"{what} must be a string")


def _names(value: Any, what: str, loc: Loc) -> list[str]:
    """A column name or a list/tuple of them."""
    if isinstance(value, list | tuple):
        return [_string(v, what, loc) for v in value]
    return [_string(value, what, loc)]


def _literal_loc(written: Any, name: str, loc: Loc) -> Loc:
    """Where the string ``name`` was written inside ``written`` (an argument), else ``loc``."""
    items = written if isinstance(written, list | tuple) else [written]
    for item in items:
        if isinstance(item, PLit) and item.value == name and item.loc.line > 0:
            return item.loc
    return loc


def _check_columns(
    frame: DataFrameValue, names: Sequence[str], loc: Loc, written: Any = None
) -> None:
    relation = frame.op.relation
    for name in names:
        if name not in relation:
            where = f"table {frame.table_name!r}" if frame.table_name else "the DataFrame"
            raise _literal_loc(written, name, loc).error(
                f"column {name!r} not found in {where}; available columns: "
                f"{', '.join(relation.names)}"
            )


# ------------------------------------------------------------------------------ methods


def _groupby(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> GroupByValue:
    bound = _bind("groupby", ["by"], args, kwargs, loc, required=["by"])
    groups = _names(bound["by"], "groupby columns", loc)
    if not groups:
        raise loc.error("groupby() needs at least one column")
    if frame.rolling_on is not None and frame.rolling_on not in groups:
        groups = [frame.rolling_on, *groups]  # a rolling frame aggregates per window
    if len(set(groups)) != len(groups):
        raise loc.error("groupby() lists a column more than once")
    _check_columns(frame, groups, loc, bound["by"])
    return GroupByValue(frame, tuple(groups))


def _agg(
    ev: EvalContext,
    receiver: DataFrameValue | GroupByValue,
    args: list[Any],
    kwargs: dict[str, Any],
    loc: Loc,
) -> DataFrameValue:
    if args:
        raise loc.error("agg() takes keyword arguments only: agg(out=('col', px.fn))")
    if isinstance(receiver, GroupByValue):
        frame, groups = receiver.frame, receiver.groups
    else:
        frame, groups = receiver, ()
        if frame.rolling_on is not None:
            groups = (frame.rolling_on,)
        if not kwargs:
            raise loc.error("agg() without groupby needs at least one aggregate")
    if _is_streaming(frame.op):
        raise loc.error(
            "agg() on a streamed DataFrame is not supported: this engine emits an aggregate "
            "when its input ends, and a stream never ends; aggregate before df.stream()"
        )
    values: list[tuple[str, AggExpr]] = []
    relation = frame.op.relation
    for out_name, spec in kwargs.items():
        if out_name in groups:
            raise loc.error(f"aggregate {out_name!r} has the same name as a group column")
        if isinstance(spec, tuple) and spec and isinstance(spec[-1], UDFValue):
            raise loc.error(
                f"aggregate {out_name!r}: px.{spec[-1].name} is not an aggregate function; "
                f"aggregates are: {', '.join(_public_udas(ev))}"
            )
        if not isinstance(spec, tuple) or len(spec) < 1 or not isinstance(spec[-1], UDAValue):
            raise loc.error(
                f"aggregate {out_name!r} must be a tuple of column name(s) and a bare aggregate "
                f"function, e.g. {out_name}=('latency', px.mean)"
            )
        uda: UDAValue = spec[-1]
        arg_exprs: list[ColumnExpr | LiteralExpr] = []
        for item in spec[:-1]:
            if isinstance(item, PLit) and item.data_type is DataType.STRING:
                _check_columns(frame, [item.value], loc, item)
                column = relation.column(item.value)
                arg_exprs.append(ColumnExpr(column.name, column.data_type, column.semantic_type))
            elif isinstance(item, PLit):
                arg_exprs.append(LiteralExpr(item.value, item.data_type, item.semantic))
            else:
                raise loc.error(
                    f"aggregate {out_name!r}: arguments are column names given as strings"
                )
        arg_types = tuple(a.data_type for a in arg_exprs)
        try:
            definition = ev.catalog.lookup_uda(uda.name, arg_types)
        except FunctionNotFoundError:
            raise loc.error(f"aggregate function 'px.{uda.name}' is not defined") from None
        except NoMatchingOverloadError:
            accepted = "; ".join(
                "(" + ", ".join(t.name for t in o.arg_types) + ")"
                for o in ev.catalog.uda_overloads(uda.name)
            )
            types = ", ".join(t.name for t in arg_types)
            raise loc.error(
                f"aggregate function 'px.{uda.name}' does not accept argument types ({types}); "
                f"it accepts: {accepted}"
            ) from None
        semantic = definition.output_semantic_type(tuple(a.semantic for a in arg_exprs))
        values.append(
            (
                out_name,
                AggExpr(
                    uda.name,
                    tuple(arg_exprs),
                    arg_types,
                    definition.return_type,
                    semantic,
                    splittable=definition.supports_partial,
                ),
            )
        )
    node = ev.build(lambda: AggOp((frame.op,), groups=groups, values=tuple(values)), loc)
    return DataFrameValue(node)


def _drop(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    bound = _bind("drop", ["columns"], args, kwargs, loc, required=["columns"])
    names = _names(bound["columns"], "drop columns", loc)
    _check_columns(frame, names, loc, bound["columns"])
    kept = [c for c in frame.op.relation if c.name not in names]
    if not kept:
        raise loc.error("drop() would remove every column")
    columns = tuple((c.name, ColumnExpr(c.name, c.data_type, c.semantic_type)) for c in kept)
    return DataFrameValue(ev.build(lambda: MapOp((frame.op,), columns=columns), loc))


def _head(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    bound = _bind("head", ["n"], args, kwargs, loc)
    n = bound.get("n", PLit(5, DataType.INT64))
    if not (isinstance(n, PLit) and n.data_type is DataType.INT64) or n.value < 0:
        raise loc.error("head(n) needs a non-negative integer literal")
    return DataFrameValue(
        ev.build(lambda: LimitOp((frame.op,), limit=int(n.value)), loc), frame.table_name
    )


def _filter(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    bound = _bind("filter", ["expr"], args, kwargs, loc, required=["expr"])
    return ev.filter(frame, bound["expr"], loc)


def _merge(
    ev: EvalContext, left: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    bound = _bind(
        "merge",
        ["right", "how", "left_on", "right_on", "suffixes"],
        args,
        kwargs,
        loc,
        required=["right", "left_on", "right_on"],
    )
    right = bound["right"]
    if not isinstance(right, DataFrameValue):
        raise loc.error("merge() needs a DataFrame to merge with")
    how_text = _string(bound.get("how", PLit("inner", DataType.STRING)), "merge how", loc)
    hows = {
        "inner": JoinHow.INNER,
        "left": JoinHow.LEFT,
        "right": JoinHow.RIGHT,
        "outer": JoinHow.OUTER,
    }
    if how_text not in hows:
        raise loc.error(f"merge how={how_text!r} is not one of inner, left, right, outer")
    left_on = _names(bound["left_on"], "merge left_on", loc)
    right_on = _names(bound["right_on"], "merge right_on", loc)
    if len(left_on) != len(right_on):
        raise loc.error(
            f"merge: left_on has {len(left_on)} column(s) but right_on has {len(right_on)}"
        )
    _check_columns(left, left_on, loc, bound["left_on"])
    _check_columns(right, right_on, loc, bound["right_on"])
    lrel, rrel = left.op.relation, right.op.relation
    for lkey, rkey in zip(left_on, right_on, strict=True):
        ltype, rtype = lrel.column(lkey).data_type, rrel.column(rkey).data_type
        if ltype is not rtype:
            raise loc.error(
                f"merge keys {lkey!r} ({ltype.name}) and {rkey!r} ({rtype.name}) have different "
                "types"
            )
    suffixes_value = bound.get(
        "suffixes", [PLit("_x", DataType.STRING), PLit("_y", DataType.STRING)]
    )
    suffixes = _names(suffixes_value, "merge suffixes", loc)
    if len(suffixes) != 2:
        raise loc.error("merge suffixes needs exactly two strings")
    how = JoinHow.CROSS if not left_on else hows[how_text]
    output: list[tuple[int, str, str]] = []
    shared = set(lrel.names) & set(rrel.names)
    for side, relation in ((0, lrel), (1, rrel)):
        for name in relation.names:
            out_name = name + suffixes[side] if name in shared else name
            output.append((side, name, out_name))
    seen: set[str] = set()
    for _side, src, out_name in output:
        if out_name in seen:
            raise loc.error(
                f"merge: column {src!r} renamed with its suffix to {out_name!r} collides with "
                "another column; choose different suffixes"
            )
        seen.add(out_name)
    node = ev.build(
        lambda: JoinOp(
            (left.op, right.op),
            how=how,
            left_on=tuple(left_on),
            right_on=tuple(right_on),
            output=tuple(output),
        ),
        loc,
    )
    return DataFrameValue(node)


def _append(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    bound = _bind("append", ["objs"], args, kwargs, loc, required=["objs"])
    others = bound["objs"] if isinstance(bound["objs"], list | tuple) else [bound["objs"]]
    first = frame.op.relation
    parents = [frame.op]
    for other in others:
        if not isinstance(other, DataFrameValue):
            raise loc.error("append() takes a DataFrame (or a list of them)")
        relation = other.op.relation
        if set(relation.names) != set(first.names):
            missing = sorted(set(first.names) - set(relation.names))
            extra = sorted(set(relation.names) - set(first.names))
            raise loc.error(
                "append() needs the same columns on both sides; "
                f"missing: {', '.join(missing) or '-'}; extra: {', '.join(extra) or '-'}"
            )
        for column in first:
            other_type = relation.column(column.name).data_type
            if other_type is not column.data_type:
                raise loc.error(
                    f"append(): column {column.name!r} is {column.data_type.name} on the left "
                    f"and {other_type.name} on the right"
                )
        # Flatten chained appends into one union.
        if isinstance(other.op, UnionOp):
            parents.extend(other.op.parents)
        else:
            parents.append(other.op)
    if isinstance(frame.op, UnionOp):
        parents = [*frame.op.parents, *parents[1:]]
    return DataFrameValue(ev.build(lambda: UnionOp(tuple(parents)), loc))


def _public_udas(ev: EvalContext) -> list[str]:
    """Aggregate names to suggest (the `_`-prefixed model builders are internal)."""
    return sorted({u.name for u in ev.catalog.udas() if not u.name.startswith("_")})


def _is_streaming(op: Any) -> bool:
    return any(isinstance(n, MemorySourceOp) and n.streaming for n in walk([op]))


def _stream(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    """The same frame, its table scans turned into streaming scans: rows keep arriving (and
    results keep streaming to the client) until the query is cancelled."""
    _bind("stream", [], args, kwargs, loc)
    if any(isinstance(n, AggOp | JoinOp) for n in walk([frame.op])):
        raise loc.error(
            "stream() must come before aggregates and merges: they wait for the end of their "
            "input, which a stream never reaches"
        )

    def streamed(node: Any, parents: tuple[Any, ...]) -> Any:
        if isinstance(node, MemorySourceOp):
            return node.replace(streaming=True)
        return rebuild(node, parents)

    (op,) = rewrite([frame.op], streamed)
    return DataFrameValue(op, frame.table_name)


def _rolling(
    ev: EvalContext, frame: DataFrameValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> DataFrameValue:
    """``df.rolling(window, on='time_')``: the next groupby/agg aggregates per window of
    ``on`` (its values are binned to the window's start, as ``px.bin`` does)."""
    bound = _bind("rolling", ["window", "on"], args, kwargs, loc, required=["window"])
    on_value = bound.get("on", PLit("time_", DataType.STRING))
    on = _string(on_value, "rolling(on=...)", loc)
    _check_columns(frame, [on], loc, on_value)
    on_type = frame.op.relation.column(on).data_type
    if on_type is not DataType.TIME64NS:
        raise loc.error(f"rolling(on={on!r}) needs a TIME64NS column; {on!r} is {on_type.name}")
    window = bound["window"]
    window_ns: int | None = None
    if isinstance(window, PLit) and window.data_type is DataType.STRING:
        window_ns = parse_duration(str(window.value))
    elif isinstance(window, PLit) and window.data_type is DataType.INT64:
        window_ns = int(window.value)
    if window_ns is None or window_ns <= 0:
        raise loc.error(
            "rolling(window) needs a positive duration such as '10s' or an integer of "
            f"nanoseconds, got {window.value!r}"
            if isinstance(window, PLit)
            else "rolling(window) needs a constant duration such as '10s' or an integer of "
            "nanoseconds"
        )
    binned = PCall(
        "bin", (PCol(on, frame, False, loc), PLit(window_ns, DataType.INT64)), "px.bin", loc
    )
    out = ev.assign(frame, on, binned, loc)
    return DataFrameValue(out.op, rolling_on=on)


def _unsupported(name: str) -> _Method:
    def method(
        ev: EvalContext, frame: Any, args: list[Any], kwargs: dict[str, Any], loc: Loc
    ) -> Any:
        raise loc.error(f"DataFrame.{name}() is not supported by this compiler")

    return method


_METHODS: dict[str, _Method] = {
    "groupby": _groupby,
    "agg": _agg,
    "drop": _drop,
    "head": _head,
    "filter": _filter,
    "merge": _merge,
    "append": _append,
    "rolling": _rolling,
    "stream": _stream,
    "map": _unsupported("map"),
}


def call(
    ev: EvalContext, method: MethodValue, args: list[Any], kwargs: dict[str, Any], loc: Loc
) -> Any:
    impl = _METHODS.get(method.name)
    if impl is None:
        raise loc.error(f"DataFrame has no method {method.name!r}")
    if isinstance(method.receiver, GroupByValue) and method.name != "agg":
        raise loc.error("groupby(...) must be followed by .agg(...)")
    return impl(ev, method.receiver, args, kwargs, loc)
