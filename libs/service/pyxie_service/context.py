"""Per-RPC context that handlers read: the verified claims and the request id."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TypeVar

from pyxie_jwt import BaseClaims, Claims

from pyxie_service.errors import PermissionDenied, Unauthenticated

__all__ = [
    "current_claims",
    "current_claims_or_none",
    "current_request_id",
    "require_claims",
]

_C = TypeVar("_C", bound=BaseClaims)

_claims: ContextVar[Claims | None] = ContextVar("pyxie_claims", default=None)
_request_id: ContextVar[str | None] = ContextVar("pyxie_request_id", default=None)


def current_claims() -> Claims:
    """The verified claims of the RPC being handled; Unauthenticated on a public method."""
    claims = _claims.get()
    if claims is None:
        raise Unauthenticated("this call carries no verified auth token")
    return claims


def current_claims_or_none() -> Claims | None:
    """The verified claims, or None when the method is public and no token was checked."""
    return _claims.get()


def require_claims(*kinds: type[_C]) -> _C:
    """The verified claims if they are one of `kinds`, else PermissionDenied.

    `require_claims(ServiceClaims)` limits a method to other services.
    """
    claims = current_claims()
    if not isinstance(claims, kinds):
        allowed = ", ".join(kind.__name__ for kind in kinds)
        raise PermissionDenied(f"this method accepts only {allowed} tokens")
    return claims


def current_request_id() -> str | None:
    """The request id of the RPC being handled (None outside an RPC)."""
    return _request_id.get()


def set_claims(claims: Claims | None) -> None:
    """For the auth interceptor only."""
    _claims.set(claims)


def set_request_id(request_id: str | None) -> None:
    """For the request interceptor only."""
    _request_id.set(request_id)
