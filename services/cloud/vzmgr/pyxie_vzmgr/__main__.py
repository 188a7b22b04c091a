"""`python -m pyxie_vzmgr`."""

from pyxie_service import run_service

from pyxie_vzmgr.app import build
from pyxie_vzmgr.settings import VzmgrSettings

if __name__ == "__main__":
    raise SystemExit(run_service(VzmgrSettings, build))
