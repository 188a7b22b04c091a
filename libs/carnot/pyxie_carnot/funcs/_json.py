"""JSON functions: pluck*, pluck_array, split and the compiler's _script_reference.

Semantics are Pixie's (rapidjson): invalid JSON, a non-object document, a missing key or a
null value give "" / 0 / 0.0; string values come back raw; objects and arrays are re-serialised
compactly. Parsing happens once per distinct input string (see ``map_distinct``), which is where
the speed comes from: JSON columns repeat a lot.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from pyxie_types import DataType, SemanticType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, map_rows, norm

__all__ = ["compact_json", "register"]

I, F, S = DataType.INT64, DataType.FLOAT64, DataType.STRING  # noqa: E741 (PxL type letters)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MISSING = object()


def _reject_constant(name: str) -> Any:
    # rapidjson rejects NaN / Infinity literals; Python's json accepts them by default.
    raise ValueError(f"invalid JSON literal {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def compact_json(value: Any) -> str:
    """Serialise like rapidjson's Writer: no spaces, UTF-8 kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except ValueError:
        return _MISSING


def _lookup(text: str, key: str) -> Any:
    doc = _parse(text)
    if not isinstance(doc, dict):
        return _MISSING
    return doc.get(key, _MISSING)


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return compact_json(value)


def _pluck_py(text: str, key: str) -> str:
    return _as_text(_lookup(text, key))


def _pluck_int_py(text: str, key: str) -> int:
    value = _lookup(text, key)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if _INT64_MIN <= value <= _INT64_MAX else 0


def _pluck_float_py(text: str, key: str) -> float:
    value = _lookup(text, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def _pluck_array_py(text: str, index: int) -> str:
    doc = _parse(text)
    if not isinstance(doc, list) or not 0 <= index < len(doc):
        return ""
    return _as_text(doc[index])


def _split_py(text: str, delimiter: str) -> str:
    parts = list(text) if delimiter == "" else text.split(delimiter)
    return compact_json(parts)


def _pluck(_: FunctionContext, js: Any, key: Any) -> Arg:
    return map_rows(_pluck_py, [norm(js), norm(key)], pa.string())


def _pluck_int64(_: FunctionContext, js: Any, key: Any) -> Arg:
    return map_rows(_pluck_int_py, [norm(js), norm(key)], pa.int64())


def _pluck_float64(_: FunctionContext, js: Any, key: Any) -> Arg:
    return map_rows(_pluck_float_py, [norm(js), norm(key)], pa.float64())


def _pluck_array(_: FunctionContext, js: Any, index: Any) -> Arg:
    return map_rows(_pluck_array_py, [norm(js), norm(index)], pa.string())


def _split(_: FunctionContext, s: Any, delimiter: Any) -> Arg:
    return map_rows(_split_py, [norm(s), norm(delimiter)], pa.string())


def _script_reference(_: FunctionContext, label: Any, script: Any, *pairs: Any) -> Arg:
    args = [norm(label), norm(script), *(norm(p) for p in pairs)]

    def build(*values: str) -> str:
        names, vals = values[2::2], values[3::2]
        ref = {"label": values[0], "script": values[1], "args": dict(zip(names, vals, strict=True))}
        return compact_json(ref)

    return map_rows(build, args, pa.string())


def register(registry: Registry) -> None:
    r = registry.register_scalar
    r(
        "pluck",
        (S, S),
        S,
        _pluck,
        "Value of a key in a JSON object as text "
        "(strings raw, objects re-serialised; '' if absent). "
        "Example: px.pluck('{\"a\": {\"b\": 1}}', 'a') gives '{\"b\":1}'",
    )
    r(
        "pluck_int64",
        (S, S),
        I,
        _pluck_int64,
        "Value of a key if it is a JSON integer, else 0. "
        "Example: px.pluck_int64('{\"status\": 200}', 'status') gives 200",
    )
    r(
        "pluck_float64",
        (S, S),
        F,
        _pluck_float64,
        "Value of a key if it is a JSON number, else 0.0. "
        "Example: px.pluck_float64(df.latency_quantiles, 'p50')",
    )
    r(
        "pluck_array",
        (S, I),
        S,
        _pluck_array,
        "Element i of a JSON array as text ('' when out of range). "
        "Example: px.pluck_array('[\"a\", 2]', 0) gives 'a'",
    )
    r(
        "split",
        (S, S),
        S,
        _split,
        "Split on a delimiter into a JSON array string. "
        "Example: px.split('a,b', ',') gives '[\"a\",\"b\"]'",
    )
    # The compiler rewrites px.script_reference(label, script, {k: v, ...}) into this with
    # 0..8 name/value pairs.
    for pairs in range(9):
        r(
            "_script_reference",
            (S,) * (2 + 2 * pairs),
            S,
            _script_reference,
            "Deep link to a script as JSON {label, script, args}. "
            "Example: px._script_reference(df.pod, 'px/pod', 'pod', df.pod)",
            semantic=SemanticType.ST_SCRIPT_REFERENCE,
        )
