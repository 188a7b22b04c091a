"""JSON functions with Pixie's edge cases."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry
from pyxie_types import DataType, SemanticType, data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
CTX = FunctionContext(REGISTRY, InMemoryMetadataState())

DOCS = pa.array(
    [
        '{"s": "raw \\"text\\"", "i": 3, "f": 1.5, "o": {"b": [1, 2]}, "n": null, "t": true}',
        "not json",
        "[1, 2]",
        '{"i": "3", "f": "x"}',
        "",
        '{"u": "日本", "big": 99999999999999999999}',
    ]
)


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("s", ['raw "text"', "", "", "", "", ""]),
        ("i", ["3", "", "", "3", "", ""]),
        ("o", ['{"b":[1,2]}', "", "", "", "", ""]),
        ("n", ["", "", "", "", "", ""]),
        ("t", ["true", "", "", "", "", ""]),
        ("missing", ["", "", "", "", "", ""]),
        ("u", ["", "", "", "", "", "日本"]),
    ],
)
def test_pluck(key: str, expected: list[str]) -> None:
    assert call("pluck", DOCS, pa.scalar(key)).to_pylist() == expected


def test_pluck_int64_only_accepts_json_integers() -> None:
    assert call("pluck_int64", DOCS, pa.scalar("i")).to_pylist() == [3, 0, 0, 0, 0, 0]
    assert call("pluck_int64", DOCS, pa.scalar("f")).to_pylist() == [0] * 6
    assert call("pluck_int64", DOCS, pa.scalar("t")).to_pylist() == [0] * 6
    assert call("pluck_int64", DOCS, pa.scalar("big")).to_pylist() == [0] * 6


def test_pluck_float64_accepts_numbers_only() -> None:
    assert call("pluck_float64", DOCS, pa.scalar("f")).to_pylist() == [1.5, 0, 0, 0, 0, 0]
    assert call("pluck_float64", DOCS, pa.scalar("i")).to_pylist() == [3.0, 0, 0, 0, 0, 0]


def test_pluck_of_quantiles_json() -> None:
    q = pa.scalar('{"p01":1.0,"p10":2.0,"p25":3.0,"p50":4.5,"p75":5.0,"p90":6.0,"p99":7.0}')
    assert call("pluck_float64", q, pa.scalar("p50")).as_py() == 4.5


def test_nan_literal_is_invalid_json() -> None:
    assert call("pluck", pa.array(['{"a": NaN}']), pa.scalar("a")).to_pylist() == [""]


def test_pluck_with_per_row_keys() -> None:
    out = call("pluck", pa.array(['{"a": 1}', '{"b": 2}']), pa.array(["a", "b"]))
    assert out.to_pylist() == ["1", "2"]


def test_pluck_array() -> None:
    arr = pa.array(['["a", {"b": 1}, 3]', "{}", "bad"])
    assert call("pluck_array", arr, pa.scalar(0)).to_pylist() == ["a", "", ""]
    assert call("pluck_array", arr, pa.scalar(1)).to_pylist() == ['{"b":1}', "", ""]
    assert call("pluck_array", arr, pa.scalar(3)).to_pylist() == ["", "", ""]
    assert call("pluck_array", arr, pa.scalar(-1)).to_pylist() == ["", "", ""]


def test_split_gives_a_json_array() -> None:
    out = call("split", pa.array(["a,b,,c", "", "é,ü"]), pa.scalar(","))
    assert [json.loads(v) for v in out.to_pylist()] == [["a", "b", "", "c"], [""], ["é", "ü"]]
    assert out.to_pylist()[2] == '["é","ü"]'


def test_all_scalar_and_empty_inputs() -> None:
    assert call("pluck", pa.scalar('{"a": "b"}'), pa.scalar("a")).as_py() == "b"
    assert len(call("pluck", pa.array([], pa.string()), pa.scalar("a"))) == 0


def test_repeated_documents_share_one_parse() -> None:
    many = pa.array(['{"a": 1}'] * 10_000 + ['{"a": 2}'])
    out = call("pluck_int64", many, pa.scalar("a"))
    assert out.to_pylist()[-2:] == [1, 2]
    assert len(out) == 10_001


def test_script_reference_builds_json_with_args() -> None:
    s = pa.scalar
    out = call(
        "_script_reference", pa.array(["pl/kelvin"]), s("px/pod"), s("pod"), pa.array(["pl/kelvin"])
    )
    assert json.loads(out.to_pylist()[0]) == {
        "label": "pl/kelvin",
        "script": "px/pod",
        "args": {"pod": "pl/kelvin"},
    }
    udf = REGISTRY.lookup_scalar("_script_reference", [DataType.STRING] * 2)
    assert udf.output_semantic_type([]) is SemanticType.ST_SCRIPT_REFERENCE
    assert len(REGISTRY.scalar_overloads("_script_reference")) == 9
