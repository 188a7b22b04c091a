"""Helpers for tests that need a running vzconn (its own tests and the connector's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pyxie_jwt import SigningKey
from pyxie_service import NatsBus

from pyxie_vzconn.app import Vzconn
from pyxie_vzconn.settings import VzconnSettings

__all__ = ["running_vzconn"]


@asynccontextmanager
async def running_vzconn(
    nats_url: str,
    vzmgr_addr: str,
    *,
    cloud_key: SigningKey,
    tls_ca_dir: Path | None,
    grpc_port: int = 0,
    **overrides: Any,
) -> AsyncIterator[Vzconn]:
    """vzconn on 127.0.0.1 with a server certificate from the CA in `tls_ca_dir` (None = no TLS)."""
    settings = VzconnSettings(
        jwt_signing_key=SecretStr(cloud_key.reveal_text()),
        nats_url=nats_url,
        vzmgr_addr=vzmgr_addr,
        tls_enabled=tls_ca_dir is not None,
        tls_ca_dir=tls_ca_dir,
        grpc_host="127.0.0.1",
        grpc_port=grpc_port,
        metrics_enabled=False,
        shutdown_grace_seconds=0.2,
        log_format="console",
        **overrides,
    )
    bus = await NatsBus.connect(nats_url, name="vzconn-test")
    vzconn = Vzconn(settings, bus=bus)
    await vzconn.service.start()
    try:
        yield vzconn
    finally:
        await vzconn.service.stop()
