"""A spinner on stderr while a script runs, only when stderr is a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TextIO

__all__ = ["spinner"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# Ten frames a second reads as motion without spending CPU on a 2-core box.
_FRAME_INTERVAL_S = 0.1


async def _spin(stream: TextIO, label: str) -> None:
    started = time.monotonic()
    frame = 0
    try:
        while True:
            elapsed = time.monotonic() - started
            stream.write(f"\r{_FRAMES[frame % len(_FRAMES)]} {label} ({elapsed:.1f}s)")
            stream.flush()
            frame += 1
            await asyncio.sleep(_FRAME_INTERVAL_S)
    finally:
        stream.write("\r\x1b[2K")  # clear the line so the results start clean
        stream.flush()


@contextlib.asynccontextmanager
async def spinner(stream: TextIO, label: str) -> AsyncIterator[None]:
    """Spin on ``stream`` for the duration of the block if it is a TTY; otherwise do nothing."""
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        yield
        return
    task = asyncio.create_task(_spin(stream, label))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
