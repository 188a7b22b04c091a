"""The PEM's logic: the agent wiring (`Pem`) and process events (`ProcessWatcher`)."""

from .pem import Pem, collector_schemas, process_filter_from_settings, sources_from_settings
from .processes import ProcessWatcher

__all__ = [
    "Pem",
    "ProcessWatcher",
    "collector_schemas",
    "process_filter_from_settings",
    "sources_from_settings",
]
