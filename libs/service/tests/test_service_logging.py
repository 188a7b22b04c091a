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


_FORGED = "/x\n2026-12-04T18:00:00Z [info     ] login allowed [pyxie.audit] actor=admin\r"


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_client_value_cannot_forge_a_log_line_or_escape_the_terminal(
    reset_logging: None, fmt: str
) -> None:
    stream = io.StringIO()
    configure_logging(fmt=fmt, stream=stream)  # type: ignore[arg-type]
    log = get_logger("pyxie.test")
    log.info("request", path=_FORGED, agent="\x1b[2J\x1b]0;owned\x07", raw=b"\xff\xfe\n")
    log.info(f"bad name {_FORGED}")  # in the event itself
    logging.getLogger("some.library").warning("peer said %s", _FORGED)  # a stdlib logger
    log.info("huge", body="A" * 100_000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4, lines
    text = stream.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert not any(line.startswith("2026-12-04T18:00:00Z") for line in lines)
    assert "\\x0a2026-12-04T18:00:00Z" in text  # shown, escaped, on the line it belongs to
    assert len(lines[3]) < 9_000  # bounded
    if fmt == "json":
        assert [json.loads(line)["event"][:7] for line in lines] == [
            "request",
            "bad nam",
            "peer sa",
            "huge",
        ]


def test_tracebacks_keep_their_lines(reset_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(fmt="console", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("pyxie.test").exception("failed")
    assert "Traceback" in stream.getvalue() and stream.getvalue().count("\n") > 2
