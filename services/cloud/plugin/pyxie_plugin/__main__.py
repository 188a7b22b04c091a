"""`python -m pyxie_plugin`."""

from pyxie_service import run_service

from pyxie_plugin.app import build
from pyxie_plugin.settings import PluginSettings

if __name__ == "__main__":
    raise SystemExit(run_service(PluginSettings, build))
