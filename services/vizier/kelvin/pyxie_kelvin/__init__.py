"""pyxie_kelvin: the Kelvin service (the vizier's aggregator; no data of its own).

`python -m pyxie_kelvin` runs it (`app.build` is the composition root); settings come from
`PL_*` variables (`KelvinSettings`).
"""

from .app import build, kelvin_service
from .controllers import RESULT_SINK_SERVICE, Kelvin
from .settings import KELVIN_PORT, KelvinSettings

__all__ = [
    "KELVIN_PORT",
    "RESULT_SINK_SERVICE",
    "Kelvin",
    "KelvinSettings",
    "build",
    "kelvin_service",
]
