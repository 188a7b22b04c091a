"""``python -m pyxie_cli.cloud``."""

import sys

from pyxie_cli.cloud import main

sys.exit(main())
