"""Structured logging: structlog over stdlib logging, JSON or console lines.

Context bound with `structlog.contextvars` (the request interceptor binds `request_id` and
`method`) appears on every line logged while handling that RPC, including lines from stdlib
loggers of other libraries.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.typing import Processor

__all__ = [
    "MAX_LOG_VALUE_CHARS",
    "LogFormat",
    "LogLevel",
    "configure_logging",
    "get_logger",
    "neutralise",
]

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]

_HANDLER_NAME = "pyxie-service"

# Log lines carry values clients chose (paths, names, descriptions, captured traffic): one value
# must never look like a second log line, move the terminal's cursor or bloat the log. String
# values are cut at this many characters, and control characters (CR/LF, ESC of ANSI sequences,
# C1 controls, DEL) and bidi overrides are shown escaped. Tracebacks keep their lines.
MAX_LOG_VALUE_CHARS: Final = 8192
_KEEP_MULTILINE: Final = frozenset({"exception", "exc_info", "stack", "stack_info"})
_UNSAFE_CHARS: Final = frozenset(
    [chr(c) for c in range(0x20) if c != 0x09]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def neutralise(text: str, max_chars: int = MAX_LOG_VALUE_CHARS) -> str:
    """``text`` as one safe log value: controls escaped, valid UTF-8, at most ``max_chars``."""
    head = text[: max_chars + 1]
    if not _UNSAFE_CHARS.isdisjoint(head):
        head = "".join(_escaped(ch) if ch in _UNSAFE_CHARS else ch for ch in head)
    head = head.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(head) > max_chars:
        return head[: max_chars - 1] + "…"
    return head


def _neutralise_values(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key in _KEEP_MULTILINE:
            continue
        if isinstance(value, str):
            event_dict[key] = neutralise(value)
        elif isinstance(value, bytes):
            event_dict[key] = neutralise(value.decode("utf-8", "backslashreplace"))
    return event_dict


_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(
    *, level: LogLevel = "info", fmt: LogFormat = "json", stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to one handler on the root logger.

    Calling it again replaces the handler it installed before (tests log into a buffer).
    """
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger used before configure_logging must still pick up the config.
        cache_logger_on_first_use=False,
    )
    renderer: list[Processor]
    if fmt == "json":
        renderer = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=False)]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _neutralise_values,
            *renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger; `name` is the dotted component name (`pyxie.grpc`, …)."""
    return structlog.stdlib.get_logger(name)
