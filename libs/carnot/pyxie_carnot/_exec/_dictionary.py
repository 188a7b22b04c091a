"""Dictionary-encoded STRING columns inside the engine.

A function may return a STRING column as a ``dictionary<int, string>`` array (indices into a
small dictionary of distinct values): the metadata lookups do, since a batch has a handful of
distinct services or pods for many rows. Such a column is a STRING column in every respect
users see (plans, relations, results); inside the engine it saves materialising the strings
and lets group-bys hash small integers instead of strings.

Only the operators that know how to handle these columns get them (map, filter, limit and the
aggregate, which groups on them); every other operator (join, union, sinks) and every function
call gets plain strings. Two batches may carry different dictionaries: the aggregate maps each
batch's dictionary onto its own query-wide codes (``KeyCodes``).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "KeyCodes",
    "as_string_dictionary",
    "decode",
    "decode_batch",
    "has_dictionary",
    "with_column_types",
]


def as_string_dictionary(values: pa.Array | pa.ChunkedArray, want: pa.DataType) -> bool:
    """True when ``values`` is a dictionary array standing for a ``want`` (string) column."""
    value_type = values.type
    return bool(
        pa.types.is_dictionary(value_type)
        and value_type.value_type == want
        and pa.types.is_string(want)
    )


def decode(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Plain values of a dictionary array (anything else as it is)."""
    value_type = values.type
    if not pa.types.is_dictionary(value_type):
        return values
    return values.cast(value_type.value_type)


def has_dictionary(schema: pa.Schema) -> bool:
    return any(pa.types.is_dictionary(t) for t in schema.types)


def decode_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with every dictionary column decoded to plain values."""
    if not has_dictionary(batch.schema):
        return batch
    schema = batch.schema
    columns = []
    for i, field in enumerate(schema):
        column = batch.column(i)
        if pa.types.is_dictionary(field.type):
            column = decode(column)
            schema = schema.set(i, field.with_type(column.type))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def with_column_types(schema: pa.Schema, columns: list[pa.Array]) -> pa.Schema:
    """``schema`` with the fields whose column is a string dictionary typed as that column.

    A dictionary column of any other type is left to ``pa.RecordBatch.from_arrays`` to reject
    (a function returned the wrong type).
    """
    for i, (field, column) in enumerate(zip(schema, columns, strict=True)):
        if column.type != field.type and as_string_dictionary(column, field.type):
            schema = schema.set(i, field.with_type(column.type))
    return schema


class KeyCodes:
    """Query-wide int32 codes for the values of one group key column.

    Each batch's dictionary is mapped onto codes this object hands out in order of first
    sight, so rows with the same value get the same code whatever dictionary they came with;
    ``values`` turns codes back into the plain values. A null (a null index, or a null in the
    dictionary) gets a null code, as a null string key forms its own group.
    """

    def __init__(self, value_type: pa.DataType) -> None:
        self.value_type = value_type
        self._codes: dict[object, int] = {}
        self._values: list[object] = []  # by code

    def encode(self, column: pa.Array) -> pa.Array:
        """int32 codes of ``column`` (a dictionary array, or plain values)."""
        if not pa.types.is_dictionary(column.type):
            column = column.dictionary_encode()
        assert isinstance(column, pa.DictionaryArray)
        known = self._codes
        lut: list[int | None] = []
        for value in column.dictionary.to_pylist():
            if value is None:
                lut.append(None)
                continue
            code = known.get(value)
            if code is None:
                code = known[value] = len(self._values)
                self._values.append(value)
            lut.append(code)
        # A null index, or an index of a null value, gives a null code.
        codes = pa.array(lut, pa.int32()).take(column.indices)
        assert isinstance(codes, pa.Array)
        return codes

    def values(self, codes: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """The plain values of ``codes`` (nulls stay null)."""
        return pa.array(self._values, self.value_type).take(codes)
