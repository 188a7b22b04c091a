"""The one exception tree of pyxie_jwt."""

from __future__ import annotations

__all__ = [
    "AudienceMismatchError",
    "BadSignatureError",
    "ExpiredTokenError",
    "InvalidClaimsError",
    "InvalidSigningKeyError",
    "InvalidTokenError",
    "IssuerMismatchError",
    "JWTError",
    "MalformedTokenError",
    "NotYetValidTokenError",
    "UnsupportedAlgorithmError",
]


class JWTError(Exception):
    """Root of every error raised by pyxie_jwt."""


class InvalidSigningKeyError(JWTError, ValueError):
    """A signing key is unusable (too short, empty)."""


class InvalidTokenError(JWTError):
    """A token was rejected. Callers that only need yes/no catch this one."""


class MalformedTokenError(InvalidTokenError):
    """The token is not a well-formed compact JWS (segments, base64, JSON)."""


class UnsupportedAlgorithmError(InvalidTokenError):
    """The token header names an algorithm other than HS256 (including `none`)."""


class BadSignatureError(InvalidTokenError):
    """The HS256 signature does not match: wrong key, or header/payload tampered with."""


class ExpiredTokenError(InvalidTokenError):
    """`exp` is in the past (beyond the clock-skew leeway)."""


class NotYetValidTokenError(InvalidTokenError):
    """`nbf` or `iat` is in the future (beyond the clock-skew leeway)."""


class AudienceMismatchError(InvalidTokenError):
    """`aud` is missing or does not name this plane."""


class IssuerMismatchError(InvalidTokenError):
    """`iss` is missing or is not Pyxie's issuer."""


class InvalidClaimsError(InvalidTokenError):
    """A required claim is missing or ill-typed, e.g. a service token without ServiceID."""
