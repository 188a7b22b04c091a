"""Checks of what callers send: names, PxL text, frequencies, export URLs and headers.

Each failure is InvalidArgument naming the field; secrets are never echoed back in a message.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from typing import Final

from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service import InvalidArgument
from pyxie_service.text import MAX_DESCRIPTION_CHARS, check_text

__all__ = [
    "MASK",
    "check_cluster_ids",
    "check_contents",
    "check_description",
    "check_export_url",
    "check_frequency",
    "check_header_configs",
    "check_script_name",
    "redact_url",
    "uuid_from_pb",
    "uuid_to_pb",
]

# What a secret looks like in an answer. Sending it back in an update keeps the stored value,
# so a client can round-trip a config it read without knowing the secrets.
MASK: Final = "********"

_MAX_NAME_CHARS: Final = 128
# PxL scripts are small programs; 256 KiB is far above any bundled one and bounds the rows.
_MAX_CONTENTS_CHARS: Final = 256 * 1024
# Once a day is the slowest useful export; below 1 s a vizier would be busy only exporting.
_MAX_FREQUENCY_S: Final = 86_400
_MAX_URL_CHARS: Final = 2048
_MAX_HEADERS: Final = 32
_MAX_HEADER_VALUE_CHARS: Final = 4096
# gRPC metadata keys: lower-case token characters; `grpc-` ones are the transport's own.
_HEADER_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_HOST_PORT: Final = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")
_URL_SCHEMES: Final = frozenset({"http", "https", "grpc", "grpcs"})


def uuid_to_pb(value: uuid.UUID) -> uuid_pb2.UUID:
    return uuid_pb2.UUID(high_bits=value.int >> 64, low_bits=value.int & ((1 << 64) - 1))


def uuid_from_pb(message: uuid_pb2.UUID, what: str) -> uuid.UUID:
    value = (message.high_bits << 64) | message.low_bits
    if value == 0:
        raise InvalidArgument(f"missing {what}")
    return uuid.UUID(int=value)


def check_script_name(name: str) -> str:
    name = check_text(name.strip(), field="script_name", max_chars=_MAX_NAME_CHARS)
    if not name:
        raise InvalidArgument("script_name is required")
    if any(not ch.isprintable() for ch in name):
        raise InvalidArgument("script_name must not contain control characters")
    return name


def check_description(description: str) -> str:
    return check_text(description, field="description", max_chars=MAX_DESCRIPTION_CHARS)


def check_contents(contents: str) -> str:
    check_text(contents, field="contents", max_chars=_MAX_CONTENTS_CHARS)
    if not contents.strip():
        raise InvalidArgument("contents (the PxL script) is required")
    return contents


def check_frequency(frequency_s: int) -> int:
    if not 1 <= frequency_s <= _MAX_FREQUENCY_S:
        raise InvalidArgument(f"frequency_s must be between 1 and {_MAX_FREQUENCY_S} seconds")
    return frequency_s


def check_export_url(url: str, field: str = "export_url") -> str:
    """An OTLP/gRPC target: `host:port` or `scheme://host[:port][/path]`."""
    url = url.strip()
    if not url or len(url) > _MAX_URL_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidArgument(f"{field} must be host:port or a URL without spaces")
    if _HOST_PORT.fullmatch(url):
        return url
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme.lower() not in _URL_SCHEMES or not parsed.hostname:
        raise InvalidArgument(f"{field} must be host:port or an http(s)/grpc(s) URL with a host")
    try:
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidArgument(f"{field} has an invalid port") from None
    return url


def redact_url(url: str) -> str:
    """`url` with any password in it masked (answers show where data goes, not credentials)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None:
        return url
    user = parsed.username or ""
    netloc = f"{user}:{MASK}@{parsed.hostname or ''}"
    if parsed.port is not None:
        netloc += f":{parsed.port}"
    return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))


def check_header_configs(
    configs: Mapping[str, str], *, known: Iterable[str], any_header: bool
) -> dict[str, str]:
    """Config key -> value; keys are OTLP header names (lower-cased) when `any_header`."""
    if len(configs) > _MAX_HEADERS:
        raise InvalidArgument(f"at most {_MAX_HEADERS} configs")
    allowed = set(known)
    checked: dict[str, str] = {}
    for raw_key, value in configs.items():
        key = raw_key.strip().lower()
        if any_header:
            if not _HEADER_NAME.fullmatch(key) or key.startswith("grpc-"):
                raise InvalidArgument(f"config {raw_key!r} is not a valid header name")
        elif key not in allowed:
            raise InvalidArgument(f"unknown config {raw_key!r}; known: {sorted(allowed)}")
        if len(value) > _MAX_HEADER_VALUE_CHARS or any(
            ord(ch) < 32 or ord(ch) == 127 for ch in value
        ):
            # The value is a secret: never quote it.
            raise InvalidArgument(
                f"the value of config {key!r} has control characters or is too long"
            )
        if key in checked:
            raise InvalidArgument(f"config {key!r} is given twice")
        checked[key] = value
    return checked


def check_cluster_ids(ids: Iterable[uuid_pb2.UUID]) -> tuple[uuid.UUID, ...]:
    parsed = tuple(dict.fromkeys(uuid_from_pb(i, "cluster id") for i in ids))
    return parsed
