"""String and regex functions with Pixie's byte semantics (lengths and offsets in bytes).

Arrow's RE2-backed kernels do the regex work, so patterns behave as Pixie's RE2 ones do. A
pattern or replacement that varies per row falls back to Python's ``regex`` module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import regex
from pyxie_types import DataType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, FunctionArgumentError, map_distinct, map_rows, norm

__all__ = ["register"]

B, I, S = DataType.BOOLEAN, DataType.INT64, DataType.STRING  # noqa: E741 (PxL type letters)

# Largest byte offset we ever ask Arrow to slice to (keeps pos + len from overflowing int64).
_MAX_SLICE = 2**62


def _constant(value: Arg) -> Any:
    return value.as_py() if isinstance(value, pa.Scalar) else None


def _is_const(value: Arg) -> bool:
    return isinstance(value, pa.Scalar)


# ------------------------------------------------------------------ basic strings


def _contains(_: FunctionContext, s: Any, sub: Any) -> Arg:
    s, sub = norm(s), norm(sub)
    if _is_const(sub):
        return pc.match_substring(s, pattern=sub.as_py())
    return map_rows(lambda a, b: b in a, [s, sub], pa.bool_())


def _length(_: FunctionContext, s: Any) -> Arg:
    return pc.cast(pc.binary_length(norm(s)), pa.int64())


def _find(_: FunctionContext, s: Any, sub: Any) -> Arg:
    s, sub = norm(s), norm(sub)
    if _is_const(sub):
        return pc.cast(pc.find_substring(s, pattern=sub.as_py()), pa.int64())
    return map_rows(lambda a, b: a.encode().find(b.encode()), [s, sub], pa.int64())


def _decode_bytes(raw: bytes) -> str:
    # Pixie returns raw bytes; Arrow strings must be UTF-8, so a cut multi-byte character is
    # replaced with U+FFFD instead of producing an invalid column.
    return raw.decode("utf-8", errors="replace")


def _substring_py(s: str, pos: int, length: int) -> str:
    raw = s.encode()
    if pos < 0 or pos > len(raw) or length < 0:
        return ""
    return _decode_bytes(raw[pos : pos + length])


def _substring(_: FunctionContext, s: Any, pos: Any, length: Any) -> Arg:
    s, pos, length = norm(s), norm(pos), norm(length)
    if not (_is_const(pos) and _is_const(length)) or _is_const(s):
        return map_rows(_substring_py, [s, pos, length], pa.string())
    p, n = pos.as_py(), length.as_py()
    if p < 0 or n < 0:
        return pa.array([""] * len(s), pa.string())
    sliced = pc.binary_slice(s.cast(pa.binary()), start=p, stop=min(p + n, _MAX_SLICE))
    try:
        return sliced.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([_decode_bytes(b) for b in sliced.to_pylist()], pa.string())


def _tolower(_: FunctionContext, s: Any) -> Arg:
    return pc.ascii_lower(norm(s))


def _toupper(_: FunctionContext, s: Any) -> Arg:
    return pc.ascii_upper(norm(s))


def _trim(_: FunctionContext, s: Any) -> Arg:
    return pc.ascii_trim_whitespace(norm(s))


def _strip_prefix(_: FunctionContext, prefix: Any, s: Any) -> Arg:
    prefix, s = norm(prefix), norm(s)
    if not _is_const(prefix) or _is_const(s):
        return map_rows(
            lambda p, v: v[len(p) :] if v.startswith(p) else v, [prefix, s], pa.string()
        )
    p = prefix.as_py()
    if not p:
        return s
    stripped = pc.binary_slice(s.cast(pa.binary()), start=len(p.encode())).cast(pa.string())
    return pc.if_else(pc.starts_with(s, pattern=p), stripped, s)


_HEX_SEPARATORS = re.compile(r"\\x|0x|[\s:\-]")


def _hex_to_ascii_py(text: str) -> str:
    digits = _HEX_SEPARATORS.sub("", text)
    try:
        return _decode_bytes(bytes.fromhex(digits))
    except ValueError:
        return ""


def _hex_to_ascii(_: FunctionContext, s: Any) -> Arg:
    return map_distinct(_hex_to_ascii_py, norm(s), pa.string())


def _bytes_to_hex_py(text: str) -> str:
    return "".join(f"\\x{b:02X}" for b in text.encode())


def _bytes_to_hex(_: FunctionContext, s: Any) -> Arg:
    return map_distinct(_bytes_to_hex_py, norm(s), pa.string())


_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _atoi_py(text: str, default: int) -> int:
    match = _ATOI.fullmatch(text)
    if match is None:
        return default
    value = int(match.group(1))
    return value if _INT64_MIN <= value <= _INT64_MAX else default


def _atoi(_: FunctionContext, s: Any, default: Any) -> Arg:
    return map_rows(_atoi_py, [norm(s), norm(default)], pa.int64())


def _itoa(_: FunctionContext, i: Any) -> Arg:
    return pc.cast(norm(i), pa.string())


# ------------------------------------------------------------------ regex


def _full_match_pattern(pattern: str) -> str:
    # RE2 FullMatch with dot_nl: anchor the whole text; \A and \z never match at a newline.
    return rf"(?s)\A(?:{pattern})\z"


@lru_cache(maxsize=256)
def _py_regex(pattern: str, full: bool) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern, regex.DOTALL if full else 0)
    except regex.error as exc:
        raise FunctionArgumentError(f"invalid regular expression {pattern!r}: {exc}") from None


def _regex_kernel(kernel: Callable[[], Arg], pattern: str) -> Arg:
    try:
        return kernel()
    except pa.ArrowInvalid as exc:
        raise FunctionArgumentError(f"invalid regular expression {pattern!r}: {exc}") from None


def _regex_match(_: FunctionContext, pattern: Any, s: Any) -> Arg:
    pattern, s = norm(pattern), norm(s)
    if _is_const(pattern):
        p = pattern.as_py()
        return _regex_kernel(lambda: pc.match_substring_regex(s, pattern=_full_match_pattern(p)), p)
    return map_rows(
        lambda p, v: _py_regex(p, True).fullmatch(v) is not None, [pattern, s], pa.bool_()
    )


def _re2_rewrite_to_python(sub: str) -> str:
    # RE2 rewrites use \0..\9 and \\; Python's regex uses \g<n>.
    rewritten: str = regex.sub(
        r"\\(\d|\\)", lambda m: "\\\\" if m.group(1) == "\\" else rf"\g<{m.group(1)}>", sub
    )
    return rewritten


def _replace_py(pattern: str, s: str, sub: str) -> str:
    result: str = _py_regex(pattern, False).sub(_re2_rewrite_to_python(sub), s)
    return result


def _replace(_: FunctionContext, pattern: Any, s: Any, sub: Any) -> Arg:
    pattern, s, sub = norm(pattern), norm(s), norm(sub)
    if _is_const(pattern) and _is_const(sub) and not _is_const(s):
        p, r = pattern.as_py(), sub.as_py()
        return _regex_kernel(lambda: pc.replace_substring_regex(s, pattern=p, replacement=r), p)
    return map_rows(_replace_py, [pattern, s, sub], pa.string())


def _parse_rules(rules_json: str) -> list[tuple[str, str]]:
    try:
        rules = json.loads(rules_json)
    except json.JSONDecodeError as exc:
        raise FunctionArgumentError(f"regex rules must be a JSON object: {exc}") from None
    if not isinstance(rules, dict) or not all(isinstance(v, str) for v in rules.values()):
        raise FunctionArgumentError("regex rules must be a JSON object of name -> pattern")
    return list(rules.items())


def _full_matcher(s: Arg, pattern: str) -> Callable[[], Arg]:
    def run() -> Arg:
        return pc.match_substring_regex(s, pattern=_full_match_pattern(pattern))

    return run


def _match_regex_rule(_: FunctionContext, rules: Any, s: Any) -> Arg:
    rules, s = norm(rules), norm(s)
    if not _is_const(rules):
        raise FunctionArgumentError("_match_regex_rule needs constant rules")
    parsed = _parse_rules(rules.as_py())
    if _is_const(s):
        text = s.as_py()
        for name, pattern in parsed:
            if _py_regex(pattern, True).fullmatch(text):
                return pa.scalar(name)
        return pa.scalar("")
    result: Arg = pa.array([""] * len(s), pa.string())
    # Walk the rules backwards so the first matching rule is the one left standing.
    for name, pattern in reversed(parsed):
        mask = _regex_kernel(_full_matcher(s, pattern), pattern)
        result = pc.if_else(mask, pa.scalar(name), result)
    return result


# ------------------------------------------------------------------ registration


def register(registry: Registry) -> None:
    r = registry.register_scalar
    r(
        "contains",
        (S, S),
        B,
        _contains,
        "Whether the first string contains the second ('' always matches). "
        "Example: df = df[px.contains(df.req_path, '/api')]",
    )
    r("length", (S,), I, _length, "Length in bytes. Example: px.length('héllo') gives 6")
    r(
        "find",
        (S, S),
        I,
        _find,
        "Byte index of the first occurrence, or -1. "
        "Example: px.find('pixie-labs', '-labs') gives 5",
    )
    r(
        "substring",
        (S, I, I),
        S,
        _substring,
        "Bytes [pos, pos+len); '' when pos is out of range. "
        "Example: px.substring('checkout', 1, 5) gives 'hecko'",
    )
    r(
        "tolower",
        (S,),
        S,
        _tolower,
        "Lower-case ASCII letters. Example: px.tolower('Kelvin') gives 'kelvin'",
    )
    r(
        "toupper",
        (S,),
        S,
        _toupper,
        "Upper-case ASCII letters. Example: px.toupper('Kelvin') gives 'KELVIN'",
    )
    r(
        "trim",
        (S,),
        S,
        _trim,
        "Strip ASCII whitespace at both ends. Example: px.trim('  pl/kelvin ')",
    )
    r(
        "strip_prefix",
        (S, S),
        S,
        _strip_prefix,
        "Remove a prefix if present: strip_prefix(prefix, s). "
        "Example: px.strip_prefix('pl/', 'pl/kelvin') gives 'kelvin'",
    )
    r(
        "hex_to_ascii",
        (S,),
        S,
        _hex_to_ascii,
        "Decode hex digits (optional \\x, 0x, space, ':' or '-' separators) to text; "
        "'' if invalid. "
        "Example: px.hex_to_ascii('6869') gives 'hi'",
    )
    r(
        "bytes_to_hex",
        (S,),
        S,
        _bytes_to_hex,
        "Each byte as \\xHH. Example: px.bytes_to_hex('hi') gives '\\x68\\x69'",
    )
    r(
        "atoi",
        (S, I),
        I,
        _atoi,
        "Parse a decimal INT64, or return the default. Example: px.atoi(df.count_str, -1)",
    )
    r("itoa", (I,), S, _itoa, "An integer as decimal text. Example: px.itoa(df.pid)")
    r(
        "regex_match",
        (S, S),
        B,
        _regex_match,
        "RE2 full match of the whole string ('.' matches newline): regex_match(pattern, s). "
        "Example: df = df[px.regex_match('.*cluster.local', df.query)]",
    )
    r(
        "replace",
        (S, S, S),
        S,
        _replace,
        "Replace every match of an RE2 pattern; \\1 refers to groups: replace(pattern, s, sub). "
        "Example: px.replace('.*-([0-9a-f]+)-.*', df.traceparent, '\\\\1')",
    )
    r(
        "_match_regex_rule",
        (S, S),
        S,
        _match_regex_rule,
        "Name of the first rule (JSON object name -> pattern) whose pattern fully matches, or ''. "
        'Example: px._match_regex_rule(\'{"health": "/healthz.*"}\', df.req_path)',
    )
