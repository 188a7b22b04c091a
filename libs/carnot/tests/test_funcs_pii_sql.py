"""redact_pii_best_effort (every kind, validation) and the SQL normalizers."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from pyxie_carnot import funcs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry
from pyxie_types import data_type_of_arrow

REGISTRY = Registry()
funcs.register_all(REGISTRY)
CTX = FunctionContext(REGISTRY, InMemoryMetadataState())


def call(name: str, *args: Any) -> Any:
    types = [data_type_of_arrow(a.type) for a in args]
    return REGISTRY.lookup_scalar(name, types).fn(CTX, *args)


def redact(text: str) -> str:
    out: str = call("redact_pii_best_effort", pa.array([text])).to_pylist()[0]
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail bob.smith+x@example.co.uk now", "mail <REDACTED_EMAIL> now"),
        ("to=bob%40example.com&x=1", "to=<REDACTED_EMAIL>&x=1"),
        ("from 10.1.2.3:8080", "from <REDACTED_IPV4>:8080"),
        ("peer 2001:db8::8a2e:370:7334 ok", "peer <REDACTED_IPV6> ok"),
        ("v6 fe80:0:0:0:0:0:0:1", "v6 <REDACTED_IPV6>"),
        ("mapped ::ffff:192.168.0.1", "mapped <REDACTED_IPV6>"),
        ("mac 00:1a:2B:3c:4D:5e", "mac <REDACTED_MAC_ADDR>"),
        ("mac 00-1a-2b-3c-4d-5e", "mac <REDACTED_MAC_ADDR>"),
        ("imei 49-015420-323751-8", "imei <REDACTED_IMEI>"),
        ("imeisv 35-209900-176148-23", "imeisv <REDACTED_IMEI>"),
        ("card 4111 1111 1111 1111", "card <REDACTED_CC_NUMBER>"),
        ("card 4111-1111-1111-1111.", "card <REDACTED_CC_NUMBER>."),
        ("amex 378282246310005", "amex <REDACTED_CC_NUMBER>"),
        ("ssn 123-45-6789", "ssn <REDACTED_SSN>"),
        ("ssn 123 45 6789", "ssn <REDACTED_SSN>"),
        ("iban DE89 3704 0044 0532 0130 00 end", "iban <REDACTED_IBAN> end"),
        ("iban GB82WEST12345698765432", "iban <REDACTED_IBAN>"),
        ("call +1 415 555 2671 now", "call <REDACTED_PHONE> now"),
        ("call (415) 555-2671", "call <REDACTED_PHONE>"),
        ("call +44 20 7946 0958", "call <REDACTED_PHONE>"),
    ],
)
def test_each_kind_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "imei 49-015420-323751-9",  # Luhn fails
        "ssn 000-12-3456",
        "ssn 666-12-3456",
        "ssn 912-12-3456",
        "ssn 123-00-4567",
        "ssn 123-45-0000",
        "iban DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "iban ZZ89 3704 0044 0532 0130 00",  # unknown country
        "version 1.2.3.4.5 and 999.1.1.1",
        "std::vector<int> at 12:30:45",
        "id 1234567890",
        "plain text with nothing personal — ünïcode",
    ],
)
def test_invalid_or_benign_values_are_kept(text: str) -> None:
    assert redact(text) == text


def test_overlapping_matches_longest_wins() -> None:
    # An IPv4-suffixed IPv6 contains an IPv4: the longer IPv6 match wins.
    assert redact("::ffff:10.0.0.1") == "<REDACTED_IPV6>"
    assert redact("a@b.io and 10.0.0.1") == "<REDACTED_EMAIL> and <REDACTED_IPV4>"


def test_redaction_over_arrays_scalars_empty_and_long_values() -> None:
    long = "x " * 200_000 + "bob@example.com"
    out = call("redact_pii_best_effort", pa.array(["", "nothing", long, "bob@example.com"]))
    values = out.to_pylist()
    assert values[:2] == ["", "nothing"]
    assert values[2] == "x " * 200_000 + "<REDACTED_EMAIL>"
    assert values[3] == "<REDACTED_EMAIL>"
    assert call("redact_pii_best_effort", pa.scalar("10.0.0.1")).as_py() == "<REDACTED_IPV4>"
    assert len(call("redact_pii_best_effort", pa.array([], pa.string()))) == 0


def pg(sql: str, cmd: str = "Query") -> Any:
    return json.loads(call("normalize_pgsql", pa.array([sql]), pa.scalar(cmd)).to_pylist()[0])


def my(sql: str, cmd: int = 3) -> Any:
    return json.loads(call("normalize_mysql", pa.array([sql]), pa.scalar(cmd)).to_pylist()[0])


@pytest.mark.parametrize(
    ("sql", "cmd", "query", "params"),
    [
        ("SELECT 1", "Query", "SELECT $1", ["1"]),
        (
            "SELECT * FROM test WHERE prop=1234 AND prop2='abcd'",
            "Query",
            "SELECT * FROM test WHERE prop=$1 AND prop2=$2",
            ["1234", "'abcd'"],
        ),
        (
            "CREATE TABLE test (name varchar(20), address text, foo int, bar text)",
            "Query",
            "CREATE TABLE test (name varchar(20), address text, foo int, bar text)",
            [],
        ),
        (
            "INSERT INTO test (a, b, c, d, e) VALUES (1, 'abcd', 1.23, true, E'\\\\xDEADBEEF')",
            "Query",
            "INSERT INTO test (a, b, c, d, e) VALUES ($1, $2, $3, $4, $5)",
            ["1", "'abcd'", "1.23", "true", "E'\\\\xDEADBEEF'"],
        ),
        (
            "query=[SELECT * FROM test WHERE prop=$1 AND prop2='abcd'] params=['1234']",
            "Execute",
            "SELECT * FROM test WHERE prop=$1 AND prop2=$2",
            ["'1234'", "'abcd'"],
        ),
        (
            "query=[SELECT * from test WHERE name=$1 AND tag=1234 AND property=$1] params=['abcd']",
            "Execute",
            "SELECT * from test WHERE name=$1 AND tag=$2 AND property=$3",
            ["'abcd'", "1234", "'abcd'"],
        ),
        (
            "SELECT 'it''s', \"Col\" FROM t -- 5 in a comment\nWHERE x = $$dollar$$",
            "Query",
            'SELECT $1, "Col" FROM t -- 5 in a comment\nWHERE x = $2',
            ["'it''s'", "$$dollar$$"],
        ),
        ("SELECT ünï FROM t1 WHERE a = 'é'", "Query", "SELECT ünï FROM t1 WHERE a = $1", ["'é'"]),
    ],
)
def test_normalize_pgsql(sql: str, cmd: str, query: str, params: list[str]) -> None:
    assert pg(sql, cmd) == {"query": query, "params": params}


@pytest.mark.parametrize(
    ("sql", "cmd", "query", "params"),
    [
        ("SELECT 1", 3, "SELECT ?", ["1"]),
        (
            "SELECT * FROM test WHERE prop=@a AND prop2='abcd'",
            3,
            "SELECT * FROM test WHERE prop=@a AND prop2=?",
            ["'abcd'"],
        ),
        (
            "query=[INSERT INTO test (a, b, c, d, e) VALUES (?, ?, 1.23, ?, ?)] "
            "params=[1, 'abcd', true, X'DEADBEEF']",
            0x17,
            "INSERT INTO test (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)",
            ["1", "'abcd'", "1.23", "true", "X'DEADBEEF'"],
        ),
        (
            'SELECT `order`, "str" FROM t WHERE id IN (1, 2) # trailing 3',
            3,
            "SELECT `order`, ? FROM t WHERE id IN (?, ?) # trailing 3",
            ['"str"', "1", "2"],
        ),
    ],
)
def test_normalize_mysql(sql: str, cmd: int, query: str, params: list[str]) -> None:
    assert my(sql, cmd) == {"query": query, "params": params}


def test_normalize_errors_are_json_errors() -> None:
    assert pg("SELECT 1", "Bind") == {"error": "cmd_code must be one of 'Query' or 'Execute'"}
    assert "error" in my("SELECT 1", 99)
    assert "more parameter placeholders" in my("SELECT ?")["error"]
    assert "unterminated" in pg("SELECT 'oops")["error"]


def test_normalize_compact_json_and_per_row_commands() -> None:
    out = call(
        "normalize_mysql", pa.array(["SELECT 1", "SELECT 2", "SELECT 1"]), pa.array([3, 3, 3])
    )
    assert out.to_pylist()[0] == '{"query":"SELECT ?","params":["1"]}'
    assert out.to_pylist()[2] == out.to_pylist()[0]
