"""``python -m pyxie_devstack.cloud``."""

import sys

from pyxie_devstack.cloud.cli import main

sys.exit(main())
