"""`VzconnSettings`: vzconn's `PL_*` settings, read once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from pydantic import Field
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_JWT_AUDIENCE", "VzconnSettings"]

# Pixie's vzconn port.
DEFAULT_GRPC_PORT: Final = 51600
DEFAULT_JWT_AUDIENCE: Final = "pyxie.local"

Seconds = Annotated[float, Field(gt=0)]


class VzconnSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_VZMGR_ADDR`).

    `PL_JWT_SIGNING_KEY` is the cloud's key: vzconn mints its service tokens to vzmgr with it.
    """

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    jwt_audience: str = Field(default=DEFAULT_JWT_AUDIENCE, min_length=1)
    vzmgr_addr: str = "127.0.0.1:51800"
    # The bridge is TLS always (seed: "TLS on the bridge"); turning it off is for debugging.
    tls_enabled: bool = True
    # A server certificate from files, else one issued (once, then reused) by the local CA in
    # `tls_ca_dir`.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_dir: Path | None = None
    # Names and addresses the issued certificate is valid for.
    tls_server_dns_names: tuple[str, ...] = ("localhost",)
    tls_server_ip_addresses: tuple[str, ...] = ("127.0.0.1",)
    # mTLS: refuse clients without a certificate issued by the CA (`tls_client_ca_file`, else
    # the local CA's ca.crt).
    tls_require_client_cert: bool = False
    tls_client_ca_file: Path | None = None
    # The CA's CRL (PEM or DER); default `<tls_ca_dir>/ca.crl`. Re-read when it changes; a
    # client whose certificate it lists is refused (UNAUTHENTICATED).
    tls_crl_file: Path | None = None
    # Pixie: the first bridge message must be `register` within 30 s.
    register_timeout_seconds: Seconds = 30.0
    # Pixie's bridge buffers: 4096 messages in each direction (per lane here).
    bridge_buffer_messages: Annotated[int, Field(gt=0)] = 4096
    # Deadline of each call to vzmgr.
    vzmgr_timeout_seconds: Seconds = 10.0
