"""Heartbeats from cloud NATS and the status monitor that marks silent viziers DISCONNECTED."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

from nats.aio.subscription import Subscription
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import heartbeat_subjects, parse_v2c_subject
from pyxie_service import BackgroundTask, NatsBus, get_logger

from pyxie_vzmgr.controllers.registry import VizierRegistry

__all__ = ["HeartbeatListener", "StatusMonitor"]

_log = get_logger("pyxie.vzmgr.status")


class HeartbeatListener:
    """Applies `VizierHeartbeat`s published by vzconn as `V2CMessage`s."""

    def __init__(
        self,
        bus: NatsBus,
        registry: VizierRegistry,
        shards: Iterable[int],
        *,
        on_heartbeat: Callable[[str, cvmsgs.VizierHeartbeat], Awaitable[object]] | None = None,
    ) -> None:
        self._bus = bus
        self._on_heartbeat = on_heartbeat
        self._registry = registry
        self._subjects = heartbeat_subjects(shards)
        self._subscriptions: list[Subscription] = []

    async def start(self) -> None:
        for subject in self._subjects:
            self._subscriptions.append(
                await self._bus.client.subscribe(subject, queue="vzmgr", cb=self._on_message)
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _on_message(self, raw: object) -> None:
        subject: str = getattr(raw, "subject", "")
        data: bytes = getattr(raw, "data", b"")
        try:
            await self.handle(subject, data)
        except Exception:
            _log.exception("heartbeat handling failed", subject=subject)

    async def handle(self, subject: str, data: bytes) -> None:
        parsed = parse_v2c_subject(subject)
        if parsed is None:
            return
        subject_vizier = parsed.vizier_id
        envelope = cvmsgs.V2CMessage.FromString(data)
        beat = cvmsgs.VizierHeartbeat()
        if not envelope.msg.Unpack(beat):
            _log.warning("heartbeat subject without a VizierHeartbeat", subject=subject)
            return
        # vzconn sets the envelope's id from the bridge registration; a vizier cannot beat for
        # another one by naming it in the payload.
        if not (envelope.vizier_id == subject_vizier == beat.vizier_id):
            _log.warning("heartbeat with mismatched vizier ids dropped", subject=subject)
            return
        try:
            vizier_id = uuid.UUID(subject_vizier)
        except ValueError:
            return
        if not await self._registry.record_heartbeat(vizier_id, beat):
            _log.info("heartbeat from an unknown vizier", vizier_id=subject_vizier)
            return
        if self._on_heartbeat is not None:
            await self._on_heartbeat(subject_vizier, beat)


class StatusMonitor:
    """Every `interval` seconds: viziers silent for longer than the timeout → DISCONNECTED.

    `task` is the `BackgroundTask` to run (the service starts and stops it).
    """

    def __init__(
        self,
        registry: VizierRegistry,
        *,
        interval_seconds: float,
        timeout_seconds: float,
        updating_timeout_seconds: float,
    ) -> None:
        self._registry = registry
        self._timeout = timeout_seconds
        self._updating_timeout = updating_timeout_seconds
        # A database outage must not end the monitor: a failed sweep is logged, the next retries.
        self.task = BackgroundTask.periodic(
            "vzmgr-status-monitor", self._sweep_and_log, interval_seconds=interval_seconds
        )

    async def sweep(self) -> int:
        return await self._registry.mark_silent_viziers_disconnected(
            timeout_seconds=self._timeout, updating_timeout_seconds=self._updating_timeout
        )

    async def _sweep_and_log(self) -> None:
        changed = await self.sweep()
        if changed:
            _log.info("viziers marked disconnected", count=changed)
