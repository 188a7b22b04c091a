"""String and regex functions: byte semantics, unicode, long strings, RE2 full match."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.funcs import FunctionArgumentError
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry
from pyxie_types import data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
CTX = FunctionContext(REGISTRY, InMemoryMetadataState())
LONG = "x" * 1_000_000 + "needle" + "é" * 1000


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


def strs(*v: str) -> pa.Array:
    return pa.array(v, pa.string())


def test_contains_is_case_sensitive_and_empty_needle_matches() -> None:
    s = strs("/api/v1", "/API", "")
    assert call("contains", s, pa.scalar("/api")).to_pylist() == [True, False, False]
    assert call("contains", s, pa.scalar("")).to_pylist() == [True, True, True]
    assert call("contains", s, strs("v1", "P", "x")).to_pylist() == [True, True, False]
    assert call("contains", pa.scalar("abc"), pa.scalar("b")).as_py() is True
    assert call("contains", strs(LONG), pa.scalar("needle")).to_pylist() == [True]


def test_length_counts_bytes() -> None:
    assert call("length", strs("abc", "héllo", "", "日本")).to_pylist() == [3, 6, 0, 6]
    assert call("length", strs(LONG)).to_pylist() == [1_000_000 + 6 + 2000]


def test_find_returns_byte_offset_or_minus_one() -> None:
    s = strs("pixie-labs", "héllo-labs", "none")
    assert call("find", s, pa.scalar("-labs")).to_pylist() == [5, 6, -1]
    assert call("find", s, strs("p", "l", "x")).to_pylist() == [0, 3, -1]


def test_substring_bytes_and_out_of_range() -> None:
    s = strs("checkout", "ab", "")
    assert call("substring", s, pa.scalar(1), pa.scalar(5)).to_pylist() == ["hecko", "b", ""]
    assert call("substring", s, pa.scalar(9), pa.scalar(2)).to_pylist() == ["", "", ""]
    assert call("substring", s, pa.scalar(-1), pa.scalar(2)).to_pylist() == ["", "", ""]
    assert call("substring", s, ints := pa.array([0, 1, 0]), ints).to_pylist() == ["", "b", ""]


def test_substring_that_cuts_a_multibyte_character_stays_valid_utf8() -> None:
    out = call("substring", strs("héllo"), pa.scalar(0), pa.scalar(2))
    assert out.to_pylist() == ["h\ufffd"]
    out.validate(full=True)


def test_case_trim_and_prefix_are_ascii_only() -> None:
    s = strs("Kelvin ÉTé", "  pl/kelvin \t\n")
    assert call("tolower", s).to_pylist() == ["kelvin Été", "  pl/kelvin \t\n"]
    assert call("toupper", s).to_pylist() == ["KELVIN ÉTé", "  PL/KELVIN \t\n"]
    assert call("trim", s).to_pylist() == ["Kelvin ÉTé", "pl/kelvin"]
    out = call("strip_prefix", pa.scalar("pl/"), strs("pl/kelvin", "kube/pl/x", "pl/"))
    assert out.to_pylist() == ["kelvin", "kube/pl/x", ""]
    assert call("strip_prefix", pa.scalar("é"), strs("éa")).to_pylist() == ["a"]


def test_hex_and_bytes_conversions() -> None:
    assert call("hex_to_ascii", strs("6869", "\\x68\\x69", "zz", "686")).to_pylist() == [
        "hi",
        "hi",
        "",
        "",
    ]
    assert call("bytes_to_hex", strs("hi", "")).to_pylist() == ["\\x68\\x69", ""]


def test_atoi_and_itoa() -> None:
    out = call("atoi", strs("42", " -7 ", "+3", "4x", "", "99999999999999999999"), pa.scalar(-1))
    assert out.to_pylist() == [42, -7, 3, -1, -1, -1]
    assert call("itoa", pa.array([0, -12], pa.int64())).to_pylist() == ["0", "-12"]


def test_regex_match_is_a_full_match_and_dot_matches_newline() -> None:
    s = strs("svc.cluster.local", "svc.cluster.local.evil", "a\nb", "")
    assert call("regex_match", pa.scalar(".*cluster.local"), s).to_pylist() == [
        True,
        False,
        False,
        False,
    ]
    assert call("regex_match", pa.scalar("a.b"), s).to_pylist() == [False, False, True, False]
    assert call("regex_match", pa.scalar("a|b.*"), strs("a", "bcd", "ab")).to_pylist() == [
        True,
        True,
        False,
    ]


def test_regex_match_with_per_row_pattern_falls_back_consistently() -> None:
    out = call("regex_match", strs("a.b", "x+"), strs("a\nb", "xxy"))
    assert out.to_pylist() == [True, False]


def test_invalid_regex_is_a_clear_error() -> None:
    with pytest.raises(FunctionArgumentError, match="invalid regular expression"):
        call("regex_match", pa.scalar("(unclosed"), strs("x"))


def test_replace_with_backreference() -> None:
    headers = strs(
        '{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}', "none"
    )
    pattern = pa.scalar('.*"traceparent": "[0-9a-f]{2}-([0-9a-f]{32})-.*')
    out = call("replace", pattern, headers, pa.scalar("\\1"))
    assert out.to_pylist() == ["0af7651916cd43dd8448eb211c80319c", "none"]


def test_replace_is_global_and_unicode_safe() -> None:
    out = call("replace", pa.scalar("é"), strs("ééa"), pa.scalar("e"))
    assert out.to_pylist() == ["eea"]
    out = call("replace", pa.scalar("(a)(b)"), pa.scalar("abab"), pa.scalar("\\2\\1"))
    assert out.as_py() == "baba"


def test_match_regex_rule_returns_first_matching_rule_name() -> None:
    rules = pa.scalar('{"health": "/healthz.*", "api": "/api/.*", "any": ".*"}')
    out = call("_match_regex_rule", rules, strs("/healthz", "/api/v1", "/other"))
    assert out.to_pylist() == ["health", "api", "any"]


def test_empty_inputs() -> None:
    empty = strs()
    for name, extra in (
        ("contains", [pa.scalar("a")]),
        ("length", []),
        ("tolower", []),
        ("hex_to_ascii", []),
        ("atoi", [pa.scalar(0)]),
    ):
        assert len(call(name, empty, *extra)) == 0
    assert len(call("regex_match", pa.scalar("a"), empty)) == 0
    assert len(call("substring", empty, pa.scalar(0), pa.scalar(1))) == 0
