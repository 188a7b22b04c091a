"""A malformed vis spec (it comes with the script, from whoever runs it) is a CompilerError.

Found by the fuzzer (testing/fuzz): a widget func without "name" raised KeyError.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyxie_scripts import VisSpecError, exec_funcs_from_vis


@pytest.mark.parametrize(
    "spec",
    [
        {"widgets": [{"func": {}}]},
        {"widgets": [{"func": {"name": "f", "args": [{"value": 1}]}}]},
        {"variables": [{}]},
        {"variables": 5},
        {"globalFuncs": [{"func": {"name": "f"}}]},
        {"widgets": ["not a widget"]},
        {"widgets": [{"func": {"name": "f", "args": [{"name": "a", "variable": "nope"}]}}]},
    ],
)
def test_a_malformed_vis_spec_is_a_compiler_error(spec: dict[str, Any]) -> None:
    with pytest.raises(VisSpecError, match="vis spec"):
        exec_funcs_from_vis(spec)


def test_a_well_formed_spec_still_works() -> None:
    spec = {
        "variables": [{"name": "start_time", "defaultValue": "-5m"}],
        "widgets": [
            {"name": "w", "func": {"name": "f", "args": [{"name": "t", "variable": "start_time"}]}}
        ],
    }
    (func,) = exec_funcs_from_vis(spec)
    assert (func.func_name, dict(func.arg_values), func.output_table_prefix) == (
        "f",
        {"t": "-5m"},
        "w",
    )
