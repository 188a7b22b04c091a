"""Security audit events: one record shape, one logger, pluggable durable sinks.

Every security-relevant decision (login, key created/deleted/used, deploy-key use, vizier
registered, tracepoint deployed or refused, update applied or refused) is recorded with
`audit(...)`. The record always goes to the `pyxie.audit` logger as one structured line; sinks
added with `add_audit_sink` also receive it (a service that owns a PostgreSQL audit table adds
one that inserts the row). A failing sink is logged and never breaks the caller's decision.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Callable, Mapping
from typing import Literal

from pyxie_service.log import get_logger

__all__ = [
    "AuditEvent",
    "AuditOutcome",
    "AuditSink",
    "add_audit_sink",
    "audit",
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
