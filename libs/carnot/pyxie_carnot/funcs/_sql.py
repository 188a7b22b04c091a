"""``normalize_pgsql`` / ``normalize_mysql``: replace SQL literals with placeholders.

Output is Pixie's JSON: ``{"query": "...", "params": ["1", "'abcd'", ...]}`` or
``{"error": "..."}``. Literals (numbers, strings, booleans, hex/bit strings, PostgreSQL
dollar-quoted strings) become ``$1, $2, ...`` (PostgreSQL) or ``?`` (MySQL) in order of
appearance, and each literal's text goes to ``params``. Existing placeholders of an EXECUTE
(``query=[...] params=[...]``) are renumbered and their bound values pulled into ``params``;
MySQL ``@variables`` are left alone. Everything else in the query is kept byte for byte.

Pixie parses with ANTLR grammars; a careful tokenizer gives the same output for the statements
applications send (the literal positions are all that matters) at a fraction of the cost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyxie_types import DataType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, map_rows, norm
from ._json import compact_json

__all__ = ["normalize_sql", "register"]

PG_QUERY = "Query"
PG_EXECUTE = "Execute"
MYSQL_QUERY = 0x03  # COM_QUERY
MYSQL_EXECUTE = 0x17  # COM_STMT_EXECUTE

_TOO_FEW_PARAMS = "Query has more parameter placeholders in it than parameter values were passed in"

# Type names whose parenthesised arguments are sizes, not values: varchar(20), numeric(10,2).
_TYPE_NAMES = frozenset(
    {
        "bit", "varbit", "char", "character", "varchar", "nchar", "nvarchar", "varying",
        "decimal", "numeric", "dec", "float", "double", "real", "int", "integer", "tinyint",
        "smallint", "mediumint", "bigint", "binary", "varbinary", "time", "timestamp",
        "datetime", "interval", "year", "text", "blob", "enum", "timetz", "timestamptz",
    }
)  # fmt: skip


class Dialect(enum.Enum):
    PGSQL = "pgsql"
    MYSQL = "mysql"


class _Kind(enum.Enum):
    CONSTANT = 0
    PLACEHOLDER = 1


@dataclass(frozen=True, slots=True)
class _Fragment:
    start: int
    end: int
    kind: _Kind
    text: str


class SQLParseError(ValueError):
    pass


@dataclass
class _Scanner:
    sql: str
    dialect: Dialect
    pos: int = 0
    fragments: list[_Fragment] = field(default_factory=list)
    # Paren depth at which a type's size arguments started, or -1.
    type_args_depth: int = -1
    depth: int = 0
    last_word: str = ""

    def error(self, what: str) -> SQLParseError:
        return SQLParseError(f"Failed to parse SQL query: {what} at offset {self.pos}")

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.sql[i] if i < len(self.sql) else ""

    def add(self, start: int, kind: _Kind) -> None:
        self.fragments.append(_Fragment(start, self.pos, kind, self.sql[start : self.pos]))

    def quoted(self, quote: str, backslash_escapes: bool) -> None:
        """Consume a quoted run starting at the opening quote."""
        self.pos += 1
        while self.pos < len(self.sql):
            ch = self.sql[self.pos]
            if backslash_escapes and ch == "\\":
                self.pos += 2
                continue
            if ch == quote:
                if self.peek(1) == quote:  # doubled quote is an escaped quote
                    self.pos += 2
                    continue
                self.pos += 1
                return
            self.pos += 1
        raise self.error(f"unterminated {quote} quote")

    def string_literal(self, start: int, backslash_escapes: bool) -> None:
        self.quoted("'", backslash_escapes)
        self.add(start, _Kind.CONSTANT)

    def number(self, start: int) -> None:
        sql, n = self.sql, len(self.sql)
        if (
            self.dialect is Dialect.MYSQL
            and sql[self.pos] == "0"
            and self.peek(1) in ("x", "b")
            and self.pos + 2 < n
            and sql[self.pos + 2].isalnum()
        ):
            self.pos += 2
            while self.pos < n and sql[self.pos].isalnum():
                self.pos += 1
        else:
            while self.pos < n and sql[self.pos].isdigit():
                self.pos += 1
            if self.pos < n and sql[self.pos] == "." and self.peek(1) != ".":
                self.pos += 1
                while self.pos < n and sql[self.pos].isdigit():
                    self.pos += 1
            if self.pos < n and sql[self.pos] in "eE":
                exp = self.pos + 1
                if exp < n and sql[exp] in "+-":
                    exp += 1
                if exp < n and sql[exp].isdigit():
                    self.pos = exp
                    while self.pos < n and sql[self.pos].isdigit():
                        self.pos += 1
        if self.type_args_depth >= 0:
            return  # a type size such as varchar(20)
        self.add(start, _Kind.CONSTANT)

    def word(self, start: int) -> None:
        sql, n = self.sql, len(self.sql)
        while self.pos < n and (sql[self.pos].isalnum() or sql[self.pos] in "_$"):
            self.pos += 1
        text = sql[start : self.pos]
        lower = text.lower()
        nxt = self.peek()
        if nxt == "'" and self.prefixed_string(start, lower):
            self.last_word = ""
            return
        if lower in ("true", "false"):
            self.add(start, _Kind.CONSTANT)
        self.last_word = lower

    def prefixed_string(self, start: int, prefix: str) -> bool:
        """E'..', B'..', X'..', N'..', U&'..' and MySQL _charset'..' string literals."""
        if self.dialect is Dialect.PGSQL:
            if prefix in ("e", "b", "x", "n"):
                self.string_literal(start, backslash_escapes=prefix == "e")
                return True
            return False
        if prefix in ("x", "b", "n") or prefix.startswith("_"):
            self.string_literal(start, backslash_escapes=True)
            return True
        return False

    def dollar(self, start: int) -> None:
        sql, n = self.sql, len(self.sql)
        j = self.pos + 1
        while j < n and sql[j].isdigit():
            j += 1
        if j > self.pos + 1:
            self.pos = j
            self.add(start, _Kind.PLACEHOLDER)
            return
        # Dollar-quoted string: $tag$ ... $tag$
        j = self.pos + 1
        while j < n and (sql[j].isalnum() or sql[j] == "_"):
            j += 1
        if j < n and sql[j] == "$":
            tag = sql[self.pos : j + 1]
            close = sql.find(tag, j + 1)
            if close < 0:
                raise self.error("unterminated dollar-quoted string")
            self.pos = close + len(tag)
            self.add(start, _Kind.CONSTANT)
            return
        self.pos += 1

    def scan(self) -> list[_Fragment]:
        sql, n = self.sql, len(self.sql)
        mysql = self.dialect is Dialect.MYSQL
        while self.pos < n:
            ch = sql[self.pos]
            start = self.pos
            if ch.isspace():
                self.pos += 1
                continue  # whitespace between a type name and its "(" keeps last_word
            elif (ch == "-" and self.peek(1) == "-") or (mysql and ch == "#"):
                end = sql.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            elif ch == "/" and self.peek(1) == "*":
                end = sql.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.pos = end + 2
            elif ch == "'":
                self.string_literal(start, backslash_escapes=mysql)
            elif ch == '"':
                self.quoted('"', backslash_escapes=mysql)
                if mysql:  # MySQL double quotes are strings (ANSI_QUOTES off)
                    self.add(start, _Kind.CONSTANT)
            elif ch == "`" and mysql:
                self.quoted("`", backslash_escapes=False)
            elif ch == "$" and not mysql:
                self.dollar(start)
            elif ch == "?" and mysql:
                self.pos += 1
                self.add(start, _Kind.PLACEHOLDER)
            elif ch == "@" and mysql:
                self.pos += 1
                while self.pos < n and (sql[self.pos].isalnum() or sql[self.pos] in "_@.$"):
                    self.pos += 1
            elif ch.isdigit() or (ch == "." and self.peek(1).isdigit()):
                self.number(start)
            elif ch.isalpha() or ch == "_":
                self.word(start)
                continue  # keep last_word for a following "("
            elif ch == "(":
                self.depth += 1
                if self.type_args_depth < 0 and self.last_word in _TYPE_NAMES:
                    self.type_args_depth = self.depth
                self.pos += 1
            elif ch == ")":
                if self.depth == self.type_args_depth:
                    self.type_args_depth = -1
                self.depth -= 1
                self.pos += 1
            else:
                self.pos += 1
            self.last_word = ""
        return self.fragments


def normalize_sql(sql: str, param_values: list[str], dialect: Dialect) -> dict[str, Any]:
    """Normalise one query; returns Pixie's result object (query+params, or error)."""
    try:
        fragments = _Scanner(sql, dialect).scan()
    except SQLParseError as exc:
        return {"error": str(exc)}
    out: list[str] = []
    params: list[str] = []
    cursor = 0
    generic_index = 0
    for frag in fragments:
        if frag.kind is _Kind.CONSTANT:
            params.append(frag.text)
        elif dialect is Dialect.MYSQL:
            if generic_index >= len(param_values):
                return {"error": _TOO_FEW_PARAMS}
            params.append(param_values[generic_index])
            generic_index += 1
        else:
            index = int(frag.text[1:]) - 1
            if index < 0:
                return {"error": f"Placeholder {frag.text} invalid"}
            if index >= len(param_values):
                return {"error": _TOO_FEW_PARAMS}
            params.append(param_values[index])
        out.append(sql[cursor : frag.start])
        out.append(f"${len(params)}" if dialect is Dialect.PGSQL else "?")
        cursor = frag.end
    out.append(sql[cursor:])
    return {"query": "".join(out), "params": params}


