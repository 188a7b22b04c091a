"""The PEM runs no compiler: it neither imports nor declares ``pyxie_pxl``.

Plans arrive compiled from the query broker; the benchmark-only synthetic rows come from
``pyxie_synthetic``, which is engine-side data, not the compiler.
"""

from __future__ import annotations

from pyxie_testing.imports import modules_loaded_by, requirement_closure


def test_the_pem_declares_no_compiler_dependency() -> None:
    closure = requirement_closure("pyxie-pem")
    assert "pyxie-carnot" in closure  # the probe reads real metadata
    assert "pyxie-pxl" not in closure


def test_importing_the_pem_loads_no_compiler() -> None:
    statement = "import pyxie_pem.app, pyxie_pem.controllers.pem, pyxie_pem.controllers.synthetic"
    assert modules_loaded_by(statement, ("pyxie_pxl", "pyxie_scripts")) == []
