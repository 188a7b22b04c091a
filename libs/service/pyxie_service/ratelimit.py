"""Failed-attempt limiting: after too many failures a key is locked out for a while.

Used where credentials are checked (password logins by email and by client address, API-key
and token checks by client address): a guesser gets `max_failures` tries per `window_s`, then
every attempt from that key — right or wrong — is refused until `lockout_s` has passed. Only
failures count, so a legitimate client that keeps succeeding is never slowed down. Memory is
bounded: the least recently seen keys are forgotten first.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pyxie_service.errors import ResourceExhausted

__all__ = ["FailureLimiter", "TooManyFailures"]


class TooManyFailures(ResourceExhausted):
    """Refused without checking: this key failed too often (RESOURCE_EXHAUSTED)."""

    def __init__(self, what: str, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"too many failed {what}; try again in {max(1, math.ceil(retry_after_s))} s"
        )


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class FailureLimiter:
    def __init__(
        self,
        what: str,
        *,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self.what = what
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[bytes, _Record] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(key: str) -> bytes:
        # Keys are emails and addresses: keep only a digest in memory.
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()

    def check(self, key: str) -> None:
        """Raise TooManyFailures while `key` is locked out."""
        now = self._clock()
        with self._lock:
            record = self._records.get(self._digest(key))
            if record is not None and record.locked_until > now:
                raise TooManyFailures(self.what, record.locked_until - now)

    def failed(self, key: str) -> bool:
        """Count one failure; True when this failure locked the key out."""
        now = self._clock()
        digest = self._digest(key)
        with self._lock:
            record = self._records.pop(digest, None) or _Record()
            self._records[digest] = record  # most recently seen last
            while len(self._records) > self._max_keys:
                self._records.popitem(last=False)
            record.failures.append(now)
            while record.failures and record.failures[0] <= now - self._window_s:
                record.failures.popleft()
            if len(record.failures) >= self._max_failures:
                record.failures.clear()
                record.locked_until = now + self._lockout_s
                return True
            return False

    def succeeded(self, key: str) -> None:
        """Forget the key's failures (a user who finally typed the right password)."""
        with self._lock:
            record = self._records.get(self._digest(key))
            if record is not None and record.locked_until <= self._clock():
                del self._records[self._digest(key)]
