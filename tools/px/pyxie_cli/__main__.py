"""``python -m pyxie_cli`` = ``px``."""

import sys

from pyxie_cli.main import main

sys.exit(main())
