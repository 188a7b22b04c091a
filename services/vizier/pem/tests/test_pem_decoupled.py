"""The PEM runs no compiler: it neither imports nor declares ``pyxie_pxl``.

Plans arrive compiled from the query broker; the benchmark-only synthetic rows come from
``pyxie_synthetic``, which is engine-side data, not the compiler.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys


def _requirement_closure(distribution: str) -> set[str]:
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" in requirement:
                continue
            todo.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return seen


def test_the_pem_declares_no_compiler_dependency() -> None:
    closure = _requirement_closure("pyxie-pem")
    assert "pyxie-carnot" in closure  # the probe reads real metadata
    assert "pyxie-pxl" not in closure


def test_importing_the_pem_loads_no_compiler() -> None:
    probe = (
        "import json, sys\n"
        "import pyxie_pem.app, pyxie_pem.controllers.pem, pyxie_pem.controllers.synthetic\n"
        "print(json.dumps([m for m in ('pyxie_pxl', 'pyxie_scripts') if m in sys.modules]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(proc.stdout.splitlines()[-1]) == []
