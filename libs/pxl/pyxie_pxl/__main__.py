"""``python -m pyxie_pxl check|run SCRIPT``: see ``pyxie_pxl._cli``."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
