"""`python -m pyxie_api`."""

from pyxie_service import run_service

from pyxie_api.app import build
from pyxie_api.settings import ApiSettings

if __name__ == "__main__":
    raise SystemExit(run_service(ApiSettings, build))
