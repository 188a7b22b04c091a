"""CPython >= 3.11 support: where the frame chain lives, and code objects turned into frames.

The BPF program walks `_PyRuntime.interpreters.head -> threads -> cframe -> current_frame ->
previous ...` and hands over (code object, last instruction) per frame; this module knows the
offsets of each supported version (x86_64 release builds, verified by a test against the
running interpreter with ctypes) and reads code objects from the process's memory through
/proc/<pid>/mem: qualified name, file name and the line of the instruction, decoded from the
code object's location table (PEP 626 format, the same in 3.11 and 3.12).
"""

from __future__ import annotations

import bisect
import os
import re
import struct
from dataclasses import dataclass

__all__ = [
    "LAYOUTS",
    "CodeInfo",
    "ProcessMemory",
    "PyLayout",
    "decode_line_table",
    "line_at",
    "line_for_instruction",
    "python_version_of_path",
    "read_code",
]


@dataclass(frozen=True, slots=True)
class PyLayout:
    """Offsets (bytes) of one CPython minor version."""

    version: tuple[int, int]
    runtime_interp_head: int
    interp_threads_head: int
    tstate_next: int
    tstate_native_thread_id: int
    tstate_cframe: int
    cframe_current_frame: int
    frame_code: int
    frame_previous: int
    frame_prev_instr: int
    frame_owner: int
    owner_cstack: int  # 0xFF: the version has no C-stack shim frames
    code_filename: int
    code_qualname: int
    code_firstlineno: int
    code_linetable: int
    code_adaptive: int  # start of the (adaptive) bytecode inside the code object
    unicode_ascii_data: int  # sizeof(PyASCIIObject)
    unicode_compact_data: int  # sizeof(PyCompactUnicodeObject)


LAYOUTS: dict[tuple[int, int], PyLayout] = {
    (3, 11): PyLayout(
        version=(3, 11),
        runtime_interp_head=40,
        interp_threads_head=16,
        tstate_next=8,
        tstate_native_thread_id=160,
        tstate_cframe=56,
        cframe_current_frame=8,
        frame_code=32,
        frame_previous=48,
        frame_prev_instr=56,
        frame_owner=69,
        owner_cstack=0xFF,
        code_filename=112,
        code_qualname=128,
        code_firstlineno=72,
        code_linetable=136,
        code_adaptive=184,
        unicode_ascii_data=48,
        unicode_compact_data=72,
    ),
    (3, 12): PyLayout(
        version=(3, 12),
        runtime_interp_head=40,
        interp_threads_head=72,
        tstate_next=8,
        tstate_native_thread_id=144,
        tstate_cframe=56,
        cframe_current_frame=0,
        frame_code=0,
        frame_previous=8,
        frame_prev_instr=56,
        frame_owner=70,
        owner_cstack=3,  # FRAME_OWNED_BY_CSTACK
        code_filename=112,
        code_qualname=128,
        code_firstlineno=68,
        code_linetable=136,
        code_adaptive=192,
        unicode_ascii_data=40,
        unicode_compact_data=56,
    ),
}

_VERSION_RE = re.compile(r"(?:^|/)(?:lib)?python(\d)\.(\d+)(?:[a-z]*)?(?:\.so[.\d]*)?$")


def python_version_of_path(path: str) -> tuple[int, int] | None:
    """(3, 11) for .../python3.11 or .../libpython3.11.so.1.0; None for anything else."""
    match = _VERSION_RE.search(path)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


class ProcessMemory:
    """Reads another process's memory through /proc/<pid>/mem (needs ptrace rights: root)."""

    def __init__(self, pid: int, proc: str = "/proc") -> None:
        self.pid = pid
        self._fd = os.open(f"{proc}/{pid}/mem", os.O_RDONLY)

    def read(self, addr: int, size: int) -> bytes:
        if not 0 < addr < 1 << 63:  # a torn read in the sampled process: not an address
            raise OSError(f"bad address {addr:#x} in pid {self.pid}")
        data = os.pread(self._fd, size, addr)
        if len(data) != size:
            raise OSError(f"short read of {size} bytes at {addr:#x} in pid {self.pid}")
        return data

    def u64(self, addr: int) -> int:
        value: int = struct.unpack("<Q", self.read(addr, 8))[0]
        return value

    def i32(self, addr: int) -> int:
        value: int = struct.unpack("<i", self.read(addr, 4))[0]
        return value

    def close(self) -> None:
        os.close(self._fd)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    qualname: str
    filename: str
    firstlineno: int
    linetable: bytes


