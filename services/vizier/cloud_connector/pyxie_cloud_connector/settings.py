"""`ConnectorSettings`: the cloud connector's `PL_*` settings, read once at start."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Final

from pydantic import Field, SecretStr, field_validator
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "ConnectorSettings"]

# Pixie's cloud connector port (health and metrics here).
DEFAULT_GRPC_PORT: Final = 50800
_MACHINE_ID: Final = Path("/etc/machine-id")

Seconds = Annotated[float, Field(gt=0)]


class ConnectorSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_CLOUD_ADDR`).

    The vizier's JWT signing key is NOT a setting here: the cloud generates it when the vizier
    registers and the connector keeps it in `state_file` (and `jwt_key_file`, for the other
    vizier services). `PL_JWT_SIGNING_KEY` is therefore optional and unused by the connector.
    """

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    jwt_signing_key: SecretStr = SecretStr("")
    # vzconn's address (host:port).
    cloud_addr: str = "127.0.0.1:51600"
    # Server-side TLS always; mTLS when a client certificate is given.
    cloud_tls_enabled: bool = True
    # CA that signed vzconn's certificate (the local CA's ca.crt); empty = system roots.
    cloud_ca_cert_file: Path | None = None
    cloud_client_cert_file: Path | None = None
    cloud_client_key_file: Path | None = None
    # The cloud CA's CRL: before each connection the connector checks that vzconn's certificate
    # is not on it (gRPC Python's TLS has no CRL hook). Re-read every time, so a new CRL
    # counts from the next reconnect on.
    cloud_crl_file: Path | None = None
    # Name to check vzconn's certificate against when it differs from the host in cloud_addr.
    cloud_tls_server_name: str = ""
    # `px-dep-...`: needed only for the first start; later starts reuse the state file.
    deploy_key: SecretStr = SecretStr("")
    # Identifies the cluster (Pixie: the kube-system namespace UID). Default: /etc/machine-id.
    cluster_uid: str = ""
    # Requested vizier name. Default: the host name.
    cluster_name: str = ""
    # Where the vizier id, name and JWT signing key are kept (JSON, mode 0600).
    state_file: Path
    # Optional: the JWT signing key alone (mode 0600) for the other vizier services
    # (`PL_JWT_SIGNING_KEY`), e.g. the devstack's <state>/vizier/jwt_signing_key.
    jwt_key_file: Path | None = None
    # The query broker (VizierService.HealthCheck, the vizier status in heartbeats).
    broker_addr: str = "127.0.0.1:50300"
    vizier_version: str = "0.1.0"
    # The operator's status file (phase, reason, message); its note rides in the heartbeats.
    operator_status_file: Path | None = None
    # Where the cloud's update offers (`VizierUpdate`) are written for the operator; unset = none.
    operator_offer_file: Path | None = None
    # Pixie: a heartbeat every 5 s; the cloud declares a vizier lost after 120 s of silence.
    heartbeat_interval_seconds: Seconds = 5.0
    # Pixie: give up waiting for `registerAck` after 30 s.
    register_timeout_seconds: Seconds = 30.0
    # Reconnect backoff: doubling from the initial wait up to the cap.
    reconnect_initial_seconds: Seconds = 0.5
    reconnect_max_seconds: Seconds = 30.0
    # Pixie's health checker: no HealthCheck result for 10 s → UNKNOWN; retry a broken stream
    # after 2 s.
    health_watchdog_seconds: Seconds = 10.0
    health_retry_seconds: Seconds = 2.0
    # Pixie's connector queue: 5000 messages (per lane here); a full bulk lane drops messages.
    bridge_buffer_messages: Annotated[int, Field(gt=0)] = 5000

    @field_validator("jwt_signing_key")
    @classmethod
    def _signing_key_is_usable(cls, value: SecretStr) -> SecretStr:
        # Unused by the connector (see the class docstring); any value is accepted.
        return value

    def effective_cluster_uid(self) -> str:
        if self.cluster_uid.strip():
            return self.cluster_uid.strip()
        try:
            machine_id = _MACHINE_ID.read_text().strip()
        except OSError:
            machine_id = ""
        return machine_id or socket.gethostname()

    def effective_cluster_name(self) -> str:
        return self.cluster_name.strip() or socket.gethostname()
