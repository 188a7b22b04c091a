"""Call metadata for outbound agent RPCs: a fresh short-lived HS256 service JWT per call."""

from __future__ import annotations

from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, agent_service_claims, sign_token
from pyxie_service import AUTHORIZATION_METADATA_KEY

__all__ = ["ServiceCallCredentials"]


class ServiceCallCredentials:
    """`authorization: bearer <jwt>` for Kelvin and broker calls (Pixie: 60 s, nbf -60 s).

    A token is minted per call: the lifetime is short on purpose, and an agent's calls are few
    (one stream per sink and query), so caching would only add expiry bookkeeping.
    """

    def __init__(
        self, signing_key: SigningKey, *, service_id: str, audience: str = VIZIER_AUDIENCE
    ) -> None:
        self._key = signing_key
        self._service_id = service_id
        self._audience = audience

    def token(self) -> str:
        claims = agent_service_claims(service_id=self._service_id, audience=self._audience)
        return sign_token(claims, self._key)

    def __call__(self) -> list[tuple[str, str]]:
        return [(AUTHORIZATION_METADATA_KEY, f"bearer {self.token()}")]
