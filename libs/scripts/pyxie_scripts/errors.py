"""What the script loader raises on purpose."""

from __future__ import annotations

__all__ = ["ScriptError", "ScriptNotFoundError", "VisSpecError"]


class ScriptError(Exception):
    """Root of everything pyxie_scripts raises on purpose."""


class ScriptNotFoundError(ScriptError, LookupError):
    """A bundled script name that does not exist."""


class VisSpecError(ScriptError, ValueError):
    """A vis spec that cannot produce exec functions (unknown argument, undeclared variable)."""
