"""`ServiceSettings`: the typed `PL_*` settings every service reads once at start.

Each service subclasses it, adds its own fields and overrides defaults (its port). Loading fails
fast with one message that names every bad or missing variable, never their values.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyxie_jwt import VIZIER_AUDIENCE, InvalidSigningKeyError, SigningKey, TokenVerifier

from pyxie_service.log import LogFormat, LogLevel

__all__ = ["ENV_PREFIX", "ServiceSettings", "SettingsError"]

ENV_PREFIX = "PL_"

Port = Annotated[int, Field(ge=0, le=65535)]


class SettingsError(ValueError):
    """The environment does not describe a runnable service."""


class ServiceSettings(BaseSettings):
    """Settings shared by every Pyxie service. Env var = `PL_` + field name in upper case."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, extra="ignore", frozen=True
    )

    grpc_host: str = "0.0.0.0"
    # 0 = any free port (tests); services override the default with Pixie's port.
    grpc_port: Port = 0
    metrics_enabled: bool = True
    metrics_host: str = "0.0.0.0"
    # Pixie serves /metrics on the gRPC port; Python's gRPC server cannot share it.
    metrics_port: Port = 0
    # Shared HS256 secret of this plane; required, at least 32 bytes.
    jwt_signing_key: SecretStr
    # `vizier` inside a vizier, the cloud's domain name in the cloud.
    jwt_audience: str = Field(default=VIZIER_AUDIENCE, min_length=1)
    log_level: LogLevel = "info"
    log_format: LogFormat = "json"
    nats_url: str = "nats://127.0.0.1:4222"
    # After health turns NOT_SERVING and before the server stops taking RPCs, so that load
    # balancers watching health stop routing here. 0 outside Kubernetes.
    shutdown_drain_seconds: float = Field(default=0.0, ge=0)
    # How long in-flight RPCs may run after the server stops taking new ones.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # Hard deadline for closing resources (NATS drain, DB pools) after the server stopped.
    shutdown_close_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("jwt_signing_key")
    @classmethod
    def _signing_key_is_usable(cls, value: SecretStr) -> SecretStr:
        try:
            SigningKey(value.get_secret_value())
        except InvalidSigningKeyError as exc:
            raise ValueError(str(exc)) from None
        return value

    @classmethod
    def load(cls) -> Self:
        """Read the environment once; SettingsError lists every missing/invalid variable."""
        try:
            return cls()  # type: ignore[call-arg]  # fields come from the environment
        except ValidationError as exc:
            raise SettingsError(_describe(cls, exc)) from None

    def signing_key(self) -> SigningKey:
        return SigningKey(self.jwt_signing_key.get_secret_value())

    def token_verifier(self) -> TokenVerifier:
        return TokenVerifier(self.signing_key(), audience=self.jwt_audience)


def _describe(settings_type: type[ServiceSettings], exc: ValidationError) -> str:
    lines = [f"invalid {settings_type.__name__} from the environment:"]
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        variable = f"{ENV_PREFIX}{field.upper()}"
        reason = "is required but not set" if error["type"] == "missing" else error["msg"]
        lines.append(f"  {variable}: {reason}")
    return "\n".join(lines)
