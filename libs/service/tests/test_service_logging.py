"""Structured logging: one JSON object per line, stdlib loggers included, context merged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pyxie_service import configure_logging, get_logger
from service_kit_support import LogLines


@pytest.fixture
def reset_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "pyxie-service"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def test_json_lines_carry_level_logger_timestamp_and_fields(log_lines: LogLines) -> None:
    get_logger("pyxie.test").info("vizier registered", vizier_id="v-1")
    [record] = log_lines.records()
    assert record["event"] == "vizier registered"
    assert record["vizier_id"] == "v-1"
    assert record["level"] == "info"
    assert record["logger"] == "pyxie.test"
    assert record["timestamp"].endswith("Z")


def test_stdlib_loggers_of_other_libraries_are_structured_too(log_lines: LogLines) -> None:
    logging.getLogger("some.library").warning("disk %s is full", "/var")
    [record] = log_lines.records()
    assert record["event"] == "disk /var is full"
    assert record["level"] == "warning"
    assert record["logger"] == "some.library"


def test_bound_context_appears_on_every_line(log_lines: LogLines) -> None:
    with structlog.contextvars.bound_contextvars(request_id="r-9"):
        get_logger("pyxie.test").info("one")
        logging.getLogger("other").warning("two")
    get_logger("pyxie.test").info("three")
    records = log_lines.records()
    assert [r.get("request_id") for r in records] == ["r-9", "r-9", None]


def test_level_setting_filters_lower_levels(reset_logging: None) -> None:
    buffer = io.StringIO()
    configure_logging(level="warning", fmt="json", stream=buffer)
    get_logger("pyxie.test").info("hidden")
    get_logger("pyxie.test").warning("shown")
    assert [json.loads(line)["event"] for line in buffer.getvalue().splitlines()] == ["shown"]


def test_console_format_is_human_readable(reset_logging: None) -> None:
    buffer = io.StringIO()
    configure_logging(level="info", fmt="console", stream=buffer)
    get_logger("pyxie.test").info("agent registered", agent_id="a-1")
    line = buffer.getvalue()
    assert "agent registered" in line
    assert "agent_id=a-1" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_configuring_twice_keeps_a_single_handler(reset_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(stream=second)
    get_logger("pyxie.test").info("once")
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1
