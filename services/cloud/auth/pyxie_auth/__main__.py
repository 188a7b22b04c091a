"""`python -m pyxie_auth`: migrate the auth tables, then serve AuthService and APIKeyService."""

from __future__ import annotations

from pyxie_service import Service, run_service

from pyxie_auth.service import build_service, identity_provider_from, migrate
from pyxie_auth.settings import AuthSettings


async def wire(settings: AuthSettings) -> Service:
    await migrate(settings)
    return build_service(settings, identity_provider=identity_provider_from(settings))


if __name__ == "__main__":
    raise SystemExit(run_service(AuthSettings, wire))
