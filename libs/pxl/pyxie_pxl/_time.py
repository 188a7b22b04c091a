"""Compile-time time helpers: relative times ('-5m'), durations, absolute time strings."""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "NS_PER_UNIT",
    "format_duration",
    "parse_duration",
    "parse_time_string",
]

NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
}

# Pixie searches (not full-matches) for this, so '-5m' and 'last -5m' both work; 'ms' is tried
# before 'm' so '-100ms' is milliseconds.
_RELATIVE = re.compile(r"([-]?[0-9]+)(ms|m|s|h|d)")

# absl's %E4Y-%m-%d %H:%M:%E*S %z, e.g. "2024-03-01 12:00:00.5 +0000".
_ABSOLUTE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"\s*([+-]\d{2}:?\d{2}|Z)\s*$"
)


def parse_duration(text: str) -> int | None:
    """Signed nanoseconds of a relative duration string, or None when it holds none."""
    match = _RELATIVE.search(text)
    if match is None:
        return None
    return int(match.group(1)) * NS_PER_UNIT[match.group(2)]


def _parse_absolute(text: str) -> int | None:
    match = _ABSOLUTE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    frac = match.group(7) or ""
    zone = match.group(8)
    if zone == "Z":
        offset = dt.timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError:
        return None
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0") if frac else 0)


def parse_time_string(text: str, now_ns: int) -> int | None:
    """A start/end time string as absolute ns: relative to ``now_ns`` or an absolute time."""
    relative = parse_duration(text)
    if relative is not None:
        return now_ns + relative
    return _parse_absolute(text)


_FORMAT_UNITS = (
    ("d", NS_PER_UNIT["d"]),
    ("h", NS_PER_UNIT["h"]),
    ("m", NS_PER_UNIT["m"]),
    ("s", NS_PER_UNIT["s"]),
    ("ms", NS_PER_UNIT["ms"]),
)


def format_duration(ns: int) -> str:
    """Truncate to the largest whole unit among d/h/m/s/ms: -3600e9 -> '-1h'."""
    sign = "-" if ns < 0 else ""
    magnitude = abs(ns)
    for unit, size in _FORMAT_UNITS:
        if magnitude >= size:
            return f"{sign}{magnitude // size}{unit}"
    return f"{sign}{magnitude}ns"
