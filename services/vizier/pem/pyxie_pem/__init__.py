"""pyxie_pem: the PEM service (a node's collectors, table store and query engine).

`python -m pyxie_pem` runs it (`app.build` is the composition root); settings come from `PL_*`
variables (`PemSettings`).
"""

from .app import build, pem_service
from .controllers import Pem, ProcessWatcher
from .settings import PemSettings

__all__ = ["Pem", "PemSettings", "ProcessWatcher", "build", "pem_service"]
