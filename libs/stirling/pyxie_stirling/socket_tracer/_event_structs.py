"""ctypes mirror of bpf/socket_trace.h's event structs (interpreted; see _events.py).

The declared layout: the size test compares it with the C header compiled by the host compiler,
and tests and benchmarks build records with it. The drain loop never builds these objects: it
decodes with the `struct.Struct`s of _events.py, which mypyc compiles (its generated C for
`ctypes.Structure` subclasses does not build, so they live here, outside the compiled list).
"""

from __future__ import annotations

import ctypes

__all__ = ["ControlEvent", "DataEventHeader"]


class DataEventHeader(ctypes.Structure):
    _fields_ = (
        ("kind", ctypes.c_uint32),
        ("tgid", ctypes.c_uint32),
        ("pid", ctypes.c_uint32),
        ("fd", ctypes.c_int32),
        ("timestamp_ns", ctypes.c_uint64),
        ("generation", ctypes.c_uint64),
        ("position", ctypes.c_uint64),
        ("msg_size", ctypes.c_uint32),
        ("captured", ctypes.c_uint32),
        ("direction", ctypes.c_uint8),
        ("encrypted", ctypes.c_uint8),
        ("source_call", ctypes.c_uint16),
        ("local_port", ctypes.c_uint16),
        ("role", ctypes.c_uint8),
        ("_pad", ctypes.c_uint8),
    )


class ControlEvent(ctypes.Structure):
    _fields_ = (
        ("kind", ctypes.c_uint32),
        ("tgid", ctypes.c_uint32),
        ("pid", ctypes.c_uint32),
        ("fd", ctypes.c_int32),
        ("timestamp_ns", ctypes.c_uint64),
        ("generation", ctypes.c_uint64),
        ("family", ctypes.c_uint16),
        ("remote_port", ctypes.c_uint16),
        ("local_port", ctypes.c_uint16),
        ("role", ctypes.c_uint8),
        ("_pad", ctypes.c_uint8),
        ("remote_addr", ctypes.c_uint8 * 16),
        ("local_addr", ctypes.c_uint8 * 16),
        ("bytes_sent", ctypes.c_uint64),
        ("bytes_recv", ctypes.c_uint64),
    )
