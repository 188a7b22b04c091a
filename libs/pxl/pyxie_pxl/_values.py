"""Values the evaluator manipulates: unresolved column expressions, frames, functions, types.

Column expressions stay unresolved (``PExpr``) until they are used by an operator, because PxL
resolves column names against the frame an expression is applied to, not the frame it was read
from (``joined.responder = df.pod`` works when ``joined`` has ``pod``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from pyxie_types import DataType, SemanticType

from .errors import CompilerError
from .ir import Operator

if TYPE_CHECKING:
    from ._parse import ParsedModule

__all__ = [
    "BuiltinFunction",
    "BuiltinType",
    "CtxValue",
    "DataFrameValue",
    "GroupByValue",
    "Loc",
    "MethodValue",
    "ModuleValue",
    "PCall",
    "PCast",
    "PCol",
    "PExpr",
    "PLit",
    "PMeta",
    "PxType",
    "UDAValue",
    "UDFValue",
    "UDTFValue",
    "UserFunction",
]


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a value was written: 1-based line/column, and the library module if not the script."""

    line: int
    column: int
    library: str | None = None

    def error(self, message: str) -> CompilerError:
        if self.library:
            message = f"{message} (in {self.library}.pxl line {self.line})"
            return CompilerError(message, 0, 0)
        return CompilerError(message, self.line, self.column)

    @staticmethod
    def of(module: ParsedModule, node: ast.AST, library: str | None) -> Loc:
        line, column = module.position(node)
        return Loc(line, column, library)


NOWHERE = Loc(0, 0)


@dataclass(frozen=True, slots=True)
class PLit:
    """A compile-time constant."""

    value: Any
    data_type: DataType
    semantic: SemanticType = SemanticType.ST_NONE
    loc: Loc = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class PCol:
    name: str
    frame: DataFrameValue | None
    via_subscript: bool
    loc: Loc = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class PCall:
    """A scalar function call, per row; ``display`` is how the user wrote it (e.g. '>')."""

    name: str
    args: tuple[PExpr, ...]
    display: str
    loc: Loc = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class PCast:
    to: PxType
    arg: PExpr
    loc: Loc = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class PMeta:
    """``df.ctx[key]``: lowered to a metadata function once the frame's columns are known."""

    key: str
    loc: Loc = field(default=NOWHERE, compare=False)


PExpr: TypeAlias = PLit | PCol | PCall | PCast | PMeta


@dataclass(frozen=True, eq=False)
class DataFrameValue:
    op: Operator
    # Set while the frame is straight from a table, to name it in error messages.
    table_name: str | None = None
    # Set by df.rolling(window, on=col): the next groupby/agg groups by that (binned) column.
    rolling_on: str | None = None


@dataclass(frozen=True, eq=False)
class GroupByValue:
    frame: DataFrameValue
    groups: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CtxValue:
    frame: DataFrameValue


@dataclass(frozen=True, eq=False)
class MethodValue:
    receiver: DataFrameValue | GroupByValue
    name: str


@dataclass(frozen=True, slots=True)
class PxType:
    """A px type object: an annotation and a semantic cast (px.DurationNanos, px.Pod, ...)."""

    name: str
    data_type: DataType
    semantic: SemanticType


@dataclass(frozen=True, slots=True)
class BuiltinType:
    """Python's str/int/float/bool/list used as annotations (and px.Pod = str rebinding)."""

    name: str

    @property
    def data_type(self) -> DataType | None:
        return {
            "str": DataType.STRING,
            "int": DataType.INT64,
            "float": DataType.FLOAT64,
            "bool": DataType.BOOLEAN,
        }.get(self.name)


@dataclass(frozen=True, slots=True)
class UDFValue:
    name: str


@dataclass(frozen=True, slots=True)
class UDAValue:
    name: str


@dataclass(frozen=True, slots=True)
class UDTFValue:
    name: str


@dataclass(frozen=True, eq=False)
class BuiltinFunction:
    """A compile-time function: ``impl(args, kwargs, loc)`` returns a value."""

    name: str
    impl: Callable[[list[Any], dict[str, Any], Loc], Any]


@dataclass(eq=False)
class ModuleValue:
    name: str
    attrs: dict[str, Any]
    # Looks names up lazily (px.<udf> comes from the function catalog).
    fallback: Callable[[str, Loc], Any] | None = None


@dataclass(frozen=True, eq=False)
class UserFunction:
    node: ast.FunctionDef
    module: ParsedModule
    globals: dict[str, Any]
    library: str | None
