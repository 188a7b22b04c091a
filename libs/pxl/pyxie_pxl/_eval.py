"""Stage 2, build IR: evaluate the checked AST into operator nodes.

PxL is compiled by *evaluating* the script: names bind to frames, columns, types and functions;
every DataFrame operation builds a new immutable IR node. ``px.display`` (or the exec functions a
vis spec names) turns frames into result sinks. Column expressions resolve (stage 3) when an
operator consumes them.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyxie_scripts import ExecFunc
from pyxie_types import DataType, SemanticType, TableSchema
from pyxie_types.catalog import FunctionCatalog

from . import _methods, _otel, _px
from ._parse import ParsedModule, parse_pxl
from ._pxtrace import MutationPlan, ProbeDecorator, make_pxtrace_module
from ._resolve import Resolver, fold_binary, fold_unary, literal_type_of
from ._values import (
    BuiltinFunction,
    BuiltinType,
    CtxValue,
    DataFrameValue,
    GroupByValue,
    Loc,
    MethodValue,
    ModuleValue,
    PCall,
    PCast,
    PCol,
    PExpr,
    PLit,
    PMeta,
    PxType,
    UDAValue,
    UDFValue,
    UDTFValue,
    UserFunction,
)
from .errors import CompilerError
from .ir import (
    MAX_EXPRESSION_DEPTH,
    ColumnExpr,
    Expr,
    FilterOp,
    IRValidationError,
    MapOp,
    Operator,
    ResultSinkOp,
    expression_depth,
)

__all__ = [
    "RESERVED_METHODS",
    "Evaluator",
    "ExecFunc",
    "ModuleResult",
    "MutationPlan",
    "MutationScanEnd",
    "describe",
    "describe_type",
]

_BIN_OPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("add", "+"),
    ast.Sub: ("subtract", "-"),
    ast.Mult: ("multiply", "*"),
    ast.Div: ("divide", "/"),
    ast.Mod: ("modulo", "%"),
}
_CMP_OPS: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Eq: ("equal", "=="),
    ast.NotEq: ("notEqual", "!="),
    ast.Gt: ("greaterThan", ">"),
    ast.GtE: ("greaterThanEqual", ">="),
    ast.Lt: ("lessThan", "<"),
    ast.LtE: ("lessThanEqual", "<="),
}
# Method names a column cannot be read as with df.<name> (use df['<name>']).
RESERVED_METHODS = frozenset(
    [
        "merge",
        "agg",
        "drop",
        "head",
        "filter",
        "groupby",
        "append",
        "rolling",
        "stream",
        "map",
        "ctx",
    ]
)
_BUILTIN_GLOBALS: dict[str, Any] = {
    "True": PLit(True, DataType.BOOLEAN),
    "False": PLit(False, DataType.BOOLEAN),
    "None": None,
    "str": BuiltinType("str"),
    "int": BuiltinType("int"),
    "float": BuiltinType("float"),
    "bool": BuiltinType("bool"),
    "list": BuiltinType("list"),
}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_TRUE_STRINGS = {"true", "t", "yes", "y", "1"}
_FALSE_STRINGS = {"false", "f", "no", "n", "0"}


@dataclass
class ModuleResult:
    # Result tables (ResultSinkOp) and OTel exports (OTelExportSinkOp), in script order.
    sinks: list[Operator] = field(default_factory=list)


class MutationScanEnd(Exception):
    """A mutation scan reached a table the scanned mutations have not created yet."""


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class _Frame:
    """One activation: the module it runs in and its local names."""

    module: ParsedModule
    library: str | None
    globals: dict[str, Any]
    locals: dict[str, Any] | None = None

    def lookup(self, name: str) -> Any:
        if self.locals is not None and name in self.locals:
            return self.locals[name]
        if name in self.globals:
            return self.globals[name]
        if name in _BUILTIN_GLOBALS:
            return _BUILTIN_GLOBALS[name]
        raise KeyError(name)

    def bind(self, name: str, value: Any) -> None:
        (self.locals if self.locals is not None else self.globals)[name] = value


_MISSING = object()

# Library modules (pxviews) are the same text on every compile; the evaluator never mutates the
# AST, so parse and check each one once per process instead of once per query.
_parse_library = functools.lru_cache(maxsize=16)(parse_pxl)


class Evaluator:
    """Evaluates one script (plus the library modules it imports) into result sinks."""

    def __init__(
        self,
        catalog: FunctionCatalog,
        schemas: Mapping[str, TableSchema],
        *,
        now_ns: int,
        library_sources: Mapping[str, str],
    ) -> None:
        self.catalog = catalog
        self.schemas = schemas
        self.now_ns = now_ns
        self.resolver = Resolver(catalog)
        self.library_sources = library_sources
        self._libraries: dict[str, ModuleValue] = {}
        self.exec_mode = False
        self.result = ModuleResult()
        self._sink_names: dict[str, int] = {}
        self._stack: list[_Frame] = []
        # User functions being evaluated: PxL has no branches, so any recursion never ends.
        self._active_calls: list[UserFunction] = []
        self.otel_defaults = _otel.OTelDefaults()
        self.px = _px.make_px_module(self)
        self.px.attrs.update(_otel.make_otel_modules(self, lambda: self.otel_defaults))
        # pxtrace calls fill `mutations`; in a mutation scan, px.DataFrame of a table that does
        # not exist yet (a tracepoint's, created by the scan's own mutations) ends the scan.
        self.pxtrace, self.mutations = make_pxtrace_module(self)
        self.mutation_scan = False

    # ---------------------------------------------------------------- entry points

    def end_mutation_scan(self) -> None:
        raise MutationScanEnd()

    def run_module(self, module: ParsedModule) -> dict[str, Any]:
        frame = _Frame(module, None, {})
        self._exec_body(module.tree.body, frame)
        return frame.globals

    def run_exec_funcs(self, module_globals: dict[str, Any], funcs: Sequence[ExecFunc]) -> None:
        self.exec_mode = True
        for func in funcs:
            target = module_globals.get(func.func_name)
            if not isinstance(target, UserFunction):
                defined = sorted(
                    k for k, v in module_globals.items() if isinstance(v, UserFunction)
                )
                raise CompilerError(
                    f"exec function {func.func_name!r} is not defined in the script; "
                    f"defined functions: {', '.join(defined) or '(none)'}"
                )
            args = self._exec_args(target, func)
            result = self.call_user(target, [], args, Loc(target.node.lineno, 1))
            frames = result if isinstance(result, list | tuple) else [result]
            for index, value in enumerate(frames):
                if not isinstance(value, DataFrameValue):
                    raise CompilerError(
                        f"exec function {func.func_name!r} must return a DataFrame "
                        f"(or a list of them), got {describe(value)}",
                        target.node.lineno,
                        target.node.col_offset + 1,
                    )
                name = func.output_table_prefix or func.func_name
                if isinstance(result, list | tuple):
                    name = f"{name}[{index}]"
                self.add_sink(value, name)

    def _exec_args(self, target: UserFunction, func: ExecFunc) -> dict[str, Any]:
        node = target.node
        loc = Loc(node.lineno, node.col_offset + 1, target.library)
        values: dict[str, Any] = {}
        params = [a.arg for a in node.args.args]
        unknown = set(func.arg_values) - set(params)
        if unknown:
            raise loc.error(
                f"function {func.func_name!r} has no argument(s) {', '.join(sorted(unknown))}"
            )
        for arg in node.args.args:
            if arg.annotation is None:
                raise loc.error(
                    f"argument {arg.arg!r} of exec function {func.func_name!r} needs a type "
                    "annotation"
                )
            if arg.arg not in func.arg_values:
                raise loc.error(f"exec function {func.func_name!r} is missing argument {arg.arg!r}")
            annotation = self.eval(arg.annotation, _Frame(target.module, None, target.globals))
            values[arg.arg] = self._parse_arg(func.arg_values[arg.arg], annotation, arg.arg, loc)
        return values

    def _parse_arg(self, raw: str, annotation: Any, name: str, loc: Loc) -> PLit:
        data_type: DataType | None
        semantic = SemanticType.ST_NONE
        if isinstance(annotation, BuiltinType):
            data_type = annotation.data_type
        elif isinstance(annotation, PxType):
            data_type, semantic = annotation.data_type, annotation.semantic
        else:
            data_type = None
        try:
            if data_type is DataType.STRING:
                return PLit(raw, DataType.STRING, semantic)
            if data_type is DataType.INT64:
                text = raw.strip()
                if semantic is SemanticType.ST_DURATION_NS and not text.lstrip("-").isdigit():
                    duration = _px.parse_duration_or_none(text)
                    if duration is None:
                        raise ValueError(raw)
                    return PLit(duration, DataType.INT64, semantic)
                return PLit(int(text), DataType.INT64, semantic)
            if data_type is DataType.FLOAT64:
                return PLit(float(raw.strip()), DataType.FLOAT64, semantic)
            if data_type is DataType.BOOLEAN:
                lowered = raw.strip().lower()
                if lowered in _TRUE_STRINGS | _FALSE_STRINGS:
                    return PLit(lowered in _TRUE_STRINGS, DataType.BOOLEAN)
                raise ValueError(raw)
            if data_type is DataType.TIME64NS:
                return PLit(
                    _px.time_value(raw, self.now_ns, loc),
                    DataType.TIME64NS,
                    SemanticType.ST_TIME_NS,
                )
        except ValueError:
            raise loc.error(
                f"argument {name!r}: cannot parse {raw!r} as {describe_type(annotation)}"
            ) from None
        raise loc.error(
            f"argument {name!r}: exec function arguments of type {describe_type(annotation)} are "
            "not supported"
        )

    # ---------------------------------------------------------------- statements

    def _exec_body(self, body: Sequence[ast.stmt], frame: _Frame) -> None:
        self._stack.append(frame)
        try:
            for stmt in body:
                self._exec_stmt(stmt, frame)
        finally:
            self._stack.pop()

    def loc(self, node: ast.AST) -> Loc:
        frame = self._stack[-1]
        return Loc.of(frame.module, node, frame.library)

    def _exec_stmt(self, stmt: ast.stmt, frame: _Frame) -> None:
        if isinstance(stmt, ast.Expr):
            self.eval(stmt.value, frame)
        elif isinstance(stmt, ast.Assign):
            self._assign(stmt, frame)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                frame.bind(alias.asname or alias.name, self._import(alias.name, stmt))
        elif isinstance(stmt, ast.ImportFrom):
            module = self._import(stmt.module or "", stmt)
            for alias in stmt.names:
                frame.bind(alias.asname or alias.name, self._attribute(module, alias.name, stmt))
        elif isinstance(stmt, ast.FunctionDef):
            self._define(stmt, frame)
        elif isinstance(stmt, ast.Return):
            raise _Return(self.eval(stmt.value, frame) if stmt.value is not None else None)
        elif isinstance(stmt, ast.Pass):
            return
        else:  # pragma: no cover - the parse stage rejects everything else
            raise self.loc(stmt).error(f"{type(stmt).__name__} is not supported in PxL")

    def _import(self, name: str, node: ast.AST) -> ModuleValue:
        # `pl` is the legacy name of `px` that old scripts still import.
        if name in ("px", "pl"):
            return self.px
        if name == "pxtrace":
            return self.pxtrace
        if name in self.library_sources:
            if name not in self._libraries:
                module = _parse_library(self.library_sources[name])
                lib_frame = _Frame(module, name, {})
                self._exec_body(module.tree.body, lib_frame)
                attrs = {k: v for k, v in lib_frame.globals.items() if not k.startswith("_")}
                self._libraries[name] = ModuleValue(name, attrs)
            return self._libraries[name]
        known = ", ".join(["px", "pxtrace", *sorted(self.library_sources)])
        raise self.loc(node).error(f"no module named {name!r}; available modules: {known}")

    def _define(self, node: ast.FunctionDef, frame: _Frame) -> None:
        loc = self.loc(node)
        args = node.args
        if args.defaults or (args.kw_defaults and any(d is not None for d in args.kw_defaults)):
            raise loc.error("default values not supported in function definitions")
        if args.vararg or args.kwarg:
            raise loc.error("*args and **kwargs are not supported in function definitions")
        if args.kwonlyargs or args.posonlyargs:
            raise loc.error("keyword-only and positional-only arguments are not supported")
        if len(node.decorator_list) > 1:
            raise loc.error("at most one decorator is supported")
        function = UserFunction(node, frame.module, frame.globals, frame.library)
        for decorator in node.decorator_list:
            value = self.eval(decorator, frame)
            if isinstance(value, ProbeDecorator):
                frame.bind(node.name, value.decorate(function, loc))
                return
        frame.bind(node.name, function)

    def _assign(self, stmt: ast.Assign, frame: _Frame) -> None:
        target = stmt.targets[0]
        value = self.eval(stmt.value, frame)
        if isinstance(target, ast.Name):
            frame.bind(target.id, value)
            return
        if isinstance(target, ast.Attribute):
            owner = self.eval(target.value, frame)
            if isinstance(owner, ModuleValue):
                owner.attrs[target.attr] = value
                return
            self._assign_column(target.value, owner, target.attr, value, frame, target)
            return
        if isinstance(target, ast.Subscript):
            owner = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            if not (isinstance(key, PLit) and key.data_type is DataType.STRING):
                raise self.loc(target.slice).error(
                    "a column assignment df[...] = needs a string column name"
                )
            self._assign_column(target.value, owner, key.value, value, frame, target)
            return
        raise self.loc(target).error("this assignment target is not supported in PxL")

    def _assign_column(
        self,
        owner_node: ast.expr,
        owner: Any,
        name: str,
        value: Any,
        frame: _Frame,
        target: ast.AST,
    ) -> None:
        loc = self.loc(target)
        if not isinstance(owner, DataFrameValue):
            raise loc.error(f"cannot assign a column to {describe(owner)}")
        if not isinstance(owner_node, ast.Name):
            raise loc.error("column assignment needs a DataFrame variable on the left: df.col = e")
        frame.bind(owner_node.id, self.assign(owner, name, value, loc))

    def assign(self, owner: DataFrameValue, name: str, value: Any, loc: Loc) -> DataFrameValue:
        """``owner`` with column ``name`` set to ``value`` (moved last when it existed)."""
        expr = self.as_expr(value, loc)
        resolved = self.resolver.resolve(expr, owner, assign_target=owner)
        _check_depth(resolved, loc)
        passthrough = tuple(
            (c.name, _col(c.name, owner)) for c in owner.op.relation if c.name != name
        )
        new = self.build(lambda: MapOp((owner.op,), columns=(*passthrough, (name, resolved))), loc)
        return DataFrameValue(new)

    # ---------------------------------------------------------------- expressions

    def eval(self, node: ast.expr, frame: _Frame) -> Any:
        if not self._stack or self._stack[-1] is not frame:
            self._stack.append(frame)
            try:
                return self._eval(node, frame)
            finally:
                self._stack.pop()
        return self._eval(node, frame)

    def _eval(self, node: ast.expr, frame: _Frame) -> Any:
        loc = self.loc(node)
        if isinstance(node, ast.Constant):
            if node.value is None:
                return None
            data_type = literal_type_of(node.value)
            assert data_type is not None
            if isinstance(node.value, int) and not _INT64_MIN <= node.value <= _INT64_MAX:
                raise loc.error(f"integer literal {node.value} does not fit in INT64")
            return PLit(node.value, data_type, loc=loc)
        if isinstance(node, ast.Name):
            try:
                return frame.lookup(node.id)
            except KeyError:
                raise loc.error(f"name '{node.id}' is not defined") from None
        if isinstance(node, ast.Attribute):
            return self._attribute(self._eval(node.value, frame), node.attr, node)
        if isinstance(node, ast.Subscript):
            return self._subscript(self._eval(node.value, frame), node.slice, frame, node)
        if isinstance(node, ast.Call):
            func = self._eval(node.func, frame)
            args = [self._eval(a, frame) for a in node.args]
            kwargs = {k.arg: self._eval(k.value, frame) for k in node.keywords if k.arg}
            if any(k.arg is None for k in node.keywords):
                raise loc.error("**kwargs in calls are not supported in PxL")
            return self.call(func, args, kwargs, loc)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN_OPS:
                raise loc.error(f"operator {type(node.op).__name__} is not supported in PxL")
            name, display = _BIN_OPS[type(node.op)]
            return self._binary(name, display, node.left, node.right, frame, loc)
        if isinstance(node, ast.Compare):
            name, display = _CMP_OPS[type(node.ops[0])]
            return self._binary(name, display, node.left, node.comparators[0], frame, loc)
        if isinstance(node, ast.BoolOp):
            name, display = (
                ("logicalAnd", "and") if isinstance(node.op, ast.And) else ("logicalOr", "or")
            )
            result = self._eval(node.values[0], frame)
            for operand in node.values[1:]:
                right = self._eval(operand, frame)
                result = self._combine(name, display, result, right, loc)
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, frame)
            if isinstance(node.op, ast.UAdd):
                return operand
            name, display = {
                ast.Not: ("logicalNot", "not"),
                ast.USub: ("negate", "-"),
                ast.Invert: ("invert", "~"),
            }[type(node.op)]
            if isinstance(operand, PLit):
                return fold_unary(name, operand, loc)
            return PCall(name, (self.as_expr(operand, loc),), display, loc)
        if isinstance(node, ast.List):
            return [self._eval(e, frame) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self._eval(e, frame) for e in node.elts)
        if isinstance(node, ast.Dict):
            out: dict[str, Any] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                if key_node is None:
                    raise loc.error("dict unpacking is not supported in PxL")
                key = self._eval(key_node, frame)
                if isinstance(key, PLit) and key.data_type in (DataType.INT64, DataType.FLOAT64):
                    # Number keys (px.otel.metric.Summary's quantile_values) keep their text.
                    out[str(key.value)] = self._eval(value_node, frame)
                    continue
                if not (isinstance(key, PLit) and key.data_type is DataType.STRING):
                    raise self.loc(key_node).error("dict keys must be strings or numbers")
                out[key.value] = self._eval(value_node, frame)
            return out
        raise loc.error(f"{type(node).__name__} expressions are not supported in PxL")

    def _binary(
        self, name: str, display: str, left: ast.expr, right: ast.expr, frame: _Frame, loc: Loc
    ) -> Any:
        return self._combine(name, display, self._eval(left, frame), self._eval(right, frame), loc)

    def _combine(self, name: str, display: str, left: Any, right: Any, loc: Loc) -> Any:
        if isinstance(left, PLit) and isinstance(right, PLit):
            return fold_binary(name, display, left, right, loc)
        return PCall(name, (self.as_expr(left, loc), self.as_expr(right, loc)), display, loc)

    def as_expr(self, value: Any, loc: Loc) -> PExpr:
        if isinstance(value, PLit | PCol | PCall | PCast | PMeta):
            return value
        if isinstance(value, DataFrameValue):
            raise loc.error(
                "a DataFrame cannot be used as a column expression; select a column with df.col"
            )
        if isinstance(value, UDAValue):
            raise loc.error(
                f"px.{value.name} is an aggregate function; use it in "
                f".agg(out=('col', px.{value.name}))"
            )
        raise loc.error(f"expected a column expression or constant, got {describe(value)}")

    def _attribute(self, owner: Any, attr: str, node: ast.AST) -> Any:
        loc = self.loc(node)
        if isinstance(owner, ModuleValue):
            if attr in owner.attrs:
                return owner.attrs[attr]
            if owner.fallback is not None:
                return owner.fallback(attr, loc)
            raise loc.error(f"module '{owner.name}' has no attribute '{attr}'")
        if isinstance(owner, DataFrameValue):
            if attr == "ctx":
                return CtxValue(owner)
            if attr in RESERVED_METHODS:
                return MethodValue(owner, attr)
            return PCol(attr, owner, False, loc)
        if isinstance(owner, GroupByValue):
            if attr == "agg":
                return MethodValue(owner, attr)
            raise loc.error(f"groupby(...) must be followed by .agg(...), not .{attr}")
        raise loc.error(f"{describe(owner)} has no attribute '{attr}'")

    def _subscript(self, owner: Any, index_node: ast.expr, frame: _Frame, node: ast.AST) -> Any:
        loc = self.loc(node)
        index = self._eval(index_node, frame)
        if isinstance(owner, CtxValue):
            if not (isinstance(index, PLit) and index.data_type is DataType.STRING):
                raise loc.error("df.ctx[...] needs a string metadata key, e.g. df.ctx['pod']")
            return PMeta(index.value, loc)
        if not isinstance(owner, DataFrameValue):
            raise loc.error(f"{describe(owner)} cannot be subscripted")
        if isinstance(index, PLit) and index.data_type is DataType.STRING:
            return PCol(index.value, owner, True, loc)
        if isinstance(index, list | tuple):
            return self.project(owner, index, loc)
        return self.filter(owner, index, loc)

    # ---------------------------------------------------------------- calls

    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any], loc: Loc) -> Any:
        if isinstance(func, BuiltinFunction):
            return func.impl(args, kwargs, loc)
        if isinstance(func, UserFunction):
            return self.call_user(func, args, kwargs, loc)
        if isinstance(func, MethodValue):
            return _methods.call(self, func, args, kwargs, loc)
        if isinstance(func, UDFValue):
            if kwargs:
                raise loc.error(f"px.{func.name} takes positional arguments only")
            return PCall(func.name, tuple(self.as_expr(a, loc) for a in args), func.name, loc)
        if isinstance(func, UDTFValue):
            return _px.udtf_source(self, func.name, args, kwargs, loc)
        if isinstance(func, PxType):
            return _px.cast(func, args, kwargs, loc)
        if isinstance(func, UDAValue):
            raise loc.error(
                f"px.{func.name} must not be called; pass it bare: "
                f".agg(out=('col', px.{func.name}))"
            )
        raise loc.error(f"{describe(func)} is not callable")

    def call_user(
        self, func: UserFunction, args: list[Any], kwargs: dict[str, Any], loc: Loc
    ) -> Any:
        params = [a.arg for a in func.node.args.args]
        if len(args) > len(params):
            raise loc.error(
                f"{func.node.name}() takes {len(params)} arguments but {len(args)} were given"
            )
        bound: dict[str, Any] = dict(zip(params, args, strict=False))
        for name, value in kwargs.items():
            if name not in params:
                raise loc.error(f"{func.node.name}() got an unexpected keyword argument '{name}'")
            if name in bound:
                raise loc.error(f"{func.node.name}() got multiple values for argument '{name}'")
            bound[name] = value
        missing = [p for p in params if p not in bound]
        if missing:
            raise loc.error(
                f"{func.node.name}() missing argument(s): {', '.join(repr(m) for m in missing)}"
            )
        if func in self._active_calls:
            chain = " -> ".join(f"{f.node.name}()" for f in (*self._active_calls, func))
            raise loc.error(f"recursive calls are not supported in PxL: {chain}")
        frame = _Frame(func.module, func.library, func.globals, {})
        for arg in func.node.args.args:
            if arg.annotation is not None:
                annotation = self.eval(arg.annotation, frame)
                self._check_annotation(func, arg.arg, annotation, bound[arg.arg], loc)
            frame.bind(arg.arg, bound[arg.arg])
        self._active_calls.append(func)
        try:
            self._exec_body(func.node.body, frame)
        except _Return as returned:
            return returned.value
        finally:
            self._active_calls.pop()
        return None

    def _check_annotation(
        self, func: UserFunction, name: str, annotation: Any, value: Any, loc: Loc
    ) -> None:
        if isinstance(annotation, BuiltinFunction) and annotation.name == "DataFrame":
            if not isinstance(value, DataFrameValue):
                raise loc.error(
                    f"argument '{name}' of {func.node.name}() must be a DataFrame, "
                    f"got {describe(value)}"
                )
            return
        expected: DataType | None = None
        if isinstance(annotation, BuiltinType | PxType):
            expected = annotation.data_type
        if expected is None or not isinstance(value, PLit):
            return
        compatible = value.data_type is expected or (
            expected is DataType.TIME64NS and value.data_type is DataType.INT64
        )
        if not compatible:
            raise loc.error(
                f"argument '{name}' of {func.node.name}() must be {describe_type(annotation)}, "
                f"got {value.data_type.name}"
            )

    # ---------------------------------------------------------------- frame operations

    def build(self, make: Any, loc: Loc) -> Operator:
        try:
            node: Operator = make()
        except IRValidationError as exc:
            raise loc.error(str(exc)) from None
        return node

    def project(self, frame: DataFrameValue, names: Sequence[Any], loc: Loc) -> DataFrameValue:
        wanted: list[str] = []
        for item in names:
            if not (isinstance(item, PLit) and item.data_type is DataType.STRING):
                raise loc.error("a projection df[[...]] takes column names (strings)")
            if item.value in wanted:
                raise loc.error(f"column {item.value!r} is selected more than once")
            self.resolver.resolve(PCol(item.value, frame, True, item.loc), frame)
            wanted.append(item.value)
        columns = tuple((n, _col(n, frame)) for n in wanted)
        return DataFrameValue(self.build(lambda: MapOp((frame.op,), columns=columns), loc))

    def filter(self, frame: DataFrameValue, condition: Any, loc: Loc) -> DataFrameValue:
        written = self.as_expr(condition, loc)
        expr = self.resolver.resolve(written, frame)
        where = written.loc if written.loc.line > 0 else loc
        _check_depth(expr, where)
        if expr.data_type is not DataType.BOOLEAN:
            raise where.error(
                f"a filter condition must be a BOOLEAN expression, got {expr.data_type.name}"
            )
        return DataFrameValue(
            self.build(lambda: FilterOp((frame.op,), condition=expr), loc), frame.table_name
        )

    def add_sink(self, frame: DataFrameValue, name: str) -> None:
        """A result table; a repeated name becomes name_1, name_2, ..."""
        unique, suffix = name, 0
        while unique in self._sink_names:
            suffix += 1
            unique = f"{name}_{suffix}"
        self._sink_names[unique] = 1
        self.result.sinks.append(ResultSinkOp((frame.op,), name=unique))

    def add_export(self, node: Operator) -> None:
        """An OTel export sink (px.export)."""
        self.result.sinks.append(node)


def _check_depth(expr: Expr, loc: Loc) -> None:
    depth = expression_depth(expr)
    if depth > MAX_EXPRESSION_DEPTH:
        raise loc.error(
            f"expression nests {depth} operations deep; at most {MAX_EXPRESSION_DEPTH} are "
            "supported (split it over several column assignments)"
        )


def _col(name: str, frame: DataFrameValue) -> ColumnExpr:
    column = frame.op.relation.column(name)
    return ColumnExpr(name, column.data_type, column.semantic_type)


def describe(value: Any) -> str:
    if isinstance(value, DataFrameValue):
        return "a DataFrame"
    if isinstance(value, PLit):
        return f"a {value.data_type.name} constant"
    if isinstance(value, PCol | PCall | PCast | PMeta):
        return "a column expression"
    if isinstance(value, ModuleValue):
        return f"module '{value.name}'"
    if isinstance(value, UserFunction):
        return f"function '{value.node.name}'"
    if isinstance(value, BuiltinFunction):
        return f"px.{value.name}"
    if isinstance(value, UDFValue | UDAValue | UDTFValue):
        return f"px.{value.name}"
    if isinstance(value, PxType):
        return f"type px.{value.name}"
    if isinstance(value, BuiltinType):
        return f"type {value.name}"
    if isinstance(value, GroupByValue):
        return "a groupby"
    if isinstance(value, MethodValue):
        return (
            f"the DataFrame method '{value.name}' "
            f"(read a column of that name as df['{value.name}'])"
        )
    if isinstance(value, CtxValue):
        return "df.ctx (use df.ctx['key'])"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, dict):
        return "a dict"
    if value is None:
        return "None"
    return type(value).__name__


def describe_type(annotation: Any) -> str:
    if isinstance(annotation, BuiltinType):
        return annotation.name
    if isinstance(annotation, PxType):
        return f"px.{annotation.name}"
    return describe(annotation)
