"""`python -m pyxie_kelvin`: runs `app.build` until SIGTERM (or a fatal agent error)."""

from pyxie_service import run_service

from pyxie_kelvin.app import build, exit_on_fatal
from pyxie_kelvin.settings import KelvinSettings

if __name__ == "__main__":
    raise SystemExit(run_service(KelvinSettings, build) or exit_on_fatal.code)
