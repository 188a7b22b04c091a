"""The PEM as an agent: settings, collectors started with the ASID, schema in heartbeats,
process events from /proc."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pyxie_agent.testing import FakeMetadataService
from pyxie_pem import PemSettings, ProcessWatcher, pem_service
from pyxie_service import SettingsError
from pyxie_service.natsbus import NatsBus
from pyxie_stirling import ProcessFilter
from pyxie_types import UPID

KEY = "p" * 40


@pytest.fixture
async def bus(nats_server: Any) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats_server.url, name="pem-agent-test")
    yield bus
    await bus.drain()


def test_settings_read_the_table_store_budget_from_pixies_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", KEY)
    monkeypatch.setenv("PL_TABLE_STORE_DATA_LIMIT_MB", "64")
    monkeypatch.setenv("PL_TABLE_STORE_HTTP_EVENTS_PERCENT", "25")
    monkeypatch.setenv("PL_K8S_SELECTOR", "node-a")
    monkeypatch.setenv("PL_EBPF_ENABLED", "false")

    settings = PemSettings.load()
    budget = settings.store_budget()

    assert budget.total_bytes == 64 << 20
    assert budget.reserved_bytes("http_events") == (64 << 20) // 4
    assert settings.k8s_selector == "node-a"
    assert not settings.ebpf_enabled


def test_settings_refuse_a_budget_percentage_over_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", KEY)
    monkeypatch.setenv("PL_TABLE_STORE_HTTP_EVENTS_PERCENT", "140")

    with pytest.raises(SettingsError, match="PL_TABLE_STORE_HTTP_EVENTS_PERCENT"):
        PemSettings.load()


async def test_pem_reports_its_collectors_schema_and_collects_with_its_asid(
    bus: NatsBus,
) -> None:
    settings = PemSettings(
        jwt_signing_key=KEY,
        ebpf_enabled=False,
        host_ip="10.9.0.1",
        heartbeat_interval_s=0.2,
        registration_jitter_max_s=0,
        table_store_data_limit_mb=64,
        process_events_enabled=False,
    )
    async with FakeMetadataService(bus) as metadata:
        pem, _ = pem_service(settings, bus)
        # Collect only this test's process: keeps the /proc scans small.
        pem.process_filter = ProcessFilter(pids=[os.getpid()])
        await pem.start()
        try:
            await metadata.wait_until(lambda: bool(metadata.heartbeats_of(pem.agent.agent_id)))
            first = metadata.heartbeats_of(pem.agent.agent_id)[0]
            await _until(lambda: pem.table_store.table("process_stats").stats().rows > 0)
            batch = pem.table_store.table("process_stats").cursor().next_batch()
        finally:
            await pem.close()

    registration = metadata.registrations[0]
    assert registration.info.collects_data
    assert registration.info.host_info.host_ip == "10.9.0.1"
    assert first.update_info.does_update_schema
    tables = {t.name for t in first.update_info.schema}
    assert {"process_stats", "network_stats", "stirling_error", "probe_status"} <= tables
    assert "http_events" not in tables  # the socket tracer is off
    assert batch is not None
    upids = {UPID.from_bytes(raw) for raw in batch.column("upid").to_pylist()}
    assert {u.asid for u in upids} == {pem.agent.asid}
    assert os.getpid() in {u.pid for u in upids}


def test_process_watcher_reports_a_child_once_as_created_and_then_as_terminated() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        watcher = ProcessWatcher(lambda: 7, ProcessFilter(pids=[os.getpid(), child.pid]))
        created, terminated = watcher()
        again_created, _ = watcher()
        child.kill()
        child.wait()
        _, terminated = watcher()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    by_pid = {p.pid: p for p in created}
    assert set(by_pid) == {os.getpid(), child.pid}
    assert "time.sleep(60)" in by_pid[child.pid].cmdline
    upid = by_pid[child.pid].upid
    assert UPID.from_int(upid.high << 64 | upid.low).asid == 7
    assert not again_created
    assert [t.upid for t in terminated] == [upid]


async def _until(condition: Any, timeout_s: float = 15.0) -> None:
    async def poll() -> None:
        # Collectors push from their own thread and signal nothing a test could await.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)
