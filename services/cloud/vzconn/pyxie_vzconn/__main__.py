"""`python -m pyxie_vzconn`."""

from pyxie_service import run_service

from pyxie_vzconn.app import build
from pyxie_vzconn.settings import VzconnSettings

if __name__ == "__main__":
    raise SystemExit(run_service(VzconnSettings, build))
