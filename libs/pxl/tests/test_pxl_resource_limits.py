"""Scripts that try to make the compiler build something huge fail fast with a CompilerError.

Found by an attack suite: `s = s + s` thirty-two times made constant folding build a 4 GiB
string in the broker (39 s at 100 % CPU, 12.4 GB peak, every other query failing meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyxie_pxl._resolve import MAX_FOLDED_STRING_BYTES
from pyxie_pxl.compiler import LogicalPlan
from pyxie_pxl.errors import CompilerError


def _doubling(times: int) -> str:
    lines = ["import px", "s = 'ab'"]
    lines += ["s = s + s"] * times
    lines += ["df = px.DataFrame('http_events')", "df.s = s", "px.display(df)"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("times", [24, 32, 64])
def test_doubling_a_string_constant_fails_with_a_compiler_error(
    compile_pxl: Callable[..., LogicalPlan], times: int
) -> None:
    with pytest.raises(CompilerError) as info:
        compile_pxl(_doubling(times))
    assert "constant string expression would be" in info.value.message
    assert str(MAX_FOLDED_STRING_BYTES) in info.value.message
    # It points at the line that crossed the limit: 2 header lines, then 2 bytes doubled.
    assert info.value.line == 2 + (MAX_FOLDED_STRING_BYTES // 2).bit_length()


def test_strings_below_the_limit_still_fold(compile_pxl: Callable[..., LogicalPlan]) -> None:
    compile_pxl(_doubling(10))  # 2 KiB
