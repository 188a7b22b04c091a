"""What every part of dynamic tracing (pxtrace) agrees on: names, table shapes, safety rules.

The compiler checks a deployment before it leaves the broker, the PEM checks the program it is
about to load again (a spec arrives over NATS, so the PEM trusts nothing): probes are read-only.
A program that writes user memory (`bpf_probe_write_user`), overrides a return value
(`bpf_override_return`, bpftrace `override`), sends a signal (`bpf_send_signal`, bpftrace
`signal`) or runs commands or reads files (bpftrace `system`, `cat`) is refused before it loads.

bpftrace tables follow Pixie's convention: every `printf` of the program prints the same format
made of `name:%spec` fields separated by spaces, e.g. ``printf("time_:%llu pid:%u comm:%s",
nsecs, pid, comm)``; each field becomes a column (`%s` STRING, integers INT64, `time_` the
event time). A table without `time_` gets one holding the time the row was read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ._relation import Column, Relation, TableSchema
from ._types import DataType, SemanticType

__all__ = [
    "BPFTRACE_FORBIDDEN_BUILTINS",
    "BPF_FORBIDDEN_HELPERS",
    "TIME_COLUMN",
    "UPID_COLUMN",
    "BPFTraceField",
    "TracepointSpecError",
    "UnsafeProgramError",
    "arg_index",
    "bpftrace_fields",
    "bpftrace_table_schema",
    "check_bpf_program",
    "check_bpftrace_program",
    "check_column_name",
    "check_identifier",
    "check_symbol",
]

TIME_COLUMN: Final = "time_"
UPID_COLUMN: Final = "upid"

# BPF helpers that change the traced program or the system rather than observe it.
BPF_FORBIDDEN_HELPERS: Final = (
    "bpf_probe_write_user",
    "bpf_override_return",
    "bpf_send_signal",
    "bpf_send_signal_thread",
    "bpf_sys_bpf",
)
# bpftrace builtins that act (signal, override, system) or read arbitrary files (cat).
BPFTRACE_FORBIDDEN_BUILTINS: Final = ("system", "signal", "override", "cat")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
# C, C++ (mangled) and Go symbols: main.(*T).Method, _ZN3foo3barEv, pkg/path.Func.
_SYMBOL = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$/()*\[\]{},\-]{0,255}\Z")
_ARG_INDEX = re.compile(r"arg([0-9])\Z")


class TracepointSpecError(ValueError):
    """A tracepoint deployment that is malformed (bad name, unknown field, bad format)."""


class UnsafeProgramError(TracepointSpecError):
    """A probe program that would change the traced system instead of only reading it."""


def check_identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value):
        raise TracepointSpecError(
            f"{what} {value!r} must be an identifier (letters, digits, _; at most 64)"
        )
    return value


def check_column_name(value: str) -> str:
    check_identifier(value, "column name")
    if value in (TIME_COLUMN, UPID_COLUMN):
        raise TracepointSpecError(f"column name {value!r} is reserved (every table has it)")
    return value


def check_symbol(value: str) -> str:
    if not _SYMBOL.match(value):
        raise TracepointSpecError(f"function symbol {value!r} is not a valid symbol name")
    return value


def arg_index(name: str) -> int | None:
    """N for the positional argument name ``argN`` (used when a binary has no DWARF)."""
    match = _ARG_INDEX.match(name)
    return int(match.group(1)) if match else None


def _strip_strings_and_comments(source: str) -> str:
    """The program text with string literals and comments blanked (so a word inside a string
    never counts as a call, and a call cannot hide behind a comment marker)."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == '"':
            i += 1
            while i < n and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
            i += 1
            out.append('""')
        elif source.startswith("//", i):
            while i < n and source[i] != "\n":
                i += 1
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _calls(source: str, names: Sequence[str]) -> list[str]:
    code = _strip_strings_and_comments(source)
    found = []
    for name in names:
        # A use of the name at all (call, function pointer, macro argument) is refused.
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", code):
            found.append(name)
    return found


def check_bpf_program(source: str) -> None:
    """Refuse BPF C that uses a helper which writes memory, overrides returns or signals."""
    found = _calls(source, BPF_FORBIDDEN_HELPERS)
    if found:
        raise UnsafeProgramError(
            f"probes are read-only: the program uses {', '.join(found)}, which would change the "
            "traced process; refused before loading"
        )


def check_bpftrace_program(program: str) -> None:
    """Refuse a bpftrace program that calls an action builtin (system, signal, override, cat)."""
    code = _strip_strings_and_comments(program)
    found = [
        name
        for name in BPFTRACE_FORBIDDEN_BUILTINS
        if re.search(rf"(?<![A-Za-z0-9_$@]){name}\s*\(", code)
    ]
    if found:
        raise UnsafeProgramError(
            f"probes are read-only: the bpftrace program calls {', '.join(found)}(), which "
            "would act on the system; refused before loading"
        )
    check_bpf_program(program)


@dataclass(frozen=True, slots=True)
class BPFTraceField:
    name: str
    data_type: DataType
    # The printf conversion (d, u, s, llu, ...).
    conversion: str


_PRINTF = re.compile(r'\bprintf\s*\(\s*"((?:[^"\\]|\\.)*)"')
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):%(-?[0-9]*(?:hh|h|ll|l|z)?[diuxXsc])\Z")


def bpftrace_fields(program: str) -> list[BPFTraceField]:
    """The columns a bpftrace program prints (every printf must print the same fields)."""
    formats = {match.group(1) for match in _PRINTF.finditer(program)}
    if not formats:
        raise TracepointSpecError(
            'a bpftrace program must printf its rows, e.g. printf("time_:%llu pid:%u\\n", '
            "nsecs, pid)"
        )
    if len(formats) > 1:
        raise TracepointSpecError(
            "every printf of a bpftrace program must print the same fields; found "
            + " | ".join(sorted(formats))
        )
    text = formats.pop().replace("\\n", " ").replace("\\t", " ")
    fields: list[BPFTraceField] = []
    for token in text.split():
        match = _FIELD.match(token)
        if match is None:
            raise TracepointSpecError(
                f"bpftrace printf field {token!r} is not name:%spec (e.g. pid:%d, comm:%s)"
            )
        name, conversion = match.group(1), match.group(2).lstrip("-0123456789")
        data_type = DataType.STRING if conversion.endswith(("s", "c")) else DataType.INT64
        if name == TIME_COLUMN:
            data_type = DataType.TIME64NS
        elif name == UPID_COLUMN:
            raise TracepointSpecError(f"column name {name!r} is reserved")
        else:
            check_identifier(name, "column name")
        if any(f.name == name for f in fields):
            raise TracepointSpecError(f"bpftrace printf prints column {name!r} twice")
        fields.append(BPFTraceField(name, data_type, conversion))
    return fields


def bpftrace_table_schema(table_name: str, program: str, desc: str = "") -> TableSchema:
    """The table a bpftrace program fills: `time_` first, then its printed fields."""
    check_identifier(table_name, "table name")
    columns = [Column(TIME_COLUMN, DataType.TIME64NS, SemanticType.ST_TIME_NS)]
    columns.extend(
        Column(f.name, f.data_type) for f in bpftrace_fields(program) if f.name != TIME_COLUMN
    )
    return TableSchema(
        table_name, Relation(tuple(columns)), desc=desc or "bpftrace tracepoint output"
    )
