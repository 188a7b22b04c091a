"""`AuthSettings`: everything the auth service reads from `PL_*` variables, once, at start."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pyxie_crypto import AtRestCipher, DataKey, InvalidKeyError
from pyxie_jwt import (
    API_USER_TOKEN_LIFETIME,
    USER_AUGMENTED_TOKEN_LIFETIME,
    USER_LOGIN_TOKEN_LIFETIME,
)
from pyxie_service import ServiceSettings

__all__ = ["AUTH_GRPC_PORT", "DEFAULT_CLOUD_DOMAIN", "AuthSettings"]

AUTH_GRPC_PORT = 50100
DEFAULT_CLOUD_DOMAIN = "pyxie.local"
# Pixie's invite links are valid for a week.
_INVITE_LIFETIME = timedelta(days=7)


class AuthSettings(ServiceSettings):
    """`PL_GRPC_PORT` (50100), `PL_POSTGRES_DSN`, `PL_JWT_SIGNING_KEY` (the cloud key),
    `PL_DOMAIN_NAME` (audience of every cloud token), `PL_DATABASE_KEY` (base64 of 32 bytes: seals
    secrets at rest), optional `PL_OIDC_ISSUER` / `PL_OIDC_CLIENT_ID` / `PL_OIDC_CLIENT_SECRET`,
    and token lifetimes in seconds.
    """

    grpc_port: int = Field(default=AUTH_GRPC_PORT, ge=0, le=65535)
    postgres_dsn: SecretStr
    # The cloud's domain; it is the audience of every token the cloud mints or accepts.
    domain_name: str = Field(default=DEFAULT_CLOUD_DOMAIN, min_length=1)
    # Invite links are this followed by the invite token; empty = https://<domain>/signup?invite_token=
    invite_link_base: str = ""
    # AES-256 key sealing secrets stored in the database (orgs' invite signing keys).
    database_key: SecretStr
    # Earlier database keys, comma-separated, still accepted for reading (key rotation).
    database_previous_keys: SecretStr = SecretStr("")
    # OpenID Connect provider (discovery at `<issuer>/.well-known/openid-configuration`).
    oidc_issuer: AnyHttpUrl | None = None
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    login_token_lifetime_seconds: int = Field(
        default=int(USER_LOGIN_TOKEN_LIFETIME.total_seconds()), gt=0
    )
    augmented_token_lifetime_seconds: int = Field(
        default=int(USER_AUGMENTED_TOKEN_LIFETIME.total_seconds()), gt=0
    )
    api_user_token_lifetime_seconds: int = Field(
        default=int(API_USER_TOKEN_LIFETIME.total_seconds()), gt=0
    )
    invite_lifetime_seconds: int = Field(default=int(_INVITE_LIFETIME.total_seconds()), gt=0)
    # Store the audit events other cloud services publish on NATS (`PL_NATS_URL`); off, only
    # this service's own events reach the audit table.
    audit_events_from_nats: bool = True

    @field_validator("database_key")
    @classmethod
    def _database_key_is_usable(cls, value: SecretStr) -> SecretStr:
        try:
            DataKey.from_base64(value.get_secret_value())
        except InvalidKeyError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("database_previous_keys")
    @classmethod
    def _previous_keys_are_usable(cls, value: SecretStr) -> SecretStr:
        try:
            _previous_keys(value)
        except InvalidKeyError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _audience_defaults_to_the_domain(cls, data: Any) -> Any:
        # Cloud tokens are audience-checked against the domain: one setting, not two.
        if isinstance(data, dict) and "jwt_audience" not in data:
            data = {**data, "jwt_audience": data.get("domain_name", DEFAULT_CLOUD_DOMAIN)}
        return data

    @model_validator(mode="after")
    def _audience_is_the_domain(self) -> Self:
        if self.jwt_audience != self.domain_name:
            raise ValueError(
                f"PL_JWT_AUDIENCE {self.jwt_audience!r} differs from PL_DOMAIN_NAME "
                f"{self.domain_name!r}; in the cloud the audience is the domain"
            )
        return self

    @property
    def oidc_issuer_url(self) -> str | None:
        return None if self.oidc_issuer is None else str(self.oidc_issuer).rstrip("/")

    def at_rest_cipher(self) -> AtRestCipher:
        return AtRestCipher(
            DataKey.from_base64(self.database_key.get_secret_value()),
            _previous_keys(self.database_previous_keys),
        )

    @property
    def login_token_lifetime(self) -> timedelta:
        return timedelta(seconds=self.login_token_lifetime_seconds)

    @property
    def augmented_token_lifetime(self) -> timedelta:
        return timedelta(seconds=self.augmented_token_lifetime_seconds)

    @property
    def api_user_token_lifetime(self) -> timedelta:
        return timedelta(seconds=self.api_user_token_lifetime_seconds)

    @property
    def invite_lifetime(self) -> timedelta:
        return timedelta(seconds=self.invite_lifetime_seconds)


def _previous_keys(value: SecretStr) -> list[DataKey]:
    return [
        DataKey.from_base64(part) for part in value.get_secret_value().split(",") if part.strip()
    ]
