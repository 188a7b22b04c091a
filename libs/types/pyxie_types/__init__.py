"""Data types, semantic types, relations and the declared table schemas."""

from ._relation import Column, Relation, TableSchema
from ._types import UINT128_ARROW_TYPE, DataType, SemanticType, arrow_type, data_type_of_arrow
from ._upid import UPID, uint128_from_bytes, uint128_to_bytes

__all__ = [
    "UINT128_ARROW_TYPE",
    "UPID",
    "Column",
    "DataType",
    "Relation",
    "SemanticType",
    "TableSchema",
    "arrow_type",
    "data_type_of_arrow",
    "uint128_from_bytes",
    "uint128_to_bytes",
]
