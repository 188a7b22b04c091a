"""``python -m pyxie_pxl check|run SCRIPT``: forwards to ``python -m pyxie_pxl_runner``.

Checking and running need the engine's function catalog (and ``run`` the engine itself), which
the compiler never imports; the commands live in pyxie-pxl-runner, looked up here at run time.
"""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    try:
        runner = importlib.import_module("pyxie_pxl_runner.cli")
    except ModuleNotFoundError:
        sys.stderr.write(
            "python -m pyxie_pxl check|run needs the pyxie-pxl-runner package "
            "(python -m pyxie_pxl_runner)\n"
        )
        return 2
    return int(runner.main())


if __name__ == "__main__":
    sys.exit(main())
