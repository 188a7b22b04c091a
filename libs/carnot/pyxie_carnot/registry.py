"""The function registry: scalar UDFs, UDAs and UDTFs with their signatures and docs.

The compiler resolves calls against it through the ``pyxie_types.catalog.FunctionCatalog``
contract (name + exact argument types; PxL has no implicit promotion), which ``Registry``
satisfies (``Registry.as_catalog()``); the engine looks implementations up by the resolved
signature carried in the plan. ``px.GetUDFList()`` and the docs are generated from it, so every
entry has a docstring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

import pyarrow as pa
from pyxie_types import DataType, Relation, SemanticType, catalog
from pyxie_types.catalog import FunctionCatalog, FunctionKind, UDTFExecutor

__all__ = [
    "AggregateDef",
    "ArrowValue",
    "FunctionKind",
    "FunctionNotFoundError",
    "NoMatchingOverloadError",
    "Registry",
    "RegistryError",
    "ScalarFn",
    "ScalarUDFDef",
    "SemanticRule",
    "UDAFactory",
    "UDTFArg",
    "UDTFDef",
    "UDTFExecutor",
]

# A scalar function receives Arrow arrays of equal length, or pa.Scalar for constant arguments
# (so constant regex patterns, JSON keys etc. are not broadcast), plus the execution context.
ArrowValue: TypeAlias = pa.Array | pa.ChunkedArray | pa.Scalar
ScalarFn: TypeAlias = Callable[..., ArrowValue]

# Output semantic type: fixed, or computed from the arguments' semantic types.
SemanticRule: TypeAlias = SemanticType | Callable[[Sequence[SemanticType]], SemanticType]


class RegistryError(Exception):
    """Root of the registry's errors."""


class FunctionNotFoundError(RegistryError, catalog.FunctionNotFoundError):
    pass


class NoMatchingOverloadError(RegistryError, catalog.NoMatchingOverloadError):
    pass


def _sig(name: str, arg_types: Sequence[DataType]) -> str:
    return f"{name}({', '.join(t.name for t in arg_types)})"


def _resolve_semantic(rule: SemanticRule | None, args: Sequence[SemanticType]) -> SemanticType:
    if rule is None:
        return SemanticType.ST_NONE
    if isinstance(rule, SemanticType):
        return rule
    return rule(args)


@dataclass(frozen=True, slots=True)
class ScalarUDFDef:
    """One overload of a scalar function.

    ``fn(ctx, *args)`` returns an array of the batch length (or a scalar when every argument is
    a scalar). ``per_row`` marks a Python per-row fallback used where no Arrow kernel exists.
    """

    name: str
    arg_types: tuple[DataType, ...]
    return_type: DataType
    fn: ScalarFn
    doc: str
    semantic: SemanticRule | None = None
    per_row: bool = False

    @property
    def signature(self) -> str:
        return _sig(self.name, self.arg_types)

    def output_semantic_type(self, args: Sequence[SemanticType]) -> SemanticType:
        return _resolve_semantic(self.semantic, args)


