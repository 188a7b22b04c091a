"""The exception tree of pyxie_stirling."""

from __future__ import annotations

__all__ = ["BPFUnavailableError", "SourceInitError", "StirlingError"]


class StirlingError(Exception):
    """Root of every error raised by the collectors."""


class SourceInitError(StirlingError):
    """A source could not start (its tables stay empty; the other sources keep running)."""


class BPFUnavailableError(SourceInitError):
    """eBPF cannot be used here: bcc missing, not root, or the kernel refused the program."""
