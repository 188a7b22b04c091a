"""`python -m pyxie_metadata`: runs `app.build` until SIGTERM."""

from pyxie_service import run_service

from pyxie_metadata.app import build
from pyxie_metadata.settings import MetadataSettings

if __name__ == "__main__":
    raise SystemExit(run_service(MetadataSettings, build))
