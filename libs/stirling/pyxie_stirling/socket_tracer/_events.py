"""Fast decoders for the ring buffer records of bpf/socket_trace.h (compiled by `make mypyc`).

The `struct.Struct` decoders are what the drain loop uses, since unpacking a tuple is several
times cheaper than building a ctypes object per event. The ctypes mirror of the C structs (the
declared layout the size test checks) lives in _event_structs.py, which stays interpreted; its
classes are re-exported here, so ``from ._events import ControlEvent`` keeps working.
"""

from __future__ import annotations

import enum
import struct
from typing import Final, NamedTuple

from ._event_structs import ControlEvent, DataEventHeader

__all__ = [
    "CONTROL_EVENT",
    "DATA_EVENT_HEADER",
    "DEFAULT_MAX_DATA_SIZE",
    "ControlEvent",
    "ControlRecord",
    "DataEventHeader",
    "DataRecord",
    "EventKind",
    "KernelDirection",
    "decode_control",
    "decode_data",
    "event_kind",
]

# Must equal MAX_DATA_SIZE in socket_trace.h unless overridden with -DMAX_DATA_SIZE.
DEFAULT_MAX_DATA_SIZE = 4096


class EventKind(enum.IntEnum):
    DATA = 1
    OPEN = 2
    CLOSE = 3


class KernelDirection(enum.IntEnum):
    EGRESS = 0
    INGRESS = 1


# Native byte order with no implicit padding: the C structs pad explicitly.
DATA_EVENT_HEADER = struct.Struct("=IIIiQQQIIBBHHBx")
CONTROL_EVENT = struct.Struct("=IIIiQQHHHBx16s16sQQ")


class DataRecord(NamedTuple):
    tgid: int
    pid: int
    fd: int
    timestamp_ns: int
    generation: int
    position: int
    msg_size: int
    direction: int
    encrypted: bool
    source_call: int
    local_port: int
    role: int
    data: bytes


class ControlRecord(NamedTuple):
    kind: EventKind
    tgid: int
    pid: int
    fd: int
    timestamp_ns: int
    generation: int
    family: int
    remote_port: int
    local_port: int
    role: int
    remote_addr: bytes
    local_addr: bytes
    bytes_sent: int
    bytes_recv: int


# Per event, the records are built the way NamedTuple._make builds them (tuple.__new__ on the
# record class, without the generated __new__'s argument binding), and the kind is looked up in a
# dict rather than by calling the enum class: each of those calls costs more than the unpacking.
_new_tuple: Final = tuple.__new__
_EVENT_KINDS: Final[dict[int, EventKind]] = {int(kind): kind for kind in EventKind}
_DATA_HEADER_SIZE: Final = DATA_EVENT_HEADER.size


def event_kind(raw: bytes) -> int:
    return int.from_bytes(raw[:4], "little")


def decode_data(raw: bytes) -> DataRecord:
    (
        _,
        tgid,
        pid,
        fd,
        ts,
        gen,
        pos,
        msg_size,
        captured,
        direction,
        encrypted,
        call,
        lport,
        role,
    ) = DATA_EVENT_HEADER.unpack_from(raw)
    start = _DATA_HEADER_SIZE
    data = raw[start : start + captured]
    return _new_tuple(
        DataRecord,
        (tgid, pid, fd, ts, gen, pos, msg_size, direction, encrypted != 0, call, lport, role, data),
    )


def decode_control(raw: bytes) -> ControlRecord:
    (kind, tgid, pid, fd, ts, gen, family, rport, lport, role, raddr, laddr, sent, recv) = (
        CONTROL_EVENT.unpack_from(raw)
    )
    event = _EVENT_KINDS.get(kind)
    if event is None:
        raise ValueError(f"{kind} is not a valid EventKind")
    return _new_tuple(
        ControlRecord,
        (
            event,
            tgid,
            pid,
            fd,
            ts,
            gen,
            family,
            rport,
            lport,
            role,
            raddr,
            laddr,
            sent,
            recv,
        ),
    )
