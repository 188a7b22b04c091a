"""Kelvin settings from `PL_*` variables (read once at start)."""

from __future__ import annotations

from pydantic import Field
from pyxie_agent import AgentSettings

__all__ = ["KELVIN_PORT", "KelvinSettings"]

# Pixie's Kelvin serves ResultSinkService on 59300.
KELVIN_PORT = 59300


class KelvinSettings(AgentSettings):
    """Env var = `PL_` + field name in upper case (e.g. PL_GRPC_PORT, PL_ADVERTISE_HOST)."""

    grpc_port: int = Field(default=KELVIN_PORT, ge=0, le=65535)
    # Host part of the address PEMs and the broker reach this Kelvin at (AgentInfo.address,
    # then every plan's GRPCSink to Kelvin); empty = PL_HOST_IP or the detected host IP.
    advertise_host: str = ""

    def advertised_address(self, port: int) -> str:
        return f"{self.advertise_host or self.resolved_host_ip()}:{port}"
