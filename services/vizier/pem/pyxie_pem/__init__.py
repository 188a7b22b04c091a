"""pyxie_pem: the PEM service (a node's collectors, table store and query engine).

`python -m pyxie_pem` runs it; settings come from `PL_*` variables (`PemSettings`).
"""

from .controllers import Pem, ProcessWatcher
from .settings import PemSettings

__all__ = ["Pem", "PemSettings", "ProcessWatcher"]