class UDAFactory(Protocol):
    """Creates the engine-side implementation of a UDA (defined by the engine's UDA module)."""

    def __call__(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class AggregateDef:
    """One overload of an aggregate function (UDA)."""

    name: str
    arg_types: tuple[DataType, ...]
    return_type: DataType
    impl: Any
    doc: str
    semantic: SemanticRule | None = None
    # Whether partial states can be serialized and merged (all builtins can).
    supports_partial: bool = True

    @property
    def signature(self) -> str:
        return _sig(self.name, self.arg_types)

    def output_semantic_type(self, args: Sequence[SemanticType]) -> SemanticType:
        return _resolve_semantic(self.semantic, args)


@dataclass(frozen=True, slots=True)
class UDTFArg:
    name: str
    data_type: DataType
    default: Any = None  # None means required

    @property
    def required(self) -> bool:
        return self.default is None


_Def = TypeVar("_Def", ScalarUDFDef, AggregateDef)


@dataclass(frozen=True, slots=True)
class UDTFDef:
    """A table-generating function: ``fn(ctx, **args)`` returns a pa.Table with ``relation``,
    or an awaitable of one when it asks another service (Kelvin's metadata-backed UDTFs)."""

    name: str
    args: tuple[UDTFArg, ...]
    relation: Relation
    fn: Callable[..., pa.Table | Awaitable[pa.Table]]
    doc: str
    executor: UDTFExecutor = UDTFExecutor.ONE_KELVIN


@dataclass
class Registry:
    """All functions by name; each name may have several overloads with distinct arg types."""

    _scalars: dict[str, dict[tuple[DataType, ...], ScalarUDFDef]] = field(default_factory=dict)
    _udas: dict[str, dict[tuple[DataType, ...], AggregateDef]] = field(default_factory=dict)
    _udtfs: dict[str, UDTFDef] = field(default_factory=dict)

    # ------------------------------------------------------------ registration

    def _check_new(self, name: str, arg_types: tuple[DataType, ...], doc: str) -> None:
        if not name:
            raise RegistryError("a function needs a name")
        if not doc.strip():
            raise RegistryError(f"{_sig(name, arg_types)} needs a docstring")
        if arg_types in self._scalars.get(name, {}) or arg_types in self._udas.get(name, {}):
            raise RegistryError(f"{_sig(name, arg_types)} is already registered")
        if name in self._udtfs:
            raise RegistryError(f"{name} is already registered as a UDTF")

    def register_scalar(
        self,
        name: str,
        arg_types: Iterable[DataType],
        return_type: DataType,
        fn: ScalarFn,
        doc: str,
        *,
        semantic: SemanticRule | None = None,
        per_row: bool = False,
    ) -> ScalarUDFDef:
        args = tuple(arg_types)
        self._check_new(name, args, doc)
        if name in self._udas:
            raise RegistryError(f"{name} is already registered as a UDA")
        udf = ScalarUDFDef(name, args, return_type, fn, doc, semantic, per_row)
        self._scalars.setdefault(name, {})[args] = udf
        return udf

    def register_uda(
        self,
        name: str,
        arg_types: Iterable[DataType],
        return_type: DataType,
        impl: Any,
        doc: str,
        *,
        semantic: SemanticRule | None = None,
        supports_partial: bool = True,
    ) -> AggregateDef:
        args = tuple(arg_types)
        self._check_new(name, args, doc)
        if name in self._scalars:
            raise RegistryError(f"{name} is already registered as a scalar function")
        uda = AggregateDef(name, args, return_type, impl, doc, semantic, supports_partial)
        self._udas.setdefault(name, {})[args] = uda
        return uda

    def register_udtf(self, udtf: UDTFDef) -> UDTFDef:
        if udtf.name in self._udtfs or self.kind_of(udtf.name) is not None:
            raise RegistryError(f"{udtf.name} is already registered")
        if not udtf.doc.strip():
            raise RegistryError(f"UDTF {udtf.name} needs a docstring")
        self._udtfs[udtf.name] = udtf
        return udtf

    # ------------------------------------------------------------ lookup

    def as_catalog(self) -> FunctionCatalog:
        """This registry as the compiler sees it (type-checked against the contract here)."""
        return self

    def kind_of(self, name: str) -> FunctionKind | None:
        if name in self._scalars:
            return FunctionKind.SCALAR
        if name in self._udas:
            return FunctionKind.UDA
        if name in self._udtfs:
            return FunctionKind.UDTF
        return None

    def lookup_scalar(self, name: str, arg_types: Sequence[DataType]) -> ScalarUDFDef:
        return self._lookup(self._scalars, "function", name, tuple(arg_types))

    def lookup_uda(self, name: str, arg_types: Sequence[DataType]) -> AggregateDef:
        return self._lookup(self._udas, "aggregate", name, tuple(arg_types))

    def lookup_udtf(self, name: str) -> UDTFDef:
        try:
            return self._udtfs[name]
        except KeyError:
            raise FunctionNotFoundError(f"table function {name!r} is not registered") from None

    def _lookup(
        self,
        table: dict[str, dict[tuple[DataType, ...], _Def]],
        what: str,
        name: str,
        arg_types: tuple[DataType, ...],
    ) -> _Def:
        overloads = table.get(name)
        if overloads is None:
            raise FunctionNotFoundError(f"{what} {name!r} is not registered")
        found = overloads.get(arg_types)
        if found is None:
            candidates = "; ".join(o.signature for o in overloads.values())
            raise NoMatchingOverloadError(
                f"no overload of {name} takes ({', '.join(t.name for t in arg_types)}); "
                f"candidates: {candidates}"
            )
        return found

    def scalar_overloads(self, name: str) -> tuple[ScalarUDFDef, ...]:
        return tuple(self._scalars.get(name, {}).values())

    def uda_overloads(self, name: str) -> tuple[AggregateDef, ...]:
        return tuple(self._udas.get(name, {}).values())

    def scalars(self) -> Iterable[ScalarUDFDef]:
        for overloads in self._scalars.values():
            yield from overloads.values()

    def udas(self) -> Iterable[AggregateDef]:
        for overloads in self._udas.values():
            yield from overloads.values()

    def udtfs(self) -> Iterable[UDTFDef]:
        return self._udtfs.values()
