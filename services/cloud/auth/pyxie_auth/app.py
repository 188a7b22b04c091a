"""`build`: the auth service's only composition root (used by `__main__` and by tests)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from nats.aio.msg import Msg
from pyxie_db import open_migrated, session_factory
from pyxie_proto.cloud.subjects import AUDIT_EVENTS_SUBJECT
from pyxie_service import BackgroundTask, NatsBus, Service
from pyxie_service.audit import add_audit_sink, remove_audit_sink

from pyxie_auth.controllers import (
    Accounts,
    APIKeys,
    APIKeyServicer,
    AuthServicer,
    Clock,
    Passwords,
    TokenLifetimes,
    TokenMinter,
    api_key_registration,
    auth_registration,
    utc_now,
)
from pyxie_auth.controllers._audit import AuditLog, AuditServicer, audit_registration
from pyxie_auth.controllers._profiles import Profiles
from pyxie_auth.controllers.profile_servicers import profile_registrations
from pyxie_auth.oidc import IdentityProvider, OIDCProvider
from pyxie_auth.schema import MIGRATIONS
from pyxie_auth.settings import AuthSettings

__all__ = ["build", "identity_provider_from"]


def identity_provider_from(settings: AuthSettings) -> IdentityProvider | None:
    issuer = settings.oidc_issuer_url
    if issuer is None:
        return None
    return OIDCProvider(
        issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        timeout_seconds=settings.oidc_timeout_seconds,
    )


async def build(
    settings: AuthSettings,
    *,
    identity_provider: IdentityProvider | None = None,
    password_hasher: PasswordHasher | None = None,
    clock: Clock = utc_now,
) -> Service:
    """Migrate the auth tables, then assemble AuthService, APIKeyService and the profile
    services (px.cloudapi.UserService, OrganizationService) over one pool.

    Test seams: `identity_provider` (default: the OIDC provider the settings name, if any), a
    cheaper `password_hasher` and a `clock`.
    """
    engine = await open_migrated(MIGRATIONS, settings.postgres_dsn.get_secret_value())
    if identity_provider is None:
        identity_provider = identity_provider_from(settings)
    sessions = session_factory(engine)
    tokens = TokenMinter(
        settings.signing_key(),
        audience=settings.domain_name,
        lifetimes=TokenLifetimes(
            login=settings.login_token_lifetime,
            augmented=settings.augmented_token_lifetime,
            api_user=settings.api_user_token_lifetime,
        ),
        clock=clock,
    )
    accounts = Accounts(
        sessions,
        cipher=settings.at_rest_cipher(),
        passwords=Passwords(password_hasher),
        domain=settings.domain_name,
        invite_lifetime=settings.invite_lifetime,
        clock=clock,
    )
    api_keys = APIKeys(sessions, clock=clock)
    audit_log = AuditLog(sessions)
    invite_url = settings.invite_link_base or f"https://{settings.domain_name}/signup?invite_token="
    service = Service(
        settings,
        [
            auth_registration(
                AuthServicer(
                    accounts,
                    api_keys,
                    tokens,
                    identity_provider=identity_provider,
                    clock=clock,
                )
            ),
            api_key_registration(APIKeyServicer(accounts, api_keys, tokens)),
            audit_registration(AuditServicer(audit_log, accounts, tokens)),
            *profile_registrations(accounts, tokens, Profiles(sessions), invite_url=invite_url),
        ],
        name="auth",
    )
    service.add_closer("postgres", engine.dispose)
    add_audit_sink(audit_log.sink)

    async def stop_auditing() -> None:
        remove_audit_sink(audit_log.sink)
        await audit_log.flush()

    service.add_closer("audit log", stop_auditing)
    if settings.audit_events_from_nats:
        # In the background: auth serves logins while NATS is down (its events still reach the
        # table through the sink above) and picks up the other services' events once it is up.
        service.add_task(
            BackgroundTask(
                "audit events from nats", lambda: _receive_audit_events(settings, audit_log)
            )
        )
    return service


async def _receive_audit_events(settings: AuthSettings, audit_log: AuditLog) -> None:
    bus = await NatsBus.connect(settings.nats_url, name="auth")
    try:

        async def on_event(message: Msg) -> None:
            await audit_log.on_message(message.data)

        await bus.client.subscribe(AUDIT_EVENTS_SUBJECT, cb=on_event)
        await asyncio.Event().wait()  # until the service stops (cancellation)
    finally:
        await bus.drain()
