"""The profiler's pure parts: event layout, CPython layouts, line tables, folding, ELF symbols."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pyxie_stirling.perf_profiler import _events, _python, fold_stack, stack_trace_id
from pyxie_stirling.perf_profiler._symbols import ElfSymbols, ProcessMaps, SymbolCache, parse_maps
from pyxie_stirling.socket_tracer._bpf import bpf_source_dir


def test_event_structs_match_the_c_header(tmp_path: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to lay out perf_profiler.h")
    structs = {"cpu_sample": _events.CpuSample, "py_layout": _events.PyLayoutStruct}
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "perf_profiler.h"']
    lines.append("int main(void) {")
    for c_name, mirror in structs.items():
        lines.append(f'printf("{c_name} %zu\\n", sizeof(struct {c_name}));')
        for field, _ in mirror._fields_:
            lines.append(f'printf("{c_name}.{field} %zu\\n", offsetof(struct {c_name}, {field}));')
    lines.append('printf("MAX_PY_FRAMES %d\\n", MAX_PY_FRAMES); return 0; }')
    (tmp_path / "layout.c").write_text("\n".join(lines))
    subprocess.run(
        [
            compiler,
            "-DPYXIE_HOST_BUILD",
            f"-I{bpf_source_dir()}",
            str(tmp_path / "layout.c"),
            "-o",
            str(tmp_path / "layout"),
        ],
        check=True,
    )
    out = subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True, check=True)
    c = dict(line.rsplit(" ", 1) for line in out.stdout.splitlines())
    for c_name, mirror in structs.items():
        assert int(c[c_name]) == ctypes.sizeof(mirror)
        for field, _ in mirror._fields_:
            assert int(c[f"{c_name}.{field}"]) == getattr(mirror, field).offset, field
    assert int(c["MAX_PY_FRAMES"]) == _events.MAX_PY_FRAMES


def _u64(addr: int) -> int:
    return ctypes.c_uint64.from_address(addr).value


def test_layout_of_the_running_interpreter_finds_this_thread_and_frame() -> None:
    """Walk this very interpreter with the table's offsets, as the BPF program does."""
    layout = _python.LAYOUTS[sys.version_info[:2]]
    api = ctypes.pythonapi
    runtime = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
    interp = _u64(runtime + layout.runtime_interp_head)
    tstate = _u64(interp + layout.interp_threads_head)
    tid = threading.get_native_id()
    while tstate and _u64(tstate + layout.tstate_native_thread_id) != tid:
        tstate = _u64(tstate + layout.tstate_next)
    assert tstate, "this thread's state was not found"
    # Read inline: inside a helper function the current frame would be the helper's.
    cframe = ctypes.c_uint64.from_address(tstate + layout.tstate_cframe).value
    frame = ctypes.c_uint64.from_address(cframe + layout.cframe_current_frame).value
    code = _u64(frame + layout.frame_code)
    this_code = sys._getframe().f_code
    assert code == id(this_code)
    caller = _u64(_u64(frame + layout.frame_previous) + layout.frame_code)
    assert caller == id(sys._getframe(1).f_code)
    # Code object fields, read from this process's memory as the collector reads others'.
    mem = _python.ProcessMemory(os.getpid())
    try:
        info = _python.read_code(mem, code, layout)
    finally:
        mem.close()
    assert info.qualname == this_code.co_qualname
    assert info.filename == this_code.co_filename
    assert info.firstlineno == this_code.co_firstlineno
    assert info.linetable == this_code.co_linetable
    instr = _u64(frame + layout.frame_prev_instr)
    index = (instr - code - layout.code_adaptive) // 2
    line = _python.line_for_instruction(info.linetable, info.firstlineno, index)
    assert this_code.co_firstlineno < line < this_code.co_firstlineno + 40


def test_line_table_decoding_matches_co_positions() -> None:
    import json.decoder

    checked = 0
    for module in (json.decoder, _python):
        for obj in vars(module).values():
            code = getattr(obj, "__code__", None)
            if code is None:
                continue
            for index, (line, *_) in enumerate(code.co_positions()):
                got = _python.line_for_instruction(code.co_linetable, code.co_firstlineno, index)
                assert got == (line or 0), (code.co_name, index)
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/usr/bin/python3.11", (3, 11)),
        ("/opt/pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", (3, 12)),
        ("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", (3, 11)),
        ("/usr/bin/python3", None),
        ("/usr/lib/libc.so.6", None),
    ],
)
def test_python_version_from_the_mapped_file(path: str, version: tuple[int, int] | None) -> None:
    assert _python.python_version_of_path(path) == version


def test_fold_replaces_the_interpreter_frames_with_python_frames() -> None:
    native = [
        "_start",
        "main",
        "Py_RunMain",
        "_PyEval_EvalFrameDefault",
        "PyObject_Call",
        "_PyEval_EvalFrameDefault",
        "sha256_update",
    ]
    python = ["<module> (app.py:3)", "handler (app.py:10)"]
    assert fold_stack(native, python, ["do_syscall_64"]) == (
        "_start;main;Py_RunMain;<module> (app.py:3);handler (app.py:10);sha256_update;"
        "[k] do_syscall_64"
    )
    # Unwound without frame pointers: only the Python frames stand for user space.
    assert fold_stack(["0x7f00", "PyNumber_Add"], python, []) == ";".join(python)
    assert fold_stack(["main", "f"], [], []) == "main;f"
    assert fold_stack([], [], []) == "[unknown]"


def test_stack_trace_id_is_stable_and_positive() -> None:
    assert stack_trace_id("a;b") == stack_trace_id("a;b")
    assert stack_trace_id("a;b") != stack_trace_id("a;c")
    assert 0 <= stack_trace_id("x") < 1 << 63


def test_elf_symbols_of_this_interpreter_resolve_a_known_function() -> None:
    """ctypes' address of a libc function resolves, through our maps, to its name."""
    libc = ctypes.CDLL(None)
    addr = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    assert addr is not None
    cache = SymbolCache()
    maps = ProcessMaps(os.getpid(), cache)
    assert maps.symbol(addr) in ("getpid", "__getpid")
    # The same file is parsed once for every process mapping it.
    mapping = maps.mapping_of(addr)
    assert mapping is not None
    assert cache.get(maps.file_path(mapping.path)) is cache.get(maps.file_path(mapping.path))
    elf = cache.get(maps.file_path(mapping.path))
    assert isinstance(elf, ElfSymbols) and len(elf) > 100


def test_parse_maps_keeps_executable_file_mappings_only() -> None:
    text = (
        "55d0a0000000-55d0a0001000 r--p 00000000 08:01 12 /usr/bin/python3.11\n"
        "55d0a0001000-55d0a0200000 r-xp 00001000 08:01 12 /usr/bin/python3.11\n"
        "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
        "7ffd1000000-7ffd1002000 r-xp 00000000 00:00 0 [vdso]\n"
        "7f1000000000-7f1000100000 r-xp 00002000 08:01 99 /tmp/lib.so (deleted)\n"
    )
    maps = parse_maps(text)
    assert [(m.start, m.offset, m.path) for m in maps] == [
        (0x55D0A0001000, 0x1000, "/usr/bin/python3.11"),
        (0x7F1000000000, 0x2000, "/tmp/lib.so"),
    ]
