"""UUID conversions between the public API (`px.uuidpb.UUID`, dashed strings) and internal ids."""

from __future__ import annotations

import uuid

from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service import InvalidArgument

__all__ = ["parse_uuid", "uuid_from_pb", "uuid_to_pb"]


def parse_uuid(text: str, what: str) -> str:
    """The canonical dashed lower-case form of `text`, else InvalidArgument naming `what`."""
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        raise InvalidArgument(f"missing/malformed {what}") from None


def uuid_to_pb(text: str) -> uuid_pb2.UUID:
    """`00112233-…-eeff` → `UUID{high_bits=0x0011223344556677, low_bits=0x8899aabbccddeeff}`."""
    value = uuid.UUID(text).int
    return uuid_pb2.UUID(high_bits=value >> 64, low_bits=value & ((1 << 64) - 1))


def uuid_from_pb(message: uuid_pb2.UUID, what: str) -> str:
    value = (message.high_bits << 64) | message.low_bits
    if value == 0:
        raise InvalidArgument(f"missing/malformed {what}")
    return str(uuid.UUID(int=value))
