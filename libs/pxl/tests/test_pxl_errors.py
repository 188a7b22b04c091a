"""Every kind of compile error: its message reads like Pixie's and points at the right place."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyxie_pxl.compiler import ExecFunc, LogicalPlan
from pyxie_pxl.errors import CompilerError


def error_of(
    compile_pxl: Callable[..., LogicalPlan], source: str, **options: object
) -> CompilerError:
    with pytest.raises(CompilerError) as info:
        compile_pxl(source, **options)
    return info.value


def test_undefined_name_is_reported_with_its_position(compile_pxl):
    err = error_of(compile_pxl, "import px\ndf = px.DataFrame('http_events')\nx = aa + 1\n")
    assert err.message == "name 'aa' is not defined"
    assert (err.line, err.column) == (3, 5)


def test_unknown_column_names_the_table_and_its_columns(compile_pxl):
    err = error_of(
        compile_pxl,
        "import px\ndf = px.DataFrame('process_stats')\ndf.x = df.no_such_col + 1\n",
    )
    assert "column 'no_such_col' not found in table 'process_stats'" in err.message
    assert "rss_bytes" in err.message and "cpu_utime_ns" in err.message
    assert (err.line, err.column) == (3, 8)


def test_missing_overload_names_the_function_and_both_argument_types(compile_pxl):
    source = (
        "import px\ndf = px.DataFrame('http_events')\ndf = df[df.latency > 1.5]\npx.display(df)\n"
    )
    err = error_of(compile_pxl, source)
    assert "'>' (greaterThan)" in err.message
    assert "(INT64, FLOAT64)" in err.message
    assert (err.line, err.column) == (3, 9)


def test_constant_type_mismatch_is_reported_when_folding(compile_pxl):
    err = error_of(compile_pxl, "import px\nx = 'a' + 1\n")
    assert err.message == "'+' (add) does not accept argument types (STRING, INT64)"
    assert (err.line, err.column) == (2, 5)


def test_unknown_table_lists_known_tables(compile_pxl):
    err = error_of(compile_pxl, "import px\ndf = px.DataFrame('nope')\n")
    assert "table 'nope' not found" in err.message
    assert "http_events" in err.message


def test_unknown_px_attribute(compile_pxl):
    err = error_of(compile_pxl, "import px\nx = px.no_such_function\n")
    assert err.message == "module 'px' has no attribute 'no_such_function'"


def test_calling_a_uda_is_an_error_that_shows_the_right_form(compile_pxl):
    source = "import px\ndf = px.DataFrame('http_events')\ndf = df.agg(n=('latency', px.count()))\n"
    err = error_of(compile_pxl, source)
    assert "px.count must not be called" in err.message
    assert "('col', px.count)" in err.message


def test_aggregate_overload_mismatch_names_types(compile_pxl):
    source = (
        "import px\ndf = px.DataFrame('http_events')\n"
        "df = df.groupby('req_path').agg(m=('req_method', px.mean))\n"
    )
    err = error_of(compile_pxl, source)
    assert "aggregate function 'px.mean' does not accept argument types (STRING)" in err.message


def test_semantic_cast_of_the_wrong_data_type_is_rejected(compile_pxl):
    source = "import px\ndf = px.DataFrame('http_events')\ndf.x = px.DurationNanos(df.req_path)\n"
    err = error_of(compile_pxl, source)
    assert err.message.startswith("Only semantic type casts are allowed")
    assert "INT64" in err.message and "STRING" in err.message


def test_filter_must_be_boolean(compile_pxl):
    source = "import px\ndf = px.DataFrame('http_events')\ndf = df[df.latency]\n"
    err = error_of(compile_pxl, source)
    assert err.message == "a filter condition must be a BOOLEAN expression, got INT64"


def test_default_parameter_values_are_not_supported(compile_pxl):
    err = error_of(compile_pxl, "import px\ndef f(a: str = 'x'):\n    return a\n")
    assert err.message == "default values not supported in function definitions"
    assert err.line == 2


def test_unsupported_statements_are_all_reported(compile_pxl):
    source = "import px\nif True:\n    x = 1\nfor i in [1]:\n    pass\ny = [i for i in [1]]\n"
    err = error_of(compile_pxl, source)
    messages = [e.message for e in err.errors]
    assert messages == [
        "if statements are not supported in PxL",
        "for loops are not supported in PxL",
        "list comprehensions are not supported in PxL",
    ]
    assert [e.line for e in err.errors] == [2, 4, 6]


def test_chained_comparison_is_rejected(compile_pxl):
    err = error_of(compile_pxl, "import px\nx = 1 < 2 < 3\n")
    assert err.message == "chained comparisons are not supported in PxL"


def test_merge_keys_of_different_types(compile_pxl):
    source = (
        "import px\n"
        "a = px.DataFrame('http_events')\n"
        "b = px.DataFrame('process_stats')\n"
        "c = a.merge(b, how='inner', left_on='req_path', right_on='rss_bytes')\n"
    )
    err = error_of(compile_pxl, source)
    assert "'req_path' (STRING) and 'rss_bytes' (INT64) have different types" in err.message


def test_append_with_different_columns(compile_pxl):
    source = (
        "import px\n"
        "a = px.DataFrame('http_events', select=['time_', 'latency'])\n"
        "b = px.DataFrame('mysql_events', select=['time_', 'req_cmd'])\n"
        "c = a.append(b)\n"
    )
    err = error_of(compile_pxl, source)
    assert "missing: latency; extra: req_cmd" in err.message


def test_drop_of_unknown_column(compile_pxl):
    source = "import px\ndf = px.DataFrame('network_stats')\ndf = df.drop(['nope'])\n"
    err = error_of(compile_pxl, source)
    assert "column 'nope' not found in table 'network_stats'" in err.message


def test_head_needs_an_integer_literal(compile_pxl):
    source = "import px\ndf = px.DataFrame('network_stats')\ndf = df.head(n='ten')\n"
    assert "integer literal" in error_of(compile_pxl, source).message


def test_unknown_metadata_key(compile_pxl):
    source = "import px\ndf = px.DataFrame('process_stats')\ndf.x = df.ctx['podd']\n"
    err = error_of(compile_pxl, source)
    assert "'podd' is not a metadata key" in err.message


def test_metadata_without_a_key_column(compile_pxl):
    source = (
        "import px\ndf = px.DataFrame('process_stats', select=['time_'])\ndf.x = df.ctx['pod']\n"
    )
    err = error_of(compile_pxl, source)
    assert "needs one of the columns upid, pod_id" in err.message


def test_subscript_read_of_another_frame_in_assignment_is_rejected(compile_pxl):
    source = (
        "import px\n"
        "a = px.DataFrame('http_events')\n"
        "b = px.DataFrame('http_events')\n"
        "a['x'] = b['latency']\n"
    )
    assert "another DataFrame's column 'latency'" in error_of(compile_pxl, source).message


def test_unknown_px_set_flag(compile_pxl):
    err = error_of(compile_pxl, "#px:set turbo=true\nimport px\n")
    assert err.message.startswith("unknown #px:set flag 'turbo'")
    assert err.line == 1


def test_exec_function_argument_that_does_not_parse(compile_pxl):
    source = "import px\ndef f(n: int):\n    return px.DataFrame('http_events').head(n)\n"
    err = error_of(compile_pxl, source, exec_funcs=[ExecFunc("f", {"n": "ten"}, "out")])
    assert err.message == "argument 'n': cannot parse 'ten' as int"


def test_exec_function_not_defined(compile_pxl):
    err = error_of(compile_pxl, "import px\n", exec_funcs=[ExecFunc("g", {}, "out")])
    assert "exec function 'g' is not defined" in err.message


def test_exec_function_arguments_need_annotations(compile_pxl):
    source = "import px\ndef f(n):\n    return px.DataFrame('http_events')\n"
    err = error_of(compile_pxl, source, exec_funcs=[ExecFunc("f", {"n": "1"}, "out")])
    assert "needs a type annotation" in err.message


def test_user_function_argument_type_is_checked_at_call(compile_pxl):
    source = "import px\ndef f(n: int):\n    return n\nx = f('a')\n"
    err = error_of(compile_pxl, source)
    assert err.message == "argument 'n' of f() must be int, got STRING"
    assert err.line == 4


def test_syntax_error_keeps_its_position(compile_pxl):
    err = error_of(compile_pxl, "import px\nx = (1 +\n")
    assert err.message.startswith("syntax error")
    assert err.line == 2


def test_render_draws_a_caret_under_the_column():
    err = CompilerError("name 'aa' is not defined", 2, 5)
    assert err.render("import px\nx = aa + 1\n").splitlines() == [
        "error: 2:5: name 'aa' is not defined",
        "  x = aa + 1",
        "      ^",
    ]


def test_calls_resolve_against_the_injected_registry():
    from pyxie_carnot.registry import Registry
    from pyxie_pxl.compiler import CompileOptions, Compiler
    from pyxie_types import DataType
    from pyxie_types.tables import HTTP_EVENTS

    small = Registry()
    small.register_scalar(
        "add",
        [DataType.INT64, DataType.INT64],
        DataType.INT64,
        lambda ctx, a, b: a,
        "add(a, b): a + b. Example: df.x = df.a + 1",
    )
    compiler = Compiler(small, {"http_events": HTTP_EVENTS})
    ok = "import px\ndf = px.DataFrame('http_events')\ndf.x = df.latency + 1\npx.display(df)\n"
    assert compiler.compile(ok, CompileOptions(now_ns=0)).output_names == ("output",)
    with pytest.raises(CompilerError) as info:
        compiler.compile("import px\ndf = px.DataFrame('http_events')\ndf.p = df.ctx['pod']\n")
    assert info.value.message == (
        "function 'ctx['pod']' (_upid_to_podname_local_addr_fallback) is not defined"
    )
