"""pyxie_cli: the ``px`` command (run PxL scripts on a vizier, list bundled scripts)."""

from pyxie_cli.main import (
    EXIT_SCRIPT_ERROR,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Executor,
    NotedResult,
    execute_on_vizier,
    main,
)

__all__ = [
    "EXIT_SCRIPT_ERROR",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Executor",
    "NotedResult",
    "execute_on_vizier",
    "main",
]
