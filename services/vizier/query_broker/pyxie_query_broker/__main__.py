"""`python -m pyxie_query_broker`: runs `app.build` until SIGTERM."""

from pyxie_service import run_service

from pyxie_query_broker.app import build
from pyxie_query_broker.settings import BrokerSettings

if __name__ == "__main__":
    raise SystemExit(run_service(BrokerSettings, build))
