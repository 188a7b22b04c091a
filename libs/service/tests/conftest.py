"""Fixtures for the service-kit tests: the example service on port 0, logs, a real NATS."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from pyxie_service import configure_logging

# Test modules import their helpers from service_kit_support (importlib mode has no rootdir on
# sys.path); the module name is unique in the repository.
sys.path.insert(0, str(Path(__file__).parent))

from service_kit_support import LogLines, NatsServer, RunningEcho, start_echo


@pytest.fixture
async def echo() -> AsyncIterator[RunningEcho]:
    running = await start_echo()
    yield running
    await running.channel.close(None)
    await running.service.stop()


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    buffer = io.StringIO()
    configure_logging(level="debug", fmt="json", stream=buffer)
    yield LogLines(buffer)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "pyxie-service"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
