"""Password hashing with argon2id; failure paths cost as much as success paths."""

from __future__ import annotations

import asyncio
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pyxie_service import InvalidArgument

__all__ = ["MIN_PASSWORD_CHARS", "Passwords"]

# NIST SP 800-63B: at least 8 characters for a memorised secret.
MIN_PASSWORD_CHARS: Final = 8
# argon2 itself hashes anything, but a megabyte "password" is an attack, not a password.
MAX_PASSWORD_CHARS: Final = 1024


class Passwords:
    """Hash and verify passwords off the event loop (argon2 is deliberately slow)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher if hasher is not None else PasswordHasher()
        # Verified against when the email is unknown, so that "no such user" takes as long
        # as "wrong password" and the two cannot be told apart by timing.
        self._decoy_hash = self._hasher.hash("pyxie decoy password, never a real one")

    @staticmethod
    def check_acceptable(password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidArgument(f"password must be at least {MIN_PASSWORD_CHARS} characters")
        if len(password) > MAX_PASSWORD_CHARS:
            raise InvalidArgument(f"password must be at most {MAX_PASSWORD_CHARS} characters")

    async def hash(self, password: str) -> str:
        self.check_acceptable(password)
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash costs a decoy verification."""
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        target = stored_hash if stored_hash is not None else self._decoy_hash
        try:
            matched = await asyncio.to_thread(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(matched) and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
