"""`VzmgrSettings`: vzmgr's `PL_*` settings, read once at start."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, SecretStr, field_validator
from pyxie_crypto import AtRestCipher, DataKey, InvalidKeyError
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_JWT_AUDIENCE", "VzmgrSettings"]

# Pixie's vzmgr port.
DEFAULT_GRPC_PORT: Final = 51800
# The cloud's domain name is the audience of every cloud token.
DEFAULT_JWT_AUDIENCE: Final = "pyxie.local"

Seconds = Annotated[float, Field(gt=0)]
Shard = Annotated[int, Field(ge=0, le=255)]


class VzmgrSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_DATABASE_URL`)."""

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    jwt_audience: str = Field(default=DEFAULT_JWT_AUDIENCE, min_length=1)
    # postgresql://user:password@host:port/database
    database_url: SecretStr
    # Base64 of 32 random bytes: encrypts each vizier's JWT signing key at rest (Pixie's
    # database_key). Required; a missing key stops the start.
    database_key: SecretStr
    # Pixie: 120 s without a heartbeat (24 missed beats) and a vizier is DISCONNECTED.
    heartbeat_timeout_seconds: Seconds = 120.0
    # Pixie: an UPDATING vizier is given 15 min before it counts as DISCONNECTED.
    updating_heartbeat_timeout_seconds: Seconds = 900.0
    # Pixie's status monitor period.
    status_monitor_interval_seconds: Seconds = 5.0
    # The range of vizier shards (last byte of the vizier id) whose heartbeats this replica
    # handles; the defaults take all of them.
    vizier_shard_min: Shard = 0
    vizier_shard_max: Shard = 255
    # The artifact tracker (host:port) whose latest vizier release is offered to viziers that
    # report an older version; empty = no offers. Polled every `release_poll_seconds` (Pixie:
    # 1 min); a vizier is offered the same version again after `update_offer_interval_seconds`.
    artifact_tracker_addr: str = ""
    release_poll_seconds: Seconds = 60.0
    update_offer_interval_seconds: Seconds = 300.0

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

    def shards(self) -> range:
        return range(self.vizier_shard_min, self.vizier_shard_max + 1)
