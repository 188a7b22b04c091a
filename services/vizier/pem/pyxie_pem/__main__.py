"""`python -m pyxie_pem`: runs `app.build` until SIGTERM (or a fatal agent error)."""

from pyxie_service import run_service

from pyxie_pem.app import build, exit_on_fatal
from pyxie_pem.settings import PemSettings

if __name__ == "__main__":
    raise SystemExit(run_service(PemSettings, build) or exit_on_fatal.code)
