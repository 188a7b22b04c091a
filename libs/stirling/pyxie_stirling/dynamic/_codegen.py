"""A function probe (`FunctionProbe`) as BPF C, its event layout and its table (pure logic).

The program has a fixed shape: an entry uprobe that fills one event (time, tgid, arguments);
without return-time columns it submits the event at once, otherwise it parks the event in a
per-thread map and a return uprobe adds the return value and latency and submits it. Arguments
are read from the x86-64 System V integer registers in DWARF order; strings (`char *`) with
`bpf_probe_read_user_str`. Column and argument names reach the C text only after
`check_identifier`, and the finished text is checked once more by `check_bpf_program`, so a
spec cannot smuggle a helper call into the program.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Final

from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_types import Column, DataType, Relation, SemanticType, TableSchema
from pyxie_types.tracepoints import (
    TIME_COLUMN,
    UPID_COLUMN,
    TracepointSpecError,
    arg_index,
    check_bpf_program,
    check_column_name,
    check_identifier,
)

from ._dwarf import INT64, ArgKind, ArgType, FunctionSignature

__all__ = ["STRING_BYTES", "GeneratedProbe", "generate_probe"]

# Bytes kept of each string argument (with its NUL). The event is built on the 512-byte BPF
# stack, which bounds how many strings one probe may read.
STRING_BYTES: Final = 96
_MAX_EVENT_BYTES: Final = 400
# x86-64 System V: the first six integer arguments travel in registers.
_INT_REGISTERS: Final = 6

_CTYPES = {
    (ArgKind.SIGNED, 1): "s8",
    (ArgKind.SIGNED, 2): "s16",
    (ArgKind.SIGNED, 4): "s32",
    (ArgKind.SIGNED, 8): "s64",
    (ArgKind.UNSIGNED, 1): "u8",
    (ArgKind.UNSIGNED, 2): "u16",
    (ArgKind.UNSIGNED, 4): "u32",
    (ArgKind.UNSIGNED, 8): "u64",
}


@dataclass(frozen=True, slots=True)
class _Field:
    column: str
    data_type: DataType
    # ctypes mirror of the event field.
    ctype: type[ctypes.c_int64] | type[ctypes.Array[ctypes.c_char]]
    semantic: SemanticType = SemanticType.ST_NONE


@dataclass(frozen=True, slots=True)
class GeneratedProbe:
    source: str
    schema: TableSchema
    event_type: type[ctypes.Structure]
    # Names of the BPF functions to attach (entry always; return when needed).
    entry_fn: str
    return_fn: str | None
    fields: tuple[str, ...]


def _reader(kind: ArgType, expr: str) -> str:
    """C that converts a raw register `expr` to the s64 column value."""
    ctype = _CTYPES.get((kind.kind, kind.size))
    if ctype is None:
        ctype = "s64" if kind.kind is not ArgKind.UNSIGNED else "u64"
    return f"(s64)({ctype})({expr})"


def _check_readable(kind: ArgType, what: str) -> None:
    if kind.kind is ArgKind.FLOAT:
        raise TracepointSpecError(
            f"{what} is a floating-point value ({kind.name}); it travels in an SSE register a "
            "uprobe cannot read: pick an integer or pointer argument"
        )
    if kind.kind is ArgKind.AGGREGATE:
        raise TracepointSpecError(
            f"{what} is a struct passed by value ({kind.name}); read a pointer argument instead"
        )


def _register_of(signature: FunctionSignature, name: str) -> tuple[int, ArgType]:
    """(1-based integer register, type) of the argument `name`."""
    index = arg_index(name)
    if not signature.from_dwarf:
        if index is None:
            raise TracepointSpecError(
                f"the binary has no DWARF information, so argument {name!r} cannot be found by "
                "name; use arg0..arg5 (raw 64-bit integer registers)"
            )
        return index + 1, INT64
    register = 0
    for param, kind in signature.params:
        if kind.kind is ArgKind.AGGREGATE and param != name:
            raise TracepointSpecError(
                f"argument {name!r} follows a struct passed by value ({param}); its register "
                "cannot be derived"
            )
        if kind.kind is not ArgKind.FLOAT:
            register += 1
        if param == name:
            _check_readable(kind, f"argument {name!r}")
            return register, kind
    if index is not None and index < len(signature.params):
        return _register_of(signature, signature.params[index][0])
    known = ", ".join(p for p, _ in signature.params) or "(none)"
    raise TracepointSpecError(
        f"function {signature.name} has no argument {name!r}; its arguments: {known}"
    )


def generate_probe(
    spec: messages_pb2.FunctionProbe,
    signature: FunctionSignature,
    table_name: str,
    *,
    filter_tgids: tuple[int, ...] = (),
) -> GeneratedProbe:
    check_identifier(table_name, "table name")
    fields: list[_Field] = []
    entry_lines: list[str] = []
    return_lines: list[str] = []
    for output in spec.outputs:
        column = check_column_name(output.column)
        member = f"c_{column}"
        kind = output.WhichOneof("expr")
        if kind == "arg":
            check_identifier(output.arg, "argument name")
            register, arg_type = _register_of(signature, output.arg)
            if register > _INT_REGISTERS:
                raise TracepointSpecError(
                    f"argument {output.arg!r} is passed on the stack (beyond the 6th integer "
                    "argument); only register arguments can be read"
                )
            raw = f"PT_REGS_PARM{register}(ctx)"
            if arg_type.kind is ArgKind.STRING:
                fields.append(_Field(column, DataType.STRING, ctypes.c_char * STRING_BYTES))
                entry_lines.append(
                    f"bpf_probe_read_user_str(&ev.{member}, sizeof(ev.{member}), (void *){raw});"
                )
            else:
                fields.append(_Field(column, DataType.INT64, ctypes.c_int64))
                entry_lines.append(f"ev.{member} = {_reader(arg_type, raw)};")
        elif kind == "ret":
            if output.ret != "$0":
                raise TracepointSpecError(f"return expression {output.ret!r}: only '$0'")
            ret_type = signature.returns if signature.from_dwarf else INT64
            if ret_type is None:
                raise TracepointSpecError(f"function {signature.name} returns void")
            _check_readable(ret_type, "the return value")
            if ret_type.kind is ArgKind.STRING:
                fields.append(_Field(column, DataType.STRING, ctypes.c_char * STRING_BYTES))
                return_lines.append(
                    f"bpf_probe_read_user_str(&ev.{member}, sizeof(ev.{member}), "
                    "(void *)PT_REGS_RC(ctx));"
                )
            else:
                fields.append(_Field(column, DataType.INT64, ctypes.c_int64))
                return_lines.append(f"ev.{member} = {_reader(ret_type, 'PT_REGS_RC(ctx)')};")
        elif kind == "latency":
            fields.append(
                _Field(column, DataType.INT64, ctypes.c_int64, SemanticType.ST_DURATION_NS)
            )
            return_lines.append(f"ev.{member} = (s64)(bpf_ktime_get_ns() - ev.time_ns);")
        else:
            raise TracepointSpecError(f"output {column!r} has no expression")
    if not fields:
        raise TracepointSpecError("a probe needs at least one output column")

    class Event(ctypes.Structure):
        _fields_ = [
            ("time_ns", ctypes.c_uint64),
            ("tgid", ctypes.c_uint32),
            ("pad", ctypes.c_uint32),
            *((f"c_{f.column}", f.ctype) for f in fields),
        ]

    if ctypes.sizeof(Event) > _MAX_EVENT_BYTES:
        raise TracepointSpecError(
            f"the probe's row needs {ctypes.sizeof(Event)} bytes; at most {_MAX_EVENT_BYTES} "
            "fit on the BPF stack (fewer string columns)"
        )
    members = "\n".join(
        f"    char c_{f.column}[{STRING_BYTES}];"
        if f.data_type is DataType.STRING
        else f"    s64 c_{f.column};"
        for f in fields
    )
    tgid_filter = ""
    if filter_tgids:
        condition = " && ".join(f"tgid != {int(t)}" for t in sorted(set(filter_tgids)))
        tgid_filter = f"    if ({condition}) return 0;\n"
    body = "\n".join(f"    {line}" for line in entry_lines)
    ret_body = "\n".join(f"    {line}" for line in return_lines)
    source = f"""#include <uapi/linux/ptrace.h>

