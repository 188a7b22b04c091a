"""`python -m pyxie_auth`."""

from pyxie_service import run_service

from pyxie_auth.app import build
from pyxie_auth.settings import AuthSettings

if __name__ == "__main__":
    raise SystemExit(run_service(AuthSettings, build))
