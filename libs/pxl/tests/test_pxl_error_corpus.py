"""A corpus of malformed PxL: each script gets the intended message at the intended line and column.

Columns are 1-based and point at what is wrong: the unknown name, the bad literal, the operator
expression whose types do not fit, the call with the wrong arguments, the statement that PxL does
not have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pytest
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.registry import UDTFArg, UDTFDef
from pyxie_pxl import CompileOptions, Compiler, CompilerError, ExecFunc, LogicalPlan
from pyxie_types import DataType, Relation
from pyxie_types.tables import ALL_TABLES

# Most cases start from an http_events frame bound to `df` on line 2.
HTTP = "import px\ndf = px.DataFrame('http_events', start_time='-5m')\n"


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    message: str  # a substring of the error message
    line: int
    column: int
    exec_funcs: tuple[ExecFunc, ...] = ()


CORPUS: list[Case] = [
    # ---------------------------------------------------------------- names, tables, columns
    Case("undefined-name", "import px\nx = latency + 1\n", "name 'latency' is not defined", 2, 5),
    Case(
        "undefined-function",
        HTTP + "df.x = to_ms(df.latency)\n",
        "name 'to_ms' is not defined",
        3,
        8,
    ),
    Case(
        "undefined-name-in-function-body",
        "import px\ndef f():\n    return g()\nx = f()\n",
        "name 'g' is not defined",
        3,
        12,
    ),
    Case(
        "unknown-table",
        "import px\ndf = px.DataFrame('http_event')\n",
        "table 'http_event' not found; available tables: amqp_events, conn_stats, cql_events",
        2,
        19,
    ),
    Case(
        "a-pixie-table-this-build-cannot-fill-says-why",
        "import px\ndf = px.DataFrame('jvm_stats', start_time='-5m')\n",
        "table 'jvm_stats' is not collected by Pyxie: it needs a JVM agent",
        2,
        19,
    ),
    Case(
        "unknown-column-lists-the-table-columns",
        HTTP + "df.ms = df.latency_ns / 1000\n",
        "column 'latency_ns' not found in table 'http_events'; available columns: time_, upid,",
        3,
        9,
    ),
    Case(
        "unknown-column-by-subscript",
        HTTP + "df.x = df['resp_code']\n",
        "column 'resp_code' not found in table 'http_events'",
        3,
        8,
    ),
    Case(
        "unknown-column-in-select",
        "import px\ndf = px.DataFrame('conn_stats', select=['time_', 'bytes'])\n",
        "column 'bytes' not found in table 'conn_stats'; available columns: time_, upid,",
        2,
        50,
    ),
    Case(
        "unknown-metadata-key",
        HTTP + "df.pod = df.ctx['pods']\n",
        "'pods' is not a metadata key; valid keys: asid, cmd, cmdline",
        3,
        10,
    ),
    Case(
        "method-name-read-as-a-column",
        "import px\ndf = px.DataFrame('stack_traces.beta')\ndf.x = df.drop + 1\n",
        "got the DataFrame method 'drop' (read a column of that name as df['drop'])",
        3,
        8,
    ),
    # ---------------------------------------------------------------- types (no promotion)
    Case(
        "int-vs-float-comparison",
        HTTP + "df = df[df.latency > 1.5]\n",
        "'>' (greaterThan) does not accept argument types (INT64, FLOAT64)",
        3,
        9,
    ),
    Case(
        "string-plus-int-column",
        HTTP + "df.x = df.req_path + 1\n",
        "'+' (add) does not accept argument types (STRING, INT64)",
        3,
        8,
    ),
    Case(
        "string-plus-int-constant",
        "import px\nlabel = 'p' + 50\n",
        "'+' (add) does not accept argument types (STRING, INT64)",
        2,
        9,
    ),
    Case(
        "time-compared-with-string",
        HTTP + "df = df[df.time_ >= 'yesterday']\n",
        "'>=' (greaterThanEqual) does not accept argument types (TIME64NS, STRING)",
        3,
        9,
    ),
    Case(
        "udf-argument-type",
        HTTP + "df = df[px.contains(df.req_path, 404)]\n",
        "function 'contains' does not accept argument types (STRING, INT64); it accepts: "
        "(STRING, STRING)",
        3,
        9,
    ),
    Case(
        "negate-a-string",
        "import px\nx = -'abc'\n",
        "negate does not accept argument type (STRING)",
        2,
        5,
    ),
    Case(
        "semantic-cast-of-wrong-data-type",
        HTTP + "df.p = px.Percent(df.latency)\n",
        "Only semantic type casts are allowed: px.Percent needs a FLOAT64 value, got INT64",
        3,
        8,
    ),
    Case(
        "user-function-argument-type",
        "import px\ndef f(n: int):\n    return n\nx = f('ten')\n",
        "argument 'n' of f() must be int, got STRING",
        4,
        5,
    ),
    Case(
        "integer-literal-out-of-range",
        "import px\nx = 1\ny = 18446744073709551616\n",
        "integer literal 18446744073709551616 does not fit in INT64",
        3,
        5,
    ),
    # ---------------------------------------------------------------- calls and arguments
    Case(
        "udf-wrong-arity",
        HTTP + "df.x = px.substring(df.req_path, 0)\n",
        "function 'substring' takes 3 argument(s) but 2 were given",
        3,
        8,
    ),
    Case(
        "user-function-wrong-arity",
        "import px\ndef f(a: int):\n    return a\nx = f(1, 2)\n",
        "f() takes 1 arguments but 2 were given",
        4,
        5,
    ),
    Case(
        "unknown-px-function",
        HTTP + "df.x = px.to_upper(df.req_path)\n",
        "module 'px' has no attribute 'to_upper'",
        3,
        8,
    ),
    Case(
        "bad-keyword-to-dataframe",
        "import px\ndf = px.DataFrame('http_events', start='-5m')\n",
        "px.DataFrame() got an unexpected keyword argument 'start'",
        2,
        6,
    ),
    Case(
        "bad-keyword-to-method",
        HTTP + "df = df.head(rows=10)\n",
        "head() got an unexpected keyword argument 'rows'",
        3,
        6,
    ),
    Case(
        "keyword-to-udf",
        HTTP + "df = df[px.contains(df.req_path, sub='api')]\n",
        "px.contains takes positional arguments only",
        3,
        9,
    ),
    Case(
        "calling-a-column",
        HTTP + "x = df.latency(5)\n",
        "a column expression is not callable",
        3,
        5,
    ),
    # ---------------------------------------------------------------- statements PxL lacks
    Case("while-loop", "import px\nwhile True:\n    pass\n", "while loops are not supported", 2, 1),
    Case("class", "import px\nclass A:\n    pass\n", "class definitions are not supported", 2, 1),
    Case(
        "try",
        "import px\ntry:\n    x = 1\nexcept Exception:\n    pass\n",
        "try statements are not supported",
        2,
        1,
    ),
    Case("lambda", "import px\nf = lambda x: x\n", "lambda expressions are not supported", 2, 5),
    Case(
        "import-of-a-non-px-module",
        "import px\nimport os\n",
        "no module named 'os'; available modules: px, pxtrace, pxviews",
        2,
        1,
    ),
    Case(
        "from-import-of-a-non-px-module",
        "from collections import OrderedDict\n",
        "no module named 'collections'",
        1,
        1,
    ),
    Case("augmented-assignment", "import px\nx = 1\nx += 1\n", "augmented assignment", 3, 1),
    Case(
        "with", "import px\nwith f() as g:\n    pass\n", "with statements are not supported", 2, 1
    ),
    Case(
        "return-outside-a-function",
        "import px\ndf = px.DataFrame('http_events')\nreturn df\n",
        "'return' outside a function",
        3,
        1,
    ),
    Case(
        "recursion",
        "import px\ndef f(n: int):\n    return f(n)\nx = f(1)\n",
        "recursive calls are not supported in PxL: f() -> f()",
        3,
        12,
    ),
    Case(
        "undefined-decorator",
        "import px\n@cache\ndef f():\n    return 1\n",
        "name 'cache' is not defined",
        2,
        2,
    ),
    # ---------------------------------------------------------------- syntax
    Case(
        "unclosed-paren",
        "import px\ndf = px.DataFrame('http_events'\npx.display(df)\n",
        "syntax error: '(' was never closed",
        2,
        18,
    ),
    Case("double-equals-assignment", "import px\nx = = 1\n", "syntax error: invalid syntax", 2, 5),
    Case("unexpected-indent", "import px\n  x = 1\n", "syntax error: unexpected indent", 2, 3),
    Case(
        "missing-comma-between-positional-arguments",
        "import px\nx = px.DataFrame('http_events' 'x' 1)\n",
        "syntax error",
        2,
        18,
    ),
    # ---------------------------------------------------------------- times
    Case(
        "bad-relative-time",
        "import px\ndf = px.DataFrame('http_events', start_time='five minutes ago')\n",
        "cannot parse time 'five minutes ago': use a relative time such as '-5m'",
        2,
        45,
    ),
    Case(
        "bad-end-time",
        "import px\ndf = px.DataFrame('http_events', start_time='-5m', end_time='now')\n",
        "cannot parse time 'now'",
        2,
        61,
    ),
    Case(
        "bad-duration",
        "import px\nw = px.parse_duration('soon')\n",
        "cannot parse duration 'soon'",
        2,
        5,
    ),
    # ---------------------------------------------------------------- groupby, agg, merge
    Case(
        "agg-with-a-scalar-function",
        HTTP + "df = df.groupby('req_path').agg(x=('latency', px.abs))\n",
        "aggregate 'x': px.abs is not an aggregate function; aggregates are: any, count",
        3,
        6,
    ),
    Case(
        "agg-with-a-called-aggregate",
        HTTP + "df = df.groupby('req_path').agg(n=('latency', px.count()))\n",
        "px.count must not be called; pass it bare: .agg(out=('col', px.count))",
        3,
        47,
    ),
    Case(
        "groupby-on-a-missing-column",
        HTTP + "df = df.groupby(['req_path', 'status']).agg(n=('latency', px.count))\n",
        "column 'status' not found in table 'http_events'",
        3,
        30,
    ),
    Case(
        "groupby-not-followed-by-agg",
        HTTP + "g = df.groupby('req_path')\ng = g.head(5)\n",
        "groupby(...) must be followed by .agg(...), not .head",
        4,
        5,
    ),
    Case(
        "merge-with-mismatched-key-lists",
        HTTP
        + "b = px.DataFrame('conn_stats')\n"
        + "c = df.merge(b, how='inner', left_on=['upid', 'remote_addr'], right_on=['upid'])\n",
        "merge: left_on has 2 column(s) but right_on has 1",
        4,
        5,
    ),
    Case(
        "merge-with-unknown-how",
        HTTP
        + "b = px.DataFrame('conn_stats')\n"
        + "c = df.merge(b, how='full', left_on='upid', right_on='upid')\n",
        "merge how='full' is not one of inner, left, right, outer",
        4,
        5,
    ),
    Case(
        "merge-on-a-missing-right-column",
        HTTP
        + "b = px.DataFrame('conn_stats')\n"
        + "c = df.merge(b, how='inner', left_on='upid', right_on='pid')\n",
        "column 'pid' not found in table 'conn_stats'",
        4,
        55,
    ),
    # ---------------------------------------------------------------- outputs and frames
    Case(
        "display-of-a-column",
        HTTP + "px.display(df.latency)\n",
        "px.display() needs a DataFrame as its first argument",
        3,
        1,
    ),
    Case(
        "display-of-a-constant",
        "import px\npx.display('http_events')\n",
        "px.display() needs a DataFrame as its first argument",
        2,
        1,
    ),
    Case(
        "assign-a-list-as-a-column",
        HTTP + "df.codes = [200, 404]\n",
        "expected a column expression or constant, got a list",
        3,
        1,
    ),
    Case(
        "assign-a-dataframe-as-a-column",
        HTTP + "other = px.DataFrame('conn_stats')\ndf.conns = other\n",
        "a DataFrame cannot be used as a column expression",
        4,
        1,
    ),
    Case(
        "filter-with-a-string-column",
        HTTP + "df = df[df.req_path]\n",
        "a filter condition must be a BOOLEAN expression, got STRING",
        3,
        9,
    ),
    Case(
        "filter-method-with-an-integer",
        HTTP + "df = df.filter(df.latency + 1)\n",
        "a filter condition must be a BOOLEAN expression, got INT64",
        3,
        16,
    ),
    Case(
        "head-with-a-string",
        HTTP + "df = df.head('10')\n",
        "head(n) needs a non-negative integer literal",
        3,
        6,
    ),
    Case(
        "drop-of-a-missing-column",
        HTTP + "df = df.drop(['upid', 'pid'])\n",
        "column 'pid' not found in table 'http_events'",
        3,
        23,
    ),
    Case(
        "udtf-with-a-wrong-argument-type",
        "import px\ndf = px.GetAgentStatus(include_kelvin='yes')\n",
        "px.GetAgentStatus(): argument 'include_kelvin' must be BOOLEAN, got STRING",
        2,
        6,
    ),
    Case(
        "udtf-with-an-unknown-argument",
        "import px\ndf = px.GetAgentStatus(kelvin=True)\n",
        "px.GetAgentStatus() got an unexpected keyword argument 'kelvin'",
        2,
        6,
    ),
    # ---------------------------------------------------------------- limits
    Case(
        "expression-deeper-than-a-plan-can-carry",
        HTTP + "df.x = " + "df.latency + " * 40 + "1\n",
        "expression nests 40 operations deep; at most 32 are supported",
        3,
        1,
    ),
    Case(
        "filter-deeper-than-a-plan-can-carry",
        HTTP + "df = df[" + "df.latency + " * 40 + "1 > 0]\n",
        "expression nests 41 operations deep; at most 32 are supported",
        3,
        9,
    ),
    Case(
        "expression-deeper-than-the-compiler-can-walk",
        HTTP + "x = " + "-" * 5000 + "1\n",
        "the script nests too deeply",
        1,
        1,
    ),
    # ---------------------------------------------------------------- #px:set flags
    Case(
        "px-set-unknown-flag",
        "#px:set max_rows=10\nimport px\n",
        "unknown #px:set flag 'max_rows'; known flags: max_output_rows_per_table",
        1,
        1,
    ),
    Case(
        "px-set-non-integer-row-limit",
        "import px\n#px:set max_output_rows_per_table=many\n",
        "#px:set max_output_rows_per_table expects a non-negative integer, got 'many'",
        2,
        1,
    ),
    Case(
        "px-set-non-boolean",
        "#px:set explain=maybe\nimport px\n",
        "#px:set explain expects true or false, got 'maybe'",
        1,
        1,
    ),
    # ---------------------------------------------------------------- exec functions
    Case(
        "exec-function-argument-that-does-not-parse",
        "import px\n\ndef f(n: int):\n    return px.DataFrame('http_events').head(n)\n",
        "argument 'n': cannot parse 'ten' as int",
        3,
        1,
        (ExecFunc("f", {"n": "ten"}, "out"),),
    ),
    Case(
        "exec-function-missing-argument",
        "import px\ndef f(start: str, n: int):\n    return px.DataFrame('http_events')\n",
        "exec function 'f' is missing argument 'n'",
        2,
        1,
        (ExecFunc("f", {"start": "-5m"}, "out"),),
    ),
]


@pytest.fixture(scope="module")
def corpus_compiler() -> Compiler:
    return Compiler(new_registry(), {t.name: t for t in ALL_TABLES})


def test_the_corpus_is_large_and_its_ids_are_unique() -> None:
    assert len(CORPUS) >= 30
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_malformed_script_gets_the_intended_error_at_its_place(
    corpus_compiler: Compiler, case: Case
) -> None:
    with pytest.raises(CompilerError) as info:
        corpus_compiler.compile(
            case.source,
            CompileOptions(now_ns=1_700_000_000_000_000_000, exec_funcs=case.exec_funcs),
        )
    err = info.value
    assert case.message in err.message
    assert (err.line, err.column) == (case.line, case.column), err.render(case.source)
    # The caret lands inside the offending line.
    rendered = err.render(case.source).splitlines()
    if 0 < case.line <= len(case.source.splitlines()):
        assert rendered[1] == "  " + case.source.splitlines()[case.line - 1]
        assert rendered[2] == "  " + " " * (case.column - 1) + "^"


def test_a_udtf_called_without_its_required_argument_names_it() -> None:
    registry = new_registry()
    relation = Relation.of(("name", DataType.STRING))
    registry.register_udtf(
        UDTFDef(
            "GetTableRows",
            (UDTFArg("table_name", DataType.STRING),),
            relation,
            lambda ctx, table_name: pa.table({"name": [table_name]}),
            "GetTableRows(table_name): one row naming the table. Example: px.GetTableRows('x')",
        )
    )
    compiler = Compiler(registry, {t.name: t for t in ALL_TABLES})
    source = "import px\n\ndf = px.GetTableRows()\npx.display(df)\n"
    with pytest.raises(CompilerError) as info:
        compiler.compile(source, CompileOptions(now_ns=0))
    assert info.value.message == "px.GetTableRows() missing required argument 'table_name'"
    assert (info.value.line, info.value.column) == (3, 6)


def test_every_error_is_collected_when_several_statements_are_unsupported(
    compile_pxl: Callable[..., LogicalPlan],
) -> None:
    source = "import px\nwhile True:\n    pass\nclass A:\n    pass\nf = lambda: 1\n"
    with pytest.raises(CompilerError) as info:
        compile_pxl(source)
    assert [(e.line, e.column) for e in info.value.errors] == [(2, 1), (4, 1), (6, 5)]


def test_a_long_chain_of_column_updates_still_lowers_to_a_plan_protobuf_accepts(
    compile_pxl: Callable[..., LogicalPlan],
) -> None:
    # Map fusion would otherwise nest 100 additions into one expression, past protobuf's limit.
    source = HTTP + "df.x = df.latency\n" + "df.x = df.x + 1\n" * 100 + "px.display(df)\n"
    plan = compile_pxl(source).to_plan()
    assert type(plan).FromString(plan.SerializeToString()) == plan
