"""The pprof aggregate: folded stacks become a pprof profile go tool pprof can read."""

from __future__ import annotations

import base64
import gzip
from collections import Counter

import numpy as np
import pyarrow as pa
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.udas._pprof import PprofUDA, build_profile
from pyxie_types import DataType


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level (field number, value) pairs of a protobuf message (varint and bytes only)."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            out.append((number, value))
        else:
            assert wire == 2, wire
            length, pos = _read_varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
    return out


def _packed(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _read_varint(data, pos)
        values.append(value)
    return values


def test_profile_has_samples_functions_and_python_lines() -> None:
    stacks = Counter({"main;handle (/app/shop.py:42);[k] tcp_sendmsg": 3, "main;idle": 5})
    fields = _fields(build_profile(stacks, 10))
    strings = [v.decode() for n, v in fields if n == 6 and isinstance(v, bytes)]
    assert strings[0] == ""
    assert {"main", "handle", "/app/shop.py", "[k] tcp_sendmsg", "idle", "cpu"} <= set(strings)
    samples = [_fields(v) for n, v in fields if n == 2 and isinstance(v, bytes)]
    values = sorted(_packed(dict(s)[2]) for s in samples)  # type: ignore[arg-type]
    assert values == [[3, 30_000_000], [5, 50_000_000]]
    depths = sorted(len(_packed(dict(s)[1])) for s in samples)  # type: ignore[arg-type]
    assert depths == [2, 3]
    # The Python frame's location carries its line.
    locations = [_fields(v) for n, v in fields if n == 4 and isinstance(v, bytes)]
    lines = [_fields(dict(loc)[4]) for loc in locations]  # type: ignore[arg-type]
    assert any(dict(line).get(2) == 42 for line in lines)
    assert dict(fields)[12] == 10_000_000  # period in ns


def test_uda_merges_partial_states_and_finalizes_to_base64_gzip() -> None:
    uda = (
        new_registry().lookup_uda("pprof", (DataType.STRING, DataType.INT64, DataType.INT64)).impl()
    )
    assert isinstance(uda, PprofUDA)
    args = [
        pa.array(["a;b", "a;c", "a;b"]),
        pa.array([1, 2, 4], pa.int64()),
        pa.array([10, 10, 10], pa.int64()),
    ]
    part1 = uda.update([a.slice(0, 2) for a in args], np.array([0, 0]), 1)
    part2 = uda.update([a.slice(2) for a in args], np.array([0]), 1)
    merged = uda.merge(
        [pa.concat_arrays([x, y]) for x, y in zip(part1, part2, strict=True)], np.array([0, 0]), 1
    )
    [encoded] = uda.finalize(merged).to_pylist()
    profile = gzip.decompress(base64.b64decode(encoded))
    assert profile == build_profile(Counter({"a;b": 5, "a;c": 2}), 10)
