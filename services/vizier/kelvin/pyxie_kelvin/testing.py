"""Test harness: a Kelvin served on port 0 exactly as `app.build` wires it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pyxie_agent import AgentService
from pyxie_service.natsbus import NatsBus

from pyxie_kelvin.app import kelvin_service
from pyxie_kelvin.controllers import Kelvin
from pyxie_kelvin.settings import KelvinSettings

__all__ = ["kelvin_test_settings", "running_kelvin"]


def kelvin_test_settings(signing_key: str, **overrides: Any) -> KelvinSettings:
    """Loopback, port 0, no metrics, fast heartbeats, no registration jitter."""
    values: dict[str, Any] = {
        "jwt_signing_key": signing_key,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "advertise_host": "127.0.0.1",
        "metrics_enabled": False,
        "heartbeat_interval_s": 0.2,
        "registration_jitter_max_s": 0,
        "shutdown_grace_seconds": 0.2,
        **overrides,
    }
    return KelvinSettings(**values)


@asynccontextmanager
async def running_kelvin(
    settings: KelvinSettings, bus: NatsBus
) -> AsyncIterator[tuple[Kelvin, AgentService]]:
    """Kelvin serving and registering; stopped (agent, then server) on exit."""
    kelvin, service = kelvin_service(settings, bus)
    await service.start()
    try:
        yield kelvin, service
    finally:
        await service.stop()
