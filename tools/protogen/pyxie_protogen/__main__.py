"""``python -m pyxie_protogen [--check]``."""

import sys

from pyxie_protogen._main import main

sys.exit(main())
