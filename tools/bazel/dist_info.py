"""``dist_info.py PYPROJECT``: print the core metadata (``METADATA``) of a workspace member.

Bazel puts each member's sources on ``sys.path`` instead of installing a wheel; this file, in a
``<name>-<version>.dist-info`` directory beside them, lets ``importlib.metadata`` see the
member's name, version and declared requirements as an installed wheel would show them.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def metadata(pyproject: Path) -> str:
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {requirement}" for requirement in project.get("dependencies", [])]
    for extra, requirements in sorted(project.get("optional-dependencies", {}).items()):
        lines.append(f"Provides-Extra: {extra}")
        lines += [
            f'Requires-Dist: {requirement}; extra == "{extra}"' for requirement in requirements
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(metadata(Path(sys.argv[1])))
