"""`python -m pyxie_cloud_connector`: runs `app.build` until SIGTERM."""

from pyxie_service import run_service

from pyxie_cloud_connector.app import build
from pyxie_cloud_connector.settings import ConnectorSettings

if __name__ == "__main__":
    raise SystemExit(run_service(ConnectorSettings, build))
