"""Fixtures: vzmgr (real PostgreSQL, cloud NATS) and vzconn over TLS from a test CA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pyxie_crypto import CertificateAuthority
from pyxie_jwt import SigningKey
from pyxie_vzconn.testing import CloudFactory, CloudSide, running_vzconn
from pyxie_vzmgr.testing import running_vzmgr


@pytest.fixture
def cloud_side(fresh_database: str, nats_server: Any, tmp_path: Path) -> CloudFactory:
    """`async with cloud_side(**vzconn_overrides) as cloud:` — vzmgr and vzconn running."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[CloudSide]:
        key = SigningKey.generate()
        ca_dir = tmp_path / "ca"
        ca = CertificateAuthority.create("vzconn test CA")
        ca.save(ca_dir)
        async with (
            running_vzmgr(fresh_database, nats_server.url, cloud_key=key) as vzmgr,
            running_vzconn(
                nats_server.url,
                vzmgr.address,
                cloud_key=key,
                tls_ca_dir=ca_dir,
                **overrides,
            ) as vzconn,
        ):
            yield CloudSide(vzmgr, vzconn, key, ca, ca_dir)

    return start
