"""Settings of the example service."""

from __future__ import annotations

from pyxie_service.settings import ServiceSettings

__all__ = ["ExampleSettings"]


class ExampleSettings(ServiceSettings):
    # Off by default so the example runs without a NATS server.
    nats_enabled: bool = False
