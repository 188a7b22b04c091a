"""The ctypes mirror and the struct decoders match socket_trace.h as the C compiler lays it out."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest
from pyxie_stirling.socket_tracer import _events
from pyxie_stirling.socket_tracer._bpf import bpf_source_dir

_STRUCTS = {
    "data_event_header": _events.DataEventHeader,
    "control_event": _events.ControlEvent,
}


def _c_layout(tmp_path: Path) -> dict[str, int]:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler to lay out socket_trace.h")
    lines = [
        "#include <stdio.h>",
        "#include <stddef.h>",
        '#include "socket_trace.h"',
        "int main(void) {",
    ]
    for c_name, mirror in _STRUCTS.items():
        lines.append(f'printf("{c_name} %zu\\n", sizeof(struct {c_name}));')
        for field, _ in mirror._fields_:
            lines.append(f'printf("{c_name}.{field} %zu\\n", offsetof(struct {c_name}, {field}));')
    lines.append('printf("MAX_DATA_SIZE %d\\n", MAX_DATA_SIZE);')
    lines.append("return 0; }")
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines))
    binary = tmp_path / "layout"
    subprocess.run(
        [compiler, "-DPYXIE_HOST_BUILD", f"-I{bpf_source_dir()}", str(source), "-o", str(binary)],
        check=True,
    )
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    return {key: int(value) for key, value in (line.split() for line in out.splitlines())}


def test_ctypes_mirror_matches_the_c_header_field_by_field(tmp_path: Path) -> None:
    layout = _c_layout(tmp_path)
    for c_name, mirror in _STRUCTS.items():
        assert ctypes.sizeof(mirror) == layout[c_name], c_name
        for field, _ in mirror._fields_:
            assert getattr(mirror, field).offset == layout[f"{c_name}.{field}"], (c_name, field)
    assert layout["MAX_DATA_SIZE"] == _events.DEFAULT_MAX_DATA_SIZE


def test_struct_decoders_have_the_ctypes_sizes() -> None:
    assert _events.DATA_EVENT_HEADER.size == ctypes.sizeof(_events.DataEventHeader) == 56
    assert _events.CONTROL_EVENT.size == ctypes.sizeof(_events.ControlEvent) == 88


def test_decoders_read_what_the_ctypes_structs_wrote() -> None:
    header = _events.DataEventHeader(
        kind=1,
        tgid=10,
        pid=11,
        fd=-3,
        timestamp_ns=5,
        generation=6,
        position=7,
        msg_size=9,
        captured=4,
        direction=1,
        encrypted=1,
        source_call=8,
        local_port=443,
        role=2,
    )
    record = _events.decode_data(bytes(header) + b"abcdXYZ")
    assert record == _events.DataRecord(10, 11, -3, 5, 6, 7, 9, 1, True, 8, 443, 2, b"abcd")

    control = _events.ControlEvent(
        kind=3,
        tgid=1,
        pid=2,
        fd=4,
        timestamp_ns=5,
        generation=6,
        family=2,
        remote_port=80,
        local_port=1234,
        role=1,
        bytes_sent=100,
        bytes_recv=200,
    )
    control.remote_addr[:4] = [10, 0, 0, 1]
    decoded = _events.decode_control(bytes(control))
    assert decoded.kind is _events.EventKind.CLOSE
    assert (decoded.remote_port, decoded.local_port, decoded.role) == (80, 1234, 1)
    assert decoded.remote_addr[:4] == bytes([10, 0, 0, 1])
    assert (decoded.bytes_sent, decoded.bytes_recv) == (100, 200)


def test_decoded_records_are_their_named_tuples_with_real_field_types() -> None:
    header = _events.DataEventHeader(kind=1, fd=7, captured=2, encrypted=0)
    record = _events.decode_data(bytes(header) + b"hi")
    assert type(record) is _events.DataRecord
    assert record.encrypted is False and record.fd == 7 and record.data == b"hi"
    control = _events.decode_control(bytes(_events.ControlEvent(kind=2, tgid=9)))
    assert type(control) is _events.ControlRecord and control.tgid == 9
    assert control.kind is _events.EventKind.OPEN


def test_a_control_record_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="9 is not a valid EventKind"):
        _events.decode_control(bytes(_events.ControlEvent(kind=9)))
