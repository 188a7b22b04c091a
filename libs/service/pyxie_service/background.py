"""`BackgroundTask`: the one way a service runs a long-lived coroutine next to its RPCs.

A monitor, a watch stream, a bridge or a sweeper is a named coroutine that the service starts
after wiring and stops during shutdown. `BackgroundTask` owns that lifecycle:

- `start()` creates the task (idempotent while it runs);
- `stop()` cancels it and waits at most `stop_timeout_seconds`; it never raises the task's
  cancellation or failure into the caller and is safe to call twice or before `start()`;
- a crash (any exception but cancellation) is logged with its traceback, never lost in an
  unawaited task;
- with `restart=True` the coroutine runs again after it returns or raises, after a backoff that
  doubles from `backoff_initial_seconds` up to `backoff_max_seconds` on consecutive failures and
  starts over after a run that lasted at least `backoff_max_seconds` (as the kubelet restarts
  containers);
- `BackgroundTask.periodic(name, tick, interval_seconds)` calls `tick` every interval; a tick that
  raises is logged and the next tick runs as usual (a database outage must not end a sweeper).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from pyxie_service.log import get_logger

__all__ = ["BackgroundTask"]

_log = get_logger("pyxie.service.background")

DEFAULT_STOP_TIMEOUT_SECONDS: Final = 5.0


class BackgroundTask:
    """A named coroutine run in the background, stopped by cancellation with a timeout."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        restart: bool = False,
        backoff_initial_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        stop_timeout_seconds: float = DEFAULT_STOP_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if backoff_initial_seconds < 0 or backoff_max_seconds < backoff_initial_seconds:
            raise ValueError("need 0 <= backoff_initial_seconds <= backoff_max_seconds")
        if stop_timeout_seconds <= 0:
            raise ValueError("stop_timeout_seconds must be positive")
        self.name = name
        self._run = run
        self._restart = restart
        self._backoff_initial = backoff_initial_seconds
        self._backoff_max = backoff_max_seconds
        self._stop_timeout = stop_timeout_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        # Runs that ended (returned or raised) and were started again; for status and tests.
        self.restarts = 0
        # Runs that raised; the last exception is kept for inspection.
        self.crashes = 0
        self.last_error: BaseException | None = None

    @classmethod
    def periodic(
        cls,
        name: str,
        tick: Callable[[], Awaitable[object]],
        *,
        interval_seconds: float,
        stop_timeout_seconds: float = DEFAULT_STOP_TIMEOUT_SECONDS,
    ) -> BackgroundTask:
        """Call `tick` now and then every `interval_seconds`; a failing tick is logged only."""
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        task: BackgroundTask

        async def every() -> None:
            while True:
                try:
                    await tick()
                except Exception as exc:
                    task.crashes += 1
                    task.last_error = exc
                    _log.exception("background tick failed", task=name)
                await asyncio.sleep(interval_seconds)

        task = cls(name, every, stop_timeout_seconds=stop_timeout_seconds)
        return task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the coroutine in the running loop; a no-op while it is already running."""
        if self.running:
            return
        self._task = asyncio.create_task(self._supervise(), name=self.name)

    async def stop(self) -> None:
        """Cancel the coroutine and wait for it (at most the stop timeout). Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self._stop_timeout)
            if not done:
                _log.error(
                    "background task did not stop in time; abandoning it",
                    task=self.name,
                    timeout=self._stop_timeout,
                )
                return

    async def wait(self) -> None:
        """Wait until the coroutine ended by itself (without restart) or was stopped."""
        task = self._task
        if task is not None:
            await asyncio.wait({task})

    async def _supervise(self) -> None:
        delay = self._backoff_initial
        while True:
            started = self._clock()
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.crashes += 1
                self.last_error = exc
                _log.exception(
                    "background task crashed",
                    task=self.name,
                    restart=self._restart,
                )
            else:
                if not self._restart:
                    _log.debug("background task finished", task=self.name)
                    return
                _log.info("background task ended; restarting", task=self.name)
            if not self._restart:
                return
            if self._clock() - started >= self._backoff_max:
                delay = self._backoff_initial
            await asyncio.sleep(delay)
            delay = min(max(delay * 2, self._backoff_initial), self._backoff_max)
            self.restarts += 1
