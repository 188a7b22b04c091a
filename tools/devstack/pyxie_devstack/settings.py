"""Devstack settings: the one place that reads ``PL_*`` environment variables.

The state directory (``PL_STATE_DIR``, else the XDG state home) is resolved by
:func:`pyxie_client.local.state_dir`, so clients find a stack where the devstack put it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pyxie_client.local import default_state_dir, state_dir

from pyxie_devstack._errors import SettingsError

__all__ = ["DevstackSettings", "SettingsError", "default_state_dir", "load_settings"]


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class DevstackSettings:
    """Where the embedded stack keeps its state, and how patient it is."""

    state_dir: Path
    # Account PostgreSQL runs as when we are root and user namespaces are unavailable.
    pg_run_as_user: str = "nobody"
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 15.0


def load_settings(environ: Mapping[str, str] | None = None) -> DevstackSettings:
    """Read ``PL_STATE_DIR``, ``PL_PG_RUN_AS_USER``, ``PL_DEVSTACK_START_TIMEOUT_S`` and
    ``PL_DEVSTACK_STOP_TIMEOUT_S`` (``environ`` defaults to the process environment)."""
    env = os.environ if environ is None else environ
    return DevstackSettings(
        state_dir=state_dir(env),
        pg_run_as_user=env.get("PL_PG_RUN_AS_USER", "") or "nobody",
        start_timeout_s=_float(env, "PL_DEVSTACK_START_TIMEOUT_S", 60.0),
        stop_timeout_s=_float(env, "PL_DEVSTACK_STOP_TIMEOUT_S", 15.0),
    )
