"""The ``pprof`` aggregate: folded stacks and their counts turned into one pprof profile.

``px.pprof(stack_trace, count, profiler_period_ms)`` over ``stack_traces.beta`` rows gives, per
group, a ``perftools.profiles.Profile`` (the format ``go tool pprof`` reads): sample types
``samples/count`` and ``cpu/nanoseconds`` (count x period), one location per distinct frame
(Python frames ``qualname (file:line)`` keep their file and line). The STRING output is the
serialized profile, gzip-compressed as pprof files are, then base64-encoded (an Arrow STRING
must be UTF-8).

The per-group state is the group's folded stacks with their summed counts; building it is a
per-row Python fallback (no Arrow kernel groups strings into counters), which is fine for
profiles: a window of stacks is thousands of rows, not millions.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pyxie_types import DataType, SemanticType

from ..registry import Registry
from ._base import UDA

__all__ = ["PprofUDA", "build_profile", "register_pprof"]

_PY_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 fields are encoded as their two's complement
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _packed(number: int, values: Sequence[int]) -> bytes:
    return _field_bytes(number, b"".join(_varint(v) for v in values))


class _Strings:
    def __init__(self) -> None:
        self.table: list[str] = [""]  # index 0 is the empty string, as pprof requires
        self._index: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.table)
            self.table.append(text)
        return self._index[text]


def build_profile(stacks: Counter[str], period_ms: int) -> bytes:
    """A serialized (uncompressed) perftools.profiles.Profile of folded stacks."""
    strings = _Strings()
    period_ns = period_ms * 1_000_000
    functions: dict[tuple[str, str], int] = {}
    locations: dict[tuple[int, int], int] = {}
    body = bytearray()
    # sample_type (1): samples/count, cpu/nanoseconds
    for kind, unit in (("samples", "count"), ("cpu", "nanoseconds")):
        body += _field_bytes(1, _field_varint(1, strings(kind)) + _field_varint(2, strings(unit)))
    function_msgs = bytearray()
    location_msgs = bytearray()
    samples = bytearray()
    for stack, count in sorted(stacks.items()):
        ids: list[int] = []
        for frame in stack.split(";"):
            match = _PY_FRAME.match(frame)
            name, filename, line = (
                (match["name"], match["file"], int(match["line"])) if match else (frame, "", 0)
            )
            fkey = (name, filename)
            if fkey not in functions:
                fid = functions[fkey] = len(functions) + 1
                function_msgs += _field_bytes(
                    5,
                    _field_varint(1, fid)
                    + _field_varint(2, strings(name))
                    + _field_varint(3, strings(name))
                    + _field_varint(4, strings(filename)),
                )
            lkey = (functions[fkey], line)
            if lkey not in locations:
                lid = locations[lkey] = len(locations) + 1
                line_msg = _field_varint(1, lkey[0]) + _field_varint(2, line)
                location_msgs += _field_bytes(4, _field_varint(1, lid) + _field_bytes(4, line_msg))
            ids.append(locations[lkey])
        ids.reverse()  # pprof lists the leaf first
        samples += _field_bytes(2, _packed(1, ids) + _packed(2, [count, count * period_ns]))
    body += samples + location_msgs + function_msgs
    period_type = _field_varint(1, strings("cpu")) + _field_varint(2, strings("nanoseconds"))
    tail = _field_bytes(11, period_type) + _field_varint(12, period_ns)
    body += b"".join(_field_bytes(6, s.encode()) for s in strings.table)
    return bytes(body + tail)


class PprofUDA(UDA):
    """CPU profile in pprof format of the group's stacks (args: stack_trace, count, period ms).

    Example: ``df.groupby('pod').agg(profile=('stack_trace', 'count', 'period_ms', px.pprof))``
    (the period may be a literal: ``('stack_trace', 'count', 10, px.pprof)``); the value is
    base64 of the gzipped profile (``base64 -d > cpu.pb.gz; go tool pprof cpu.pb.gz``).
    """

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.int64(), pa.binary())

    def _states(self, groups: list[tuple[int, Counter[str]]]) -> list[pa.Array]:
        periods = pa.array([p for p, _ in groups], type=pa.int64())
        blobs = pa.array([json.dumps(dict(c)).encode() for _, c in groups], type=pa.binary())
        return [periods, blobs]

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        groups: list[tuple[int, Counter[str]]] = [(0, Counter()) for _ in range(num_groups)]
        stacks = args[0].to_pylist()
        counts = args[1].to_pylist()
        periods = args[2].to_pylist()
        for gid, stack, count, period in zip(gids.tolist(), stacks, counts, periods, strict=True):
            groups[gid][1][stack] += count
            if period:
                groups[gid] = (period, groups[gid][1])
        return self._states(groups)

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        groups: list[tuple[int, Counter[str]]] = [(0, Counter()) for _ in range(num_groups)]
        for gid, period, blob in zip(
            gids.tolist(), states[0].to_pylist(), states[1].to_pylist(), strict=True
        ):
            groups[gid][1].update(json.loads(blob))
            if period:
                groups[gid] = (period, groups[gid][1])
        return self._states(groups)

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        out = []
        for period, blob in zip(states[0].to_pylist(), states[1].to_pylist(), strict=True):
            profile = build_profile(Counter(json.loads(blob)), period or 10)
            out.append(base64.b64encode(gzip.compress(profile, mtime=0)).decode())
        return pa.array(out, type=pa.string())

    def empty_states(self) -> list[pa.Array]:
        return self._states([(0, Counter())])


def register_pprof(registry: Registry) -> None:
    args = (DataType.STRING, DataType.INT64, DataType.INT64)
    registry.register_uda(
        "pprof",
        args,
        DataType.STRING,
        lambda: PprofUDA(args, DataType.STRING),
        PprofUDA.__doc__ or "",
        semantic=SemanticType.ST_NONE,
    )