struct event_t {{
    u64 time_ns;
    u32 tgid;
    u32 pad;
{members}
}};

BPF_PERF_OUTPUT(events);
"""
    if return_lines:
        source += f"""BPF_HASH(entries, u64, struct event_t, 10240);

int probe_entry(struct pt_regs *ctx) {{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
{tgid_filter}    struct event_t ev = {{}};
    ev.time_ns = bpf_ktime_get_ns();
    ev.tgid = tgid;
{body}
    entries.update(&id, &ev);
    return 0;
}}

int probe_return(struct pt_regs *ctx) {{
    u64 id = bpf_get_current_pid_tgid();
    struct event_t *entry = entries.lookup(&id);
    if (entry == 0) return 0;
    struct event_t ev = *entry;
    entries.delete(&id);
{ret_body}
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}}
"""
    else:
        source += f"""
int probe_entry(struct pt_regs *ctx) {{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
{tgid_filter}    struct event_t ev = {{}};
    ev.time_ns = bpf_ktime_get_ns();
    ev.tgid = tgid;
{body}
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}}
"""
    check_bpf_program(source)
    columns = [
        Column(TIME_COLUMN, DataType.TIME64NS, SemanticType.ST_TIME_NS),
        Column(UPID_COLUMN, DataType.UINT128, SemanticType.ST_UPID),
        *(Column(f.column, f.data_type, f.semantic) for f in fields),
    ]
    schema = TableSchema(
        table_name,
        Relation(tuple(columns)),
        desc=f"pxtrace probe on {spec.binary + ':' if spec.binary else ''}{spec.symbol}",
    )
    return GeneratedProbe(
        source=source,
        schema=schema,
        event_type=Event,
        entry_fn="probe_entry",
        return_fn="probe_return" if return_lines else None,
        fields=tuple(f.column for f in fields),
    )
