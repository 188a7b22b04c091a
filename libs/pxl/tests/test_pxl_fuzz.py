"""Fuzzing the compiler: whatever the script, it either compiles or raises CompilerError, promptly.

Two generators: one writes scripts from a small grammar of PxL statements over the real table,
column and function names (so most of them get deep into the type checker), the other mutates the
bundled scripts token by token and character by character (so the parser's repair pass and every
error path see broken input). The fast suite runs a few hundred examples; the slow run ten
thousand in total.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyxie_carnot.builtins import new_registry
from pyxie_pxl import CompileOptions, Compiler, CompilerError, ExecFunc
from pyxie_scripts import exec_funcs_from_vis, list_scripts, load_script
from pyxie_types.tables import ALL_TABLES

from .conftest import NOW_NS

# A compile takes milliseconds; a guard this far above that only fires on a real hang (a loop that
# never ends), and turns it into a failing example instead of a test killed by pytest-timeout.
_HANG_GUARD_S = 20.0

_REGISTRY = new_registry()
_COMPILER = Compiler(_REGISTRY, {t.name: t for t in ALL_TABLES})
_TABLES = sorted(t.name for t in ALL_TABLES)
_COLUMNS = sorted({c.name for t in ALL_TABLES for c in t.relation})
_SCALARS = sorted({u.name for u in _REGISTRY.scalars()})
_UDAS = sorted({u.name for u in _REGISTRY.udas()})
_UDTFS = sorted({u.name for u in _REGISTRY.udtfs()})
_PX_HELPERS = [
    "now",
    "parse_duration",
    "parse_time",
    "format_duration",
    "seconds",
    "minutes",
    "DurationNanos",
    "Percent",
    "Bytes",
    "Pod",
    "Service",
    "Time",
    "script_reference",
    "equals_any",
    "display",
    "debug",
    "DataFrame",
]
_METADATA_KEYS = ["pod", "service", "namespace", "node", "container", "pid", "cmdline", "nope"]
_FRAMES = ["df", "other"]


class CompileHung(Exception):
    """The compiler ran past the hang guard."""


@contextmanager
def _hang_guard() -> Iterator[None]:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise CompileHung(f"compile did not return within {_HANG_GUARD_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _HANG_GUARD_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compile_or_compiler_error(source: str, exec_funcs: tuple[ExecFunc, ...] = ()) -> None:
    """Compile and lower; anything but success or CompilerError fails the example."""
    with _hang_guard():
        try:
            plan = _COMPILER.compile(source, CompileOptions(now_ns=NOW_NS, exec_funcs=exec_funcs))
        except CompilerError as err:
            assert err.message, "a CompilerError needs a message"
            assert err.line >= 0 and err.column >= 0
            err.render(source)
            return
        lowered = plan.to_plan()
        assert type(lowered).FromString(lowered.SerializeToString()) == lowered


# ------------------------------------------------------------------------------ grammar


def _quoted(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).map(repr)


_literal = st.one_of(
    st.integers(min_value=-(1 << 64), max_value=1 << 64).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    _quoted(["", "a", "-5m", "30s", "2024-01-02 15:04:05 +0000", "abc", "/healthz"]),
    st.sampled_from(["True", "False", "None"]),
)
_column = st.builds(
    lambda frame, col, subscript: f"{frame}[{col!r}]" if subscript else f"{frame}.{col}",
    st.sampled_from(_FRAMES),
    st.sampled_from(_COLUMNS),
    st.booleans(),
)
_metadata = st.builds(
    lambda frame, key: f"{frame}.ctx[{key!r}]",
    st.sampled_from(_FRAMES),
    st.sampled_from(_METADATA_KEYS),
)


def _extend_expr(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binop = st.builds(
        lambda a, op, b: f"({a} {op} {b})",
        children,
        st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "and", "or"]),
        children,
    )
    unary = st.builds(lambda op, a: f"({op}{a})", st.sampled_from(["-", "not ", "~"]), children)
    call = st.builds(
        lambda fn, args: f"px.{fn}({', '.join(args)})",
        st.sampled_from(_SCALARS + _UDAS + _PX_HELPERS),
        st.lists(children, max_size=3),
    )
    return st.one_of(binop, unary, call)


_expr = st.recursive(
    st.one_of(_literal, _column, _metadata, st.sampled_from(_FRAMES)), _extend_expr, max_leaves=6
)
_names = st.one_of(
    _quoted(_COLUMNS),
    st.lists(st.sampled_from(_COLUMNS), max_size=3).map(lambda cols: repr(cols)),
)
_agg_spec = st.builds(
    lambda out, col, fn: f"{out}=({col!r}, px.{fn})",
    st.sampled_from(["n", "m", "latency", "x"]),
    st.sampled_from(_COLUMNS),
    st.sampled_from(_UDAS + _SCALARS[:5]),
)
_statement = st.one_of(
    st.builds(
        lambda frame, table, start: f"{frame} = px.DataFrame({table!r}, start_time={start})",
        st.sampled_from(_FRAMES),
        st.sampled_from([*_TABLES, "nope"]),
        _literal,
    ),
    st.builds(
        lambda frame, udtf: f"{frame} = px.{udtf}()",
        st.sampled_from(_FRAMES),
        st.sampled_from(_UDTFS),
    ),
    st.builds(
        lambda frame, col, expr: f"{frame}.{col} = {expr}",
        st.sampled_from(_FRAMES),
        st.sampled_from([*_COLUMNS, "x", "y"]),
        _expr,
    ),
    st.builds(lambda frame, expr: f"{frame} = {frame}[{expr}]", st.sampled_from(_FRAMES), _expr),
    st.builds(
        lambda frame, names, aggs: f"{frame} = {frame}.groupby({names}).agg({', '.join(aggs)})",
        st.sampled_from(_FRAMES),
        _names,
        st.lists(_agg_spec, max_size=3, unique_by=lambda s: s.split("=")[0]),
    ),
    st.builds(
        lambda names, left, right, how: (
            f"df = df.merge(other, how={how!r}, left_on={left}, right_on={right}, "
            "suffixes=['', '_r'])"
        ),
        _names,
        _names,
        _names,
        st.sampled_from(["inner", "left", "right", "outer", "cross"]),
    ),
    st.builds(
        lambda frame, names: f"{frame} = {frame}.drop({names})", st.sampled_from(_FRAMES), _names
    ),
    st.builds(lambda frame, names: f"{frame} = {frame}[{names}]", st.sampled_from(_FRAMES), _names),
    st.builds(lambda frame, n: f"{frame} = {frame}.head({n})", st.sampled_from(_FRAMES), _literal),
    st.builds(lambda frame: f"{frame} = {frame}.append(other)", st.sampled_from(_FRAMES)),
    st.builds(
        lambda frame, name: f"px.display({frame}, {name})", st.sampled_from(_FRAMES), _literal
    ),
    st.builds(lambda name, expr: f"{name} = {expr}", st.sampled_from(["x", "y", "df"]), _expr),
    st.builds(
        lambda frame, n: f"{frame}.deep = " + " + ".join([f"{frame}.latency"] * n),
        st.sampled_from(_FRAMES),
        st.integers(min_value=1, max_value=60),
    ),
    # Rare on purpose: each one ends the script's evaluation at its first error.
    st.sampled_from(
        [
            "def f(a: int):\n    return px.DataFrame('http_events').head(a)\nz = f(1)",
            "def g():\n    return g()\nz = g()",
            "return df",
        ]
    ),
)
_script = st.builds(
    lambda body: (
        "import px\ndf = px.DataFrame('http_events')\nother = px.DataFrame('conn_stats')\n"
        + "\n".join(body)
        + "\n"
    ),
    st.lists(_statement, min_size=1, max_size=8),
)

# ------------------------------------------------------------------------------ mutation

_SCRIPTS = {name: load_script(name) for name in list_scripts()}
_TOKEN = re.compile(r"\w+|'[^'\n]*'|\"[^\"\n]*\"|\s+|.", re.DOTALL)


def _exec_funcs(name: str) -> tuple[ExecFunc, ...]:
    vis = _SCRIPTS[name].vis
    return tuple(exec_funcs_from_vis(vis)) if vis else ()


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(_SCRIPTS)))
    tokens = _TOKEN.findall(_SCRIPTS[name].pxl)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not tokens:
            break
        at = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "char"]))
        if action == "delete":
            del tokens[at]
        elif action == "duplicate":
            tokens.insert(at, tokens[at])
        elif action == "swap":
            other = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
            tokens[at], tokens[other] = tokens[other], tokens[at]
        elif action == "replace":
            tokens[at] = draw(
                st.sampled_from(
                    [
                        *_COLUMNS[:20],
                        *_SCALARS[:20],
                        "px",
                        "(",
                        ")",
                        "[",
                        "]",
                        ",",
                        "=",
                        ":",
                        "\n",
                        "    ",
                        "0",
                        "-1",
                        "''",
                        "None",
                        "return",
                        "def",
                        "import",
                    ]
                )
            )
        else:
            text = tokens[at]
            pos = draw(st.integers(min_value=0, max_value=len(text)))
            char = draw(st.characters(codec="utf-8", exclude_categories=["Cs"]))
            tokens[at] = text[:pos] + char + text[pos + 1 :]
    return name, "".join(tokens)


# ------------------------------------------------------------------------------ tests

_FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_SLOW = settings(_FAST, max_examples=5000)


@_FAST
@given(_script)
def test_generated_scripts_compile_or_raise_a_compiler_error(source: str) -> None:
    compile_or_compiler_error(source)


@_FAST
@given(_mutated())
def test_mutated_bundled_scripts_compile_or_raise_a_compiler_error(
    named: tuple[str, str],
) -> None:
    name, source = named
    compile_or_compiler_error(source, _exec_funcs(name))


@pytest.mark.slow
@_SLOW
@given(_script)
def test_many_generated_scripts_compile_or_raise_a_compiler_error(source: str) -> None:
    compile_or_compiler_error(source)


@pytest.mark.slow
@_SLOW
@given(_mutated())
def test_many_mutated_bundled_scripts_compile_or_raise_a_compiler_error(
    named: tuple[str, str],
) -> None:
    name, source = named
    compile_or_compiler_error(source, _exec_funcs(name))


def test_the_hang_guard_turns_a_hang_into_an_error() -> None:
    with pytest.raises(CompileHung), _hang_guard():
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        while True:
            pass
