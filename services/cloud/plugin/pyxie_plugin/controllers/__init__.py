"""Servicer, store, release catalog and cron-script sync of the plugin service."""

from pyxie_plugin.controllers.caller import USER_TOKEN_METADATA_KEY, Caller
from pyxie_plugin.controllers.cron_sync import (
    CronScriptSync,
    SyncTimings,
    VizierDirectory,
    VzmgrDirectory,
    cron_scripts_for,
)
from pyxie_plugin.controllers.releases import (
    OPENTELEMETRY_PLUGIN_ID,
    PluginRelease,
    PresetScript,
    ReleaseCatalog,
    bundled_catalog,
)
from pyxie_plugin.controllers.servicer import PLUGIN_SERVICE_NAME, PluginServicer
from pyxie_plugin.controllers.store import PluginStore
from pyxie_plugin.controllers.validation import MASK

__all__ = [
    "MASK",
    "OPENTELEMETRY_PLUGIN_ID",
    "PLUGIN_SERVICE_NAME",
    "USER_TOKEN_METADATA_KEY",
    "Caller",
    "CronScriptSync",
    "PluginRelease",
    "PluginServicer",
    "PluginStore",
    "PresetScript",
    "ReleaseCatalog",
    "SyncTimings",
    "VizierDirectory",
    "VzmgrDirectory",
    "bundled_catalog",
    "cron_scripts_for",
]
