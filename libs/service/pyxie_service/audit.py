"""Security audit events: one record shape, one logger, pluggable durable sinks.

Every security-relevant decision (login, key created/deleted/used, deploy-key use, vizier
registered, tracepoint deployed or refused, update applied or refused) is recorded with
`audit(...)`. The record always goes to the `pyxie.audit` logger as one structured line; sinks
added with `add_audit_sink` also receive it (a service that owns a PostgreSQL audit table adds
one that inserts the row). A failing sink is logged and never breaks the caller's decision.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, cast

from pyxie_service.log import get_logger

__all__ = [
    "AuditEvent",
    "AuditOutcome",
    "AuditSink",
    "add_audit_sink",
    "audit",
    "event_from_json",
    "event_to_json",
    "publish_audit_events",
    "publishing_sink",
    "remove_audit_sink",
]

AuditOutcome = Literal["allowed", "refused", "applied", "failed"]

_log = get_logger("pyxie.audit")


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    """One security event.

    `action` is a dotted verb (`update.apply`, `tracepoint.deploy`, `apikey.create`);
    `actor` who asked (user id, key id, `service:<name>`, `operator`); `target` what it was
    about (vizier id, tracepoint name, key id); `org_id` the owning org when known;
    `reason` a human sentence for refusals and failures; `details` small extra fields
    (never secrets: callers pass ids and digests, not tokens or keys).
    """

    action: str
    outcome: AuditOutcome
    actor: str
    target: str = ""
    org_id: str = ""
    reason: str = ""
    details: Mapping[str, str] = dataclasses.field(default_factory=dict)
    at: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )


AuditSink = Callable[[AuditEvent], None]

_sinks: list[AuditSink] = []
_sinks_lock = threading.Lock()


def add_audit_sink(sink: AuditSink) -> None:
    """Send every later audit event to `sink` too (called synchronously, must be quick)."""
    with _sinks_lock:
        _sinks.append(sink)


def remove_audit_sink(sink: AuditSink) -> None:
    with _sinks_lock:
        if sink in _sinks:
            _sinks.remove(sink)


def audit(
    action: str,
    outcome: AuditOutcome,
    *,
    actor: str,
    target: str = "",
    org_id: str = "",
    reason: str = "",
    **details: str,
) -> AuditEvent:
    """Record one audit event on the `pyxie.audit` logger and every registered sink."""
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor=actor,
        target=target,
        org_id=org_id,
        reason=reason,
        details=dict(details),
    )
    _log.info(
        "audit",
        action=action,
        outcome=outcome,
        actor=actor,
        target=target,
        org_id=org_id,
        reason=reason,
        **details,
    )
    with _sinks_lock:
        sinks = list(_sinks)
    for sink in sinks:
        try:
            sink(event)
        except Exception:
            _log.exception("audit sink failed", action=action, sink=repr(sink))
    return event


_in_flight: set[asyncio.Task[None]] = set()
_OUTCOMES: frozenset[str] = frozenset({"allowed", "refused", "applied", "failed"})


def event_to_json(event: AuditEvent) -> bytes:
    """The wire form of an event between services (NATS)."""
    record = dataclasses.asdict(event)
    record["at"] = event.at.isoformat()
    return json.dumps(record, ensure_ascii=True).encode()


def event_from_json(data: bytes) -> AuditEvent:
    """An event from its wire form; ValueError when it is not one."""
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("an audit event is a JSON object")
    texts = {
        k: raw.get(k, "") for k in ("action", "outcome", "actor", "target", "org_id", "reason")
    }
    if not all(isinstance(v, str) for v in texts.values()) or not texts["action"]:
        raise ValueError("audit event fields must be strings and action must be set")
    if texts["outcome"] not in _OUTCOMES:
        raise ValueError(f"unknown audit outcome {texts['outcome']!r}")
    details = raw.get("details") or {}
    if not isinstance(details, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in details.items()
    ):
        raise ValueError("audit details must map strings to strings")
    at = datetime.datetime.fromisoformat(str(raw.get("at")))
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return AuditEvent(
        action=texts["action"],
        outcome=cast(AuditOutcome, texts["outcome"]),
        actor=texts["actor"],
        target=texts["target"],
        org_id=texts["org_id"],
        reason=texts["reason"],
        details=details,
        at=at,
    )


def publishing_sink(
    publish: Callable[[bytes], Awaitable[None]], loop: asyncio.AbstractEventLoop
) -> AuditSink:
    """A sink that sends each event (JSON) with `publish` on `loop` (e.g. to NATS).

    `audit()` may be called from any thread; the publish runs on the service's loop and a
    failure is logged, never raised into the caller.
    """

    async def send(event: AuditEvent) -> None:
        try:
            await publish(event_to_json(event))
        except Exception:
            _log.exception("audit event not published", action=event.action)

    def sink(event: AuditEvent) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task = loop.create_task(send(event))
            _in_flight.add(task)  # a task nobody references may be collected before it runs
            task.add_done_callback(_in_flight.discard)
        else:
            asyncio.run_coroutine_threadsafe(send(event), loop)

    return sink


def publish_audit_events(
    publish: Callable[[bytes], Awaitable[None]],
) -> Callable[[], Awaitable[None]]:
    """Send this process's audit events with `publish` from now on (call in the service's loop).

    Returns the closer that stops it (register it with `Service.add_closer`).
    """
    sink = publishing_sink(publish, asyncio.get_running_loop())
    add_audit_sink(sink)

    async def stop() -> None:
        remove_audit_sink(sink)

    return stop
