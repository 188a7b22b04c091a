"""Fixtures: the api in-process on port 0 with fake auth/vzmgr (real gRPC) and real NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pyxie_api.testing import ApiHarness, CloudHarness, running_api, running_cloud


@pytest.fixture
def cloud_secret() -> str:
    return "k" * 48


@pytest.fixture
async def api(
    cloud_secret: str, nats_server: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ApiHarness]:
    """`@pytest.mark.parametrize("api", [{"tls": True, ...settings}], indirect=True)` to vary."""
    overrides = dict(getattr(request, "param", {}))
    tls_ca_dir = tmp_path / "ca" if overrides.pop("tls", False) else None
    async with running_api(
        nats_server.url, cloud_secret, tls_ca_dir=tls_ca_dir, **overrides
    ) as harness:
        yield harness


@pytest.fixture
async def cloud(fresh_database: str, nats_server: Any) -> AsyncIterator[CloudHarness]:
    """The real control plane (auth, vzmgr on PostgreSQL) behind the api; orgs A and B."""
    async with running_cloud(fresh_database, nats_server.url) as harness:
        yield harness
