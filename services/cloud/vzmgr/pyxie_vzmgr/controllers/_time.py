"""Timestamps on the wire are Unix nanoseconds (0 = unset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["from_ns", "to_ns"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND: Final = timedelta(microseconds=1)


def to_ns(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return (moment - _EPOCH) // _ONE_MICROSECOND * 1000


def from_ns(ns: int) -> datetime | None:
    if ns <= 0:
        return None
    return _EPOCH + timedelta(microseconds=ns // 1000)
