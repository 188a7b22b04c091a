"""Checks that a package stays light: what importing it loads, what installing it brings.

modules_loaded_by("import pyxie_pxl", ("pyxie_carnot",))  # [] when the compiler is alone
requirement_closure("pyxie-pem")                            # every distribution it needs
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from collections.abc import Iterable

__all__ = ["modules_loaded_by", "requirement_closure"]


def modules_loaded_by(statement: str, names: Iterable[str]) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` after running ``statement`` in a fresh Python."""
    probe = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {sorted(names)!r} if m in sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return loaded


def requirement_closure(distribution: str) -> set[str]:
    """Every installed distribution ``distribution`` requires, transitively, without extras."""
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
