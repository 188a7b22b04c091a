"""Checks for free text a caller sends (descriptions, names) before it reaches storage.

PostgreSQL refuses a NUL character in a text value; unchecked, a NUL in a description failed
deep inside the database driver and the caller got INTERNAL. ``check_text`` turns that (and an
overlong value) into INVALID_ARGUMENT naming the field; ``for_log`` makes an untrusted value
safe to store in an audit row or a log line (NUL and other control characters escaped, length
bounded).
"""

from __future__ import annotations

from typing import Final

from pyxie_service.errors import InvalidArgument

__all__ = ["MAX_DESCRIPTION_CHARS", "check_text", "for_log"]

# API keys and deploy keys alike.
MAX_DESCRIPTION_CHARS: Final = 256
_LOG_CHARS: Final = 256


def check_text(value: str, *, field: str, max_chars: int | None = None) -> str:
    """``value`` unchanged, or InvalidArgument for a NUL character or more than ``max_chars``."""
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain a NUL character")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidArgument(f"{field} is longer than {max_chars} characters")
    return value


def for_log(value: str, max_chars: int = _LOG_CHARS) -> str:
    """An untrusted value as storable text: control characters escaped, at most ``max_chars``."""
    clipped = value[:max_chars]
    escaped = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in clipped
    )
    return escaped + ("…" if len(value) > max_chars else "")
