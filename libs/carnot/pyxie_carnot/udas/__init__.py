"""Builtin aggregates (UDAs) and the UDA contract the aggregate operator relies on.

Each registry entry's ``impl`` is a zero-argument factory returning a fresh ``UDA`` bound to
the overload's argument and return types.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pyxie_types import DataType, SemanticType

from ..registry import Registry
from ._base import UDA, decode_hex_rows, encode_hex_rows, zero_scalar
from ._builtin import (
    QUANTILE_KEYS,
    AnyUDA,
    CountUDA,
    MaxUDA,
    MeanUDA,
    MinUDA,
    QuantilesUDA,
    SumUDA,
)
from ._ml import KMeansFitUDA, RequestPathClustersUDA, SampleUDA
from ._tdigest import COMPRESSION

__all__ = [
    "COMPRESSION",
    "QUANTILE_KEYS",
    "UDA",
    "AnyUDA",
    "CountUDA",
    "MaxUDA",
    "MeanUDA",
    "MinUDA",
    "QuantilesUDA",
    "SumUDA",
    "decode_hex_rows",
    "encode_hex_rows",
    "register_all",
    "zero_scalar",
]

_I, _F, _B, _T, _S, _U = (
    DataType.INT64,
    DataType.FLOAT64,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.STRING,
    DataType.UINT128,
)
_ALL_TYPES = (_B, _I, _U, _F, _S, _T)
# Units that survive sum/mean/min/max (a sum of durations is a duration...).
_PROPAGATED = frozenset(
    {
        SemanticType.ST_DURATION_NS,
        SemanticType.ST_BYTES,
        SemanticType.ST_PERCENT,
        SemanticType.ST_THROUGHPUT_PER_NS,
        SemanticType.ST_THROUGHPUT_BYTES_PER_NS,
        SemanticType.ST_TIME_NS,
    }
)


def _keep_unit(args: Sequence[SemanticType]) -> SemanticType:
    return args[0] if args and args[0] in _PROPAGATED else SemanticType.ST_NONE


def _same(args: Sequence[SemanticType]) -> SemanticType:
    return args[0] if args else SemanticType.ST_NONE


def _quantiles_semantic(args: Sequence[SemanticType]) -> SemanticType:
    if args and args[0] is SemanticType.ST_DURATION_NS:
        return SemanticType.ST_DURATION_NS_QUANTILES
    return SemanticType.ST_QUANTILES


def register_all(registry: Registry) -> None:
    """Register count, sum, mean, min, max, any, quantiles, sample and the model builders."""

    def add(
        name: str, cls: type[UDA], arg: DataType, ret: DataType, semantic: object = None
    ) -> None:
        doc = cls.__doc__ or ""
        registry.register_uda(
            name,
            (arg,),
            ret,
            functools.partial(cls, (arg,), ret),
            doc,
            semantic=semantic,  # type: ignore[arg-type]
        )

    for t in _ALL_TYPES:
        add("count", CountUDA, t, _I, SemanticType.ST_NONE)
        add("any", AnyUDA, t, t, _same)
    add("sum", SumUDA, _I, _I, _keep_unit)
    add("sum", SumUDA, _F, _F, _keep_unit)
    add("sum", SumUDA, _B, _I, SemanticType.ST_NONE)
    for t in (_F, _I, _B):
        add("mean", MeanUDA, t, _F, _keep_unit)
    for t in (_F, _I, _T):
        add("min", MinUDA, t, t, _keep_unit)
        add("max", MaxUDA, t, t, _keep_unit)
    for t in (_I, _F):
        add("quantiles", QuantilesUDA, t, _S, _quantiles_semantic)
    for t in _ALL_TYPES:
        add("sample", SampleUDA, t, t, _same)
    add("_build_request_path_clusters", RequestPathClustersUDA, _S, _S, SemanticType.ST_NONE)
    add("_kmeans_fit", KMeansFitUDA, _S, _S, SemanticType.ST_NONE)
