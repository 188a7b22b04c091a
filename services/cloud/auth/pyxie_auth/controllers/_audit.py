"""The cloud's audit log: events from every cloud service, stored here, read by org admins.

Events recorded in this process reach the table through a `pyxie_service.audit` sink; events of
the other cloud services arrive as JSON on NATS (`AUDIT_EVENTS_SUBJECT`). An event whose org is
not known where it happened (a failed login names only an email) is filed under the org of the
account it names, so an org's admins see the attacks on their users.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pyxie_proto.cloud.auditpb import audit_pb2, audit_pb2_grpc
from pyxie_service import InvalidArgument, ServiceRegistration, get_logger
from pyxie_service.audit import AuditEvent, event_from_json
from pyxie_service.text import for_log
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pyxie_auth.controllers._accounts import Accounts
from pyxie_auth.controllers._caller import caller_of
from pyxie_auth.controllers._tokens import TokenMinter
from pyxie_auth.schema.tables import AuditEventRow, UserRow

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["AUDIT_SERVICE_NAME", "AuditLog", "AuditServicer", "audit_registration"]

AUDIT_SERVICE_NAME: Final = "pyxie.cloud.auditpb.AuditService"
_DEFAULT_LIMIT: Final = 100
_MAX_LIMIT: Final = 1000
# Untrusted text (an attacker's "email", a key description) is stored escaped and bounded.
_FIELD_CHARS: Final = 512

_log = get_logger("pyxie.auth.audit")


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


class AuditLog:
    """Writes events to `audit_events` and reads an org's events back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: set[asyncio.Task[None]] = set()

    async def record(self, event: AuditEvent) -> None:
        async with self._sessions() as session, session.begin():
            org_id = _uuid_or_none(event.org_id)
            if org_id is None and "@" in event.target:
                org_id = await session.scalar(
                    select(UserRow.org_id).where(UserRow.email == event.target.strip().lower())
                )
            session.add(
                AuditEventRow(
                    at=event.at,
                    org_id=org_id,
                    action=for_log(event.action, _FIELD_CHARS),
                    outcome=for_log(event.outcome, _FIELD_CHARS),
                    actor=for_log(event.actor, _FIELD_CHARS),
                    target=for_log(event.target, _FIELD_CHARS),
                    reason=for_log(event.reason, _FIELD_CHARS),
                    details={
                        for_log(k, 64): for_log(v, _FIELD_CHARS)
                        for k, v in list(event.details.items())[:32]
                    },
                )
            )

    def sink(self, event: AuditEvent) -> None:
        """`pyxie_service.audit` sink for this process's own events (stored in the background)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not inside the service (a script): the log line is the record
        task = loop.create_task(self._record_logged(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def on_message(self, data: bytes) -> None:
        """An event another cloud service published on NATS."""
        try:
            event = event_from_json(data)
        except ValueError as exc:
            _log.warning("malformed audit event dropped", error=str(exc))
            return
        await self._record_logged(event)

    async def _record_logged(self, event: AuditEvent) -> None:
        try:
            await self.record(event)
        except Exception:
            _log.exception("audit event not stored", action=event.action)

    async def flush(self) -> None:
        """Wait for events being stored (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def list(
        self, org_id: uuid.UUID, *, since: datetime | None, limit: int, action: str
    ) -> list[AuditEventRow]:
        query = select(AuditEventRow).where(AuditEventRow.org_id == org_id)
        if since is not None:
            query = query.where(AuditEventRow.at >= since)
        if action:
            query = query.where(AuditEventRow.action == action)
        query = query.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """AuditService: an org admin reads the org's audit events, newest first."""

    def __init__(self, log: AuditLog, accounts: Accounts, tokens: TokenMinter) -> None:
        self._log = log
        self._accounts = accounts
        self._tokens = tokens

    async def ListAuditEvents(
        self, request: audit_pb2.ListAuditEventsRequest, context: _Context
    ) -> audit_pb2.ListAuditEventsResponse:
        caller = await caller_of(context, tokens=self._tokens, accounts=self._accounts)
        org_id = caller.org(request.org_id)
        caller.require_admin("read the audit log")
        if request.limit < 0 or request.since_ns < 0:
            raise InvalidArgument("limit and since_ns must not be negative")
        limit = min(request.limit or _DEFAULT_LIMIT, _MAX_LIMIT)
        since = datetime.fromtimestamp(request.since_ns / 1e9, UTC) if request.since_ns else None
        rows = await self._log.list(org_id, since=since, limit=limit, action=request.action)
        return audit_pb2.ListAuditEventsResponse(
            events=[
                audit_pb2.AuditEvent(
                    at_ns=_ns(row.at),
                    action=row.action,
                    outcome=row.outcome,
                    actor=row.actor,
                    target=row.target,
                    org_id=str(row.org_id),
                    reason=row.reason,
                    details={str(k): str(v) for k, v in row.details.items()},
                )
                for row in rows
            ]
        )


def audit_registration(servicer: AuditServicer) -> ServiceRegistration:
    return ServiceRegistration(
        AUDIT_SERVICE_NAME,
        lambda server: audit_pb2_grpc.add_AuditServiceServicer_to_server(servicer, server),
    )
