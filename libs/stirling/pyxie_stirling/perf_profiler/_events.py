"""ctypes mirrors of bpf/perf_profiler.h (a test compares them with the C layout)."""

from __future__ import annotations

import ctypes

__all__ = [
    "MAX_PY_FRAMES",
    "SAMPLE_PY_NO_THREAD",
    "SAMPLE_PY_READ_FAILED",
    "SAMPLE_PY_TRUNCATED",
    "CpuSample",
    "PyFrame",
    "PyLayoutStruct",
]

MAX_PY_FRAMES = 64
SAMPLE_PY_TRUNCATED = 1
SAMPLE_PY_NO_THREAD = 2
SAMPLE_PY_READ_FAILED = 4


class PyLayoutStruct(ctypes.Structure):
    _fields_ = [
        ("interp_head_addr", ctypes.c_uint64),
        ("interp_threads_head", ctypes.c_uint32),
        ("tstate_next", ctypes.c_uint32),
        ("tstate_native_thread_id", ctypes.c_uint32),
        ("tstate_cframe", ctypes.c_uint32),
        ("cframe_current_frame", ctypes.c_uint32),
        ("frame_code", ctypes.c_uint32),
        ("frame_previous", ctypes.c_uint32),
        ("frame_prev_instr", ctypes.c_uint32),
        ("frame_owner", ctypes.c_uint32),
        ("owner_cstack", ctypes.c_uint32),
    ]


class PyFrame(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint64), ("prev_instr", ctypes.c_uint64)]


class CpuSample(ctypes.Structure):
    _fields_ = [
        ("tgid", ctypes.c_uint32),
        ("tid", ctypes.c_uint32),
        ("user_stack_id", ctypes.c_int32),
        ("kernel_stack_id", ctypes.c_int32),
        ("py_depth", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("py", PyFrame * MAX_PY_FRAMES),
    ]
