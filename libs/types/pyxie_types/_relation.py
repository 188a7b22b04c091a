"""Relations (ordered typed columns) and declarative table schemas."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pyxie_proto.types.typespb import types_pb2

from ._types import DataType, SemanticType, arrow_type, data_type_of_arrow

__all__ = ["Column", "Relation", "TableSchema"]

# Arrow field metadata keys that carry what the Arrow type alone cannot say.
_META_SEMANTIC = b"pyxie.semantic_type"
_META_DESC = b"pyxie.desc"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: DataType
    semantic_type: SemanticType = SemanticType.ST_NONE
    desc: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a column needs a name")
        if self.data_type is DataType.DATA_TYPE_UNKNOWN:
            raise ValueError(f"column {self.name!r} has no data type")

    def arrow_field(self) -> pa.Field:
        meta = {_META_SEMANTIC: str(int(self.semantic_type)).encode()}
        if self.desc:
            meta[_META_DESC] = self.desc.encode()
        return pa.field(self.name, arrow_type(self.data_type), nullable=False, metadata=meta)

    @classmethod
    def from_arrow_field(cls, arrow_field: pa.Field) -> Column:
        meta = arrow_field.metadata or {}
        semantic = SemanticType(int(meta.get(_META_SEMANTIC, b"1")))
        desc = meta.get(_META_DESC, b"").decode()
        return cls(arrow_field.name, data_type_of_arrow(arrow_field.type), semantic, desc)

    def to_proto(self) -> types_pb2.ColumnSchema:
        return types_pb2.ColumnSchema(
            name=self.name,
            data_type=int(self.data_type),  # type: ignore[arg-type]
            semantic_type=int(self.semantic_type),  # type: ignore[arg-type]
            desc=self.desc,
        )

    @classmethod
    def from_proto(cls, msg: types_pb2.ColumnSchema) -> Column:
        return cls(msg.name, DataType(msg.data_type), SemanticType(msg.semantic_type), msg.desc)


@dataclass(frozen=True, slots=True)
class Relation:
    """An ordered list of uniquely named columns."""

    columns: tuple[Column, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for position, column in enumerate(self.columns):
            if column.name in index:
                raise ValueError(f"duplicate column name {column.name!r} in relation")
            index[column.name] = position
        object.__setattr__(self, "_index", index)

    @classmethod
    def of(cls, *columns: Column | tuple[str, DataType]) -> Relation:
        return cls(tuple(c if isinstance(c, Column) else Column(c[0], c[1]) for c in columns))

    def __len__(self) -> int:
        return len(self.columns)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"column {name!r} not found; available columns: {', '.join(self.names)}"
            ) from None

    def column(self, name: str) -> Column:
        return self.columns[self.index(name)]

    def select(self, names: Iterable[str]) -> Relation:
        return Relation(tuple(self.column(n) for n in names))

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([c.arrow_field() for c in self.columns])

    @classmethod
    def from_arrow_schema(cls, schema: pa.Schema) -> Relation:
        return cls(tuple(Column.from_arrow_field(f) for f in schema))

    def to_proto(self) -> types_pb2.Relation:
        return types_pb2.Relation(columns=[c.to_proto() for c in self.columns])

    @classmethod
    def from_proto(cls, msg: types_pb2.Relation) -> Relation:
        return cls(tuple(Column.from_proto(c) for c in msg.columns))


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A table a collector produces: declared once, read by the store, metadata and compiler."""

    name: str
    relation: Relation
    desc: str = ""
    time_column: str = "time_"
    # Holds request/response payloads that may carry personal data (redacted in restricted modes).
    sensitive: bool = False

    def __post_init__(self) -> None:
        if self.time_column and self.time_column not in self.relation:
            raise ValueError(f"table {self.name!r} has no time column {self.time_column!r}")
        if self.time_column:
            time_type = self.relation.column(self.time_column).data_type
            if time_type is not DataType.TIME64NS:
                raise ValueError(f"time column of {self.name!r} must be TIME64NS")

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.relation.columns

    def arrow_schema(self) -> pa.Schema:
        return self.relation.arrow_schema().with_metadata({b"pyxie.table": self.name.encode()})

    def to_proto(self) -> types_pb2.TableSchema:
        return types_pb2.TableSchema(
            name=self.name,
            desc=self.desc,
            columns=[c.to_proto() for c in self.columns],
            time_column=self.time_column,
            sensitive=self.sensitive,
        )

    @classmethod
    def from_proto(cls, msg: types_pb2.TableSchema) -> TableSchema:
        relation = Relation(tuple(Column.from_proto(c) for c in msg.columns))
        return cls(msg.name, relation, msg.desc, msg.time_column, msg.sensitive)
