"""pyxie_plugin: plugins of the cloud (Pixie's plugin and cron-script services).

`px.cloudapi.PluginService` (plugin releases, each org's retention-plugin config with its export
secrets encrypted at rest, retention scripts per org and cluster) and the cron-script sync that
sends an org's enabled retention scripts to its viziers over the bridge.
"""

from pyxie_plugin.app import build
from pyxie_plugin.settings import DEFAULT_GRPC_PORT, DEFAULT_JWT_AUDIENCE, PluginSettings

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_JWT_AUDIENCE", "PluginSettings", "build"]
