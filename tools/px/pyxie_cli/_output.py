"""Printing a script's result tables as an aligned table, JSON lines or CSV.

JSON and CSV follow the Pixie CLI: every row carries the name of its table (``_tableName``), so
one stream can hold several tables. Values keep their type in JSON (ints, floats, bools); times
are RFC 3339 with nanoseconds, UPIDs ``asid:pid:start``, other 128-bit ids UUID-style hex.

Captured traffic is attacker-controlled (anyone who can send a request to a traced service
chooses its path, headers and body), so every medium gets values neutralised for it: in table
mode control characters (terminal escape sequences), bidirectional overrides and other
invisible format characters are shown escaped (``\x1b``, ``\u202e``); in CSV a text cell that
a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) is
prefixed with ``'``; JSON escapes control characters itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any, Literal, TextIO

import pyarrow as pa
from pyxie_client import ScriptResult
from pyxie_types import UPID, Column, Relation, SemanticType

__all__ = ["OutputFormat", "format_duration_ns", "table_rows", "write_result"]

OutputFormat = Literal["table", "json", "csv"]

TABLE_NAME_KEY = "_tableName"
# Wide cells (request bodies) would push every other column off screen in table mode.
_MAX_CELL_CHARS = 60


def _time_text(ns: int) -> str:
    seconds, frac = divmod(ns, 10**9)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _uint128_text(raw: bytes, semantic: SemanticType) -> str:
    if semantic == SemanticType.ST_UPID:
        return str(UPID.from_bytes(raw))
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def format_duration_ns(ns: float) -> str:
    """A duration for humans: ``850ns``, ``12.3µs``, ``4.56ms``, ``1.2s``."""
    magnitude = abs(ns)
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if magnitude >= scale:
            return f"{ns / scale:.3g}{unit}"
    return f"{ns:.0f}ns"


def _script_reference_label(value: Any) -> Any:
    """A script reference is JSON {label, script, args}; people want the label."""
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return value
    return decoded.get("label", value) if isinstance(decoded, dict) else value


def _converter(column: Column, arrow_type: pa.DataType, human: bool) -> Callable[[Any], Any]:
    semantic = column.semantic_type
    if pa.types.is_timestamp(arrow_type):
        return lambda value: _time_text(int(value))
    if pa.types.is_fixed_size_binary(arrow_type) or pa.types.is_binary(arrow_type):
        return lambda value: _uint128_text(bytes(value), semantic)
    if human and semantic == SemanticType.ST_SCRIPT_REFERENCE:
        return _script_reference_label
    if human and semantic == SemanticType.ST_DURATION_NS and pa.types.is_integer(arrow_type):
        return format_duration_ns
    if human and pa.types.is_floating(arrow_type):
        return lambda value: f"{value:.6g}"
    return lambda value: value


def _rows(table: pa.Table, relation: Relation | None, human: bool) -> Iterator[list[Any]]:
    columns = []
    for field in table.schema:
        column = relation.column(field.name) if relation and field.name in relation else None
        if column is None:
            column = Column.from_arrow_field(field)
        convert = _converter(column, field.type, human)
        raw = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            raw = raw.cast(pa.int64())
        columns.append([convert(v) for v in raw.to_pylist()])
    yield from (list(row) for row in zip(*columns, strict=True))


def _visible(text: str) -> str:
    """Control and format characters escaped, so a value cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def table_rows(table: pa.Table, relation: Relation | None, *, human: bool) -> Iterator[list[Any]]:
    """The table's rows as Python values: formatted for people (durations, times, labels)
    when ``human``, else as JSON would carry them."""
    return _rows(table, relation, human)


def _clip(text: str) -> str:
    text = _visible(text)
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (`=HYPERLINK(...)`) is made plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _write_table(result: ScriptResult, out: TextIO) -> None:
    for index, (name, table) in enumerate(result.tables.items()):
        if index:
            out.write("\n")
        plural = "s" if table.num_rows != 1 else ""
        out.write(f"{_visible(name)} ({table.num_rows} row{plural})\n")
        rows = _rows(table, result.relations.get(name), True)
        names = [_clip(n) for n in table.column_names]
        cells = [[_clip(str(v)) for v in row] for row in rows]
        widths = [max([len(n)] + [len(row[i]) for row in cells]) for i, n in enumerate(names)]
        header = "  ".join(n.upper().ljust(w) for n, w in zip(names, widths, strict=True))
        out.write(header.rstrip() + "\n")
        for row in cells:
            out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            out.write("\n")


def _write_json(result: ScriptResult, out: TextIO) -> None:
    for name, table in result.tables.items():
        names = table.column_names
        for row in _rows(table, result.relations.get(name), False):
            record: dict[str, Any] = {TABLE_NAME_KEY: name}
            record.update(zip(names, row, strict=True))
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_csv(result: ScriptResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    for index, (name, table) in enumerate(result.tables.items()):
        if index:
            out.write("\n")
        writer.writerow([TABLE_NAME_KEY, *(_csv_cell(c) for c in table.column_names)])
        for row in _rows(table, result.relations.get(name), False):
            writer.writerow([_csv_cell(name), *(_csv_cell(v) for v in row)])


def write_result(result: ScriptResult, out: TextIO, fmt: OutputFormat) -> None:
    """Write every output table of ``result`` to ``out`` in ``fmt``."""
    if fmt == "json":
        _write_json(result, out)
    elif fmt == "csv":
        _write_csv(result, out)
    else:
        _write_table(result, out)
