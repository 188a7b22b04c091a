"""`python -m pyxie_vzmgr`: wiring only."""

from __future__ import annotations

import asyncio

from pyxie_db import create_engine
from pyxie_service import NatsBus, Service, run_service

from pyxie_vzmgr.app import Vzmgr
from pyxie_vzmgr.schema import MIGRATIONS
from pyxie_vzmgr.settings import VzmgrSettings


async def wire(settings: VzmgrSettings) -> Service:
    dsn = settings.database_url.get_secret_value()
    await asyncio.to_thread(MIGRATIONS.upgrade, dsn)
    bus = await NatsBus.connect(settings.nats_url, name="vzmgr")
    vzmgr = Vzmgr(settings, engine=create_engine(dsn), bus=bus)
    await vzmgr.heartbeats.start()
    vzmgr.monitor.start()
    return vzmgr.service


if __name__ == "__main__":
    raise SystemExit(run_service(VzmgrSettings, wire))
