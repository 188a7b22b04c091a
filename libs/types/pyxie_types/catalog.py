"""The function catalog: what the compiler may call, as the engine declares it.

The contract between the PxL compiler and the execution engine, in the role Pixie's
``udfspb.UDFInfo`` plays between its planner and Carnot: names, kinds, overload signatures,
return and semantic types, and where table functions run. The compiler (``pyxie_pxl``) reads
only this; the engine's registry (``pyxie_carnot.registry.Registry``) satisfies it, and
``pyxie_carnot.builtins.function_catalog()`` returns the builtin one. Whoever composes both
(the query broker, the runner, tests) passes the catalog to ``pyxie_pxl.Compiler``.

Lookups raise ``FunctionNotFoundError`` for an unknown name and ``NoMatchingOverloadError``
when no overload takes exactly the given argument types (PxL has no implicit promotion).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ._relation import Relation
from ._types import DataType, SemanticType

__all__ = [
    "AggregateFunction",
    "FunctionCatalog",
    "FunctionKind",
    "FunctionLookupError",
    "FunctionNotFoundError",
    "NoMatchingOverloadError",
    "ScalarFunction",
    "TableFunction",
    "TableFunctionArg",
    "UDTFExecutor",
]


class FunctionLookupError(LookupError):
    """A call the catalog cannot resolve."""


class FunctionNotFoundError(FunctionLookupError):
    """No function of that name (of the kind asked for)."""


class NoMatchingOverloadError(FunctionLookupError):
    """The name exists but no overload takes exactly these argument types."""


class FunctionKind(enum.Enum):
    SCALAR = "scalar"
    UDA = "uda"
    UDTF = "udtf"


class UDTFExecutor(enum.Enum):
    """Where a UDTF runs: on every PEM, on one Kelvin, or on one agent of any kind."""

    ALL_PEM = "UDTF_ALL_PEM"
    ONE_KELVIN = "UDTF_ONE_KELVIN"
    ALL_AGENTS = "UDTF_ALL_AGENTS"
    SUBSET_PEM = "UDTF_SUBSET_PEM"


class ScalarFunction(Protocol):
    """One overload of a scalar function."""

    @property
    def name(self) -> str: ...
    @property
    def arg_types(self) -> tuple[DataType, ...]: ...
    @property
    def return_type(self) -> DataType: ...

    def output_semantic_type(self, args: Sequence[SemanticType]) -> SemanticType: ...


class AggregateFunction(ScalarFunction, Protocol):
    """One overload of an aggregate (UDA)."""

    @property
    def supports_partial(self) -> bool:
        """Whether partial states merge, so the aggregate can be split across agents."""
        ...


class TableFunctionArg(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def data_type(self) -> DataType: ...
    @property
    def default(self) -> Any: ...
    @property
    def required(self) -> bool:
        """True when the argument has no default (``default`` is None)."""
        ...


class TableFunction(Protocol):
    """A table-generating function (UDTF): its arguments, output relation and executor."""

    @property
    def name(self) -> str: ...
    @property
    def args(self) -> Sequence[TableFunctionArg]: ...
    @property
    def relation(self) -> Relation: ...
    @property
    def executor(self) -> UDTFExecutor: ...


class FunctionCatalog(Protocol):
    """Every function by name; a scalar or aggregate name may have several overloads."""

    def kind_of(self, name: str) -> FunctionKind | None: ...
    def lookup_scalar(self, name: str, arg_types: Sequence[DataType]) -> ScalarFunction: ...
    def lookup_uda(self, name: str, arg_types: Sequence[DataType]) -> AggregateFunction: ...
    def lookup_udtf(self, name: str) -> TableFunction: ...
    def scalar_overloads(self, name: str) -> Sequence[ScalarFunction]: ...
    def uda_overloads(self, name: str) -> Sequence[AggregateFunction]: ...
    def udas(self) -> Iterable[AggregateFunction]: ...
