"""``python -m pyxie_pxl_runner check|run SCRIPT``: see ``pyxie_pxl_runner.cli``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
