"""pyxie_kelvin: the Kelvin service (the vizier's aggregator; no data of its own).

`python -m pyxie_kelvin` runs it; settings come from `PL_*` variables (`KelvinSettings`).
"""

from .controllers import RESULT_SINK_SERVICE, Kelvin
from .settings import KELVIN_PORT, KelvinSettings

__all__ = ["KELVIN_PORT", "RESULT_SINK_SERVICE", "Kelvin", "KelvinSettings"]