# Longest name or path read from a process; longer ones are cut (a frame label, not data).
_MAX_STRING = 4096


def _read_unicode(mem: ProcessMemory, addr: int, layout: PyLayout) -> str:
    length, _hash, state = struct.unpack("<qqI", mem.read(addr + 16, 20))
    kind = (state >> 2) & 7
    compact = (state >> 5) & 1
    ascii_only = (state >> 6) & 1
    if not compact or kind not in (1, 2, 4):
        return "?"
    length = max(0, min(length, _MAX_STRING))
    if ascii_only:
        return mem.read(addr + layout.unicode_ascii_data, length).decode("ascii", "replace")
    raw = mem.read(addr + layout.unicode_compact_data, length * kind)
    encoding = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind]
    return raw.decode(encoding, "replace")


def _read_bytes_object(mem: ProcessMemory, addr: int) -> bytes:
    size = mem.u64(addr + 16)  # ob_size of PyVarObject
    if size > 1 << 20:
        raise OSError(f"implausible bytes size {size} at {addr:#x}")
    return mem.read(addr + 32, size)  # ob_sval follows ob_shash


def read_code(mem: ProcessMemory, code: int, layout: PyLayout) -> CodeInfo:
    return CodeInfo(
        qualname=_read_unicode(mem, mem.u64(code + layout.code_qualname), layout),
        filename=_read_unicode(mem, mem.u64(code + layout.code_filename), layout),
        firstlineno=mem.i32(code + layout.code_firstlineno),
        linetable=_read_bytes_object(mem, mem.u64(code + layout.code_linetable)),
    )


def _varint(table: bytes, pos: int) -> tuple[int, int]:
    byte = table[pos]
    pos += 1
    value = byte & 63
    shift = 0
    while byte & 64:
        byte = table[pos]
        pos += 1
        shift += 6
        value |= (byte & 63) << shift
    return value, pos


def _svarint(table: bytes, pos: int) -> tuple[int, int]:
    value, pos = _varint(table, pos)
    return (-(value >> 1) if value & 1 else value >> 1), pos


def decode_line_table(linetable: bytes, firstlineno: int) -> tuple[list[int], list[int]]:
    """(end code unit, line) of every entry of a location table; line 0 = no location.

    Entries: a first byte 1CCCCLLL (code C, L+1 code units) then, by code: 15 no location;
    14 long form (svarint line delta, varint end line, column, end column); 13 no column
    (svarint line delta); 10-12 one-line form (line delta C-10, two column bytes); 0-9 short
    form (same line, one column byte).
    """
    ends: list[int] = []
    lines: list[int] = []
    line = firstlineno
    pos = 0
    unit = 0
    end = len(linetable)
    while pos < end:
        first = linetable[pos]
        pos += 1
        code = (first >> 3) & 15
        unit += (first & 7) + 1
        has_line = True
        if code == 15:
            has_line = False
        elif code == 14:
            delta, pos = _svarint(linetable, pos)
            line += delta
            for _ in range(3):
                _, pos = _varint(linetable, pos)
        elif code == 13:
            delta, pos = _svarint(linetable, pos)
            line += delta
        elif code >= 10:
            line += code - 10
            pos += 2
        else:
            pos += 1
        ends.append(unit)
        lines.append(line if has_line else 0)
    return ends, lines


def line_at(table: tuple[list[int], list[int]], instr_index: int) -> int:
    """The line of code unit ``instr_index`` in a decoded table (0 when it has none)."""
    ends, lines = table
    i = bisect.bisect_right(ends, instr_index)
    return lines[i] if i < len(lines) else 0


def line_for_instruction(linetable: bytes, firstlineno: int, instr_index: int) -> int:
    """The source line of code unit ``instr_index`` (0 when the table has no line for it)."""
    return line_at(decode_line_table(linetable, firstlineno), instr_index)
