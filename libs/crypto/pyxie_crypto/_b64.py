"""base64url without padding, as JOSE (RFC 7515 §2) uses it."""

from __future__ import annotations

import base64
import binascii
import re

from pyxie_crypto._errors import MalformedTokenError

__all__ = ["b64url_decode", "b64url_encode"]

_B64URL_ALPHABET = re.compile(rb"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes | memoryview) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_decode(data: bytes | str, what: str) -> bytes:
    raw = data.encode("ascii", errors="replace") if isinstance(data, str) else data
    if not _B64URL_ALPHABET.match(raw) or len(raw) % 4 == 1:
        raise MalformedTokenError(f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedTokenError(f"{what} is not unpadded base64url") from exc
