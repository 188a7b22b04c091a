"""The front end: Pixie's missing-comma tolerance, allowed syntax, constant folding."""

from __future__ import annotations

import pytest
from pyxie_pxl._parse import parse_pxl
from pyxie_pxl.errors import CompilerError


def test_one_missing_comma_before_a_keyword_argument_is_accepted():
    module = parse_pxl("f(a=(1, 2)\n  b=(3, 4))\n")
    call = module.tree.body[0].value  # type: ignore[attr-defined]
    assert [k.arg for k in call.keywords] == ["a", "b"]


def test_missing_commas_in_several_calls_are_all_repaired():
    source = "x = f(a=1 b=2)\ny = g(1, c='x'\n  d='y')\n"
    module = parse_pxl(source)
    assert len(module.tree.body) == 2


def test_positions_after_a_repaired_comma_point_into_the_original_text():
    source = "x = f(a=1 b=zz)\n"
    module = parse_pxl(source)
    call = module.tree.body[0].value  # type: ignore[attr-defined]
    name_node = call.keywords[1].value
    assert module.position(name_node) == (1, source.index("zz") + 1)


def test_a_missing_comma_between_positional_arguments_is_still_an_error():
    with pytest.raises(CompilerError) as info:
        parse_pxl("f(1 2)\n")
    assert info.value.message.startswith("syntax error")


def test_allowed_statements_parse():
    source = (
        "'''doc'''\nimport px\nfrom px import now\n"
        "def f(a: str):\n    return a\n"
        "x = {'a': [1, (2, 3)]}\npx.Pod = str\n"
    )
    parse_pxl(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = lambda: 1\n", "lambda expressions are not supported in PxL"),
        (
            "x = 1 if True else 2\n",
            "conditional expressions (a if c else b) are not supported in PxL",
        ),
        ("x = 1\nx += 1\n", "augmented assignment (+= etc.) are not supported in PxL"),
        ("a, b = 1, 2\n", "tuple unpacking assignment is not supported in PxL"),
        ("class A:\n    pass\n", "class definitions are not supported in PxL"),
        ("x = f'{1}'\n", "f-strings are not supported in PxL"),
        ("x = 1 in [1]\n", "'in' and 'is' comparisons are not supported in PxL"),
    ],
)
def test_disallowed_syntax_is_named(source, message):
    with pytest.raises(CompilerError) as info:
        parse_pxl(source)
    assert info.value.message == message
