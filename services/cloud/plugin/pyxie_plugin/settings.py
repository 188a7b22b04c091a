"""`PluginSettings`: the plugin service's `PL_*` settings, read once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from pydantic import Field, SecretStr, field_validator
from pyxie_crypto import AtRestCipher, DataKey, InvalidKeyError
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_JWT_AUDIENCE", "PluginSettings"]

# Pixie's plugin service port.
DEFAULT_GRPC_PORT: Final = 50600
# The cloud's domain name is the audience of every cloud token.
DEFAULT_JWT_AUDIENCE: Final = "pyxie.local"

Seconds = Annotated[float, Field(gt=0)]


class PluginSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_DATABASE_URL`)."""

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    jwt_audience: str = Field(default=DEFAULT_JWT_AUDIENCE, min_length=1)
    # postgresql://user:password@host:port/database
    database_url: SecretStr
    # Base64 of 32 random bytes: encrypts the orgs' plugin secrets (export headers such as API
    # keys, export URLs) at rest (Pixie's database_key). Required.
    database_key: SecretStr
    # vzmgr: which viziers an org has and which org a vizier belongs to.
    vzmgr_addr: str = "127.0.0.1:51800"
    # PEM CA that internal services' certificates chain to; empty = plaintext inside the cloud.
    internal_ca_file: Path | None = None
    # Pixie's cron-script service waits 10 s for a vizier's ack of one update...
    cron_update_ack_seconds: Seconds = 10.0
    # ...and retries with backoff from 5 s up to 3 min between tries.
    cron_update_retry_initial_seconds: Seconds = 5.0
    cron_update_retry_max_seconds: Seconds = 180.0
    # An update a vizier never acks is dropped after this long; the vizier's checksum sync
    # (at its start and periodically) repairs it.
    cron_update_give_up_seconds: Seconds = 900.0

    @field_validator("database_key")
    @classmethod
    def _database_key_is_usable(cls, value: SecretStr) -> SecretStr:
        try:
            DataKey.from_base64(value.get_secret_value())
        except InvalidKeyError as exc:
            raise ValueError(str(exc)) from None
        return value

    def at_rest_cipher(self) -> AtRestCipher:
        return AtRestCipher(DataKey.from_base64(self.database_key.get_secret_value()))