def parse_execute(text: str) -> tuple[str, list[str]]:
    """Split Pixie's ``query=[...] params=[a, b]`` rendering of a prepared-statement execution."""
    rest = text.removeprefix("query=[")
    close = rest.find("]")
    query = rest if close < 0 else rest[:close]
    rest = rest[len(query) :].removeprefix("] params=[")
    params_end = rest.rfind("]")
    params_text = rest if params_end < 0 else rest[:params_end]
    return query, params_text.split(", ")


def _pg(sql: str, cmd: str) -> str:
    if cmd == PG_EXECUTE:
        query, params = parse_execute(sql)
    elif cmd == PG_QUERY:
        query, params = sql, []
    else:
        return compact_json({"error": f"cmd_code must be one of '{PG_QUERY}' or '{PG_EXECUTE}'"})
    return compact_json(normalize_sql(query, params, Dialect.PGSQL))


def _mysql(sql: str, cmd: int) -> str:
    if cmd == MYSQL_EXECUTE:
        query, params = parse_execute(sql)
    elif cmd == MYSQL_QUERY:
        query, params = sql, []
    else:
        return compact_json(
            {"error": f"cmd_code must be one of '{MYSQL_QUERY}' or '{MYSQL_EXECUTE}'"}
        )
    return compact_json(normalize_sql(query, params, Dialect.MYSQL))


def _normalize_pgsql(_: FunctionContext, sql: Any, cmd: Any) -> Arg:
    return map_rows(_pg, [norm(sql), norm(cmd)], pa.string())


def _normalize_mysql(_: FunctionContext, sql: Any, cmd: Any) -> Arg:
    return map_rows(_mysql, [norm(sql), norm(cmd)], pa.string())


def register(registry: Registry) -> None:
    s, i = DataType.STRING, DataType.INT64
    registry.register_scalar(
        "normalize_pgsql",
        (s, s),
        s,
        _normalize_pgsql,
        "Replace PostgreSQL literals with $n placeholders; JSON {query, params} or {error}. "
        "Example: px.normalize_pgsql(\"SELECT * FROM t WHERE a='x'\", 'Query') gives "
        '\'{"query":"SELECT * FROM t WHERE a=$1","params":["\'x\'"]}\'',
        per_row=True,
    )
    registry.register_scalar(
        "normalize_mysql",
        (s, i),
        s,
        _normalize_mysql,
        "Replace MySQL literals with ? placeholders; JSON {query, params} or {error}. "
        "Example: px.normalize_mysql('SELECT 1', 3) gives "
        '\'{"query":"SELECT ?","params":["1"]}\'',
        per_row=True,
    )
